"""A small OpenID Connect provider on 127.0.0.1 for the single sign-on tests.

It answers discovery, its key set, the authorization endpoint (which signs in
whoever `person` describes at once and sends the browser back with a code)
and the token endpoint (which checks the client, the code, the redirect
address and the PKCE verifier, and returns an RSA-signed ID token). A test
changes `person` and `token_changes` (None drops a claim) to make the provider misbehave.
"""

import base64
import hashlib
import http.client
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

CLIENT_SECRET = "provider-client-secret-0123456789"  # noqa: S105 - a test double's secret


class Provider:
    def __init__(self, client_id: str):
        self.client_id = client_id
        self.key = RSAKey.generate_key(2048, parameters={"kid": "signing"})
        # Signs tokens that must be refused: its public half is never published.
        self.stranger_key = RSAKey.generate_key(2048, parameters={"kid": "signing"})
        self.person = {"sub": "person-1", "email": "pat@northwind.example",
                       "email_verified": True, "name": "Pat Doe"}
        self.token_changes: dict = {}
        self.sign_with_stranger = False
        self.codes: dict[str, dict] = {}
        self.token_requests: list[dict] = []
        self.reads: list[str] = []  # paths of the documents Accord read
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def start(self) -> "Provider":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def rotate_key(self) -> None:
        """Sign with a new key from now on and publish only that one."""
        self.key = RSAKey.generate_key(2048, parameters={"kid": "rotated"})

    def discovery(self) -> dict:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "end_session_endpoint": f"{self.issuer}/logout?tenant=northwind",
            "response_types_supported": ["code"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        }

    def id_token(self, grant: dict) -> str:
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": self.client_id, "iat": now, "exp": now + 300,
                  "nonce": grant["nonce"], **self.person}
        claims.update(self.token_changes)
        claims = {name: value for name, value in claims.items() if value is not None}
        key = self.stranger_key if self.sign_with_stranger else self.key
        return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)

    def authorize(self, url: str) -> str:
        """Follow the browser's visit to the authorization endpoint; returns where the
        provider sends it back (the callback address with code and state)."""
        parts = urlsplit(url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
        connection.request("GET", f"{parts.path}?{parts.query}")
        response = connection.getresponse()
        response.read()
        connection.close()
        assert response.status == 302, response.status
        return response.getheader("Location")

    def _handler(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _json(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # noqa: N802 - the name http.server calls
                parts = urlsplit(self.path)
                provider.reads.append(parts.path)
                if parts.path == "/.well-known/openid-configuration":
                    return self._json(200, provider.discovery())
                if parts.path == "/jwks":
                    return self._json(200, KeySet([provider.key]).as_dict(private=False))
                if parts.path == "/authorize":
                    return self._authorize({k: v[0] for k, v in parse_qs(parts.query).items()})
                return self._json(404, {"error": "not_found"})

            def _authorize(self, params: dict) -> None:
                back = {"state": params.get("state", "")}
                if params.get("client_id") != provider.client_id:
                    back["error"] = "unauthorized_client"
                else:
                    code = secrets.token_urlsafe(16)
                    provider.codes[code] = params
                    back["code"] = code
                self.send_response(302)
                self.send_header("Location", params["redirect_uri"] + "?" + urlencode(back))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self):  # noqa: N802 - the name http.server calls
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                provider.token_requests.append(form)
                expected = base64.b64encode(
                    f"{provider.client_id}:{CLIENT_SECRET}".encode()).decode()
                if self.headers.get("Authorization") != f"Basic {expected}":
                    return self._json(401, {"error": "invalid_client"})
                grant = provider.codes.pop(form.get("code", ""), None)
                if grant is None or grant["redirect_uri"] != form.get("redirect_uri"):
                    return self._json(400, {"error": "invalid_grant"})
                verifier = form.get("code_verifier", "")
                challenge = base64.urlsafe_b64encode(
                    hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
                if challenge != grant["code_challenge"]:
                    return self._json(400, {"error": "invalid_grant"})
                return self._json(200, {"access_token": secrets.token_urlsafe(16),
                                        "token_type": "Bearer",
                                        "id_token": provider.id_token(grant)})

        return Handler
