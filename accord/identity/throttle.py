"""Slowing down password guessing: too many failed sign-ins lock out for a while.

The count is kept in the database, so every web process behind a load
balancer sees the same failures. The lock is the same whether or not the
address belongs to an account, so it reveals nothing about who has one.
"""

import datetime as dt
import hashlib
import logging

from django.utils import timezone

from .models import SignInFailure

logger = logging.getLogger(__name__)

WINDOW = dt.timedelta(minutes=15)
MAX_PER_ADDRESS = 5  # a person mistyping a password rarely needs more tries than this
MAX_PER_IP = 50  # an office behind one address still signs in; a guessing script does not


def _hash(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def locked_for(email: str, ip: str) -> dt.timedelta | None:
    """How long until `email` may try again from `ip`, or None when it may now."""
    since = timezone.now() - WINDOW
    recent = SignInFailure.objects.filter(created_at__gte=since)
    by_address = list(recent.filter(email_hash=_hash(email)).order_by("-created_at")
                      .values_list("created_at", flat=True)[:MAX_PER_ADDRESS])
    if len(by_address) >= MAX_PER_ADDRESS:
        return by_address[-1] + WINDOW - timezone.now()
    if ip and recent.filter(ip=ip).count() >= MAX_PER_IP:
        return WINDOW
    return None


def record_failure(email: str, ip: str) -> None:
    SignInFailure.objects.create(email_hash=_hash(email), ip=ip)
    logger.warning("signin.failed", extra={"ip": ip})


def clear_failures(email: str) -> None:
    SignInFailure.objects.filter(email_hash=_hash(email)).delete()


def forget_old_failures() -> int:
    """Delete failures older than the window; run by the scheduler."""
    deleted, _ = SignInFailure.objects.filter(created_at__lt=timezone.now() - WINDOW).delete()
    return deleted
