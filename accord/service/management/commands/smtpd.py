"""`accord smtpd [--port N]`: the SMTP listener that turns support mail into tickets."""

import os

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from accord.service import inbound
from accord.service.mail.listener import serve_forever


def _accepts(address: str) -> bool:
    try:
        return inbound.accepts_recipient(address)
    finally:
        close_old_connections()


def _deliver(raw: bytes, recipients: list[str], sender: str) -> None:
    try:
        inbound.deliver(raw, recipients, sender)
    finally:
        close_old_connections()


class Command(BaseCommand):
    help = (
        "Receive support mail over SMTP on HOST (default 127.0.0.1) and --port (default "
        "SMTP_PORT or 2525). Mail to a queue's address becomes a ticket or joins the ticket "
        "it answers; other recipients are refused. Runs until stopped."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=settings.SMTP_PORT,
                            help="Port to listen on (default: SMTP_PORT or 2525).")

    def handle(self, *args, port: int, **options):
        host = os.environ.get("HOST", "127.0.0.1")
        self.stdout.write(f"Receiving mail on {host}:{port}")
        serve_forever(host, port, _accepts, _deliver)
