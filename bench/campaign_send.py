"""Measure how fast one campaign job sends, through a real SMTP server on loopback.

Run by hand, never in the suite:

    .venv/bin/python bench/campaign_send.py [--contacts N] [--database-url URL] [--keep]

Without --database-url it builds a throwaway SQLite database under
var/bench/ (deleted first). With one, it migrates that database, adds a bench
organisation and deletes it again at the end (unless --keep). It starts an
SMTP server on 127.0.0.1 that accepts and counts every message, starts a
campaign to N consenting contacts, and runs the sending job in this
process with no rate limit, printing e-mails a second for the job alone and
for resolving the recipients. The SMTP server shares this process, so the
figure is a floor for a worker talking to a real mail server.
"""

import argparse
import logging
import os
import socket
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=2_000)
    parser.add_argument("--database-url", default="",
                        help="a database to use instead of a throwaway SQLite file")
    parser.add_argument("--keep", action="store_true",
                        help="keep the bench organisation (and the SQLite file) afterwards")
    return parser.parse_args()


def setup_django(database_url: str) -> None:
    if not database_url:
        bench_dir = ROOT / "var" / "bench"
        bench_dir.mkdir(parents=True, exist_ok=True)
        for leftover in bench_dir.glob("campaign.sqlite3*"):
            leftover.unlink()
        database_url = f"sqlite:///{bench_dir / 'campaign.sqlite3'}"
    os.environ["DATABASE_URL"] = database_url
    os.environ["CAMPAIGN_SEND_RATE"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "accord.settings")
    import django

    django.setup()
    logging.disable(logging.WARNING)


class Counter:
    def __init__(self):
        self.received = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.received += 1
        return "250 Message accepted for delivery"


def seed(org, admin, count: int):
    from django.utils import timezone

    from accord.customers.models import Consent, Contact
    from accord.marketing import campaigns
    from accord.marketing.models import Segment

    Contact.objects.bulk_create([
        Contact(organization=org, first_name=f"P{n}", email=f"p{n}@bench.example")
        for n in range(count)], batch_size=500)
    now = timezone.now()
    Consent.objects.bulk_create([
        Consent(organization=org, contact_id=pk, channel="email", purpose="marketing",
                status="granted", method="import", recorded_at=now)
        for pk in Contact.objects.values_list("pk", flat=True)], batch_size=500)
    segment = Segment.objects.create(organization=org, name="Bench", conditions={"all": []})
    template = campaigns.create_template(org, admin, data={
        "name": "Bench", "subject": "News for {{ contact.first_name|default:'you' }}",
        "html": "<h1>Hello {{ contact.first_name }}</h1><p>Read <a href='https://example.com/"
                "a'>this</a> and <a href='https://example.com/b'>that</a>.</p>"})
    return campaigns.create_campaign(org, admin, data={
        "name": "Bench", "template": template.pk, "segment": segment.pk,
        "from_email": "bench@bench.example"})


def main() -> None:
    args = parse_args()
    setup_django(args.database_url)
    from aiosmtpd.controller import Controller
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django_scopes import scope

    from accord.identity.models import Membership, Organization
    from accord.identity.services import create_organization
    from accord.marketing import campaigns, sending

    call_command("migrate", verbosity=0)
    counter = Counter()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    smtp = Controller(counter, hostname="127.0.0.1", port=port)
    smtp.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    org, admin = create_organization(
        "Bench", admin_email=f"bench-{time.time_ns()}@bench.example", admin_name="Bench")
    try:
        with scope(organization=org):
            campaign = seed(org, admin, args.contacts)
            started = time.perf_counter()
            campaign = campaigns.start_campaign(org, admin, campaign)
            resolved = time.perf_counter() - started
            started = time.perf_counter()
            sent = sending.send_campaign(org, campaign)
            seconds = time.perf_counter() - started
        print(f"{connection.vendor}: resolved {args.contacts:,} recipients in {resolved:.2f} s")
        print(f"{connection.vendor}: sent {sent:,} e-mails in {seconds:.1f} s "
              f"({sent / seconds:,.0f} e-mails/s); the server received {counter.received:,}")
    finally:
        smtp.stop()
        if args.keep:
            print(f"Kept the bench organisation (id {org.id}) in "
                  f"{connection.settings_dict['NAME']}.")
        elif not args.database_url:
            connection.close()
            for path in (ROOT / "var" / "bench").glob("campaign.sqlite3*"):
                path.unlink()
        else:
            users = list(Membership.unscoped.filter(organization=org)
                         .values_list("user", flat=True))
            Organization.objects.filter(pk=org.pk).delete()
            get_user_model().objects.filter(pk__in=users).delete()


if __name__ == "__main__":
    main()
