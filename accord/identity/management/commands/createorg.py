"""`accord createorg NAME --admin-email E [--admin-password P]`: a new organisation."""

import secrets

from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from accord.audit.context import channel
from accord.errors import InvalidInput
from accord.identity.services import create_organization

User = get_user_model()

GENERATED_PASSWORD_BYTES = 15  # 20 URL-safe characters


class Command(BaseCommand):
    help = (
        "Create an organisation with its first admin and print only the organisation's "
        "slug on stdout, so scripts can capture it. The admin is a new user, or an existing "
        "user who then belongs to one more organisation. When a new admin gets no "
        "--admin-password, a random password is generated and printed on stderr."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help='The organisation\'s name, such as "Northwind Traders".')
        parser.add_argument(
            "--admin-email", required=True, metavar="E",
            help="E-mail address of the first admin; they sign in with it.",
        )
        parser.add_argument(
            "--admin-password", metavar="P",
            help="Password for a new admin, checked by the password rules. For an existing "
                 "user it replaces their password. Omit it to generate one for a new user "
                 "(printed on stderr) or to keep an existing user's password.",
        )
        parser.add_argument(
            "--admin-name", default="", metavar="N", help="Full name of a new admin.",
        )

    def handle(self, *args, name: str, admin_email: str, admin_password: str | None,
               admin_name: str, **options):
        email = admin_email.strip().lower()
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"{admin_email!r} is not a valid e-mail address.") from None
        existing = User.objects.filter(email=email).exists()
        generated = None
        if admin_password:
            self._check_password(admin_password, email, admin_name)
        elif not existing:
            generated = secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)

        try:
            with channel("cli"):
                org, _user = create_organization(
                    name, admin_email=email, admin_password=admin_password or generated,
                    admin_name=admin_name,
                )
        except InvalidInput as exc:
            raise CommandError(" ".join(exc.as_dict().values())) from None

        if generated:
            self.stderr.write(f"Generated password for {email}: {generated}",
                              style_func=self.style.WARNING)
        elif existing and not admin_password:
            self.stderr.write(f"{email} already has an account; their password is unchanged.",
                              style_func=self.style.WARNING)
        self.stdout.write(org.slug)

    def _check_password(self, password: str, email: str, full_name: str) -> None:
        try:
            password_validation.validate_password(
                password, User(email=email, full_name=full_name)
            )
        except ValidationError as exc:
            raise CommandError("The admin password is too weak: " + " ".join(exc.messages)) \
                from None
