"""Merging duplicate contacts or companies into one, losing nothing.

The survivor takes, field by field, the value the user chose or else its own
(an empty value never wins over a filled one). Everything that points at the
merged records moves to the survivor: every model with a foreign key to
Contact or Company is found through `_meta.related_objects`, so links added by
later apps move without changes here. The merged records stay, marked with
`merged_into`; lists hide them and their ids answer with the survivor.
"""

import logging
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode

from django.db import models, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accord import events, search
from accord.activities import services as timeline
from accord.audit import services as audit
from accord.audit.models import Action
from accord.errors import InvalidInput, NotFound, StaleVersion
from accord.identity import visibility
from accord.identity.visibility import can_see, visible

from . import custom_fields as custom_field_defs
from . import duplicates
from .models import (
    Affiliation,
    Company,
    Contact,
    ContactEmail,
    ContactPhone,
    DuplicatePair,
    DuplicateStatus,
    Entity,
    SavedView,
)

logger = logging.getLogger(__name__)

MAX_MERGED = 10  # records merged into one at a time; more is a clean-up job, not a review
CONTACT_FIELDS = [
    "first_name", "last_name", "title", "company", "owner", "lifecycle_stage", "source",
    "street", "city", "region", "postal_code", "country", "birthday", "time_zone",
    "do_not_contact",
]
COMPANY_FIELDS = [
    "name", "domain", "website", "industry", "size", "employees", "annual_revenue", "currency",
    "phone", "description", "parent", "owner", "source", "street", "city", "region",
    "postal_code", "country",
]
# A currency means nothing without its amount, so it comes from the same record.
FOLLOWS = {"currency": "annual_revenue"}
# Saved list views that filter by one of these ids are pointed at the survivor.
SAVED_VIEW_PARAMS = {Entity.CONTACT: ("contact_id",), Entity.COMPANY: ("company_id",
                                                                     "parent_id")}
CUSTOM_PREFIX = "cf."
MERGED_EVENTS = {Entity.CONTACT: "contact.merged", Entity.COMPANY: "company.merged"}


class RecordMerged(NotFound):
    """The id names a record merged into another; the API answers 301 to the survivor."""

    code = "merged"
    title = _("Merged into another record")
    status = 301

    def __init__(self, model, record_id: int, survivor):
        noun = model._meta.verbose_name
        super().__init__(f"This {noun} was merged into {noun} {survivor.pk}.")
        self.survivor_id = survivor.pk
        self.location = reverse("api:api-root") + f"{_api_path(model)}/{survivor.pk}"


def _api_path(model) -> str:
    return "contacts" if model is Contact else "companies"


def _entity(model) -> str:
    return Entity.CONTACT if model is Contact else Entity.COMPANY


def merge_fields(model) -> list[str]:
    """The fields a user chooses between, built-in first, then custom fields as `cf.<key>`."""
    builtin = CONTACT_FIELDS if model is Contact else COMPANY_FIELDS
    custom = custom_field_defs.active_fields(_entity(model))
    return builtin + [CUSTOM_PREFIX + field.key for field in custom]


def survivor_of(model, record_id) -> models.Model | None:
    """The live record a merged id now answers with, or None when it was not merged."""
    try:
        record_id = int(record_id)
    except (TypeError, ValueError):
        return None
    seen = set()
    record = model.with_deleted.filter(pk=record_id, merged_into__isnull=False).first()
    # Merging re-points earlier shells to the new survivor, so this loop runs
    # once; it only guards against a chain left by an interrupted merge.
    while record is not None and record.merged_into_id and record.pk not in seen:
        seen.add(record.pk)
        record = model.with_deleted.filter(pk=record.merged_into_id).first()
    if record is None or record.merged_into_id or record.deleted_at is not None:
        return None
    return record


def raise_if_merged(model, record_id, viewer) -> None:
    """Raise RecordMerged when `record_id` names a record merged into a live one the
    viewer sees.

    A survivor the viewer may not see is not pointed at: the caller goes on to
    answer as for an id that does not exist.
    """
    survivor = survivor_of(model, record_id)
    if survivor is not None and can_see(viewer, survivor, duplicates.area_of(model)):
        raise RecordMerged(model, int(record_id), survivor)


def load_records(model, survivor_id, merge_ids: Iterable, *, viewer) -> tuple:
    """The live survivor and the records to merge into it, in the order given, all of
    them records the viewer sees.

    Raises NotFound for the survivor and InvalidInput naming `merge_ids` for
    ids that are not live records of this organisation (another
    organisation's id, or a record hidden from the viewer, reads as no such
    record), repeated, or the survivor's.
    """
    seen = visible(model.objects.all(), viewer, duplicates.area_of(model))
    survivor = seen.filter(pk=_int(survivor_id)).first()
    if survivor is None:
        raise NotFound(f"No {model._meta.verbose_name} with this id.")
    try:
        wanted = [int(pk) for pk in merge_ids]
    except (TypeError, ValueError):
        raise InvalidInput({"merge_ids": "Give the ids as whole numbers."}) from None
    if not wanted:
        raise InvalidInput({"merge_ids": "Name at least one record to merge."})
    if len(wanted) > MAX_MERGED:
        raise InvalidInput({"merge_ids": f"Merge at most {MAX_MERGED} records at a time."})
    if survivor.pk in wanted or len(set(wanted)) != len(wanted):
        raise InvalidInput({"merge_ids": "Name each other record once, and not the record "
                                         "kept."})
    found = seen.in_bulk(wanted)
    missing = [pk for pk in wanted if pk not in found]
    if missing:
        noun = model._meta.verbose_name_plural
        raise InvalidInput({"merge_ids": f"No {noun} with these ids: "
                                         + ", ".join(str(pk) for pk in missing) + "."})
    return survivor, [found[pk] for pk in wanted]


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# Choosing values.


def field_value(record, name: str):
    """A merge field's value on `record`; `cf.<key>` reads a custom field."""
    if name.startswith(CUSTOM_PREFIX):
        return (record.custom_fields or {}).get(name[len(CUSTOM_PREFIX):])
    field = record._meta.get_field(name)
    return getattr(record, field.attname)


def is_empty(value) -> bool:
    # False counts as empty, so "do not contact" set on either record holds.
    return value in (None, "", [], {}, False)


def decide(model, records: list, choices: dict | None) -> dict[str, dict]:
    """For every field: the value taken, the record it comes from, and each record's value.

    `records` starts with the survivor. `choices` maps a field to the id of
    the record whose value wins; without a choice the survivor's value is
    kept unless it is empty and another record's is not. Raises InvalidInput
    naming `choices.<field>` for an unknown field or a record not merged.
    """
    choices = dict(choices or {})
    fields = merge_fields(model)
    ids = [record.pk for record in records]
    errors = {}
    for name, record_id in choices.items():
        if name not in fields:
            errors[f"choices.{name}"] = "This field cannot be chosen in a merge."
        elif _int(record_id) not in ids:
            errors[f"choices.{name}"] = "Choose one of the records being merged."
    if errors:
        raise InvalidInput(errors)

    decisions = {}
    for name in fields:
        values = {record.pk: field_value(record, name) for record in records}
        source = _int(choices.get(name)) or _int(choices.get(FOLLOWS.get(name)))
        if source is None and name in FOLLOWS and FOLLOWS[name] in decisions:
            source = decisions[FOLLOWS[name]]["from"]
        if source is None:
            source = next((pk for pk in ids if not is_empty(values[pk])), ids[0])
        decisions[name] = {"value": values[source], "from": source, "values": values}
    return decisions


def differing(decisions: dict) -> dict[str, dict]:
    """The decisions where the records do not all hold the same value."""
    return {
        name: decision for name, decision in decisions.items()
        if len({repr(audit.json_safe(value)) for value in decision["values"].values()}) > 1
    }


# Moving what hangs off the merged records.


def _relations(model):
    """Every foreign key (or one-to-one) on another model, or this one, that points at `model`."""
    for relation in model._meta.related_objects:
        if relation.many_to_many or not getattr(relation.field, "concrete", False):
            continue
        yield relation.related_model, relation.field


def _unique_sets(related_model, fk_name: str) -> list[tuple[str, ...]]:
    """The other fields of each uniqueness rule that includes the foreign key."""
    sets = []
    meta = related_model._meta
    for constraint in meta.constraints:
        fields = getattr(constraint, "fields", ())
        if isinstance(constraint, models.UniqueConstraint) and fk_name in fields \
                and constraint.condition is None:
            sets.append(tuple(name for name in fields if name not in (fk_name,
                                                                        "organization")))
    for fields in meta.unique_together:
        if fk_name in fields:
            sets.append(tuple(name for name in fields if name not in (fk_name,
                                                                        "organization")))
    if meta.get_field(fk_name).unique:
        sets.append(())
    return sets


def _fill_blanks(kept, duplicate) -> None:
    """Copy the duplicate row's values into the kept row's empty fields, then drop it."""
    changed = []
    for field in kept._meta.concrete_fields:
        if field.primary_key:
            continue
        if is_empty(getattr(kept, field.attname)) and not is_empty(
                getattr(duplicate, field.attname)):
            setattr(kept, field.attname, getattr(duplicate, field.attname))
            changed.append(field.attname)
    if changed:
        type(kept)._base_manager.filter(pk=kept.pk).update(
            **{name: getattr(kept, name) for name in changed})
    type(duplicate)._base_manager.filter(pk=duplicate.pk).delete()


def _move_related(model, survivor, loser) -> dict[str, int]:
    """Point every row that references `loser` at `survivor`; returns counts per model.

    Where a uniqueness rule would be broken (both records carry the same
    tag, both contacts work at the same company), the survivor's row stays,
    takes the merged row's values for its own empty fields, and the merged
    row goes.
    """
    moved = {}
    for related_model, fk in _relations(model):
        manager = related_model._base_manager
        for others in _unique_sets(related_model, fk.name):
            columns = [related_model._meta.get_field(name).attname for name in others]
            kept = {tuple(getattr(row, column) for column in columns): row
                    for row in manager.filter(**{fk.name: survivor})}
            for row in list(manager.filter(**{fk.name: loser})):
                match = kept.get(tuple(getattr(row, column) for column in columns))
                if match is not None:
                    _fill_blanks(match, row)
        count = manager.filter(**{fk.name: loser}).update(**{fk.name: survivor})
        if count:
            label = str(related_model._meta.verbose_name_plural)
            moved[label] = moved.get(label, 0) + count
    return moved


def related_counts(record, viewer=None) -> list[tuple[str, int]]:
    """What would move from this record in a merge: (what, how many), for the merge page.

    Given a `viewer`, only rows they may see are counted: rows of a kind that
    follows record visibility (deals, tickets, timeline entries, ...), and
    rows linking to another record (a deal's contacts, a contact's
    companies, ...) when the viewer sees that record.
    """
    counts = []
    for related_model, fk in _relations(type(record)):
        if related_model is type(record) and fk.name == "merged_into":
            continue
        rows = related_model._base_manager.filter(**{fk.name: record})
        if viewer is not None:
            rows = _seen_rows(rows, fk, viewer)
        count = rows.count()
        if count:
            counts.append((str(related_model._meta.verbose_name_plural), count))
    return counts


def _seen_rows(rows, fk, viewer):
    if visibility.follows_visibility(rows.model):
        return visibility.narrow(rows, viewer)
    for field in rows.model._meta.fields:
        target = field.related_model
        if field is fk or target is None or not visibility.follows_visibility(target):
            continue
        seen = visibility.narrow(target._base_manager.all(), viewer).values("pk")
        rows = rows.filter(Q(**{f"{field.name}__isnull": True})
                           | Q(**{f"{field.name}__in": seen}))
    return rows


def _union_channels(contact: Contact, own_email_ids: set, own_phone_ids: set) -> None:
    """One row per address and per number, the survivor's first; one primary each."""
    def order(ids):
        return lambda row: (row.pk not in ids, not row.is_primary, row.pk)

    emails = sorted(ContactEmail.unscoped.filter(contact=contact), key=order(own_email_ids))
    kept_emails = _dedupe(emails, lambda row: row.address.lower())
    phones = sorted(ContactPhone.unscoped.filter(contact=contact), key=order(own_phone_ids))
    kept_phones = _dedupe(phones, lambda row: (row.number or row.raw.strip(), row.extension))
    for rows in (kept_emails, kept_phones):
        for index, row in enumerate(rows):
            if row.is_primary != (index == 0):
                type(row).unscoped.filter(pk=row.pk).update(is_primary=index == 0)
    contact.email = kept_emails[0].address if kept_emails else ""
    contact.phone = (kept_phones[0].number or kept_phones[0].raw) if kept_phones else ""


def _dedupe(rows: list, key) -> list:
    seen, kept = set(), []
    for row in rows:
        if key(row) in seen:
            type(row).unscoped.filter(pk=row.pk).delete()
        else:
            seen.add(key(row))
            kept.append(row)
    return kept


def _one_primary(affiliations: list[Affiliation], own_ids: set, prefer=None) -> None:
    """Keep one primary link: the one for `prefer` if given, else the survivor's own first."""
    if prefer is not None:
        primary = next((a for a in affiliations if prefer(a)), None)
    else:
        ranked = sorted((a for a in affiliations if a.is_primary),
                        key=lambda a: (a.pk not in own_ids, a.pk))
        primary = ranked[0] if ranked else None
    for affiliation in affiliations:
        wanted = affiliation is primary
        if affiliation.is_primary != wanted:
            Affiliation.unscoped.filter(pk=affiliation.pk).update(is_primary=wanted)


def _repoint_saved_views(entity: str, survivor_id: int, loser_ids: set[int]) -> None:
    names = SAVED_VIEW_PARAMS[entity]
    for view in SavedView.objects.all():
        params = parse_qsl(view.query, keep_blank_values=True)
        changed = [
            (name, str(survivor_id) if name in names and _int(value) in loser_ids else value)
            for name, value in params
        ]
        if changed != params:
            SavedView.objects.filter(pk=view.pk).update(query=urlencode(changed))


def _repoint_pairs(org, actor, entity: str, survivor_id: int, loser_ids: set[int]) -> None:
    """Pairs among the merged records become merged; other pairs follow the survivor."""
    now = timezone.now()
    ids = loser_ids | {survivor_id}
    pairs = duplicates.open_pairs(entity, ids) + list(
        DuplicatePair.objects.filter(entity=entity).exclude(status=DuplicateStatus.OPEN)
        .filter(models.Q(low_id__in=loser_ids) | models.Q(high_id__in=loser_ids))
    )
    for pair in pairs:
        if pair.low_id in ids and pair.high_id in ids:
            if pair.status == DuplicateStatus.OPEN:
                DuplicatePair.objects.filter(pk=pair.pk).update(
                    status=DuplicateStatus.MERGED, resolved_at=now,
                    resolved_by=actor if getattr(actor, "pk", None) else None)
            continue
        if not (pair.low_id in loser_ids or pair.high_id in loser_ids):
            continue
        other = pair.high_id if pair.low_id in ids else pair.low_id
        low, high = sorted((survivor_id, other))
        taken = DuplicatePair.objects.filter(entity=entity, low_id=low, high_id=high).exists()
        if taken:
            DuplicatePair.objects.filter(pk=pair.pk).delete()
        else:
            DuplicatePair.objects.filter(pk=pair.pk).update(low_id=low, high_id=high)


# The merges.


def merge_contacts(org, actor, survivor: Contact, others: list[Contact], *,
                   choices: dict | None = None, expected_version: int | None = None) -> Contact:
    """Merge `others` into `survivor` in one transaction and return the survivor.

    Raises StaleVersion when the survivor changed since `expected_version`,
    InvalidInput for a bad choice or merge list.
    """
    return _merge(org, actor, Contact, survivor, others, choices, expected_version)


def merge_companies(org, actor, survivor: Company, others: list[Company], *,
                    choices: dict | None = None,
                    expected_version: int | None = None) -> Company:
    """Merge `others` into `survivor` in one transaction; as `merge_contacts`, for companies."""
    return _merge(org, actor, Company, survivor, others, choices, expected_version)


@transaction.atomic
def _merge(org, actor, model, survivor, others, choices, expected_version):
    ids = [survivor.pk] + [other.pk for other in others]
    locked = model.objects.select_for_update().in_bulk(ids)
    if len(locked) != len(set(ids)) or len(ids) != len(set(ids)) or len(ids) < 2:
        raise InvalidInput({"merge_ids": "Name live records other than the one kept."})
    survivor, others = locked[survivor.pk], [locked[pk] for pk in ids[1:]]
    if expected_version is not None and int(expected_version) != survivor.version:
        raise StaleVersion(current_version=survivor.version)
    entity = _entity(model)
    loser_ids = set(ids[1:])
    decisions = decide(model, [survivor, *others], choices)
    shown = differing(decisions)

    own_emails = set(survivor.emails.values_list("pk", flat=True)) if model is Contact else set()
    own_phones = set(survivor.phones.values_list("pk", flat=True)) if model is Contact else set()
    own_links = set(survivor.affiliations.values_list("pk", flat=True))
    moved: dict[str, int] = {}
    for other in others:
        for label, count in _move_related(model, survivor, other).items():
            moved[label] = moved.get(label, 0) + count

    before = audit.snapshot(survivor, _audited_fields(model))
    for name, decision in decisions.items():
        value = decision["value"]
        if name.startswith(CUSTOM_PREFIX):
            key = name[len(CUSTOM_PREFIX):]
            if is_empty(value):
                survivor.custom_fields.pop(key, None)
            else:
                survivor.custom_fields[key] = value
            continue
        field = model._meta.get_field(name)
        if name == "parent" and value in ids:
            value = None  # a company cannot become its own parent
        setattr(survivor, field.attname, value)
    if model is Contact:
        _union_channels(survivor, own_emails, own_phones)
        links = list(Affiliation.unscoped.filter(contact=survivor))
        company_id = survivor.company_id
        _one_primary(links, own_links,
                     prefer=(lambda a: a.company_id == company_id) if company_id else None)
    else:
        links = list(Affiliation.unscoped.filter(company=survivor))
        _one_primary(links, own_links)
    _repoint_saved_views(entity, survivor.pk, loser_ids)
    survivor.version = F("version") + 1
    survivor.save()
    survivor.refresh_from_db()

    now = timezone.now()
    model.unscoped.filter(pk__in=loser_ids).update(merged_into=survivor, updated_at=now,
                                                   version=F("version") + 1)
    _repoint_pairs(org, actor, entity, survivor.pk, loser_ids)
    search.reindex(model, ids)

    changes = audit.diff(before, audit.snapshot(survivor, _audited_fields(model)))
    changes["merged_records"] = [None, [{"id": other.pk, "name": str(other)}
                                        for other in others]]
    changes["merge_choices"] = [None, {
        name: {"taken": decision["value"], "from": decision["from"],
               "lost": {str(pk): value for pk, value in decision["values"].items()
                        if pk != decision["from"] and not is_empty(value)
                        and value != decision["value"]}}
        for name, decision in shown.items()
    }]
    if moved:
        changes["moved"] = [None, moved]
    audit.record(org, actor, Action.MERGE, survivor, changes=changes)
    for other in others:
        audit.record(org, actor, Action.MERGE, other,
                     changes={"merged_into": [None, survivor.pk]})
    timeline.log_event(
        org, actor, f"{entity}.merged",
        contact=survivor if model is Contact else None,
        company=survivor if model is Company else survivor.company,
        data={"name": ", ".join(str(other) for other in others), "merged_ids": ids[1:]},
    )
    events.emit(org, actor, f"{entity}.merged", survivor,
                data={"id": survivor.pk, "merged_ids": ids[1:]})
    duplicates.find_duplicates_for(org, model, [survivor.pk])
    logger.info(MERGED_EVENTS[entity], extra={
        "organization_id": org.id, f"{entity}_id": survivor.pk, "merged": len(others)})
    return survivor


def _audited_fields(model) -> list[str]:
    builtin = CONTACT_FIELDS + ["email", "phone"] if model is Contact else COMPANY_FIELDS
    return builtin + ["custom_fields"]
