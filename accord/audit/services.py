"""Writing the audit trail. Every service that changes a record calls `record`."""

import datetime as dt
import decimal
import logging

from django.db import models

from .context import current_channel
from .models import Action, AuditEntry

logger = logging.getLogger(__name__)


def json_safe(value):
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, list | tuple | set):
        return [json_safe(item) for item in value]
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    return value


def snapshot(instance: models.Model, fields: list[str]) -> dict:
    """The JSON-safe values of `fields` on `instance`, for diffing later."""
    values = {}
    for name in fields:
        field = instance._meta.get_field(name)
        attname = field.attname if isinstance(field, models.ForeignKey) else name
        values[name] = json_safe(getattr(instance, attname))
    return values


def diff(before: dict, after: dict) -> dict:
    """{field: [old, new]} for every changed field; a new record lists only set values."""
    if not before:
        return {key: [None, value] for key, value in after.items()
                if value not in (None, "", [], {}, False)}
    keys = list(after) + [key for key in before if key not in after]
    return {
        key: [before.get(key), after.get(key)]
        for key in keys
        if before.get(key) != after.get(key)
    }


def record(
    org,
    actor,
    action: str,
    instance: models.Model | None = None,
    *,
    entity: str | None = None,
    object_id: int | None = None,
    object_repr: str | None = None,
    changes: dict | None = None,
) -> AuditEntry:
    """Append one audit entry; the channel and IP come from the current request or job.

    Values of custom fields and record fields marked encrypted are stored sealed, never
    as plain text.
    """
    from accord.customers.fields import sealed_changes

    via, ip = current_channel()
    entity = entity or instance._meta.model_name
    entry = AuditEntry.unscoped.create(
        organization=org,
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=(actor.email if getattr(actor, "pk", None) else via)[:254],
        via=via,
        ip=ip,
        action=action,
        entity=entity,
        object_id=object_id if object_id is not None else getattr(instance, "pk", None),
        object_repr=(object_repr if object_repr is not None else str(instance))[:200],
        changes=sealed_changes(org.pk, entity, json_safe(changes or {}), instance=instance),
    )
    logger.info(
        "audit.recorded",
        extra={"organization_id": org.id, "entity": entity, "action": action,
               "object_id": entry.object_id},
    )
    return entry


__all__ = ["Action", "diff", "json_safe", "record", "snapshot"]
