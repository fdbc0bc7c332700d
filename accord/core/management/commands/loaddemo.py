"""`accord loaddemo [--once] [--sales-data DIR] [--tickets-data FILE]`: build the demo,
print its sign-in."""

import logging
import time

from django.core.management.base import BaseCommand, CommandError

from accord.core.demo import DEMO_ADMIN_EMAIL, DEMO_SLUG, demo_password, support_data
from accord.core.demo.load import add_sales, add_support, load_demo
from accord.core.demo.sales_data import generate, read_folder
from accord.identity.models import Organization

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Build the demo organisation (slug 'demo') with its people, companies, contacts "
        "timeline, sales teams, products, deals, support queue and tickets, and print the "
        "admin's sign-in. The "
        "password is DEMO_PASSWORD, or one generated once and kept in var/demo_password."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--once", action="store_true",
            help="When the demo organisation exists, only add the deals if it has none yet, "
                 "and print the sign-in.",
        )
        parser.add_argument(
            "--sales-data", metavar="DIR",
            help="Folder with accounts.csv, products.csv, sales_teams.csv and "
                 "sales_pipeline.csv to load as the demo's deals (default: a generated "
                 "data set of the same shape).",
        )
        parser.add_argument(
            "--tickets-data", metavar="FILE",
            help="The customer-support-tickets CSV to load as the demo's tickets (default: a "
                 "generated data set of the same shape).",
        )

    def handle(self, *args, once: bool, sales_data: str | None, tickets_data: str | None,
               verbosity: int, **options):
        sales = tickets = None
        try:
            if sales_data:
                sales = read_folder(sales_data)
            if tickets_data:
                tickets = support_data.read_file(tickets_data)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        org = Organization.objects.filter(slug=DEMO_SLUG).first()
        if org is not None:
            if not once:
                raise CommandError(
                    "The demo organisation exists already. Use --once to keep it, or start "
                    "from an empty database to build it again."
                )
            self._add_sales(org, sales)
            self._add_support(org, tickets)
            if verbosity > 0:
                self._print_sign_in(demo_password())
            return

        password = demo_password(create=True)
        started = time.monotonic()
        # Every service logs each write at INFO; thousands of those lines
        # would bury the progress and the sign-in.
        if verbosity < 2:
            logging.disable(logging.INFO)
        try:
            org, report = load_demo(password, sales=sales, progress=self._progress())
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        finally:
            logging.disable(logging.NOTSET)
        logger.info("demo.loaded", extra={"organization_id": org.id,
                                          "seconds": round(time.monotonic() - started, 1)})
        self._print_sales(report)
        self._add_support(org, tickets)
        self.stdout.write(f"Loaded the demo organisation in "
                          f"{time.monotonic() - started:.1f} s.")
        if verbosity > 0:  # `make run` passes 0: `serve` prints the sign-in itself
            self._print_sign_in(password)

    def _add_sales(self, org, sales) -> None:
        """Give a demo built before it had deals its sales data set; nothing if it has it."""
        started = time.monotonic()
        logging.disable(logging.INFO)
        try:
            report = add_sales(org, sales or generate(last_day=org.created_at.date()),
                               password=demo_password(), progress=self._progress())
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        finally:
            logging.disable(logging.NOTSET)
        if report is not None:
            self._print_sales(report)
            self.stdout.write(f"Added the deals in {time.monotonic() - started:.1f} s.")

    def _add_support(self, org, tickets) -> None:
        """Give a demo without tickets its support queue and tickets; nothing if it has them."""
        logging.disable(logging.INFO)
        try:
            report = add_support(org, tickets if tickets is not None else
                                 support_data.generate(now=org.created_at))
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        finally:
            logging.disable(logging.NOTSET)
        if report is not None:
            statuses = ", ".join(f"{count} {status}" for status, count in
                                 sorted(report.by_status.items()))
            self.stdout.write(f"Demo: {report.tickets} tickets ({statuses}) from "
                              f"{report.contacts_created} new contacts.")

    def _print_sales(self, report) -> None:
        self.stdout.write(f"Demo: {report.deals} deals, {report.companies} companies from "
                          f"accounts, {report.products} products, {report.members} sales "
                          "team members.")
        for spelling, rows in sorted(report.product_fixes.items()):
            self.stdout.write(f"Demo: {rows} pipeline rows name the product {spelling!r}, "
                              "which the catalogue spells otherwise; they were matched to it.")

    def _progress(self):
        """Progress for `load_demo`: a line that redraws on a TTY, one line per step elsewhere."""
        interactive = self.stdout.isatty()
        finished: set[str] = set()

        def report(step: str, done: int, total: int) -> None:
            if interactive:
                end = "\n" if done == total else ""
                self.stdout.write(f"\rDemo: {step} {done}/{total}", ending=end)
                self.stdout.flush()
            elif done == total and step not in finished:
                finished.add(step)
                self.stdout.write(f"Demo: {step} {total}/{total}")

        return report

    def _print_sign_in(self, password: str | None) -> None:
        if password is None:
            self.stdout.write(
                f"Demo sign-in: {DEMO_ADMIN_EMAIL} (the password the demo was built with; "
                "it is not in DEMO_PASSWORD or var/demo_password)"
            )
            return
        self.stdout.write(f"Demo sign-in: {DEMO_ADMIN_EMAIL} / {password}")
