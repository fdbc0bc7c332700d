"""The SMTP listener that takes support mail in (aiosmtpd).

It only receives and hands over: `accepts` decides each RCPT TO, `deliver`
stores the raw bytes. A message is answered 250 only after `deliver` returned,
so a crash before that leaves the sender to retry and nothing is lost.
"""

import asyncio
import logging
import signal
import threading
from collections.abc import Callable

from aiosmtpd.controller import Controller

logger = logging.getLogger(__name__)

DEFAULT_MAX_SIZE = 25 * 1024 * 1024  # what the large mail providers accept

Accepts = Callable[[str], bool]
Deliver = Callable[[bytes, list[str], str], None]


class MailListener:
    """Runs aiosmtpd on host:port in a thread of its own.

    `accepts(address) -> bool` decides RCPT TO (550 for unknown recipients);
    `deliver(raw, recipients, sender)` is called once per message with the
    accepted recipients, the bytes exactly as received and the envelope sender
    (MAIL FROM, empty for bounces). A message over `max_size`
    is answered 552; an exception in `deliver` (or `accepts`) answers 451, a
    temporary failure, so the sender retries. Port 0 picks a free port, which
    `port` tells after `start()`.
    """

    def __init__(self, host: str, port: int, accepts: Accepts, deliver: Deliver,
                 max_size: int = DEFAULT_MAX_SIZE):
        self.host = host
        self.requested_port = port
        self.max_size = max_size
        self.handler = _Handler(accepts, deliver)
        self._controller: _Controller | None = None

    @property
    def port(self) -> int:
        return self._controller.port if self._controller else self.requested_port

    def start(self) -> None:
        self._controller = _Controller(
            self.handler, hostname=self.host, port=self.requested_port,
            data_size_limit=self.max_size, enable_SMTPUTF8=True,
        )
        self._controller.start()
        logger.info("mail.listener_started", extra={"port": self.port})

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
            logger.info("mail.listener_stopped")


def serve_forever(host: str, port: int, accepts: Accepts, deliver: Deliver, *,
                  max_size: int = DEFAULT_MAX_SIZE,
                  stop_event: threading.Event | None = None) -> None:
    """Listen until SIGTERM, Ctrl-C or `stop_event` is set; for a process of its own."""
    stop_event = stop_event or threading.Event()
    listener = MailListener(host, port, accepts, deliver, max_size=max_size)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop_event.set())
    listener.start()
    try:
        stop_event.wait()
    except KeyboardInterrupt:
        pass
    finally:
        listener.stop()


class _Handler:
    def __init__(self, accepts: Accepts, deliver: Deliver):
        self.accepts = accepts
        self.deliver = deliver

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's hook name
        # Both callbacks may use the database, which Django refuses from the
        # event loop's thread: they run in the default executor.
        loop = asyncio.get_running_loop()
        try:
            known = await loop.run_in_executor(None, self.accepts, address)
        except Exception:
            logger.exception("mail.recipient_check_failed")
            return "451 4.3.0 Recipient cannot be checked now, try again later"
        if not known:
            logger.info("mail.recipient_refused")
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        raw = envelope.original_content or b""
        recipients = list(envelope.rcpt_tos)
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(None, self.deliver, raw, recipients,
                                       envelope.mail_from or "")
        except Exception:
            logger.exception("mail.delivery_failed", extra={"size": len(raw)})
            return "451 4.3.0 Message not stored, try again later"
        logger.info("mail.received", extra={"size": len(raw), "recipients": len(recipients)})
        return "250 2.0.0 Message accepted"


class _Controller(Controller):
    """aiosmtpd's threaded controller, binding port 0 to a free port.

    The stock controller connects back to the port it was given to check that the
    server is up, which fails for port 0; this one learns the bound port first.
    """

    def _create_server(self):
        return self._bind()

    async def _bind(self):
        server = await self.loop.create_server(
            self._factory_invoker, host=self.hostname, port=self.port, ssl=self.ssl_context)
        self.port = server.sockets[0].getsockname()[1]
        return server
