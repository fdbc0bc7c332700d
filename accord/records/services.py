"""Every write to record types, their fields and their records, as verbs.

`save_type` takes a plain dict spec (see docs/records.md), so that industry
packs, the settings pages and the API define types the same way; the record
functions are shared by the record pages, the API and imports. Each service
takes the organisation and the acting user first, validates, writes the
change with its audit entry in one transaction and emits its event.
"""

import datetime as dt
import logging
import re
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from accord import events, search
from accord.activities.models import Activity, Kind
from accord.audit import services as audit
from accord.audit.models import Action
from accord.customers import custom_fields
from accord.customers.models import Company, Contact, FieldType
from accord.customers.validation import Collector, clean_member
from accord.errors import Conflict, InvalidInput, NotFound, NotPermitted, StaleVersion
from accord.identity.models import Role
from accord.identity.visibility import restrict, visible
from accord.sales.models import Deal

from . import conflicts
from .models import Record, RecordField, RecordLink, RecordShare, RecordType, RelationType

logger = logging.getLogger(__name__)

TYPE_KEY = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
MAX_FIELDS = 100  # a form longer than this is several record types
MAX_LINKS = 200  # one relation field; more belongs in a list of the other side
MAX_ID = 2**63 - 1  # the largest id any table can hold
TYPE_AUDITED = ["singular", "plural", "description", "title_field", "position", "is_active",
                "is_confidential", "party_fields"]
FIELD_AUDITED = ["label", "choices", "currency", "required", "help_text", "position",
                 "is_active", "hidden_from_roles", "many", "encrypted"]
RELATION_MODELS = {
    RelationType.CONTACT: (Contact, "contact", "Choose an existing contact."),
    RelationType.COMPANY: (Company, "company", "Choose an existing company."),
    RelationType.DEAL: (Deal, "deal", "Choose an existing deal."),
    RelationType.RECORD: (Record, "target", "Choose an existing record of the linked type."),
}
# The visibility area of the rows each relation type links to.
LINK_AREAS = {RelationType.CONTACT: "contacts", RelationType.COMPANY: "companies",
              RelationType.DEAL: "deals", RelationType.RECORD: "records"}
# Field types whose value can name a record in lists and links.
TITLE_TYPES = {FieldType.TEXT, FieldType.EMAIL, FieldType.PHONE, FieldType.URL,
               FieldType.CHOICE, FieldType.NUMBER, FieldType.DATE}
# Field types that can name a party for the conflict check: a name as text,
# or a link to the contact or company itself.
PARTY_TYPES = {FieldType.TEXT, RelationType.CONTACT, RelationType.COMPANY}
MAX_SHARES = 100  # members one record is shared with; more is a team's job
# Field types whose values the global search finds a record by.
SEARCHED_TYPES = {FieldType.TEXT, FieldType.EMAIL, FieldType.PHONE, FieldType.CHOICE}


def get_type(key, *, active_only: bool = True) -> RecordType:
    """The organisation's record type with this key; NotFound when there is none (or,
    with `active_only`, when it is deactivated)."""
    types = RecordType.objects.filter(key=str(key))
    if active_only:
        types = types.filter(is_active=True)
    record_type = types.first()
    if record_type is None:
        raise NotFound("No record type with this key.")
    return record_type


def get_type_by_id(type_id) -> RecordType:
    record_type = RecordType.objects.filter(pk=_pk(type_id)).first() if _pk(type_id) else None
    if record_type is None:
        raise NotFound("No record type with this id.")
    return record_type


def get_field(record_type: RecordType, field_id) -> RecordField:
    pk = _pk(field_id)
    field = record_type.fields.filter(pk=pk).first() if pk else None
    if field is None:
        raise NotFound("No field with this id.")
    return field


def get_record(record_type: RecordType, record_id, *, with_deleted: bool = False) -> Record:
    """The record of this type with this id; NotFound otherwise (also for another
    organisation's record)."""
    manager = Record.with_deleted if with_deleted else Record.objects
    pk = _pk(record_id)
    record = (manager.select_related("record_type", "owner")
              .filter(record_type=record_type, pk=pk).first() if pk else None)
    if record is None:
        raise NotFound("No record with this id.")
    return record


def find_record(record_id) -> Record:
    """A live record of an active type by id alone, for the timeline and path checks."""
    pk = _pk(record_id)
    record = (Record.objects.select_related("record_type")
              .filter(pk=pk, record_type__is_active=True).first() if pk else None)
    if record is None:
        raise NotFound("No record with this id.")
    return record


def _pk(value) -> int | None:
    try:
        pk = int(getattr(value, "pk", value))
    except (TypeError, ValueError, OverflowError):
        return None
    return pk if 0 < pk <= MAX_ID else None


def active_types():
    return RecordType.objects.filter(is_active=True).order_by("position", "plural", "id")


def fields_of(record_type: RecordType, viewer=None, *, active: bool = True) -> list[RecordField]:
    """The type's fields in order; given a `viewer` (a Membership), those it may see."""
    fields = record_type.fields.select_related("target").order_by("position", "id")
    if active:
        fields = fields.filter(is_active=True)
    return [field for field in fields if custom_fields.may_see(viewer, field)]


def hidden_keys(record_type: RecordType, viewer) -> frozenset[str]:
    """Keys of the type's fields, active or not, hidden from the member's role."""
    return frozenset(field.key for field in record_type.fields.all()
                     if not custom_fields.may_see(viewer, field))


# Types


@transaction.atomic
def save_type(org, actor, spec: dict) -> RecordType:
    """Create the record type `spec["key"]` names, or update it when it exists.

    The spec holds key, singular, plural, and optionally description,
    title_field, position, active and fields (a list of field specs, see
    `save_field`). Fields are matched by key: new ones are added, known ones
    updated, and fields the spec leaves out are kept as they are, so applying
    the same spec twice changes nothing. Raises InvalidInput naming each bad
    entry (`fields.<n>.<name>` for a field).
    """
    if not isinstance(spec, dict):
        raise InvalidInput({"spec": "Give the record type as an object."})
    errors = Collector()
    key = str(spec.get("key") or "").strip().lower()
    if not TYPE_KEY.match(key):
        errors.add("key", "Use lower-case letters, digits and underscores, starting with a "
                          "letter (at most 50 characters).")
    record_type = RecordType.objects.select_for_update().filter(key=key).first()
    values = _clean_type(spec, record_type, errors)
    field_specs = spec.get("fields")
    if field_specs is not None and not isinstance(field_specs, list):
        errors.add("fields", "Give the fields as a list.")
        field_specs = None
    elif field_specs is not None and len(field_specs) > MAX_FIELDS:
        errors.add("fields", f"Keep a record type to {MAX_FIELDS} fields.")
        field_specs = None
    errors.raise_if_any()

    created = record_type is None
    before = {} if created else audit.snapshot(record_type, TYPE_AUDITED)
    if created:
        if "position" not in values:
            last = RecordType.objects.order_by("-position").first()
            values["position"] = last.position + 1 if last else 1
        record_type = RecordType.objects.create(organization=org, key=key, **values)
    else:
        for name, value in values.items():
            setattr(record_type, name, value)
    if field_specs is not None:
        _save_fields(org, actor, record_type, field_specs)
    _check_title_field(record_type)
    _check_party_fields(record_type)
    after = audit.snapshot(record_type, TYPE_AUDITED)
    changes = audit.diff(before, after)
    if created:
        audit.record(org, actor, Action.CREATE, record_type, entity="record_type",
                     changes={"key": [None, key], **changes})
        logger.info("record_type.created",
                    extra={"organization_id": org.id, "record_type_id": record_type.pk})
    elif changes:
        record_type.save_new_version()
        audit.record(org, actor, Action.UPDATE, record_type, entity="record_type",
                     changes=changes)
        if "title_field" in changes:
            _retitle(record_type)
    return record_type


def _clean_type(spec: dict, current: RecordType | None, errors: Collector) -> dict:
    values = {}
    for name, label in (("singular", "singular"), ("plural", "plural")):
        if name in spec or current is None:
            text = str(spec.get(name) or "").strip()
            if not text:
                errors.add(name, f"Give the record type a {label} label.", "required")
            elif len(text) > 80:
                errors.add(name, "Keep the label under 80 characters.")
            values[name] = text
    if "description" in spec:
        text = str(spec.get("description") or "").strip()
        if len(text) > 500:
            errors.add("description", "Keep the description under 500 characters.")
        values["description"] = text
    if "title_field" in spec:
        values["title_field"] = str(spec.get("title_field") or "").strip()
    if "position" in spec and spec["position"] not in (None, ""):
        try:
            values["position"] = int(spec["position"])
            if values["position"] < 0:
                raise ValueError
        except (TypeError, ValueError):
            errors.add("position", "Enter a whole number of zero or more.")
    if "active" in spec:
        values["is_active"] = bool(spec["active"])
    if "confidential" in spec:
        values["is_confidential"] = bool(spec["confidential"])
    if "party_fields" in spec:
        keys = spec.get("party_fields") or []
        if not isinstance(keys, list) or not all(isinstance(key, str) for key in keys):
            errors.add("party_fields", "Give the keys of the fields that name parties as a "
                                       "list.")
        else:
            values["party_fields"] = list(dict.fromkeys(key.strip().lower() for key in keys))
    return values


def _check_party_fields(record_type: RecordType) -> None:
    """Each party field must be an active text field, or a link to contacts or companies."""
    fields = {field.key: field for field in record_type.fields.all()}
    for key in record_type.party_fields:
        field = fields.get(key)
        if field is None or field.field_type not in PARTY_TYPES or not field.is_active:
            raise InvalidInput({"party_fields": f"“{key}” is not an active text field or link "
                                                "to contacts or companies of this type."})
        if field.hidden_from_roles:
            raise InvalidInput({"party_fields": f"“{key}” is hidden from some roles, who could "
                                                "then not run the conflict check; choose a "
                                                "field everyone sees."})
        if field.encrypted:
            raise InvalidInput({"party_fields": f"“{key}” is stored encrypted, so the conflict "
                                                "check cannot look its values up."})


def _check_title_field(record_type: RecordType) -> None:
    """The title field, when set, must be an active field of a type that can name a record."""
    if not record_type.title_field:
        return
    field = record_type.fields.filter(key=record_type.title_field).first()
    if field is None or field.field_type not in TITLE_TYPES:
        raise InvalidInput({"title_field": "Choose one of the type's text, number, date or "
                                           "choice fields."})
    if not field.is_active:
        raise InvalidInput({"title_field": "The title field cannot be deactivated."})
    if field.hidden_from_roles:
        raise InvalidInput({"title_field": "A record's title is shown to everyone who sees "
                                           "it; choose a field that is not hidden from roles."})
    if field.encrypted:
        raise InvalidInput({"title_field": f"{field.label} is stored encrypted, and a record's "
                                           "title is kept in plain text; choose another field."})


def _save_fields(org, actor, record_type: RecordType, specs: list) -> None:
    errors = Collector()
    seen = set()
    for index, spec in enumerate(specs):
        prefix = f"fields.{index}"
        if not isinstance(spec, dict):
            errors.add(prefix, "Give each field as an object.")
            continue
        key = str(spec.get("key") or "").strip().lower()
        if key in seen:
            errors.add(f"{prefix}.key", "Another field in this list uses this key.")
            continue
        seen.add(key)
        current = record_type.fields.filter(key=key).first() if key else None
        try:
            save_field(org, actor, record_type, {"position": index + 1, **spec}, field=current)
        except InvalidInput as exc:
            for error in exc.errors:
                errors.add(f"{prefix}.{error['field']}", error["message"], error["code"])
    errors.raise_if_any()


@transaction.atomic
def save_field(org, actor, record_type: RecordType, spec: dict, *,
               field: RecordField | None = None) -> RecordField:
    """Add a field to the type, or change `field`.

    The spec holds key (derived from the label when empty), label, type (any
    custom field type, or contact, company, deal or record), required,
    choices, currency, help_text, hidden_from_roles, position, active, and for
    relations many and target (the key of the linked record type), and
    encrypted. The key, type and target are fixed once the field exists,
    because stored values depend on them. Marking a field encrypted, or no
    longer encrypted, queues a job that re-stores its existing values that way
    (`tasks.restore_record_field_values`).
    """
    errors: dict[str, str] = {}
    field_type = spec.get("type", spec.get("field_type"))
    if field is not None:
        if field_type not in (None, field.field_type):
            errors["type"] = "A field's type cannot change; add a new field instead."
        field_type = field.field_type
    elif field_type not in FieldType.values and field_type not in RelationType.values:
        errors["type"] = ("Choose one of: " + ", ".join([*FieldType.values, *RelationType.values])
                          + ".")
    key = str(spec.get("key") or "").strip().lower()
    label = spec.get("label")
    if not label and key and field is None:
        label = key.replace("_", " ").capitalize()
    label = custom_fields.clean_field_label(label if label is not None or field is None
                                            else field.label, errors)
    if field is None:
        key = key or re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")[:50]
        if not custom_fields.FIELD_KEY.match(key):
            errors["key"] = ("Use lower-case letters, digits and underscores, starting with a "
                             "letter (at most 50 characters).")
        elif record_type.fields.filter(key=key).exists():
            errors["key"] = "Another field of this record type uses this key already."
    is_relation = field_type in RelationType.values
    options = custom_fields.clean_field_settings(
        None if is_relation else field_type, spec, errors, currency_required=False)
    target = _clean_target(record_type, field_type, spec, field, errors)
    if (field is not None and field.key in record_type.party_fields
            and options.get("hidden_from_roles")):
        errors["hidden_from_roles"] = ("The conflict check reads this field, so everyone who "
                                       "opens a record sees it; it cannot be hidden from "
                                       "roles.")
    if (field is not None and field.key == record_type.title_field
            and options.get("hidden_from_roles")):
        errors["hidden_from_roles"] = ("The title field is shown to everyone who sees a "
                                       "record; it cannot be hidden from roles.")
    if field is not None and "many" in spec and bool(spec["many"]) != field.many:
        errors["many"] = "Whether a field links to one or several records cannot change."
    encrypted = bool(spec.get("encrypted", field.encrypted if field is not None else False))
    _check_encrypted(record_type, field_type, key if field is None else field.key, encrypted,
                     errors)
    if errors:
        raise InvalidInput(errors)
    if field is None:
        options["many"] = bool(spec.get("many")) and is_relation
    restore = field is not None and encrypted != field.encrypted
    options["encrypted"] = encrypted
    if "active" in spec:
        options["is_active"] = bool(spec["active"])
    if spec.get("position") in (None, ""):
        options.pop("position")
        if field is None:
            last = record_type.fields.order_by("-position").first()
            options["position"] = last.position + 1 if last else 1

    if field is None:
        field = RecordField.objects.create(
            organization=org, record_type=record_type, key=key, label=label,
            field_type=field_type, target=target, **options)
        audit.record(org, actor, Action.CREATE, field, entity="record_field",
                     changes=audit.diff({}, {"record_type": record_type.key, "key": key,
                                             "field_type": field_type,
                                             **audit.snapshot(field, FIELD_AUDITED)}))
        return field
    before = audit.snapshot(field, FIELD_AUDITED)
    field.label = label
    for name, value in options.items():
        setattr(field, name, value)
    changes = audit.diff(before, audit.snapshot(field, FIELD_AUDITED))
    if changes:
        field.save_new_version()
        audit.record(org, actor, Action.UPDATE, field, entity="record_field", changes=changes)
    if restore:
        from .tasks import restore_record_field_values

        transaction.on_commit(lambda: restore_record_field_values.delay(org.pk, field.pk))
        logger.info("record_field.encryption_changed", extra={
            "organization_id": org.id, "record_field_id": field.pk, "encrypted": encrypted})
    return field


def _check_encrypted(record_type: RecordType, field_type, key: str, encrypted: bool,
                     errors: dict) -> None:
    """An encrypted field holds plain values that neither name the record nor the parties
    of the conflict check, which both read them in plain text."""
    if not encrypted:
        return
    if field_type in RelationType.values:
        errors["encrypted"] = ("Links are stored as links between records and cannot be "
                               "encrypted; only fields with values can.")
    elif key and key == record_type.title_field:
        errors["encrypted"] = ("The title field names a record in plain text in lists and "
                               "links; choose another title field before encrypting it.")
    elif key and key in record_type.party_fields:
        errors["encrypted"] = ("The conflict check looks this field's values up; take it out "
                               "of the party fields before encrypting it.")


def _clean_target(record_type: RecordType, field_type, spec: dict, field: RecordField | None,
                  errors: dict) -> RecordType | None:
    if field_type != RelationType.RECORD:
        return None
    if field is not None:
        wanted = spec.get("target")
        if wanted not in (None, "") and wanted != field.target.key:
            errors["target"] = "A field's linked type cannot change; add a new field instead."
        return field.target
    key = str(spec.get("target") or "").strip().lower()
    if not key:
        errors["target"] = "Choose the record type this field links to."
        return None
    if key == record_type.key:
        return record_type
    target = RecordType.objects.filter(key=key).first()
    if target is None:
        errors["target"] = "There is no record type with this key."
    return target


@transaction.atomic
def set_field_active(org, actor, field: RecordField, *, active: bool) -> RecordField:
    """Deactivate (hide, keeping stored values and links) or reactivate a field."""
    if field.is_active == active:
        return field
    if not active and field.record_type.title_field == field.key:
        raise InvalidInput({"is_active": "The title field cannot be deactivated; choose "
                                         "another title field first."})
    if not active and field.key in field.record_type.party_fields:
        raise InvalidInput({"is_active": "The conflict check reads this field; take it out "
                                         "of the party fields first."})
    RecordField.objects.filter(pk=field.pk).update(
        is_active=active, version=F("version") + 1, updated_at=timezone.now())
    audit.record(org, actor, Action.UPDATE, field, entity="record_field",
                 changes={"is_active": [field.is_active, active]})
    field.is_active = active
    return field


@transaction.atomic
def move_field(org, actor, field: RecordField, *, up: bool) -> None:
    """Swap the field with its neighbour above (or below) in the form and record page."""
    fields = list(field.record_type.fields.order_by("position", "id"))
    index = next(number for number, other in enumerate(fields) if other.pk == field.pk)
    other = index - 1 if up else index + 1
    if not 0 <= other < len(fields):
        return
    fields[index], fields[other] = fields[other], fields[index]
    for position, each in enumerate(fields, start=1):
        if each.position != position:
            RecordField.objects.filter(pk=each.pk).update(position=position)
    audit.record(org, actor, Action.UPDATE, field, entity="record_field",
                 changes={"position": [index + 1, other + 1]})


@transaction.atomic
def delete_type(org, actor, record_type: RecordType, *, delete_records: bool = False) -> int:
    """Delete the type and its fields; returns how many records went with it.

    Refuses (Conflict) while the type has records, unless `delete_records`,
    and while fields of other types link to it.
    """
    record_type = RecordType.objects.select_for_update().get(pk=record_type.pk)
    linking = (RecordField.objects.filter(target=record_type)
               .exclude(record_type=record_type).select_related("record_type"))
    if linking:
        names = ", ".join(sorted({str(field.record_type) for field in linking}))
        raise Conflict(f"Fields of other record types link to this one ({names}); delete "
                       "or change those fields first.")
    ids = list(Record.with_deleted.filter(record_type=record_type).values_list("pk", flat=True))
    if ids and not delete_records:
        raise Conflict(f"This record type has {len(ids)} records. Delete them too, or keep "
                       "the type and deactivate it instead.")

    RecordField.objects.filter(record_type=record_type, target=record_type).update(target=None)
    record_type.delete()
    search.reindex(Record, ids)
    audit.record(org, actor, Action.DELETE, record_type, entity="record_type",
                 object_repr=str(record_type), changes={"records": [len(ids), 0]})
    logger.info("record_type.deleted", extra={"organization_id": org.id,
                                              "record_type_id": record_type.pk,
                                              "records": len(ids)})
    return len(ids)


# Records


def clean_record(org, record_type: RecordType, data: dict, *, current: Record | None = None,
                 partial: bool, viewer=None) -> dict:
    """Validate record input: `values` (by field key) and `owner`.

    Returns the plain values to store under "values", the relations under
    "links" ({field key: [targets]}) and "owner" when given. Errors name
    `values.<key>` or `owner_id`. A member may not write fields hidden from
    their role: those keys answer as unknown.
    """
    errors = Collector()
    incoming = data.get("values", {})
    if not isinstance(incoming, dict):
        raise InvalidInput({"values": "Give the values as an object keyed by field key."})
    fields = fields_of(record_type)
    hidden = hidden_keys(record_type, viewer)
    for key in incoming:
        if key in hidden:
            errors.add(f"values.{key}", "There is no field with this key.", "unknown")
    incoming = {key: value for key, value in incoming.items() if key not in hidden}
    relations = [field for field in fields if field.is_relation]
    relation_keys = {field.key for field in relations}
    plain = [field for field in fields if not field.is_relation]
    out: dict = {"links": {}}
    try:
        out["values"] = custom_fields.clean_values(
            plain, {key: value for key, value in incoming.items() if key not in relation_keys},
            current.values if current else None, partial=partial)
    except InvalidInput as exc:
        for error in exc.errors:
            name = error["field"].removeprefix("custom_fields.")
            message = ("There is no field with this key." if error["code"] == "unknown"
                       else error["message"])
            errors.add(f"values.{name}", message, error["code"])
    for field in relations:
        if field.key in incoming:
            out["links"][field.key] = _clean_links(field, incoming[field.key], errors,
                                                   viewer=viewer, current=current)
        if not custom_fields.may_see(viewer, field) or not field.required:
            continue
        given = out["links"].get(field.key)
        if given is None and field.key not in incoming and current is not None and partial:
            given = list(current.links.filter(field=field))
        if not given and not any(error["field"] == f"values.{field.key}"
                                 for error in errors.errors):
            errors.add(f"values.{field.key}", f"{field.label} is required.", "required")
    if "owner" in data:
        out["owner"] = clean_member(org, data["owner"], "owner_id", errors)
    if "shared_with" in data:
        out["shared_with"] = _clean_shares(org, record_type, data["shared_with"], errors)
    if current is None and record_type.party_fields and data.get("conflict_checked") is not True:
        errors.add("conflict_checked",
                   f"Run the conflict check and confirm there is no conflict before "
                   f"opening a {str(record_type.singular).lower()}.", "conflict_check")
    errors.raise_if_any()
    return out


def _clean_shares(org, record_type: RecordType, value, errors: Collector) -> list:
    """The members a confidential record is shared with, by id."""
    if not record_type.is_confidential:
        if value not in (None, []):
            errors.add("shared_with", "Only records of confidential types are shared.")
        return []
    if not isinstance(value, list | tuple):
        errors.add("shared_with", "Give a list of member ids.")
        return []
    if len(value) > MAX_SHARES:
        errors.add("shared_with", f"Share a record with at most {MAX_SHARES} members.")
        return []
    users = [clean_member(org, item, "shared_with", errors) for item in value]
    return list({user.pk: user for user in users if user is not None}.values())


def _clean_links(field: RecordField, value, errors: Collector, *, viewer=None,
                 current: Record | None = None) -> list:
    """The records a relation field's value names, in the order given: for a `viewer`, of
    the records of a type those they may see or the record links to already."""
    model, attribute, message = RELATION_MODELS[field.field_type]
    name = f"values.{field.key}"
    if value in (None, "", []):
        return []
    if field.many:
        if not isinstance(value, list):
            errors.add(name, "Give a list of ids.")
            return []
        if len(value) > MAX_LINKS:
            errors.add(name, f"Link at most {MAX_LINKS} records here.")
            return []
    elif isinstance(value, list):
        errors.add(name, "Give one id; this field links to a single record.")
        return []
    ids = [_pk(item) if not isinstance(item, bool) else None
           for item in (value if isinstance(value, list) else [value])]
    if None in ids:
        errors.add(name, message)
        return []
    ids = list(dict.fromkeys(ids))
    rows = model.objects.filter(pk__in=ids)
    if field.field_type == RelationType.RECORD:
        rows = rows.filter(record_type=field.target)
    if viewer is not None:
        # A link the record has already stays, so saving a form that lists it
        # unnamed does not drop it; any other row must be one the member sees.
        kept = (RecordLink.objects.filter(record=current, field=field).values(attribute)
                if current is not None else RecordLink.objects.none().values(attribute))
        rows = rows.filter(Q(pk__in=visible(rows, viewer, LINK_AREAS[field.field_type])
                             .values("pk")) | Q(pk__in=kept))
    found = rows.in_bulk()
    if len(found) != len(ids):
        errors.add(name, message)
        return []
    return [found[pk] for pk in ids]


def link_values(record: Record, fields: list[RecordField]) -> dict:
    """The relation fields' values of a record as ids: one id (or None), or a list."""
    by_field: dict[int, list[int]] = {}
    for link in record.links.all():
        target = link.target_id or link.contact_id or link.company_id or link.deal_id
        by_field.setdefault(link.field_id, []).append(target)
    return {field.key: (by_field.get(field.pk, []) if field.many
                        else next(iter(by_field.get(field.pk, [])), None))
            for field in fields if field.is_relation}


def _write_links(org, record: Record, links: dict) -> None:
    fields = {field.key: field for field in record.record_type.fields.all()}
    for key, targets in links.items():
        field = fields[key]
        RecordLink.objects.filter(record=record, field=field).delete()
        _model, attribute, _message = RELATION_MODELS[field.field_type]
        RecordLink.objects.bulk_create([
            RecordLink(organization=org, record=record, field=field, position=position,
                       **{attribute: target})
            for position, target in enumerate(targets)
        ])


def title_of(record_type: RecordType, values: dict) -> str:
    """The text that names a record: its title field's value."""
    value = values.get(record_type.title_field) if record_type.title_field else None
    if value in (None, ""):
        return ""
    return str(value)[:300]


def _retitle(record_type: RecordType) -> None:
    records = list(Record.with_deleted.filter(record_type=record_type))
    for record in records:
        record.title = title_of(record_type, record.values)
    Record.objects.bulk_update(records, ["title"], batch_size=500)
    search.reindex(Record, [record.pk for record in records])


def _audit_state(record: Record) -> dict:
    fields = list(record.record_type.fields.all())
    state = {"owner": record.owner_id,
             "custom_fields": {**record.values, **link_values(record, fields)}}
    if record.record_type.is_confidential:
        state["shared_with"] = shared_with(record)
    return state


def shared_with(record: Record) -> list[int]:
    """The ids of the members a record is shared with, in the order they were added."""
    return [share.user_id for share in sorted(record.shares.all(), key=lambda row: row.pk)]


def _party_values(cleaned: dict) -> dict:
    """Cleaned record input as the conflict check reads it: links by id."""
    links = {key: [target.pk for target in targets]
             for key, targets in cleaned["links"].items()}
    return {**cleaned["values"], **links}


def _record_conflict_check(org, actor, record: Record, check: dict) -> None:
    """Keep the check a record was opened after on its timeline and in the audit log: what
    was looked for, what was found, and who confirmed there is no conflict."""
    confirmed_by = getattr(actor, "email", "") if getattr(actor, "pk", None) else ""
    data = {"query": [party["name"] for party in check["query"]],
            "hits": [{name: hit[name] for name in ("kind", "id", "name", "party", "reason")}
                     for hit in check["hits"]],
            "truncated": check["truncated"], "confirmed_by": confirmed_by}
    Activity.objects.create(organization=org, kind=Kind.SYSTEM,
                            event="record.conflict_checked", data=data, custom_record=record,
                            occurred_at=timezone.now(),
                            author=actor if getattr(actor, "pk", None) else None)
    # The audit log names the rows found by kind and id only: its readers may
    # see less than whoever ran the check.
    audited = {**data, "hits": [{name: hit[name] for name in ("kind", "id", "party")}
                                for hit in data["hits"]]}
    audit.record(org, actor, Action.UPDATE, record, entity="record",
                 changes={"conflict_check": [None, audited]})


def _changed_keys(before: dict, after: dict) -> list[str]:
    """The field keys (and `owner`) whose value differs between two audit states."""
    keys = ["owner"] if before["owner"] != after["owner"] else []
    old, new = before["custom_fields"], after["custom_fields"]
    return keys + sorted(key for key in {*old, *new} if old.get(key) != new.get(key))


def event_data(record: Record) -> dict:
    """The plain facts an event about a record carries."""
    return {"id": record.pk, "type": record.record_type.key, "title": record.title,
            "owner_id": record.owner_id}


@transaction.atomic
def create_record(org, actor, record_type: RecordType, *, data: dict, viewer=None) -> Record:
    """Create a record of the type from `{"values": {...}, "owner": id}`; InvalidInput names
    each bad value. The owner defaults to the acting user."""
    cleaned = clean_record(org, record_type, data, partial=False, viewer=viewer)
    check = None
    if record_type.party_fields:
        # Run again on what is saved, so the recorded hits are those of the
        # values the record opens with, whatever the form showed earlier.
        check = conflicts.run(record_type, viewer, values=_party_values(cleaned),
                              strict=False)

    record = Record(organization=org, record_type=record_type, values=cleaned["values"],
                    title=title_of(record_type, cleaned["values"]))
    record.owner = cleaned.get("owner") if "owner" in cleaned else (
        actor if getattr(actor, "pk", None) else None)
    record.save()
    _write_links(org, record, cleaned["links"])
    RecordShare.objects.bulk_create([RecordShare(organization=org, record=record, user=user)
                                     for user in cleaned.get("shared_with", [])])
    search.reindex(Record, [record.pk])
    audit.record(org, actor, Action.CREATE, record,
                 changes=audit.diff({}, _audit_state(record)))
    if check is not None:
        _record_conflict_check(org, actor, record, check)
    events.emit(org, actor, "record.created", record, data=event_data(record))
    logger.info("record.created", extra={"organization_id": org.id, "record_id": record.pk,
                                         "record_type_id": record_type.pk})
    return record


@transaction.atomic
def update_record(org, actor, record: Record, *, data: dict,
                  expected_version: int | None = None, viewer=None) -> Record:
    """Change the given values (the others stay) and owner; StaleVersion when someone saved
    since `expected_version`."""
    record = Record.objects.select_for_update().select_related("record_type").get(pk=record.pk)
    if expected_version is not None and int(expected_version) != record.version:
        raise StaleVersion(current_version=record.version)
    cleaned = clean_record(org, record.record_type, data, current=record, partial=True,
                           viewer=viewer)

    if "shared_with" in cleaned and not may_share(viewer, record):
        raise NotPermitted("Only the record's owner and admins change whom it is shared with.")
    if (record.record_type.is_confidential and "owner" in cleaned
            and getattr(cleaned["owner"], "pk", None) != record.owner_id
            and not may_share(viewer, record)):
        # Handing the record on would lock its owner out, so it is theirs to give.
        raise NotPermitted("Only the record's owner and admins change the owner of a "
                           "confidential record.")

    before = _audit_state(record)
    record.values = cleaned["values"]
    record.title = title_of(record.record_type, record.values)
    if "owner" in cleaned:
        record.owner = cleaned["owner"]
    _write_links(org, record, cleaned["links"])
    if "shared_with" in cleaned:
        _write_shares(org, record, cleaned["shared_with"])
    after = _audit_state(record)
    changes = audit.diff(before, after)
    if not changes:
        return record
    record.version = F("version") + 1
    record.save()
    record.refresh_from_db()
    search.reindex(Record, [record.pk])
    audit.record(org, actor, Action.UPDATE, record, changes=changes)
    events.emit(org, actor, "record.updated", record,
                data={**event_data(record), "changed": sorted(changes),
                      "fields": _changed_keys(before, after)})
    return record


def may_share(viewer, record: Record) -> bool:
    """Whether the member (None: code acting for the organisation) may change whom a
    record is shared with: its owner and admins may."""
    return viewer is None or viewer.role == Role.ADMIN or (
        record.owner_id is not None and record.owner_id == viewer.user_id)


def _write_shares(org, record: Record, users: list) -> None:
    wanted = {user.pk for user in users}
    record.shares.exclude(user_id__in=wanted).delete()
    have = set(record.shares.values_list("user_id", flat=True))
    RecordShare.objects.bulk_create([RecordShare(organization=org, record=record, user_id=pk)
                                     for pk in wanted - have])


@transaction.atomic
def share_record(org, actor, record: Record, *, members: list, viewer=None) -> Record:
    """Share a confidential record with exactly these members (user ids); the change of
    the list is audited. NotPermitted unless the `viewer` owns the record or is an admin."""
    return update_record(org, actor, record, data={"shared_with": members}, viewer=viewer)


def _confidential(membership) -> tuple[Q, Q]:
    """Records of confidential types, and those of them the member owns or shares."""
    shared = RecordShare.unscoped.filter(organization_id=OuterRef("organization_id"),
                                         record=OuterRef("pk"), user_id=membership.user_id)
    return (Q(record_type__is_confidential=True),
            Q(owner_id=membership.user_id) | Q(Exists(shared)))


restrict("records", _confidential)


@transaction.atomic
def delete_record(org, actor, record: Record, *, expected_version: int | None = None) -> None:
    """Move a record to the trash: it leaves lists, search and the pages it links to, and
    keeps its values and links."""
    record = Record.objects.select_for_update().get(pk=record.pk)
    if expected_version is not None and int(expected_version) != record.version:
        raise StaleVersion(current_version=record.version)
    Record.unscoped.filter(pk=record.pk).update(deleted_at=timezone.now(),
                                                version=F("version") + 1)
    search.reindex(Record, [record.pk])
    audit.record(org, actor, Action.DELETE, record)
    events.emit(org, actor, "record.deleted", record, data=event_data(record))


@transaction.atomic
def restore_record(org, actor, record: Record) -> Record:
    """Take a record out of the trash."""
    if record.deleted_at is None:
        return record
    Record.unscoped.filter(pk=record.pk).update(deleted_at=None, version=F("version") + 1)
    search.reindex(Record, [record.pk])
    audit.record(org, actor, Action.RESTORE, record)
    return get_record(record.record_type, record.pk)


def purge_expired_trash(org, *, now: dt.datetime | None = None) -> int:
    """Delete for good the records that have sat in the trash past retention."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.TRASH_RETENTION_DAYS)
    purged = 0
    for record in Record.with_deleted.filter(deleted_at__lt=cutoff).select_related(
            "record_type"):
        with transaction.atomic():
            audit.record(org, None, Action.PURGE, record)
            record_id = record.pk
            record.delete()
            search.reindex(Record, [record_id])
            purged += 1
    return purged


def linking_records(viewer, **target) -> list[tuple[RecordType, list[Record], list[tuple]]]:
    """Live records of active types linking to a contact, company, deal or record (given as
    `contact=`, `company=`, `deal=` or `target=`) that the `viewer` (a Membership) may see,
    grouped by type, each group with the totals of its type's number fields."""
    seen = visible(Record.objects.all(), viewer, "records").values("pk")
    links = (RecordLink.objects.filter(**target, record__deleted_at__isnull=True,
                                       record__record_type__is_active=True, record__in=seen)
             .select_related("record__record_type").order_by("record__record_type__position",
                                                            "record_id"))
    grouped: dict[int, tuple[RecordType, dict]] = {}
    for link in links:
        record_type = link.record.record_type
        grouped.setdefault(record_type.pk, (record_type, {}))[1][link.record_id] = link.record
    return [(record_type, list(records.values()),
             totals(record_type, list(records.values()), viewer))
            for record_type, records in grouped.values()]


def totals(record_type: RecordType, records: list[Record], viewer) -> list[tuple]:
    """(field, sum) for each number field of the type the viewer may see that any of the
    records fills: the hours of a matter's time entries. Money is not added up, because
    its values may each name another currency."""
    sums = []
    for field in fields_of(record_type, viewer):
        if field.field_type != FieldType.NUMBER:
            continue
        given = [record.values[field.key] for record in records
                 if record.values.get(field.key) not in (None, "")]
        if given:
            sums.append((field, sum((Decimal(str(value)) for value in given), Decimal(0))))
    return sums


def _search_text(record: Record) -> str:
    # The index is shared by every role, so fields hidden from any role stay
    # out of it: a search must not find a record by a value the searcher
    # may not see. Encrypted fields stay out too, as the index is plain text.
    texts = [str(value) for field in record.record_type.fields.all()
             if field.field_type in SEARCHED_TYPES and not field.hidden_from_roles
             and not field.encrypted
             and (value := record.values.get(field.key)) not in (None, "")]
    return search.build_search_text(record.title, *texts)


search.register(
    Record, "records", text_of=_search_text,
    live=lambda records: records.filter(deleted_at__isnull=True)
    .select_related("record_type").prefetch_related("record_type__fields"),
)
