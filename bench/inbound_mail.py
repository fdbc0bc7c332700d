"""Time support mail becoming tickets, end to end over SMTP on loopback.

Run by hand, never in the suite:

    .venv/bin/python bench/inbound_mail.py [--messages N] [--database-url URL]

It migrates a throwaway database (SQLite under var/bench/ unless
--database-url is given), makes an organisation with a queue, starts the
mail listener on a free 127.0.0.1 port and sends N messages over one SMTP
connection: seven in ten open a new ticket from a new sender, the rest
answer an earlier message by In-Reply-To and join its ticket. It prints
messages per second for the whole path (SMTP, parsing, threading, contact
matching, storing, search index) and for parsing alone, and checks that
every message was stored once.
"""

import argparse
import random
import smtplib
import socket
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from contact_list import setup_django  # noqa: E402

PASSWORD = "bench-password-1234"  # noqa: S105 - a throwaway bench account
BODY = ("Hello,\n\nthe {product} stopped working after the update. I tried a reset "
        "and it still fails.\n\nThanks,\n{name}\n\n> On Monday you wrote:\n> quoted text\n")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def messages(count: int) -> list[bytes]:
    rng = random.Random(11)
    sent_ids: list[tuple[str, str]] = []
    out = []
    for number in range(count):
        if sent_ids and rng.random() < 0.3:
            answered, sender = rng.choice(sent_ids)
            extra = f"In-Reply-To: <{answered}>\r\nReferences: <{answered}>\r\n"
            subject = "Re: still broken"
        else:
            sender, extra, subject = f"customer{number}@bench.example", "", f"Help {number}"
        message_id = f"m{number}@bench.example"
        sent_ids.append((message_id, sender))
        body = BODY.format(product=rng.choice(["router", "camera", "lamp"]), name=sender)
        out.append((f"From: Customer <{sender}>\r\nTo: help@bench.example\r\n"
                    f"Subject: {subject}\r\nMessage-ID: <{message_id}>\r\n{extra}"
                    f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}")
                   .replace("\n", "\r\n").replace("\r\r\n", "\r\n").encode())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    setup_django(args.database_url)

    from django.core.management import call_command
    from django.db import close_old_connections
    from django_scopes import scope, scopes_disabled

    from accord.identity.services import create_organization
    from accord.service import inbound, queues
    from accord.service.mail.listener import MailListener
    from accord.service.mail.parse import parse_message
    from accord.service.models import Ticket, TicketMessage

    call_command("migrate", verbosity=0)
    org, admin = create_organization("Bench", admin_email="bench@bench.example",
                                     admin_password=PASSWORD)
    with scope(organization=org):
        queues.create_queue(org, admin, data={"name": "Help",
                                              "email_address": "help@bench.example"})
    raw = messages(args.messages)

    started = time.perf_counter()
    for item in raw:
        parse_message(item)
    parse_rate = len(raw) / (time.perf_counter() - started)

    def deliver(data: bytes, recipients: list[str]) -> None:
        try:
            inbound.deliver(data, recipients)
        finally:
            close_old_connections()

    listener = MailListener("127.0.0.1", free_port(), inbound.accepts_recipient, deliver)
    listener.start()
    timings = []
    started = time.perf_counter()
    try:
        with smtplib.SMTP("127.0.0.1", listener.port, timeout=60) as smtp:
            for item in raw:
                sent = time.perf_counter()
                smtp.sendmail("customer@bench.example", ["help@bench.example"], item)
                timings.append(time.perf_counter() - sent)
    finally:
        listener.stop()
    elapsed = time.perf_counter() - started

    with scopes_disabled():
        stored = TicketMessage.unscoped.filter(organization=org).count()
        tickets = Ticket.unscoped.filter(organization=org).count()
    timings.sort()
    print(f"messages: {len(raw)}, stored: {stored}, tickets: {tickets}")
    print(f"end to end over SMTP: {len(raw) / elapsed:,.0f} messages/s; per message "
          f"median {statistics.median(timings) * 1000:.1f} ms, "
          f"p95 {timings[int(len(timings) * 0.95)] * 1000:.1f} ms")
    print(f"parsing alone: {parse_rate:,.0f} messages/s")
    if stored != len(raw):
        sys.exit("Some messages were not stored once each.")


if __name__ == "__main__":
    main()
