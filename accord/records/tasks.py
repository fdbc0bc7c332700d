"""Background work for custom records: emptying their trash, and re-storing a field's
values after it is marked or unmarked encrypted."""

import logging

from celery import shared_task
from django_scopes import scope

from accord import search
from accord.audit.context import channel
from accord.customers import sealing
from accord.identity.models import Organization

from . import services
from .models import Record, RecordField

logger = logging.getLogger(__name__)


@shared_task
def purge_expired_trash() -> int:
    """Delete for good, in every organisation, the records in the trash past retention.

    Safe to run twice or concurrently: a second run finds nothing left to purge.
    """
    total = 0
    for org in Organization.objects.order_by("pk").iterator():
        with scope(organization=org), channel("job"):
            purged = services.purge_expired_trash(org)
        if purged:
            logger.info("record.trash_purged",
                        extra={"organization_id": org.id, "count": purged})
        total += purged
    return total


@shared_task
def restore_record_field_values(org_id: int, field_id: int) -> int:
    """Encrypt or decrypt the stored values of a record type's field just marked or
    unmarked encrypted; the count is audited on the field. The type's records are
    indexed again, as search leaves encrypted values out.

    Safe to run twice or concurrently: each run stores every value as the
    field's current setting says, so the last run wins with the right state.
    """
    org = Organization.objects.get(pk=org_id)
    with scope(organization=org), channel("job"):
        field = RecordField.objects.filter(pk=field_id).first()
        if field is None:
            return 0
        count = sealing.restore_and_audit(org, field, entity="record_field")
        if field.field_type in services.SEARCHED_TYPES:
            search.reindex(Record, Record.with_deleted.filter(
                record_type_id=field.record_type_id).values_list("pk", flat=True))
    return count
