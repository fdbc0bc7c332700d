"""`accord loaddemo [--once]`: build the demo organisation and print its sign-in."""

import logging
import time

from django.core.management.base import BaseCommand, CommandError

from accord.core.demo import DEMO_ADMIN_EMAIL, DEMO_SLUG, demo_password
from accord.core.demo.load import load_demo
from accord.identity.models import Organization

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Build the demo organisation (slug 'demo') with its people, companies, contacts "
        "and timeline, and print the admin's sign-in. The password is DEMO_PASSWORD, or "
        "one generated once and kept in var/demo_password."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--once", action="store_true",
            help="Do nothing but print the sign-in when the demo organisation exists.",
        )

    def handle(self, *args, once: bool, verbosity: int, **options):
        if Organization.objects.filter(slug=DEMO_SLUG).exists():
            if not once:
                raise CommandError(
                    "The demo organisation exists already. Use --once to keep it, or start "
                    "from an empty database to build it again."
                )
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
            org = load_demo(password, progress=self._progress())
        finally:
            logging.disable(logging.NOTSET)
        seconds = time.monotonic() - started

        logger.info("demo.loaded", extra={"organization_id": org.id,
                                          "seconds": round(seconds, 1)})
        self.stdout.write(f"Loaded the demo organisation in {seconds:.1f} s.")
        if verbosity > 0:  # `make run` passes 0: `serve` prints the sign-in itself
            self._print_sign_in(password)

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
