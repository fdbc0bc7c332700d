"""Reading new mail from a queue's mailbox over IMAP, for teams whose mail cannot be
pointed at Accord's own listener.

Each poll asks the server for messages with a UID above the last one taken,
hands each to `inbound.receive_mail` exactly as the listener would, and
notes its UID after it is stored, so a poll cut short resumes where it
stopped; a message stored twice is dropped by its Message-ID anyway. A new
UIDVALIDITY (the mailbox was rebuilt) starts again from the first UID. The
messages are marked read and left on the server. The server's address is
checked like a webhook's: private networks only when listed in
WEBHOOK_ALLOWED_HOSTS.
"""

import contextlib
import imaplib
import logging
import re
import socket
import ssl

from django.db import transaction
from django.utils import timezone

from accord import crypto
from accord.integrations.outbound import Refused, resolve

from . import inbound
from .mail.parse import parse_message
from .models import ImapSecurity, Queue

logger = logging.getLogger(__name__)

TIMEOUT = 20.0  # seconds for connecting and for each answer
BATCH = 100  # messages per poll; the next poll takes the rest


class _PinnedIMAP(imaplib.IMAP4):
    """IMAP4 to an address checked beforehand, whatever the name resolves to later."""

    def __init__(self, host: str, address: str, port: int):
        self._address = address
        super().__init__(host, port, timeout=TIMEOUT)

    def _create_socket(self, timeout):
        return socket.create_connection((self._address, self.port), timeout)


class _PinnedIMAPSSL(imaplib.IMAP4_SSL):
    def __init__(self, host: str, address: str, port: int):
        self._address = address
        super().__init__(host, port, ssl_context=ssl.create_default_context(),
                         timeout=TIMEOUT)

    def _create_socket(self, timeout):
        sock = socket.create_connection((self._address, self.port), timeout)
        return self.ssl_context.wrap_socket(sock, server_hostname=self.host)


def connect(queue: Queue) -> imaplib.IMAP4:
    """A signed-in connection to the queue's mailbox; Refused or imaplib/OSError errors."""
    address = resolve(queue.imap_host, queue.imap_port)
    if queue.imap_security == ImapSecurity.SSL:
        client = _PinnedIMAPSSL(queue.imap_host, address, queue.imap_port)
    else:
        client = _PinnedIMAP(queue.imap_host, address, queue.imap_port)
        if queue.imap_security == ImapSecurity.STARTTLS:
            client.starttls(ssl_context=ssl.create_default_context())
    client.login(queue.imap_username, crypto.decrypt(queue.imap_password))
    return client


def poll_queue(queue: Queue) -> int:
    """Take the new messages of one queue's mailbox; return how many were read.

    Call inside the queue's organisation scope. Failures are noted on the
    queue (shown on its settings page) rather than raised.
    """
    taken = 0
    error = ""
    try:
        client = connect(queue)
        try:
            taken = _take_new(client, queue)
        finally:
            with contextlib.suppress(imaplib.IMAP4.error, OSError):
                client.logout()
    except Refused as exc:
        error = str(exc)
    except (imaplib.IMAP4.error, OSError, ValueError) as exc:
        error = f"The mailbox could not be read: {exc}"[:300]
    Queue.objects.filter(pk=queue.pk).update(imap_checked_at=timezone.now(),
                                             imap_error=error[:300])
    if error:
        logger.warning("imap.poll_failed", extra={"queue_id": queue.pk})
    return taken


def _take_new(client: imaplib.IMAP4, queue: Queue) -> int:
    status, data = client.select(_quoted(queue.imap_folder))
    if status != "OK":
        raise imaplib.IMAP4.error(f"the folder {queue.imap_folder!r} cannot be opened")
    validity = _uidvalidity(client)
    last_uid = queue.imap_last_uid
    if validity is not None and validity != queue.imap_uidvalidity:
        last_uid = 0
        Queue.objects.filter(pk=queue.pk).update(imap_uidvalidity=validity, imap_last_uid=0)
    status, data = client.uid("SEARCH", None, f"UID {last_uid + 1}:*")
    if status != "OK":
        raise imaplib.IMAP4.error("the server refused the search")
    # "n:*" always matches the newest message, even when its UID is lower.
    uids = sorted(uid for uid in (int(part) for part in b" ".join(data).split())
                  if uid > last_uid)[:BATCH]
    taken = 0
    for uid in uids:
        raw = _fetch(client, uid)
        if raw is None:
            continue
        with transaction.atomic():
            inbound.receive_mail(queue.organization, queue, parse_message(raw), raw)
            Queue.objects.filter(pk=queue.pk).update(imap_last_uid=uid)
        client.uid("STORE", str(uid), "+FLAGS", "(\\Seen)")
        taken += 1
    return taken


def _fetch(client: imaplib.IMAP4, uid: int) -> bytes | None:
    status, data = client.uid("FETCH", str(uid), "(BODY.PEEK[])")
    if status != "OK":
        return None
    for item in data:
        if isinstance(item, tuple) and len(item) == 2:
            return item[1]
    return None


def _uidvalidity(client: imaplib.IMAP4) -> int | None:
    _, values = client.response("UIDVALIDITY")
    for value in values or []:
        if value:
            match = re.match(rb"\d+", value)
            if match:
                return int(match.group())
    return None


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def poll_all() -> int:
    """Poll every active queue that has a mailbox; for the scheduler."""
    from django_scopes import scope, scopes_disabled

    from accord.audit.context import channel

    with scopes_disabled():
        queues = list(Queue.unscoped.filter(is_active=True).exclude(imap_host="")
                      .select_related("organization"))
    taken = 0
    for queue in queues:
        with scope(organization=queue.organization), channel("mail"):
            taken += poll_queue(queue)
    return taken


