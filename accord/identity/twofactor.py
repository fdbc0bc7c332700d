"""Two-factor sign-in: TOTP codes (RFC 6238) and single-use recovery codes.

A user's device counts once it is confirmed with a current code. Each
accepted code moves the device's last used time step forward, so the same
code cannot be used twice. Recovery codes are shown once and kept only as
salted hashes; the TOTP secret is stored encrypted (`TwoFactorDevice.secret`
reads it). Enabling, disabling, new recovery codes, the use of one and an
organisation's requirement are written to the audit log.
"""

import hashlib
import hmac
import logging
import secrets
import time

import pyotp
import segno
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accord.audit import services as audit
from accord.audit.models import Action
from accord.errors import InvalidInput

from .models import Membership, Organization, RecoveryCode, TwoFactorDevice

logger = logging.getLogger(__name__)
User = get_user_model()

ISSUER = "Accord"
DRIFT_STEPS = 1  # one 30-second step either side: a phone clock a little off still works
RECOVERY_CODE_COUNT = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o or 1/l/i to misread
RECOVERY_CODE_LENGTH = 10  # about 49 bits each: nothing to guess behind the lock-out
PENDING_USER_KEY = "two_factor_user_id"
PENDING_BACKEND_KEY = "two_factor_backend"
PENDING_NEXT_KEY = "two_factor_next"
PENDING_SINCE_KEY = "two_factor_since"
PENDING_SECONDS = 300  # time enough to find the phone, short for a forgotten tab


class WrongProof(InvalidInput):
    """A code or password given as proof that is not right; callers count it as a failed
    sign-in of the user's address."""


def two_factor_enabled(user) -> bool:
    return TwoFactorDevice.objects.filter(user=user, confirmed_at__isnull=False).exists()


def pending_device(user) -> TwoFactorDevice | None:
    """The device being set up, whose secret may still be shown, or None."""
    return TwoFactorDevice.objects.filter(user=user, confirmed_at__isnull=True).first()


def begin_two_factor(user) -> TwoFactorDevice:
    """Give the user a fresh, unconfirmed secret; a confirmed device is left alone."""
    if two_factor_enabled(user):
        raise InvalidInput({"code": _("Two-factor sign-in is on already.")})
    device = TwoFactorDevice.objects.filter(user=user).first() or TwoFactorDevice(user=user)
    device.secret = pyotp.random_base32()
    device.last_used_step = None
    device.save()
    return device


def provisioning_uri(device: TwoFactorDevice) -> str:
    return pyotp.TOTP(device.secret).provisioning_uri(
        name=device.user.email, issuer_name=ISSUER
    )


def qr_code_svg(device: TwoFactorDevice) -> str:
    """The set-up link as an inline SVG QR code, drawn here so no request leaves the page."""
    return segno.make(provisioning_uri(device), error="m").svg_inline(
        scale=4, title=_("QR code for your authenticator app"),
    )


@transaction.atomic
def confirm_two_factor(user, *, code: str) -> list[str]:
    """Switch two-factor on with a current code; returns the new recovery codes, shown once."""
    device = pending_device(user)
    if device is None:
        raise InvalidInput({"code": _("Start the set-up again: there is no code to confirm.")})
    if not _accept_totp(device, code):
        raise InvalidInput({"code": _("This code is not correct. Enter the code your app "
                                      "shows now; check that your phone's clock is right.")})

    device.confirmed_at = timezone.now()
    device.save(update_fields=["confirmed_at"])
    codes = _replace_recovery_codes(user)

    _record(user, {"two_factor": [None, "enabled"]})
    logger.info("two_factor.enabled", extra={"user_id": user.pk})
    return codes


@transaction.atomic
def regenerate_recovery_codes(user, *, password: str = "", code: str = "") -> list[str]:
    """Replace every recovery code; the caller proves who they are with a code or password."""
    device = _confirmed_device(user)
    _check_identity(user, device, password=password, code=code)

    codes = _replace_recovery_codes(user)

    _record(user, {"recovery_codes": [None, "regenerated"]})
    logger.info("two_factor.recovery_codes_regenerated", extra={"user_id": user.pk})
    return codes


@transaction.atomic
def disable_two_factor(user, *, password: str = "", code: str = "") -> None:
    """Switch two-factor off, with a current code or the password as proof."""
    device = _confirmed_device(user)
    _check_identity(user, device, password=password, code=code)

    device.delete()
    RecoveryCode.objects.filter(user=user).delete()

    _record(user, {"two_factor": ["enabled", None]})
    logger.info("two_factor.disabled", extra={"user_id": user.pk})


def verify_second_factor(user, code: str) -> bool:
    """Accept a current TOTP code or an unused recovery code, each at most once."""
    device = TwoFactorDevice.objects.filter(user=user, confirmed_at__isnull=False).first()
    if device is None:
        return False
    if _normalise(code).isdigit():
        return _accept_totp(device, code)
    return _use_recovery_code(user, code)


def remaining_recovery_codes(user) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


@transaction.atomic
def set_two_factor_requirement(org: Organization, actor, *, required: bool) -> Organization:
    """Require (or stop requiring) two-factor sign-in from every member of `org`."""
    before = org.require_two_factor
    if before == required:
        return org

    org.require_two_factor = required
    org.save(update_fields=["require_two_factor"])

    audit.record(org, actor, Action.ACCESS, org, entity="organization",
                 changes={"require_two_factor": [before, required]})
    logger.info("organization.two_factor_requirement_changed",
                extra={"organization_id": org.pk, "required": required})
    return org


# The half-way state of a sign-in: password right, second factor still due.
# It lives in the anonymous session; nothing is authenticated until the code.

def hold_sign_in(request, user, *, next_url: str) -> None:
    request.session.cycle_key()
    request.session[PENDING_USER_KEY] = user.pk
    request.session[PENDING_BACKEND_KEY] = user.backend
    request.session[PENDING_NEXT_KEY] = next_url
    request.session[PENDING_SINCE_KEY] = int(time.time())


def held_user(request):
    """The user who gave the right password in this session lately, or None."""
    since = request.session.get(PENDING_SINCE_KEY, 0)
    if time.time() - since > PENDING_SECONDS:
        return None
    user = User.objects.filter(pk=request.session.get(PENDING_USER_KEY), is_active=True).first()
    if user is not None:
        user.backend = request.session.get(PENDING_BACKEND_KEY)
    return user


def release_sign_in(request) -> str:
    """Forget the half-way state; returns where the user wanted to go."""
    next_url = request.session.get(PENDING_NEXT_KEY, "/")
    for key in (PENDING_USER_KEY, PENDING_BACKEND_KEY, PENDING_NEXT_KEY, PENDING_SINCE_KEY):
        request.session.pop(key, None)
    return next_url


def _confirmed_device(user) -> TwoFactorDevice:
    device = TwoFactorDevice.objects.filter(user=user, confirmed_at__isnull=False).first()
    if device is None:
        raise InvalidInput({"code": _("Two-factor sign-in is not on.")})
    return device


def _check_identity(user, device: TwoFactorDevice, *, password: str, code: str) -> None:
    if code and _accept_totp(device, code):
        return
    if password and user.check_password(password):
        return
    if code:
        raise WrongProof({"code": _("This code is not correct.")})
    if password:
        raise WrongProof({"password": _("This password is not correct.")})
    raise InvalidInput({"code": _("Enter a current code from your app, or your password.")})


def _normalise(code: str) -> str:
    return "".join((code or "").split()).replace("-", "").lower()


def _accept_totp(device: TwoFactorDevice, code: str) -> bool:
    code = _normalise(code)
    if len(code) != 6 or not code.isdigit():
        return False
    totp = pyotp.TOTP(device.secret)
    now = totp.timecode(timezone.now())
    for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            # The step only moves forward, in one conditional UPDATE, so two
            # requests racing with the same code cannot both be accepted.
            moved = TwoFactorDevice.objects.filter(pk=device.pk).filter(
                Q(last_used_step__isnull=True) | Q(last_used_step__lt=step)
            ).update(last_used_step=step)
            return moved == 1
    return False


def _hash_recovery_code(code: str, salt: str) -> str:
    digest = hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()
    return f"{salt}${digest}"


def _replace_recovery_codes(user) -> list[str]:
    RecoveryCode.objects.filter(user=user).delete()
    codes = [
        "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    RecoveryCode.objects.bulk_create(
        RecoveryCode(user=user, hashed=_hash_recovery_code(code, secrets.token_hex(8)))
        for code in codes
    )
    return [f"{code[:5]}-{code[5:]}" for code in codes]


def _use_recovery_code(user, code: str) -> bool:
    code = _normalise(code)
    for recovery in RecoveryCode.objects.filter(user=user, used_at__isnull=True):
        salt, _sep, _digest = recovery.hashed.partition("$")
        if hmac.compare_digest(_hash_recovery_code(code, salt), recovery.hashed):
            used = RecoveryCode.objects.filter(pk=recovery.pk, used_at__isnull=True).update(
                used_at=timezone.now()
            )
            if used != 1:
                return False
            left = remaining_recovery_codes(user)
            _record(user, {"recovery_code": [None, f"used, {left} left"]})
            logger.info("two_factor.recovery_code_used", extra={"user_id": user.pk})
            return True
    return False


def _record(user, changes: dict) -> None:
    """Write the audit entry in every organisation the user is an active member of.

    A user signs in once for all their organisations, so each one's admins
    see what happened to the account.
    """
    memberships = Membership.unscoped.select_related("organization").filter(
        user=user, is_active=True
    )
    for membership in memberships:
        audit.record(membership.organization, user, Action.ACCESS, user, entity="user",
                     changes=changes)
