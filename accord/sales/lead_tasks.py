"""Background work for leads: fading behaviour points, forgetting web form posts."""

import logging

from celery import shared_task
from django.utils import timezone
from django_scopes import scope

from accord.audit.context import channel
from accord.identity.models import Organization

from . import leads, scoring
from .models import FormSubmission

logger = logging.getLogger(__name__)


@shared_task
def decay_lead_scores() -> int:
    """Fade the behaviour points due in every organisation; returns how many leads faded.

    Safe to run twice or concurrently: a lead faded within its period is
    skipped, and each lead is faded under its row lock.
    """
    total = 0
    for org in Organization.objects.order_by("pk").iterator():
        with scope(organization=org), channel("job"):
            faded = scoring.decay_due(org)
        if faded:
            logger.info("lead.scores_decayed", extra={"organization_id": org.id,
                                                      "count": faded})
        total += faded
    return total


@shared_task
def forget_old_form_submissions() -> int:
    """Delete the record of web form posts older than the throttle window.

    Safe to run twice: a second run finds nothing that old.
    """
    deleted, _ = FormSubmission.unscoped.filter(
        created_at__lt=timezone.now() - leads.FORM_WINDOW).delete()
    return deleted
