"""A small IMAP server on loopback for the mailbox-poll tests.

It speaks just enough IMAP4rev1 for `imaplib`: LOGIN, SELECT, UID SEARCH,
UID FETCH of the whole message, UID STORE and LOGOUT, over plain TCP.
"""

import re
import shlex
import socketserver
import threading


class Mailbox:
    def __init__(self, username: str, password: str, uidvalidity: int = 42):
        self.username = username
        self.password = password
        self.uidvalidity = uidvalidity
        self.messages: dict[int, bytes] = {}
        self.seen: set[int] = set()
        self.logins = 0
        self.fail_fetch_of: set[int] = set()

    def add(self, uid: int, raw: bytes) -> None:
        self.messages[uid] = raw


class _Handler(socketserver.StreamRequestHandler):
    def handle(self):
        box: Mailbox = self.server.mailbox
        self._send(b"* OK loopback IMAP ready")
        signed_in = False
        while True:
            line = self.rfile.readline()
            if not line:
                return
            tag, _, rest = line.decode().strip().partition(" ")
            command, _, args = rest.partition(" ")
            command = command.upper()
            if command == "CAPABILITY":
                self._send(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN")
                self._ok(tag)
            elif command == "LOGIN":
                user, password = shlex.split(args)
                if (user, password) == (box.username, box.password):
                    signed_in = True
                    box.logins += 1
                    self._ok(tag)
                else:
                    self._send(f"{tag} NO [AUTHENTICATIONFAILED] Invalid credentials".encode())
            elif command == "LOGOUT":
                self._send(b"* BYE logging out")
                self._ok(tag)
                return
            elif not signed_in:
                self._send(f"{tag} BAD sign in first".encode())
            elif command == "SELECT":
                self._send(f"* {len(box.messages)} EXISTS".encode())
                self._send(f"* OK [UIDVALIDITY {box.uidvalidity}] UIDs valid".encode())
                self._send(f"{tag} OK [READ-WRITE] SELECT completed".encode())
            elif command == "UID":
                self._uid(tag, args, box)
            else:
                self._send(f"{tag} BAD unknown command".encode())

    def _uid(self, tag: str, args: str, box: Mailbox) -> None:
        sub, _, rest = args.partition(" ")
        sub = sub.upper()
        if sub == "SEARCH":
            low, high = re.search(r"UID (\d+):(\*|\d+)", rest).groups()
            uids = sorted(box.messages)
            found = [uid for uid in uids if uid >= int(low)
                     and (high == "*" or uid <= int(high))]
            if high == "*" and not found and uids:
                found = [uids[-1]]  # "n:*" always includes the newest message
            self._send(("* SEARCH " + " ".join(map(str, found))).strip().encode())
            self._ok(tag)
        elif sub == "FETCH":
            uid = int(rest.split()[0])
            if uid in box.fail_fetch_of or uid not in box.messages:
                self._send(f"{tag} NO no such message".encode())
                return
            raw = box.messages[uid]
            number = sorted(box.messages).index(uid) + 1
            self.wfile.write(f"* {number} FETCH (UID {uid} BODY[] {{{len(raw)}}}\r\n".encode())
            self.wfile.write(raw + b")\r\n")
            self._ok(tag)
        elif sub == "STORE":
            box.seen.add(int(rest.split()[0]))
            self._ok(tag)
        else:
            self._send(f"{tag} BAD unknown UID command".encode())

    def _send(self, line: bytes) -> None:
        self.wfile.write(line + b"\r\n")

    def _ok(self, tag: str) -> None:
        self._send(f"{tag} OK done".encode())


class LoopbackImap:
    """`with LoopbackImap(mailbox) as server:` serves `mailbox` on 127.0.0.1:server.port."""

    def __init__(self, mailbox: Mailbox):
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.mailbox = mailbox
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
