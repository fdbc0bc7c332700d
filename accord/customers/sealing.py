"""Re-storing the values of a custom field, or of a record type's field, after it is
marked or unmarked encrypted, and re-encrypting every sealed value with the newest key.

Both walk the records in primary-key batches, each batch its own transaction,
so other users are never blocked for long and a run that stops half-way
resumes where the work is still to do: a field's values are re-stored under
its current setting whatever state they are in, and a rotation skips values
already encrypted with the first key. Neither changes a record's version or
`updated_at`: the values stay what they were, only how they are stored
changes.
"""

import json
import logging
from collections.abc import Callable

from django.apps import apps
from django.db import transaction
from django.db.models import TextField
from django.db.models.functions import Cast

from accord.audit import services as audit
from accord.audit.models import Action, AuditEntry
from accord.core import crypto
from accord.records.fields import encrypted_keys as record_encrypted_keys

from .fields import encrypted_keys
from .models import CustomField, Entity

logger = logging.getLogger(__name__)

BATCH = 500  # rows per transaction: a fraction of a second of locks on either database
MODELS = {
    Entity.CONTACT: ("customers", "Contact"),
    Entity.COMPANY: ("customers", "Company"),
    Entity.DEAL: ("sales", "Deal"),
    Entity.TICKET: ("service", "Ticket"),
}


def model_of(entity: str):
    return apps.get_model(*MODELS[entity])


def _stores() -> list[tuple]:
    """(model, JSON column, audit entity) of every table holding sealed values."""
    return [*((model_of(entity), "custom_fields", entity) for entity in MODELS),
            (apps.get_model("records", "Record"), "values", "record")]


def _holders(org, field) -> tuple:
    """The model holding the values of `field` (a custom field, or a record type's field),
    their JSON column, the rows of `org` holding a value of it, and a function giving
    the keys to seal in those rows now."""
    if isinstance(field, CustomField):
        model, column = model_of(field.entity), "custom_fields"
        rows = model.unscoped.filter(organization_id=org.pk)

        def keys():
            return encrypted_keys(org.pk, field.entity)
    else:
        model, column = apps.get_model("records", "Record"), "values"
        rows = model.unscoped.filter(organization_id=org.pk, record_type_id=field.record_type_id)

        def keys():
            return record_encrypted_keys(org.pk, field.record_type_id)
    return model, column, rows.filter(**{f"{column}__has_key": field.key}), keys


def restore_field_values(org, field, *, batch: int = BATCH) -> int:
    """Store every value of `field` (a CustomField or RecordField) as its current
    `encrypted` setting says: sealed, or plain. Returns how many records hold a value
    of the field.

    A value no key opens stays sealed (and is counted) whatever the setting;
    it is reported by `unreadable_count`.
    """
    model, column, records, keys_now = _holders(org, field)
    done, last = 0, 0
    while True:
        with transaction.atomic():
            keys = keys_now()
            rows = list(records.filter(pk__gt=last).order_by("pk")
                        .select_for_update().values_list("pk", column)[:batch])
            for pk, values in rows:
                stored = crypto.seal_keys(values, keys)
                model.unscoped.filter(pk=pk).update(**{column: stored})
        if not rows:
            break
        done += len(rows)
        last = rows[-1][0]
    logger.info("field.values_restored", extra={
        "organization_id": org.id, "field_id": field.pk, "count": done})
    return done


def restore_and_audit(org, field, *, entity: str) -> int:
    """`restore_field_values`, then an audit entry on `field` (as `entity`) with how
    many values were re-stored, and how many no key opens when there are any."""
    count = restore_field_values(org, field)
    unreadable = unreadable_count(org, field)
    change = "values_encrypted" if field.encrypted else "values_decrypted"
    audit.record(org, None, Action.UPDATE, field, entity=entity,
                 changes={change: [None, count],
                          **({"values_unreadable": [None, unreadable]} if unreadable else {})})
    return count


def unreadable_count(org, field) -> int:
    """How many records hold a value of `field` (a CustomField or RecordField) that no
    configured key opens."""
    _model, column, records, _keys = _holders(org, field)
    return sum(isinstance(values.get(field.key), crypto.Unreadable)
               for values in records.values_list(column, flat=True).iterator())


def _raw(queryset, column: str):
    """`queryset` of rows whose JSON `column` holds a sealed value, with its text as `raw`.

    The text is read rather than the field, which would open the values.
    """
    return (queryset.annotate(raw=Cast(column, TextField()))
            .filter(raw__contains=f'"{crypto.SEALED}"'))


def rotation_total(org) -> int:
    """How many records and audit entries of `org` hold sealed values, for progress."""
    stores = _stores()
    total = sum(_raw(model.unscoped.filter(organization_id=org.pk), column).count()
                for model, column, _entity in stores)
    entities = [entity for _model, _column, entity in stores]
    return total + _raw(AuditEntry.unscoped.filter(organization_id=org.pk, entity__in=entities),
                        "changes").count()


def rotate_org(org, *, batch: int = BATCH,
               progress: Callable[[int], None] | None = None) -> dict:
    """Re-encrypt with the first key every sealed value of `org`'s records (custom
    records too) and audit entries; returns counts of rows `rotated`, `current`
    (already on the first key) and `unreadable` (no key opens a value; they are left
    as they are)."""
    counts = {"rotated": 0, "current": 0, "unreadable": 0}
    stores = _stores()
    for model, column, _entity in stores:
        rows = _raw(model.unscoped.filter(organization_id=org.pk), column)
        _rotate_rows(rows, model, column, _rotate_values, counts, batch, progress)
    entities = [entity for _model, _column, entity in stores]
    entries = _raw(AuditEntry.unscoped.filter(organization_id=org.pk, entity__in=entities),
                   "changes")
    _rotate_rows(entries, AuditEntry, "changes", _rotate_changes, counts, batch, progress)
    logger.info("custom_field.keys_rotated", extra={"organization_id": org.id, **counts})
    return counts


def _rotate_rows(rows, model, column: str, rotate, counts: dict, batch: int, progress) -> None:
    last = 0
    while True:
        with transaction.atomic():
            found = list(rows.filter(pk__gt=last).order_by("pk").select_for_update()
                         .values_list("pk", "raw")[:batch])
            for pk, raw in found:
                stored, outcome = rotate(json.loads(raw))
                counts[outcome] += 1
                if outcome == "rotated":
                    model.unscoped.filter(pk=pk).update(**{column: stored})
        if not found:
            return
        last = found[-1][0]
        if progress:
            progress(len(found))


def _rotate_values(values: dict) -> tuple[dict, str]:
    """The values with each sealed one on the first key, and what happened to the row."""
    outcome = "current"
    rotated = {}
    for key, value in values.items():
        if crypto.is_sealed(value) and not crypto.uses_first_key(value):
            try:
                value = crypto.reseal(value)
            except ValueError:
                return values, "unreadable"
            outcome = "rotated"
        rotated[key] = value
    return rotated, outcome


def _rotate_changes(changes: dict) -> tuple[dict, str]:
    pair = changes.get("custom_fields")
    if not isinstance(pair, list) or len(pair) != 2:
        return changes, "current"
    sides, outcomes = [], set()
    for side in pair:
        if isinstance(side, dict):
            side, outcome = _rotate_values(side)
            outcomes.add(outcome)
        sides.append(side)
    for outcome in ("unreadable", "rotated"):
        if outcome in outcomes:
            return {**changes, "custom_fields": sides}, outcome
    return changes, "current"
