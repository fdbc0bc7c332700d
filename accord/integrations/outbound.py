"""Calling a URL an organisation gave us (webhooks, feeds) without becoming a proxy.

A webhook URL is user input, so the request must not reach the machine's own
services or the private network (server-side request forgery). The host is
resolved once, every address is checked, and the connection goes to the
checked address itself, so a DNS answer that changes between the check and
the connection (rebinding) cannot slip through. Hosts listed in the setting
`WEBHOOK_ALLOWED_HOSTS` skip the address check; nothing else does. Redirects
are never followed and every request has a short time limit.
"""

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

CONNECT_TIMEOUT = 5.0  # seconds; a receiver that cannot answer in time is retried later
READ_TIMEOUT = 10.0
MAX_RESPONSE = 64 * 1024  # kept for the delivery log; a receiver's reply is not needed whole


class Refused(Exception):
    """The URL may not be called; the message says why, without echoing the address."""


@dataclass(frozen=True)
class Reply:
    status: int
    body: str
    duration_ms: int


def check_url(url: str) -> tuple[str, int, str, str]:
    """(host, port, path with query, scheme) of an http(s) URL; Refused when unusable."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise Refused("Use an http:// or https:// address.")
    if not parts.hostname:
        raise Refused("The address has no host name.")
    if parts.username or parts.password:
        raise Refused("Leave user name and password out of the address.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise Refused("The port in the address is not a number from 1 to 65535.") from None
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.hostname.lower(), port, path, parts.scheme


def _is_allowed_host(host: str) -> bool:
    return host in {name.lower().strip("[]") for name in settings.WEBHOOK_ALLOWED_HOSTS}


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def resolve(host: str, port: int) -> str:
    """One address to connect to for `host`; Refused for private or unknown hosts."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise Refused("The host name does not resolve.") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    if not addresses:
        raise Refused("The host name does not resolve.")
    if not _is_allowed_host(host) and not all(_is_public(address) for address in addresses):
        raise Refused(
            "The address points into a private, loopback or link-local network. Ask an "
            "administrator to list the host in WEBHOOK_ALLOWED_HOSTS if it is meant to be "
            "called."
        )
    return str(addresses[0])


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str):
        super().__init__(host, port, timeout=READ_TIMEOUT)
        self.address = address

    def connect(self):
        self.sock = socket.create_connection((self.address, self.port), CONNECT_TIMEOUT)
        self.sock.settimeout(READ_TIMEOUT)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str):
        super().__init__(host, port, timeout=READ_TIMEOUT, context=ssl.create_default_context())
        self.address = address

    def connect(self):
        raw = socket.create_connection((self.address, self.port), CONNECT_TIMEOUT)
        raw.settimeout(READ_TIMEOUT)
        # The certificate is checked against the host name, not the address.
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)


def post(url: str, body: bytes, headers: dict[str, str]) -> Reply:
    """POST `body` to `url`; Refused before any connection when the target is not allowed.

    Network failures raise OSError (timeouts included); any HTTP answer,
    a redirect too, comes back as a Reply.
    """
    host, port, path, scheme = check_url(url)
    address = resolve(host, port)
    connection_class = _PinnedHTTPS if scheme == "https" else _PinnedHTTP
    connection = connection_class(host, port, address)
    started = time.monotonic()
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        text = response.read(MAX_RESPONSE).decode("utf-8", "replace")
        return Reply(status=response.status, body=text,
                     duration_ms=int((time.monotonic() - started) * 1000))
    except http.client.HTTPException as exc:
        raise OSError(f"The receiver's answer was not valid HTTP ({type(exc).__name__}).") \
            from None
    finally:
        connection.close()


def fetch(url: str, *, max_bytes: int) -> bytes:
    """GET `url` and return its body; Refused when the target is not allowed, OSError when
    it cannot be read, answers other than 200, or sends more than `max_bytes`."""
    host, port, path, scheme = check_url(url)
    address = resolve(host, port)
    connection_class = _PinnedHTTPS if scheme == "https" else _PinnedHTTP
    connection = connection_class(host, port, address)
    try:
        connection.request("GET", path, headers={"User-Agent": "Accord"})
        response = connection.getresponse()
        if response.status != 200:
            raise OSError(f"The address answered {response.status} {response.reason}.")
        body = response.read(max_bytes + 1)
        if len(body) > max_bytes:
            raise OSError(f"The file is larger than {max_bytes // 2**20} MB.")
        return body
    except http.client.HTTPException as exc:
        raise OSError(f"The answer was not valid HTTP ({type(exc).__name__}).") from None
    finally:
        connection.close()
