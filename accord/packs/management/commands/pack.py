"""`accord pack list|show|apply|remove`: industry packs from the command line."""

from django.core.management.base import BaseCommand, CommandError
from django_scopes import scope

from accord.audit.context import channel
from accord.errors import DomainError, InvalidInput
from accord.identity.models import Membership, Organization, Role
from accord.packs import document, services


class Command(BaseCommand):
    help = (
        "List the industry packs, show what one holds, apply it to an organisation "
        "(--dry-run shows what would change and changes nothing), or remove it "
        "(--delete-data also deletes what people entered into the pack's objects)."
    )

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="action", required=True)
        commands.add_parser("list", help="The packs shipped with Accord.")
        show = commands.add_parser("show", help="What a pack holds, section by section.")
        show.add_argument("name")
        for action in ("apply", "remove"):
            sub = commands.add_parser(action, help=f"{action.capitalize()} a pack.")
            sub.add_argument("name")
            sub.add_argument("--org", metavar="SLUG", required=True)
            sub.add_argument("--as", dest="email", metavar="EMAIL",
                             help="The admin who acts (default: the organisation's first "
                                  "admin).")
        commands.choices["apply"].add_argument("--dry-run", action="store_true")
        commands.choices["remove"].add_argument("--delete-data", action="store_true")

    def handle(self, *args, action: str, **options):
        try:
            if action == "list":
                return self._list()
            if action == "show":
                return self._show(options["name"])
            return self._change(action, options)
        except InvalidInput as exc:
            raise CommandError("\n".join(
                [exc.detail] + [f"  {error['field']}: {error['message']}"
                                for error in exc.errors])) from None
        except DomainError as exc:
            raise CommandError(exc.detail) from None

    def _list(self):
        for name in document.available():
            pack = document.load(name)
            self.stdout.write(f"{pack.name}  {pack.version}  {pack.title}")

    def _show(self, name: str):
        from accord.packs import blocks

        pack = document.load(name)
        self.stdout.write(f"{pack.title} ({pack.name} {pack.version})\n{pack.description}")
        for block in blocks.ordered():
            items = pack.sections.get(block.section, [])
            if items:
                self.stdout.write(f"\n{block.label}:")
                for item in items:
                    self.stdout.write(f"  - {block.describe(item)}")

    def _change(self, action: str, options: dict):
        org = Organization.objects.filter(slug=options["org"]).first()
        if org is None:
            raise CommandError(f"No organisation has the slug {options['org']!r}.")
        with scope(organization=org), channel("cli"):
            admins = Membership.objects.filter(role=Role.ADMIN, is_active=True)
            if options.get("email"):
                admins = admins.filter(user__email__iexact=options["email"])
            admin = admins.select_related("user").order_by("pk").first()
            if admin is None:
                raise CommandError("No active admin of this organisation to act as.")
            if action == "apply":
                summary = services.apply_pack(org, admin.user, options["name"],
                                              dry_run=options["dry_run"])
            else:
                summary = services.remove_pack(org, admin.user, options["name"],
                                               delete_data=options["delete_data"])
        self._summary(summary)

    def _summary(self, summary: services.Summary):
        heading = {"apply": "Applied", "remove": "Removed"}[summary.action]
        if summary.dry_run:
            heading = "Dry run, nothing changed: would apply"
        self.stdout.write(f"{heading} {summary.pack} {summary.version}")
        for item in summary.outcomes:
            reason = f" ({item.reason})" if item.reason else ""
            self.stdout.write(f"  {item.outcome:<9} {item.label}: {item.description}{reason}")
        counts = ", ".join(f"{count} {name}" for name, count in summary.counts().items()
                           if count)
        self.stdout.write(f"Summary: {counts or 'nothing to do'}")
