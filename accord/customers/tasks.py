"""Background work for customers: emptying the trash, the nightly duplicate scan,
encrypting or decrypting a field's stored values."""

import logging

from celery import shared_task
from django_scopes import scope

from accord.audit.context import channel
from accord.identity.models import Organization

from . import duplicates, sealing, services
from .models import Company, Contact, CustomField

logger = logging.getLogger(__name__)


@shared_task
def purge_expired_trash() -> int:
    """Delete for good, in every organisation, what has sat in the trash past retention.

    Safe to run twice or concurrently: a second run finds nothing left to purge.
    """
    total = 0
    for org in Organization.objects.order_by("pk").iterator():
        with scope(organization=org), channel("job"):
            purged = services.purge_expired_trash(org)
        if purged:
            logger.info("trash.purged", extra={"organization_id": org.id, "count": purged})
        total += purged
    return total


@shared_task
def scan_for_duplicates() -> int:
    """Look for duplicate contacts and companies in every organisation; returns open pairs.

    Safe to run twice or concurrently: pairs are unique per organisation and
    records, so a second run refreshes the same pairs, and dismissed pairs
    stay dismissed.
    """
    total = 0
    for org in Organization.objects.order_by("pk").iterator():
        with scope(organization=org), channel("job"):
            for model in (Contact, Company):
                total += duplicates.scan(org, model)
    return total


@shared_task
def restore_custom_field_values(org_id: int, field_id: int) -> int:
    """Encrypt or decrypt the stored values of a field just marked or unmarked encrypted.

    Safe to run twice or concurrently: each run stores every value as the
    field's current setting says, so the last run wins with the right state.
    """
    org = Organization.objects.get(pk=org_id)
    with scope(organization=org), channel("job"):
        field = CustomField.objects.filter(pk=field_id).first()
        if field is None:
            return 0
        return sealing.restore_and_audit(org, field, entity="custom_field")
