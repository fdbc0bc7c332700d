"""`accord compute_scores [--org SLUG]`: recompute the RFM scores now."""

import json

from django.core.management.base import BaseCommand, CommandError
from django_scopes import scope

from accord.audit.context import channel
from accord.identity.models import Organization
from accord.insights import services


class Command(BaseCommand):
    help = (
        "Recompute the recency, frequency and monetary scores of every customer who "
        "bought, for one organisation or all of them. The worker does this nightly and "
        "a minute after orders change; use this after loading orders with SQL. Prints "
        "one line of JSON with the counts."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", metavar="SLUG",
                            help="Only this organisation (default: all of them).")

    def handle(self, *args, org: str | None, **options):
        organizations = Organization.objects.order_by("pk")
        if org:
            organizations = organizations.filter(slug=org)
            if not organizations.exists():
                raise CommandError(f"No organisation has the slug {org!r}.")
        summary = {"organizations": 0, "scored": 0, "removed": 0}
        for organization in organizations.iterator():
            with scope(organization=organization), channel("job"):
                result = services.compute_rfm(organization)
            summary["organizations"] += 1
            summary["scored"] += result["scored"]
            summary["removed"] += result["removed"]
        self.stdout.write(json.dumps(summary))
