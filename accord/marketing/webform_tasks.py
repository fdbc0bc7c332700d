"""Background work for web forms: the double opt-in e-mail."""

import smtplib

from celery import shared_task
from django_scopes import scope

from accord.audit.context import channel
from accord.identity.models import Organization

from . import webforms


@shared_task(autoretry_for=(OSError, smtplib.SMTPException), retry_backoff=30,
             max_retries=5)
def send_confirmation(organization_id: int, submission_id: int) -> bool:
    """Mail a pending submission's confirmation link; safe to run twice (sent once)."""
    org = Organization.objects.filter(pk=organization_id).first()
    if org is None:
        return False
    with scope(organization=org), channel("job"):
        return webforms.send_confirmation(org, submission_id)
