"""Field history: the audit trail of one record, one changed field per row.

Values are stored as JSON-safe renderings (ids for links, ISO text for
dates); here they become what a person reads: names instead of ids, choice
labels instead of keys, dates in the viewer's time zone. Call inside the
organisation's scope, as every request is.
"""

import datetime as dt
from dataclasses import dataclass

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import formats, timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accord.identity.models import Role

from .models import Action, AuditEntry

VIA_LABELS = {
    "web": gettext_lazy("Web"),
    "api": gettext_lazy("API"),
    "import": gettext_lazy("Import"),
    "job": gettext_lazy("Background job"),
    "cli": gettext_lazy("Command line"),
    "system": gettext_lazy("System"),
}
EXTRA_LABELS = {
    "tags": gettext_lazy("Tags"),
    "emails": gettext_lazy("E-mail addresses"),
    "phones": gettext_lazy("Phone numbers"),
    "affiliations": gettext_lazy("Companies"),
    "done": gettext_lazy("Done"),
}


@dataclass(frozen=True)
class FieldChange:
    """One field of one audit entry: `field` is empty for entries without changes."""

    entry_id: int
    at: dt.datetime
    actor_label: str
    via: str
    via_label: str
    action: str
    action_label: str
    field: str
    label: str
    old: str
    new: str


def field_history(entity: str, object_id: int, *, limit: int = 50,
                  viewer=None) -> list[FieldChange]:
    """The newest `limit` field changes of one record, newest first, without the
    custom fields hidden from the `viewer` (a Membership)."""
    entries = list(
        AuditEntry.objects.filter(entity=entity, object_id=object_id)
        .select_related("actor")
        .order_by("-id")[:limit]
    )
    rows = describe_entries(entries, viewer=viewer)
    return [row for entry in entries for row in rows[entry.pk]][:limit]


def describe_entries(entries: list[AuditEntry], *,
                     viewer=None) -> dict[int, list[FieldChange]]:
    """Readable rows for each entry, keyed by entry id; linked names are fetched in bulk.

    Changes of custom fields hidden from the `viewer` (a Membership) are left out.
    """
    for entry in entries:
        # Only the in-memory copy changes; audit entries are never saved again.
        entry.changes = redacted_changes(entry, viewer)
    names = _linked_names(entries, viewer)
    custom_labels = _custom_field_labels({entry.entity for entry in entries})
    return {
        entry.pk: _rows(entry, names, custom_labels.get(entry.entity, {}))
        for entry in entries
    }


def redacted_changes(entry: AuditEntry, viewer) -> dict:
    """The entry's changes without the values of custom fields hidden from the
    `viewer` (a Membership): in the record's custom fields and in merge choices.
    Values of encrypted custom fields, stored sealed, are opened."""
    from accord.customers.fields import unsealed_changes

    hidden = _hidden_keys(entry, viewer)
    changes = _unnamed_affiliations(entry, unsealed_changes(entry.changes or {}), viewer)
    changes = _unnamed_parties(entry, changes, viewer)
    changes = _unnamed_conversion(entry, changes, viewer)
    changes = _masked_rule(entry, changes, viewer)
    changes = _masked_segment_or_report(entry, changes, viewer)
    if not hidden:
        return changes
    shown = {}
    for field, values in changes.items():
        if isinstance(values, list | tuple) and len(values) == 2:
            if field == "custom_fields":
                old, new = ({key: value for key, value in side.items() if key not in hidden}
                            if isinstance(side, dict) else side for side in values)
                if old == new:
                    continue
                values = [old, new]
            elif field == "merge_choices" and isinstance(values[1], dict):
                values = [values[0], {name: choice for name, choice in values[1].items()
                                      if name.removeprefix("cf.") not in hidden
                                      or not name.startswith("cf.")}]
        shown[field] = values
    return shown


def _unnamed_affiliations(entry: AuditEntry, changes: dict, viewer) -> dict:
    """`changes` with a contact's affiliation to a company hidden from the `viewer` shown
    as "A company you cannot see", its title left out.

    An affiliation is kept as "<company name>: <title>", so the company is
    found by its name; a company renamed since is not recognised. A name that
    a hidden company bears is masked even when a visible company shares it:
    the text cannot tell the two apart.
    """
    from accord.customers.models import Company
    from accord.identity.visibility import narrows, visible

    values = changes.get("affiliations")
    if (entry.entity != "contact" or not isinstance(values, list | tuple)
            or viewer is None or not narrows(viewer, "companies")):
        return changes
    labels = [value for value in values if isinstance(value, str) and value]
    names = {label[:end] for label in labels for end in _name_ends(label)}
    companies = Company._base_manager.filter(organization_id=entry.organization_id,
                                             name__in=names)
    seen = visible(companies, viewer, "companies").values_list("pk", flat=True)
    hidden = set(companies.exclude(pk__in=seen).values_list("name", flat=True))

    def shown(label):
        if not isinstance(label, str) or not any(label[:end] in hidden
                                                 for end in _name_ends(label)):
            return label
        return str(_("A company you cannot see"))

    return {**changes, "affiliations": [shown(value) for value in values]}


def _unnamed_parties(entry: AuditEntry, changes: dict, viewer) -> dict:
    """`changes` with a custom record's conflict check as the `viewer` may read it: rows and
    parties hidden from them named by kind alone, as on the record's timeline."""
    values = changes.get("conflict_check")
    if (entry.entity != "record" or not isinstance(values, list | tuple)
            or viewer is None or viewer.role == Role.ADMIN):
        return changes
    from accord.records.conflicts import kept_check_for
    from accord.records.models import Record

    record = Record._base_manager.filter(organization_id=entry.organization_id,
                                         pk=entry.object_id).first()
    return {**changes, "conflict_check": [
        kept_check_for(viewer, record, value) if isinstance(value, dict) else value
        for value in values]}


def _unnamed_conversion(entry: AuditEntry, changes: dict, viewer) -> dict:
    """`changes` with the ids of the records a lead became left empty where the `viewer`
    may not see them, as the lead API leaves them."""
    values = changes.get("converted_to")
    if (entry.entity != "lead" or not isinstance(values, list | tuple) or viewer is None
            or viewer.role == Role.ADMIN):
        return changes
    from accord.sales.leads import seen_conversion_ids

    named = [value for value in values if isinstance(value, dict)]
    seen = seen_conversion_ids(viewer, {
        relation: {value.get(relation) for value in named}
        for relation in ("contact", "company", "deal")})

    def shown(value):
        if not isinstance(value, dict):
            return value
        return {relation: record_id if relation not in seen or record_id in seen[relation]
                else None for relation, record_id in value.items()}

    return {**changes, "converted_to": [shown(value) for value in values]}


def _masked_rule(entry: AuditEntry, changes: dict, viewer) -> dict:
    """`changes` of a workflow rule with its date, conditions and actions masked where
    they name a field hidden from the `viewer`, as the rule's own page shows them."""
    if entry.entity != "rule" or viewer is None or viewer.role == Role.ADMIN:
        return changes
    from accord.automation.models import Rule
    from accord.automation.reading import Reader

    reader = Reader(viewer)
    if reader.sees_all:
        return changes
    current = Rule._base_manager.filter(organization_id=entry.organization_id,
                                        pk=entry.object_id).first()
    pairs = {name: values for name, values in changes.items()
             if isinstance(values, list | tuple) and len(values) == 2}

    def side(index: int) -> Rule:
        def value(name, default):
            if name in pairs:
                return pairs[name][index]
            return getattr(current, name, default) if current is not None else default
        return Rule(trigger=value("trigger", "") or "", settings=value("settings", {}) or {},
                    conditions=value("conditions", {}) or {},
                    actions=value("actions", []) or [], created_by_id=entry.actor_id)

    masked = dict(changes)
    for index in (0, 1):
        rule = side(index)
        shown = {"settings": reader.masked_settings(rule),
                 "conditions": reader.masked_tree(rule.conditions),
                 "actions": reader.masked_actions(rule)}
        for name, value in shown.items():
            if name in pairs and pairs[name][index] is not None:
                pair = list(masked[name])
                pair[index] = value
                masked[name] = pair
    return masked


def _masked_segment_or_report(entry: AuditEntry, changes: dict, viewer) -> dict:
    """`changes` of a segment or saved report as the `viewer` may read them: a segment's
    conditions on fields hidden from them masked as the rule pages mask them, and a
    report's definition reduced to its entity when it does not run for them (it names
    a field hidden from their role), unless they wrote it."""
    if (entry.entity not in ("segment", "savedreport") or viewer is None
            or viewer.role == Role.ADMIN or entry.actor_id == viewer.user_id):
        return changes
    name = "conditions" if entry.entity == "segment" else "definition"
    values = changes.get(name)
    if not isinstance(values, list | tuple) or len(values) != 2:
        return changes
    if entry.entity == "segment":
        from accord.automation.reading import Reader

        reader = Reader(viewer)
        return {**changes, name: [reader.masked_tree(value) if isinstance(value, dict)
                                  else value for value in values]}
    from accord.reports.services import readable

    return {**changes, name: [readable(value, viewer, written_by=entry.actor_id)
                              if isinstance(value, dict) else value for value in values]}


def _name_ends(label: str) -> list[int]:
    """Where a company's name may end in an affiliation label "<name>: <title>"."""
    ends = [len(label)]
    start = label.find(": ")
    while start != -1:
        ends.append(start)
        start = label.find(": ", start + 1)
    return ends


class _Every:
    """Stands for every field: a custom record whose type is gone shows no values."""

    def __contains__(self, key) -> bool:
        return True

    def __bool__(self) -> bool:
        return True


def _hidden_keys(entry: AuditEntry, viewer):
    """The custom field keys of the entry's record hidden from the `viewer`.

    A custom record's fields belong to its type, so the type is looked up
    through the record, in the trash or not.
    """
    from accord.customers.custom_fields import hidden_keys

    if entry.entity != "record":
        return hidden_keys(entry.entity, viewer)
    if viewer is None or viewer.role == Role.ADMIN:
        return frozenset()
    from accord.records.models import Record
    from accord.records.services import hidden_keys as record_hidden_keys

    record = (Record.unscoped.filter(organization_id=entry.organization_id, pk=entry.object_id)
              .select_related("record_type").first())
    if record is None:
        return _Every()
    return record_hidden_keys(record.record_type, viewer)


def model_for(entity: str) -> type[models.Model] | None:
    """The model whose name is `entity` ("contact", "company", "activity"), if any."""
    for model in apps.get_models():
        if model._meta.model_name == entity and model.__module__.startswith("accord."):
            return model
    return None


def ordered_changes(entry: AuditEntry, changes: dict | None = None) -> list[tuple[str, object]]:
    """The entry's (field, [old, new]) pairs (or those of `changes`) in the model's
    field order.

    PostgreSQL's jsonb does not keep the order keys were written in, so the
    order is rebuilt here: model fields first as declared, then the rest
    (tags, e-mails, consents) by name.
    """
    model = model_for(entry.entity)
    declared = [field.name for field in model._meta.get_fields()] if model else []
    position = {name: index for index, name in enumerate(declared)}
    changes = entry.changes if changes is None else changes
    return sorted((changes or {}).items(),
                  key=lambda item: (position.get(item[0], len(position)), item[0]))


def visible_changes(entry: AuditEntry, viewer) -> list[tuple[str, object]]:
    """`ordered_changes` without the custom field values hidden from the `viewer`."""
    return ordered_changes(entry, redacted_changes(entry, viewer))


def entity_label(entity: str) -> str:
    model = model_for(entity)
    if model is not None:
        return str(model._meta.verbose_name).capitalize()
    return entity.replace("_", " ").capitalize()


def _rows(entry: AuditEntry, names: dict, custom_labels: dict) -> list[FieldChange]:
    model = model_for(entry.entity)
    common = {
        "entry_id": entry.pk,
        "at": entry.created_at,
        "actor_label": str(entry.actor) if entry.actor else entry.actor_label,
        "via": entry.via,
        "via_label": str(VIA_LABELS.get(entry.via, entry.via)),
        "action": entry.action,
        "action_label": _action_label(entry.action),
    }
    rows = []
    for name, pair in ordered_changes(entry):
        old, new = pair if isinstance(pair, list | tuple) and len(pair) == 2 else (None, pair)
        if name == "custom_fields" and isinstance(old or {}, dict) and isinstance(new or {}, dict):
            rows.extend(_custom_field_rows(common, old or {}, new or {}, custom_labels))
            continue
        rows.append(FieldChange(
            **common, field=name, label=_field_label(model, name),
            old=_display(model, name, old, names), new=_display(model, name, new, names),
        ))
    if not rows:
        rows.append(FieldChange(**common, field="", label="", old="", new=""))
    return rows


def _custom_field_rows(common: dict, old: dict, new: dict, labels: dict) -> list[FieldChange]:
    rows = []
    for key in list(new) + [key for key in old if key not in new]:
        if old.get(key) == new.get(key):
            continue
        rows.append(FieldChange(
            **common, field=f"custom_fields.{key}", label=labels.get(key, key),
            old=_plain(old.get(key)), new=_plain(new.get(key)),
        ))
    return rows


def _action_label(action: str) -> str:
    try:
        return str(Action(action).label)
    except ValueError:
        return action


def _model_field(model, name: str):
    if model is None:
        return None
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        return None


def _field_label(model, name: str) -> str:
    field = _model_field(model, name)
    if field is not None and getattr(field, "verbose_name", None):
        return str(field.verbose_name).capitalize()
    if name in EXTRA_LABELS:
        return str(EXTRA_LABELS[name])
    return name.replace("_", " ").capitalize()


HIDDEN_LABELS = {
    "contact": gettext_lazy("A contact you cannot see"),
    "company": gettext_lazy("A company you cannot see"),
    "deal": gettext_lazy("A deal you cannot see"),
}


def _linked_names(entries: list[AuditEntry], viewer=None) -> dict[tuple, str]:
    """{(related model, id): name} for every link value in `entries`, one query per model.

    A linked record hidden from the `viewer` (a Membership) is named by its kind
    alone, "A company you cannot see"; without a viewer every name is given.
    """
    from accord.identity.visibility import follows_visibility, narrow

    wanted: dict[type, set] = {}
    for entry in entries:
        model = model_for(entry.entity)
        for name, pair in (entry.changes or {}).items():
            field = _model_field(model, name)
            if not isinstance(field, models.ForeignKey) or not isinstance(pair, list | tuple):
                continue
            ids = {value for value in pair if isinstance(value, int)}
            wanted.setdefault(field.related_model, set()).update(ids)
    names = {}
    for related, ids in wanted.items():
        manager = getattr(related, "with_deleted", None) or related._default_manager
        found = manager.filter(pk__in=ids)
        seen = None
        if viewer is not None and follows_visibility(related):
            seen = set(narrow(found, viewer).values_list("pk", flat=True))
        for obj in found:
            if seen is None or obj.pk in seen:
                names[(related, obj.pk)] = str(obj)
            else:
                names[(related, obj.pk)] = str(HIDDEN_LABELS.get(
                    related._meta.model_name, _("A record you cannot see")))
    return names


def _custom_field_labels(entities: set[str]) -> dict[str, dict[str, str]]:
    from accord.customers.models import CustomField

    wanted = entities & {"contact", "company"}
    if not wanted:
        return {}
    labels: dict[str, dict[str, str]] = {}
    for field in CustomField.objects.filter(entity__in=wanted):
        labels.setdefault(field.entity, {})[field.key] = field.label
    return labels


def _display(model, name: str, value, names: dict) -> str:
    if value in (None, "", [], {}):
        return ""
    field = _model_field(model, name)
    if isinstance(field, models.ForeignKey):
        return names.get((field.related_model, value), f"#{value}")
    if field is not None and getattr(field, "choices", None):
        choices = {str(key): label for key, label in field.flatchoices}
        if str(value) in choices:
            return str(choices[str(value)])
    if isinstance(field, models.DateTimeField) and isinstance(value, str):
        moment = parse_datetime(value)
        if moment is not None:
            if timezone.is_naive(moment):
                moment = timezone.make_aware(moment, dt.UTC)
            return formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT")
    if isinstance(field, models.DateField) and isinstance(value, str):
        day = parse_date(value)
        if day is not None:
            return formats.date_format(day, "DATE_FORMAT")
    return _plain(value)


def _plain(value) -> str:
    if value in (None, "", [], {}):
        return ""
    if value is True:
        return _("Yes")
    if value is False:
        return _("No")
    if isinstance(value, list | tuple):
        return ", ".join(_plain(item) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{key}: {_plain(item)}" for key, item in value.items())
    return str(value)
