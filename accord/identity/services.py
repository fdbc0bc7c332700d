"""Organisations, members, roles, teams, invitations, API tokens and profiles.

The definitions of custom fields live here too: like roles and teams they
are the organisation's settings, changed only by its admins, while the
values stored on contacts and companies belong to `accord.customers`.
"""

import datetime as dt
import hashlib
import json
import logging
import secrets
import smtplib
import zoneinfo

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify
from django_scopes import scope

from accord.audit import services as audit
from accord.audit.models import Action
from accord.errors import Conflict, InvalidInput, NotFound, StaleVersion

from . import scopes as token_scopes
from .models import (
    TOKEN_PREFIX,
    ApiToken,
    Invitation,
    Membership,
    Organization,
    Role,
    Team,
    UserSession,
    hash_secret,
)

logger = logging.getLogger(__name__)
User = get_user_model()

INVITATION_DAYS = 7
MAX_TOKEN_DAYS = 3650  # ten years: past that, "never" says it more honestly


def token_prefix(raw: str) -> str | None:
    """The lookup prefix of a full token `acc_<prefix>_<secret>`, or None if malformed."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    prefix, _, secret = raw[len(TOKEN_PREFIX):].partition("_")
    if len(prefix) != 8 or not secret:
        return None
    return prefix


def unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "org"
    slug, counter = base, 2
    while Organization.objects.filter(slug=slug).exists():
        slug = f"{base}-{counter}"
        counter += 1
    return slug


@transaction.atomic
def create_organization(name: str, *, admin_email: str, admin_password: str | None = None,
                        admin_name: str = "") -> tuple[Organization, User]:
    """Create an organisation and its first admin (a new or existing user)."""
    name = name.strip()
    if not name:
        raise InvalidInput({"name": "Give the organisation a name."})
    email = admin_email.strip().lower()
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email, admin_password, full_name=admin_name)
    elif admin_password:
        user.set_password(admin_password)
        user.save(update_fields=["password"])
    org = Organization.objects.create(name=name, slug=unique_slug(name))
    with scope(organization=org):
        Membership.objects.create(organization=org, user=user, role=Role.ADMIN)
        audit.record(org, user, Action.CREATE, org, entity="organization")
    logger.info("organization.created", extra={"organization_id": org.id})
    return org, user


@transaction.atomic
def create_token(org, user, *, name: str, scopes=(token_scopes.ALL,),
                 expires_at: dt.datetime | None = None) -> tuple[ApiToken, str]:
    """Issue a token for `user` in `org`; the full token is returned once and never stored.

    `scopes` are names from `accord.identity.scopes`; without them the token
    may do everything the user's role allows. InvalidInput names `name`,
    `scopes` or `expires_at` when one is not acceptable.
    """
    name, scopes = _clean_token(name, scopes, expires_at)
    if not Membership.objects.filter(user=user, is_active=True).exists():
        raise NotFound("This user is not a member of the organisation.")

    prefix, raw = ApiToken.generate()
    token = ApiToken.objects.create(
        organization=org, user=user, name=name, prefix=prefix, hashed=hash_secret(raw),
        scopes=scopes, expires_at=expires_at,
    )

    audit.record(org, user, Action.ACCESS, token, entity="api_token", changes={
        "token": [None, f"created {prefix}"], "scopes": [None, scopes],
        "expires_at": [None, _expiry_text(expires_at)],
    })
    logger.info("token.created", extra={"organization_id": org.id, "token_id": token.pk})
    return token, raw


def _clean_token(name: str, scopes, expires_at: dt.datetime | None) -> tuple[str, list[str]]:
    """A token's name and scopes as stored; InvalidInput naming the field that is wrong."""
    name = (name or "").strip() or "API token"
    if len(name) > 120:
        raise InvalidInput({"name": "Keep the name under 120 characters."})
    if token_scopes.ALL in (scopes or ()) and len(set(scopes)) > 1:
        raise InvalidInput({"scopes": "Choose either everything your role allows or some "
                                      "areas, not both."})
    try:
        scopes = token_scopes.normalise(scopes)
    except ValueError:
        raise InvalidInput({"scopes": "Use only these scopes: "
                                      + ", ".join(token_scopes.SCOPES) + "."}) from None
    if not scopes:
        raise InvalidInput({"scopes": "Choose at least one scope."})
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidInput({"expires_at": "Choose an expiry in the future."})
    if expires_at is not None and expires_at > timezone.now() + dt.timedelta(
            days=MAX_TOKEN_DAYS + 1):
        raise InvalidInput({"expires_at": "Choose an expiry within ten years."})
    return name, scopes


def _expiry_text(expires_at: dt.datetime | None) -> str | None:
    return expires_at.astimezone(dt.UTC).isoformat() if expires_at else None


@transaction.atomic
def token_fingerprint(token: ApiToken) -> str:
    """A short digest of what an edit of `token` can change: its name, scopes and expiry.

    Tokens carry no version number; an edit form holds this instead, so a save
    made from a page opened before someone else's change is refused.
    """
    state = json.dumps([token.name, token.scopes, _expiry_text(token.expires_at)])
    return hashlib.sha256(state.encode()).hexdigest()[:16]


def update_token(org, actor, token: ApiToken, *, name: str, scopes,
                 expires_at: dt.datetime | None,
                 expected_fingerprint: str | None = None) -> ApiToken:
    """Rename a live token, or change its scopes or expiry; the secret stays the same.

    A revoked token stays as it was revoked: InvalidInput. StaleVersion when
    `expected_fingerprint` is given and the token changed since it was taken.
    """
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        raise InvalidInput({"name": "This token is revoked; make a new one instead."})
    if expected_fingerprint is not None and expected_fingerprint != token_fingerprint(token):
        raise StaleVersion("This token was changed by someone else since you opened it. "
                           "Reload the page to see its name, scopes and expiry now, then "
                           "make your change again.")
    name, scopes = _clean_token(name, scopes, expires_at)
    changes = {
        field: [before, after] for field, before, after in (
            ("name", token.name, name),
            ("scopes", token.scopes, scopes),
            ("expires_at", _expiry_text(token.expires_at), _expiry_text(expires_at)),
        ) if before != after
    }
    if changes:
        token.name, token.scopes, token.expires_at = name, scopes, expires_at
        token.save(update_fields=["name", "scopes", "expires_at"])
        audit.record(org, actor, Action.UPDATE, token, entity="api_token", changes=changes)
        logger.info("token.updated", extra={"organization_id": org.id, "token_id": token.pk})
    return token


@transaction.atomic
def revoke_token(org, actor, token: ApiToken) -> None:
    if token.revoked_at is None:
        ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
        audit.record(org, actor, Action.ACCESS, token, entity="api_token",
                     changes={"token": [token.prefix, "revoked"]})
        logger.info("token.revoked", extra={"organization_id": org.id, "token_id": token.pk})


@transaction.atomic
def invite_member(org, actor, *, email: str, role: str, team: Team | None = None,
                  accept_url_template: str) -> Invitation:
    """Invite someone by e-mail; `accept_url_template` has one `{token}` placeholder."""
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidInput({"email": "Enter an e-mail address such as ana@example.com."}) from None
    if role not in Role.values:
        raise InvalidInput({"role": "Choose one of the roles."})
    if Membership.objects.filter(user__email=email, is_active=True).exists():
        raise Conflict("This person is already a member.")
    raw = secrets.token_urlsafe(32)
    Invitation.objects.filter(email=email, accepted_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    invitation = Invitation.objects.create(
        organization=org, email=email, role=role, team=team, hashed=hash_secret(raw),
        invited_by=actor, expires_at=timezone.now() + dt.timedelta(days=INVITATION_DAYS),
    )
    audit.record(org, actor, Action.ACCESS, invitation, entity="invitation",
                 changes={"invited": [None, role]})
    url = accept_url_template.format(token=raw)
    context = {"org": org, "inviter": actor, "url": url, "days": INVITATION_DAYS}
    # The caller learns after commit whether the mail went out; when it did
    # not, it can hand the link over some other way.
    invitation.accept_url, invitation.mail_sent = url, None
    transaction.on_commit(lambda: _send_invitation(
        invitation, subject=f"You are invited to {org.name} on Accord",
        message=render_to_string("identity/email/invitation.txt", context),
    ))
    return invitation


def _send_invitation(invitation: Invitation, *, subject: str, message: str) -> None:
    try:
        send_mail(subject=subject, message=message, from_email=None,
                  recipient_list=[invitation.email])
    except (OSError, smtplib.SMTPException):
        logger.warning("invitation.mail_failed", extra={
            "organization_id": invitation.organization_id, "invitation_id": invitation.pk})
        invitation.mail_sent = False
    else:
        invitation.mail_sent = True


@transaction.atomic
def revoke_invitation(org, actor, invitation: Invitation) -> None:
    """Make an open invitation's link stop working; an accepted one stays as it is."""
    if invitation.accepted_at is None and invitation.revoked_at is None:
        Invitation.objects.filter(pk=invitation.pk).update(revoked_at=timezone.now())
        audit.record(org, actor, Action.ACCESS, invitation, entity="invitation",
                     changes={"invited": [invitation.role, "revoked"]})


def find_invitation(raw: str) -> Invitation:
    invitation = (
        Invitation.unscoped.select_related("organization")
        .filter(hashed=hash_secret(raw or "")).first()
    )
    if invitation is None or not invitation.is_open:
        raise NotFound("This invitation link is not valid any more.")
    return invitation


@transaction.atomic
def accept_invitation(invitation: Invitation, *, user=None, full_name: str = "",
                      password: str | None = None) -> Membership:
    """Turn an open invitation into a membership, creating the user when needed."""
    org = invitation.organization
    if user is None:
        user = User.objects.filter(email=invitation.email).first()
    if user is None:
        user = User.objects.create_user(invitation.email, password, full_name=full_name)
    with scope(organization=org):
        membership, _ = Membership.objects.update_or_create(
            organization=org, user=user,
            defaults={"role": invitation.role, "team": invitation.team, "is_active": True},
        )
        Invitation.unscoped.filter(pk=invitation.pk).update(accepted_at=timezone.now())
        audit.record(org, user, Action.ACCESS, membership, entity="membership",
                     changes={"role": [None, invitation.role]})
    return membership


@transaction.atomic
def change_role(org, actor, membership: Membership, *, role: str,
                team: Team | None = ..., is_active: bool | None = None) -> Membership:
    """Change a member's role, team or access; the last active admin cannot be demoted."""
    if role not in Role.values:
        raise InvalidInput({"role": "Choose one of the roles."})
    if is_active is False and membership.user_id == getattr(actor, "pk", None):
        raise InvalidInput({"is_active": "You cannot deactivate yourself; ask another admin."})
    losing_admin = membership.role == Role.ADMIN and (role != Role.ADMIN or is_active is False)
    if losing_admin and not Membership.objects.filter(
        role=Role.ADMIN, is_active=True
    ).exclude(pk=membership.pk).exists():
        raise InvalidInput({"role": "An organisation needs at least one active admin."})
    before = {"role": membership.role, "team": membership.team_id,
              "is_active": membership.is_active}
    membership.role = role
    if team is not ...:
        membership.team = team
    if is_active is not None:
        membership.is_active = is_active
    membership.save_new_version()
    after = {"role": membership.role, "team": membership.team_id,
             "is_active": membership.is_active}
    audit.record(org, actor, Action.ACCESS, membership, entity="membership",
                 changes=audit.diff(before, after))
    return membership


@transaction.atomic
def save_team(org, actor, *, name: str, lead=None, team: Team | None = None,
              members: list[Membership] | None = None) -> Team:
    """Create or rename a team; with `members`, exactly those memberships end up in it.

    A member belongs to one team at most, so adding someone moves them out of
    their previous team.
    """
    name = (name or "").strip()
    if not name:
        raise InvalidInput({"name": "Give the team a name."})
    if len(name) > 120:
        raise InvalidInput({"name": "Keep the name under 120 characters."})
    clash = Team.objects.filter(name__iexact=name)
    if team is not None:
        clash = clash.exclude(pk=team.pk)
    if clash.exists():
        raise InvalidInput({"name": "A team with this name exists already."})
    if lead is not None and not Membership.objects.filter(user=lead, is_active=True).exists():
        raise InvalidInput({"lead": "The team lead must be an active member."})

    action = Action.CREATE if team is None else Action.UPDATE
    before = {} if team is None else {"name": team.name, "lead": team.lead_id,
                                      "members": _team_member_ids(team)}
    team = team or Team(organization=org)
    team.name, team.lead = name, lead
    if team.pk is None:
        team.save()
    else:
        team.save_new_version()
    if members is not None:
        wanted = {membership.pk for membership in members}
        Membership.objects.filter(team=team).exclude(pk__in=wanted).update(team=None)
        Membership.objects.filter(pk__in=wanted).update(team=team)

    after = {"name": team.name, "lead": team.lead_id, "members": _team_member_ids(team)}
    audit.record(org, actor, action, team, entity="team", changes=audit.diff(before, after))
    return team


def _team_member_ids(team: Team) -> list[int]:
    return sorted(Membership.objects.filter(team=team).values_list("pk", flat=True))


@transaction.atomic
def delete_team(org, actor, team: Team) -> None:
    """Delete a team; its members stay in the organisation without a team."""
    members = _team_member_ids(team)
    audit.record(org, actor, Action.PURGE, team, entity="team",
                 changes={"name": [team.name, None], "members": [members, []]})
    team.delete()


def update_profile(user, *, full_name: str, time_zone: str):
    """Change a user's own name and time zone; InvalidInput names the bad field."""
    full_name = (full_name or "").strip()
    if len(full_name) > 200:
        raise InvalidInput({"full_name": "Keep the name under 200 characters."})
    if time_zone not in zoneinfo.available_timezones():
        raise InvalidInput({"time_zone": "Choose a time zone such as Europe/Berlin."})
    user.full_name, user.time_zone = full_name, time_zone
    user.save(update_fields=["full_name", "time_zone"])
    logger.info("user.profile_updated", extra={"user_id": user.pk})
    return user


def sign_out_everywhere(user) -> None:
    """End every session of `user`: each session remembers the generation it began in."""
    User.objects.filter(pk=user.pk).update(session_generation=user.session_generation + 1)
    UserSession.objects.filter(user=user).delete()
