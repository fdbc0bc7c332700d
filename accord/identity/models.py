"""Users, organisations (tenants), memberships with roles, teams and API tokens."""

import hashlib
import secrets
import zoneinfo

from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.models import AbstractBaseUser, PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accord import crypto
from accord.core.models import TenantModel, VersionedModel
from accord.money import Rounding

TIME_ZONE_CHOICES = [(name, name) for name in sorted(zoneinfo.available_timezones())]


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields):
        if not email:
            raise ValueError("A user needs an e-mail address.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields):
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in. Users are global; what they see comes from memberships."""

    email = models.EmailField(_("e-mail"), unique=True)
    full_name = models.CharField(_("full name"), max_length=200, blank=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="UTC", choices=TIME_ZONE_CHOICES
    )
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    # Bumped by "sign out everywhere"; sessions carry the value they started with.
    session_generation = models.PositiveIntegerField(default=0)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["full_name", "email"]

    def __str__(self) -> str:
        return self.full_name or self.email

    def get_full_name(self) -> str:
        return str(self)

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


class Organization(models.Model):
    """A tenant: every business record belongs to exactly one."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=64, unique=True)
    base_currency = models.CharField(_("base currency"), max_length=3, default="USD")
    tax_rounding = models.CharField(
        _("tax rounding"), max_length=8, choices=Rounding.choices, default=Rounding.PER_LINE,
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="UTC", choices=TIME_ZONE_CHOICES
    )
    require_two_factor = models.BooleanField(
        _("require two-factor for members"), default=False,
        help_text=_("Members without two-factor sign-in must set it up before they can "
                    "use Accord in the browser. API tokens keep working."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    ADMIN = "admin", _("Admin")
    MANAGER = "manager", _("Manager")
    SALES = "sales", _("Sales")
    MARKETING = "marketing", _("Marketing")
    SUPPORT = "support", _("Support")
    READ_ONLY = "read_only", _("Read-only")


class Team(VersionedModel):
    name = models.CharField(_("name"), max_length=120)
    lead = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("team lead"),
    )

    class Meta(VersionedModel.Meta):
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="team_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class Membership(VersionedModel):
    """A user's place in an organisation: the role decides what they may do."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.SALES)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="memberships",
        verbose_name=_("team"),
    )
    is_active = models.BooleanField(default=True)

    class Meta(VersionedModel.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user"], name="membership_unique_user"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"


TOKEN_PREFIX = "acc_"  # noqa: S105 - a public marker, not a secret


def hash_secret(secret: str) -> str:
    # Tokens carry 256 bits of randomness, so a fast hash is enough: there is
    # nothing to brute-force, and lookups stay cheap on every API call.
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiToken(TenantModel):
    """A named bearer token; only its hash and a short prefix are stored.

    `scopes` lists what the token may reach (see `accord.identity.scopes`);
    the user's role limits it further. After `expires_at` it stops working.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=120)
    prefix = models.CharField(max_length=16, unique=True)
    hashed = models.CharField(max_length=64)
    scopes = models.JSONField(_("scopes"), default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "user"], name="apitoken_org_user")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def generate() -> tuple[str, str]:
        """A new (prefix, full token) pair; the full token is shown once."""
        prefix = secrets.token_hex(4)
        return prefix, f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired


class Invitation(TenantModel):
    """An e-mailed invitation to join an organisation with a role."""

    email = models.EmailField(_("e-mail"))
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.SALES)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL)
    hashed = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.email

    @property
    def is_open(self) -> bool:
        return (
            self.accepted_at is None
            and self.revoked_at is None
            and self.expires_at > timezone.now()
        )


class SignInFailure(models.Model):
    """One failed sign-in, kept briefly to slow down password guessing.

    Not tenant-scoped: signing in comes before any organisation. The e-mail is
    stored only as a hash, so the table lists no addresses.
    """

    email_hash = models.CharField(max_length=64)
    ip = models.CharField(max_length=45, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["email_hash", "created_at"], name="signinfailure_email"),
            models.Index(fields=["ip", "created_at"], name="signinfailure_ip"),
        ]

    def __str__(self) -> str:
        return f"failure at {self.created_at:%Y-%m-%d %H:%M}"


class TwoFactorDevice(models.Model):
    """A user's TOTP authenticator; it counts only once `confirmed_at` is set.

    Not tenant-scoped: a user signs in once for every organisation. The
    secret is stored encrypted with `accord.crypto` and shown only until the
    user confirms it; `secret` reads and writes it in the clear.
    """

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="two_factor")
    encrypted_secret = models.TextField(help_text="Encrypted with accord.crypto.")
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # The time step of the last accepted code: a code is refused unless its
    # step is later, so an overheard code cannot be replayed in its window.
    last_used_step = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"two-factor of user {self.user_id}"

    @property
    def secret(self) -> str:
        return crypto.decrypt(self.encrypted_secret)

    @secret.setter
    def secret(self, value: str) -> None:
        self.encrypted_secret = crypto.encrypt(value)

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None


class RecoveryCode(models.Model):
    """A single-use code for signing in without the authenticator; stored hashed."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    hashed = models.CharField(max_length=128)
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["user", "used_at"], name="recoverycode_user")]

    def __str__(self) -> str:
        return f"recovery code {self.pk}"


class UserSession(models.Model):
    """What the user sees of one signed-in browser session, keyed by its session key."""

    session_key = models.CharField(max_length=40, unique=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sessions")
    user_agent = models.CharField(_("device"), max_length=300, blank=True)
    ip = models.CharField(_("IP address"), max_length=45, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(_("last seen"), default=timezone.now)

    class Meta:
        ordering = ["-last_seen_at"]
        indexes = [models.Index(fields=["user", "last_seen_at"], name="usersession_user")]

    def __str__(self) -> str:
        return f"session {self.pk} of user {self.user_id}"


class Area(models.TextChoices):
    """The parts of Accord whose records are shown per owner."""

    CONTACTS = "contacts", _("Contacts")
    COMPANIES = "companies", _("Companies")
    DEALS = "deals", _("Deals")
    LEADS = "leads", _("Leads")
    RECORDS = "records", _("Custom records")


class Scope(models.TextChoices):
    OWN = "own", _("Own records")
    TEAM = "team", _("Team's records")
    ALL = "all", _("All records")


class VisibilityPolicy(VersionedModel):
    """Which records each role sees in each area; at most one row per organisation.

    `scopes` maps a role to {area: scope}; a role or area it does not name
    sees all records, so an organisation without a row sees everything.
    """

    scopes = models.JSONField(default=dict)

    class Meta(VersionedModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="visibilitypolicy_org")
        ]

    def __str__(self) -> str:
        return "record visibility"


class SingleSignOn(VersionedModel):
    """An organisation's OpenID Connect provider; at most one row per organisation.

    The client secret is stored encrypted with `accord.crypto`, because it is
    sent to the provider's token endpoint; `client_secret` reads and writes it
    in the clear and no page or API answer shows it. Allowed domains are kept
    as "|a.example|b.example|" so that one LIKE finds the organisations of a
    domain on every database.
    """

    enabled = models.BooleanField(_("allow sign-in with single sign-on"), default=False)
    issuer = models.URLField(_("issuer URL"), max_length=300, blank=True)
    client_id = models.CharField(_("client id"), max_length=255, blank=True)
    encrypted_client_secret = models.TextField(blank=True,
                                               help_text="Encrypted with accord.crypto.")
    domains = models.CharField(_("allowed e-mail domains"), max_length=1000, blank=True)
    create_members = models.BooleanField(_("add new people on first sign-in"), default=False)
    new_member_role = models.CharField(
        _("role of new people"), max_length=16, choices=Role.choices, default=Role.READ_ONLY,
    )
    require_sso = models.BooleanField(_("require single sign-on"), default=False)

    class Meta(VersionedModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="singlesignon_org")
        ]

    def __str__(self) -> str:
        return "single sign-on"

    @property
    def client_secret(self) -> str:
        return crypto.decrypt(self.encrypted_client_secret)

    @client_secret.setter
    def client_secret(self, value: str) -> None:
        self.encrypted_client_secret = crypto.encrypt(value)

    @property
    def allowed_domains(self) -> list[str]:
        return [domain for domain in self.domains.split("|") if domain]

    @allowed_domains.setter
    def allowed_domains(self, value: list[str]) -> None:
        self.domains = "|" + "|".join(value) + "|" if value else ""

    @property
    def is_usable(self) -> bool:
        return self.enabled and bool(self.issuer and self.client_id)
