"""Scheduled upkeep of sign-in data."""

import logging

from celery import shared_task

from . import throttle

logger = logging.getLogger(__name__)


@shared_task
def forget_old_sign_in_failures() -> int:
    """Drop failed sign-ins older than the lock-out window; safe to run twice."""
    deleted = throttle.forget_old_failures()
    if deleted:
        logger.info("signin.failures_forgotten", extra={"count": deleted})
    return deleted
