"""`accord createtoken --email E [--name N] [--org SLUG] [--scope S ...] [--expires-in DAYS]`.

Prints the new API token, and nothing else, on stdout.
"""

import argparse
import datetime as dt

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django_scopes import scope

from accord.audit.context import channel
from accord.errors import DomainError
from accord.identity.models import Membership
from accord.identity.scopes import ALL, SCOPES
from accord.identity.services import MAX_TOKEN_DAYS, create_token

User = get_user_model()
MAX_DAYS = MAX_TOKEN_DAYS


def days(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError("give a whole number of days") from None
    if not 1 <= number <= MAX_DAYS:
        raise argparse.ArgumentTypeError(f"give between 1 and {MAX_DAYS} days")
    return number


class Command(BaseCommand):
    help = (
        "Create an API token for a user and print only the token on stdout, so scripts can "
        "capture it; it is never shown again. The token acts as that user, with their role, "
        "in one organisation: use --org when the user belongs to several. Send it as "
        "'Authorization: Bearer <token>' to /api/v1/. Without --scope the token may do "
        "everything the user's role allows; with it, only what both the scopes and the role "
        "allow."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--email", required=True, metavar="E", help="E-mail address of the token's user.",
        )
        parser.add_argument(
            "--name", default="Command-line token", metavar="N",
            help='What the token is for, shown in Settings → API tokens (default: '
                 '"Command-line token").',
        )
        parser.add_argument(
            "--org", metavar="SLUG",
            help="Slug of the organisation the token works in; needed when the user belongs "
                 "to several.",
        )
        parser.add_argument(
            "--scope", action="append", dest="scopes", metavar="S", choices=SCOPES,
            help="What the token may reach, such as contacts:read or deals:write (which also "
                 "reads); repeat for several. '*' (the default) is everything the role allows.",
        )
        parser.add_argument(
            "--expires-in", type=days, metavar="DAYS",
            help="Make the token stop working after this many days, 1 to 3650 "
                 "(default: never).",
        )

    def handle(self, *args, email: str, name: str, org: str | None, scopes: list[str] | None,
               expires_in: int | None, **options):
        email = email.strip().lower()
        user = User.objects.filter(email=email).first()
        if user is None:
            raise CommandError(f"No user has the e-mail address {email}.")
        if not user.is_active:
            raise CommandError(f"The account of {email} is disabled.")
        membership = self._membership(user, org)

        organization = membership.organization
        expires_at = None
        if expires_in is not None:
            expires_at = timezone.now() + dt.timedelta(days=expires_in)
        try:
            with scope(organization=organization), channel("cli"):
                _token, raw = create_token(organization, user, name=name,
                                           scopes=scopes or [ALL], expires_at=expires_at)
        except DomainError as exc:
            messages = [error["message"] for error in exc.errors] or [exc.detail]
            raise CommandError(" ".join(messages)) from None
        self.stdout.write(raw)

    def _membership(self, user, slug: str | None) -> Membership:
        # A user's memberships span organisations, so this lookup is unscoped.
        memberships = list(
            Membership.unscoped.select_related("organization")
            .filter(user=user, is_active=True).order_by("organization__slug")
        )
        if not memberships:
            raise CommandError(f"{user.email} is not an active member of any organisation.")
        if slug is not None:
            for membership in memberships:
                if membership.organization.slug == slug:
                    return membership
            raise CommandError(f"{user.email} is not an active member of an organisation "
                               f"with the slug {slug!r}.")
        if len(memberships) > 1:
            slugs = ", ".join(membership.organization.slug for membership in memberships)
            raise CommandError(f"{user.email} belongs to several organisations ({slugs}); "
                               "choose one with --org SLUG.")
        return memberships[0]
