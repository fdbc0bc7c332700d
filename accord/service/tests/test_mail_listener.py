"""The SMTP listener, driven with smtplib over loopback."""

import smtplib
import threading

import pytest

from accord.service.mail.listener import MailListener, serve_forever

KNOWN = {"support@accord.example", "billing@accord.example"}
RAW = (b"From: Pieter de Wit <pieter@dewit-bouw.example>\r\n"
       b"To: support@accord.example\r\n"
       b"Subject: =?utf-8?Q?Gr=C3=BC=C3=9Fe?=\r\n"
       b"Message-ID: <abc@dewit-bouw.example>\r\n"
       b"\r\n"
       b"Line one\r\n"
       b".leading dot stays\r\n"
       b"\xc3\xa9 eight-bit body\r\n")


class Mailbox:
    def __init__(self):
        self.delivered: list[tuple[bytes, list[str]]] = []
        self.senders: list[str] = []
        self.fail_next = False

    def accepts(self, address: str) -> bool:
        return address.lower() in KNOWN

    def deliver(self, raw: bytes, recipients: list[str], sender: str) -> None:
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("storage is down")
        self.delivered.append((raw, recipients))
        self.senders.append(sender)


@pytest.fixture
def mailbox():
    return Mailbox()


@pytest.fixture
def listener(mailbox):
    running = MailListener("127.0.0.1", 0, mailbox.accepts, mailbox.deliver, max_size=4096)
    running.start()
    yield running
    running.stop()


def client(listener) -> smtplib.SMTP:
    return smtplib.SMTP("127.0.0.1", listener.port, timeout=10)


def test_accepted_message_is_delivered_byte_for_byte(listener, mailbox):
    with client(listener) as smtp:
        refused = smtp.sendmail("pieter@dewit-bouw.example", ["support@accord.example"], RAW)

    assert refused == {}
    assert mailbox.delivered == [(RAW, ["support@accord.example"])]
    assert mailbox.senders == ["pieter@dewit-bouw.example"]


def test_unknown_recipient_is_refused_with_550_and_the_others_get_the_message(
        listener, mailbox):
    with client(listener) as smtp:
        refused = smtp.sendmail("pieter@dewit-bouw.example",
                                ["nobody@accord.example", "billing@accord.example"], RAW)

    assert refused == {"nobody@accord.example": (550, b"5.1.1 No such mailbox here")}
    assert mailbox.delivered == [(RAW, ["billing@accord.example"])]


def test_only_unknown_recipients_deliver_nothing(listener, mailbox):
    with client(listener) as smtp, pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        smtp.sendmail("pieter@dewit-bouw.example", ["nobody@accord.example"], RAW)

    assert refused.value.recipients["nobody@accord.example"][0] == 550
    assert mailbox.delivered == []


def test_oversize_message_is_refused_with_552_when_announced(listener, mailbox):
    big = RAW + b"a line of the body\r\n" * 300

    with client(listener) as smtp, pytest.raises(smtplib.SMTPSenderRefused) as refused:
        smtp.sendmail("pieter@dewit-bouw.example", ["support@accord.example"], big)

    assert refused.value.smtp_code == 552
    assert mailbox.delivered == []


def test_oversize_message_is_refused_with_552_after_data(listener, mailbox):
    big = RAW + b"a line of the body\r\n" * 300

    with client(listener) as smtp:
        smtp.ehlo()
        smtp.mail("pieter@dewit-bouw.example")
        smtp.rcpt("support@accord.example")
        code, _ = smtp.data(big)

    assert code == 552
    assert mailbox.delivered == []


def test_failing_delivery_answers_451_and_the_next_message_still_works(listener, mailbox):
    mailbox.fail_next = True

    with client(listener) as smtp:
        with pytest.raises(smtplib.SMTPDataError) as failed:
            smtp.sendmail("pieter@dewit-bouw.example", ["support@accord.example"], RAW)
        smtp.sendmail("pieter@dewit-bouw.example", ["support@accord.example"], RAW)

    assert failed.value.smtp_code == 451
    assert mailbox.delivered == [(RAW, ["support@accord.example"])]


def test_failing_recipient_check_answers_451(mailbox):
    def broken(address):
        raise RuntimeError("database is down")

    running = MailListener("127.0.0.1", 0, broken, mailbox.deliver)
    running.start()
    try:
        with client(running) as smtp, pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            smtp.sendmail("a@example.com", ["support@accord.example"], RAW)
    finally:
        running.stop()

    assert refused.value.recipients["support@accord.example"][0] == 451


def test_serve_forever_receives_until_stopped(mailbox):
    stop = threading.Event()
    probe = MailListener("127.0.0.1", 0, mailbox.accepts, mailbox.deliver)
    probe.start()
    port = probe.port
    probe.stop()
    server = threading.Thread(target=serve_forever, args=(
        "127.0.0.1", port, mailbox.accepts, mailbox.deliver), kwargs={"stop_event": stop})
    server.start()

    try:
        for _ in range(50):
            try:
                smtp = client_on(port)
                break
            except ConnectionRefusedError:
                stop.wait(0.1)
        with smtp:
            smtp.sendmail("a@example.com", ["support@accord.example"], RAW)
    finally:
        stop.set()
        server.join(10)

    assert not server.is_alive()
    assert mailbox.delivered == [(RAW, ["support@accord.example"])]


def client_on(port: int) -> smtplib.SMTP:
    return smtplib.SMTP("127.0.0.1", port, timeout=10)
