"""`accord reindex [--org SLUG] [--missing]`: rebuild the search index."""

from django.core.management.base import BaseCommand, CommandError

from accord import search
from accord.identity.models import Organization


class Command(BaseCommand):
    help = (
        "Rebuild the search entries of contacts, companies and every other searchable "
        "record. Accord keeps them current on every write; use this after restoring a "
        "backup or loading rows with SQL. --missing only adds entries for records that "
        "have none, which is quick when there are none to add."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", metavar="SLUG",
                            help="Only this organisation (default: all of them).")
        parser.add_argument("--missing", action="store_true",
                            help="Only index records that have no search entry yet.")

    def handle(self, *args, org: str | None, missing: bool, **options):
        organization_id = None
        if org:
            organization = Organization.objects.filter(slug=org).first()
            if organization is None:
                raise CommandError(f"No organisation has the slug {org!r}.")
            organization_id = organization.pk
        for model in search.registered_models():
            count = search.rebuild(model, organization_id=organization_id,
                                   missing_only=missing)
            if options["verbosity"] >= 1:
                self.stdout.write(f"{search.entity_of(model)}: {count} indexed")
