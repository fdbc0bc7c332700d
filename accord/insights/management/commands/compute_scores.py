"""`accord compute_scores [--org SLUG]`: recompute RFM, product suggestions and churn risk now."""

import json

from django.core.management.base import BaseCommand, CommandError

from accord.identity.models import Organization
from accord.insights.tasks import compute_all


class Command(BaseCommand):
    help = (
        "Recompute the scores of one organisation or all of them: the recency, frequency "
        "and monetary scores and loyalty points of every customer who bought, the products "
        "bought together, "
        "and the churn risk of every customer with a live subscription. The worker does "
        "this nightly and a minute after orders or subscriptions change; use this after "
        "loading data with SQL. Prints one line of JSON with the counts."
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
        summary = {"organizations": 0, "scored": 0, "removed": 0, "loyalty_scored": 0,
                   "product_pairs": 0, "churn_scored": 0}
        for organization in organizations.iterator():
            result = compute_all(organization)
            summary["organizations"] += 1
            for key in ("scored", "removed", "loyalty_scored", "product_pairs", "churn_scored"):
                summary[key] += result[key]
        self.stdout.write(json.dumps(summary))
