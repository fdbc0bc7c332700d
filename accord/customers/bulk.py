"""Creating and trashing many contacts or companies at once, for imports.

Each function writes what its single-record service writes (the records,
their e-mails, phones, tags, company links, lifecycle start, timeline event,
audit entries, and search text built by the functions the services use) but
in a few statements per batch instead of a dozen per record. Input is
already cleaned by `validation`; call inside the tenant scope and a
transaction.
"""

import json
import operator
import sqlite3

from django.db import connection, connections
from django.db.models import DateField, ForeignKey
from django.utils import timezone
from psycopg.types.json import Jsonb

from accord import search
from accord.activities.models import Activity, Kind
from accord.audit import services as audit
from accord.audit.context import current_channel
from accord.audit.models import Action, AuditEntry
from accord.audit.services import json_safe
from accord.core import crypto
from accord.pg_copy import copy_rows

from .duplicates import company_name_keys, contact_name_keys
from .fields import CustomValuesField, encrypted_keys, sealed_changes
from .models import (
    Affiliation,
    Company,
    CompanyTag,
    Contact,
    ContactEmail,
    ContactPhone,
    ContactTag,
    LifecycleChange,
    Tag,
)
from .services import COMPANY_FIELDS, CONTACT_FIELDS, contact_search_text

# Contacts go in through one COPY with ids taken from their sequence
# (PostgreSQL), or one multi-row INSERT per few thousand values that reads
# their ids back (SQLite); the rows that hang off them go in through one COPY
# or executemany each.

EXTRAS = ("tags", "emails", "phones", "primary_email", "primary_phone")


def create_contacts(org, actor, rows: list[dict]) -> list[Contact]:
    """Create one contact per cleaned `clean_contact` result, in the order given."""
    user = actor if getattr(actor, "pk", None) else None
    user_id = user.pk if user else None
    contacts, extras = [], []
    build = _builder(Contact, org)
    for values in rows:
        fields = {key: value for key, value in values.items() if key not in EXTRAS}
        if "owner" not in fields:
            fields["owner"] = user
        contact = build(fields)
        emails = values.get("emails")
        if emails is None and values.get("primary_email"):
            emails = [{"address": values["primary_email"], "kind": "work", "label": "",
                       "is_primary": True}]
        phones = values.get("phones")
        if phones is None and values.get("primary_phone"):
            phones = [{**values["primary_phone"], "kind": "mobile", "label": "",
                       "is_primary": True}]
        contact.email = emails[0]["address"] if emails else contact.email
        # bulk_create skips save(), where these keys are normally set.
        contact.name_key, contact.block_key = contact_name_keys(contact.first_name,
                                                                contact.last_name)
        contacts.append(contact)
        extras.append((emails or [], phones or [], values.get("tags") or []))
    now = timezone.now()
    # One look-up serves the new rows' custom values and their audit entries.
    keys = encrypted_keys(org.pk, "contact")
    save_new(Contact, contacts, now=now, sealed=keys)

    email_rows, phone_rows, texts = [], [], []
    for contact, (emails, phones, _) in zip(contacts, extras, strict=True):
        email_rows += [(org.pk, contact.pk, email["address"], email["kind"], email["label"],
                        email["is_primary"]) for email in emails]
        phone_rows += [(org.pk, contact.pk, phone["number"], phone["raw"], phone["extension"],
                        phone["kind"], phone["label"], phone["is_primary"]) for phone in phones]
        # Made from the rows just written, as the contact's search text is
        # made from its e-mail and phone rows, without a query per contact.
        texts.append((contact, contact_search_text(
            contact, [email["address"] for email in emails],
            [(phone["number"], phone["raw"]) for phone in phones])))
    insert_rows(ContactEmail, ("organization_id", "contact_id", "address", "kind", "label",
                               "is_primary"), email_rows, now=now)
    insert_rows(ContactPhone, ("organization_id", "contact_id", "number", "raw", "extension",
                               "kind", "label", "is_primary"), phone_rows, now=now)
    _link_tags(org, ContactTag, "contact",
               [(contact, tags) for contact, (_, _, tags) in zip(contacts, extras, strict=True)])
    insert_rows(Affiliation, ("organization_id", "contact_id", "company_id", "title",
                              "is_primary"),
                [(org.pk, contact.pk, contact.company_id, contact.title, True)
                 for contact in contacts if contact.company_id], now=now)
    insert_rows(LifecycleChange, ("organization_id", "contact_id", "to_stage",
                                  "changed_by_id"),
                [(org.pk, contact.pk, contact.lifecycle_stage, user_id) for contact in contacts],
                now=now)
    occurred_at = db_value(Activity, "occurred_at", now)
    insert_rows(Activity, ("organization_id", "kind", "event", "contact_id", "company_id",
                           "occurred_at", "author_id"),
                [(org.pk, Kind.SYSTEM, "contact.created", contact.pk, contact.company_id,
                  occurred_at, user_id) for contact in contacts], now=now)
    snapshot = _snapshotter(Contact, CONTACT_FIELDS)
    entries = []
    for contact, (_, _, tags) in zip(contacts, extras, strict=True):
        after = snapshot(contact)
        after["tags"] = tags
        entries.append((contact.pk, str(contact)[:200], audit.diff({}, after)))
    _add_entries(org, user, Action.CREATE, "contact", entries, now=now, keys=keys)
    search.index_texts(Contact, texts)
    return contacts


def _builder(model, org):
    """A function making an unsaved `model` record of `org` from {field name: value}.

    It builds the record from positional values, as a query builds the rows
    it loads, and caches the related records given, as keywords would: by
    keywords, Django looks each of the model's fields up in the input, which
    cost more than the rest of a new contact's preparation. Input naming
    anything but a concrete field, or a related record by anything but an
    instance, goes the keyword way.
    """
    concrete = model._meta.concrete_fields
    places = {field.name: (at, field) for at, field in enumerate(concrete)}
    # Defaults made by a function (a fresh dict) are made for every record.
    fresh = [(at, field) for at, field in enumerate(concrete)
             if field.has_default() and callable(field.default)]
    template = [None if field.has_default() and callable(field.default)
                else field.get_default() for field in concrete]
    organization = model._meta.get_field("organization")
    template[places["organization"][0]] = org.pk

    def build(fields: dict):
        if not fields.keys() <= places.keys():
            return model(organization=org, **fields)
        values = list(template)
        for at, field in fresh:
            values[at] = field.get_default()
        related = []
        for name, value in fields.items():
            at, field = places[name]
            if field.is_relation:
                if value is not None and not isinstance(value, field.related_model):
                    return model(organization=org, **fields)
                related.append((field, value))
                value = None if value is None else value.pk
            values[at] = value
        record = model(*values)
        organization.set_cached_value(record, org)
        for field, value in related:
            field.set_cached_value(record, value)
        return record

    return build


def create_companies(org, actor, rows: list[dict]) -> list[Company]:
    """Create one company per cleaned `clean_company` result, in the order given."""
    user = actor if getattr(actor, "pk", None) else None
    companies, tag_lists = [], []
    for values in rows:
        fields = {key: value for key, value in values.items() if key not in EXTRAS}
        company = Company(organization=org, **fields)
        if "owner" not in fields:
            company.owner = user
        company.name_key, company.block_key = company_name_keys(company.name)
        companies.append(company)
        tag_lists.append(values.get("tags") or [])
    Company.unscoped.bulk_create(companies)

    _link_tags(org, CompanyTag, "company", list(zip(companies, tag_lists, strict=True)))
    now = timezone.now()
    Activity.unscoped.bulk_create(
        Activity(organization=org, kind=Kind.SYSTEM, event="company.created", data={},
                 company=company, occurred_at=now, author=user)
        for company in companies
    )
    entries = []
    keys = encrypted_keys(org.pk, "company")
    for company, tags in zip(companies, tag_lists, strict=True):
        after = audit.snapshot(company, COMPANY_FIELDS)
        after["tags"] = tags
        entries.append(_entry(org, user, Action.CREATE, "company", company,
                              audit.diff({}, after), keys=keys))
    AuditEntry.unscoped.bulk_create(entries)
    search.index(Company, companies)
    return companies


def trash(org, actor, model, ids: list[int]) -> list[int]:
    """Move the live records among `ids` to the trash, with an audit entry each."""
    user = actor if getattr(actor, "pk", None) else None
    records = list(model.objects.filter(pk__in=ids))
    model.unscoped.filter(pk__in=[record.pk for record in records]).update(
        deleted_at=timezone.now()
    )
    search.reindex(model, [record.pk for record in records])
    AuditEntry.unscoped.bulk_create(
        _entry(org, user, Action.DELETE, model._meta.model_name, record, {})
        for record in records
    )
    return [record.pk for record in records]


def _link_tags(org, link_model, link_field: str, pairs: list) -> None:
    wanted = {name.lower(): name for _, names in pairs for name in names}
    if not wanted:
        return
    existing = {tag.name.lower(): tag for tag in Tag.objects.all()}
    for lower, name in wanted.items():
        if lower not in existing:
            existing[lower] = Tag.objects.create(organization=org, name=name)
    link_model.unscoped.bulk_create(
        link_model(organization=org, tag=existing[name.lower()], **{link_field: record})
        for record, names in pairs for name in names
    )


def insert_rows(model, names: tuple[str, ...], rows: list[tuple], *, now,
                skip_taken: bool = False) -> None:
    """Insert rows of database-ready values for the fields `names` (attnames) of `model`.

    Every other column gets what bulk_create would give it: the field's
    default, `now` for automatic timestamps, NULL where allowed. One COPY
    (PostgreSQL) or executemany (SQLite) per call, with no model instances
    and no SQL built per row; the ids are not read back, so use it for rows
    nothing refers to yet. With `skip_taken`, a row that would break a unique
    constraint is left out instead (an executemany on PostgreSQL too, as COPY
    cannot leave rows out).
    """
    if not rows:
        return
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    by_name = {field.attname: field for field in fields}
    rest = [field for field in fields if field.attname not in names]
    fixed = tuple(_default(field, now) for field in rest)
    columns = [by_name[name].column for name in names] + [field.column for field in rest]
    if connection.vendor == "postgresql" and not skip_taken:
        # The values every row shares are written out once, not per row.
        fixed = tuple(_as_copy_text(value) for value in fixed)
        copy_rows(model._meta.db_table, columns, (row + fixed for row in rows))
        return
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    names_sql = ", ".join(quote(column) for column in columns)
    # Only the model's own table and column names are put into the SQL.
    sql = (f"INSERT INTO {table} ({names_sql}) "  # noqa: S608
           f"VALUES ({', '.join(['%s'] * len(columns))})"
           + (" ON CONFLICT DO NOTHING" if skip_taken else ""))
    with connection.cursor() as cursor:
        cursor.executemany(sql, [row + fixed for row in rows] if fixed else rows)


def _as_copy_text(value):
    """A JSON value for COPY as its text, which the column reads as JSON; others as given."""
    if isinstance(value, Jsonb):
        return (value.dumps or json.dumps)(value.obj)
    return value


def save_new(model, records: list, *, now, sealed: frozenset[str] | None = None) -> None:
    """Insert new `records` of `model` and set their ids, as bulk_create does, but faster.

    Only fields whose values need converting go through the field (dates,
    JSON); text, numbers and keys go in as they are. Timestamps set
    automatically are set to `now` on the records too. Save-time hooks and
    signals do not run, as with bulk_create. `sealed` are the keys of the
    encrypted custom fields, when the caller has looked them up already.
    """
    if not records:
        return
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    stamped = [field for field in fields if getattr(field, "auto_now", False)
               or getattr(field, "auto_now_add", False)]
    for record in records:
        for field in stamped:
            setattr(record, field.attname, now)
    # Columns go in three groups, so that a row costs one call per group and
    # one per converted value, not one per column: values taken as they are,
    # read at once; the timestamps, the same for every record; the rest,
    # converted by their fields.
    as_is = [field for field in fields
             if field not in stamped and field.get_internal_type() in _AS_IS]
    converted = [field for field in fields if field not in stamped and field not in as_is]
    fixed = tuple(field.get_db_prep_save(now, connection) for field in stamped)
    read = operator.attrgetter(*(field.attname for field in as_is)) if as_is else None
    # Custom values are sealed in their field's pre_save, which this insert
    # skips; the keys to seal are looked up once for every record.
    if not any(isinstance(field, CustomValuesField) for field in fields):
        sealed = frozenset()
    elif sealed is None:
        sealed = encrypted_keys(records[0].organization_id, model._meta.model_name)
    # The connection itself, not the proxy every attribute read goes through.
    database = connections[connection.alias]
    # A missing date is NULL on every database, without asking the field.
    nullable = [isinstance(field, DateField) for field in converted]
    rows = []
    for record in records:
        values = read(record) if read else ()
        if len(as_is) == 1:
            values = (values,)
        converted_values = []
        for field, plain_null in zip(converted, nullable, strict=True):
            value = _value(field, record, sealed)
            converted_values.append(None if value is None and plain_null
                                    else field.get_db_prep_save(value, database))
        rows.append(values + fixed + tuple(converted_values))
    fields = as_is + stamped + converted
    quote = connection.ops.quote_name
    if connection.vendor == "postgresql":
        _copy_new(model, records, fields, rows)
        return
    columns = ", ".join(quote(field.column) for field in fields)
    one = f"({', '.join(['%s'] * len(fields))})"
    size = max(1, _max_params() // len(fields))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            batch = rows[start:start + size]
            # Only the model's own table and column names are put into the SQL.
            cursor.execute(
                f"INSERT INTO {quote(model._meta.db_table)} ({columns}) "  # noqa: S608
                f"VALUES {', '.join([one] * len(batch))} "
                f"RETURNING {quote(model._meta.pk.column)}",
                [value for row in batch for value in row])
            # Rows come back in the order of VALUES, which bulk_create relies on too.
            _mark_saved(records[start:start + size],
                        [record_id for (record_id,) in cursor.fetchall()])


def _copy_new(model, records: list, fields: list, rows: list[tuple]) -> None:
    """PostgreSQL: take the records' ids from the table's sequence in one query, then
    COPY the rows with them. A multi-row INSERT that reads the ids back spent most of
    its time in the driver, putting tens of thousands of parameters into the SQL."""
    table = model._meta.db_table
    pk = model._meta.pk
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) "
            "FROM generate_series(1, %s)",
            [connection.ops.quote_name(table), pk.column, len(records)])
        ids = sorted(record_id for (record_id,) in cursor.fetchall())
    copy_rows(table, [pk.column, *(field.column for field in fields)],
              ((record_id, *row) for record_id, row in zip(ids, rows, strict=True)))
    _mark_saved(records, ids)


def _mark_saved(records: list, ids: list[int]) -> None:
    """Give new `records` the ids the database gave their rows, as a save would."""
    for record, record_id in zip(records, ids, strict=True):
        record.pk = record_id
        record._state.adding = False
        record._state.db = connection.alias


def _value(field, record, sealed: frozenset[str]):
    value = getattr(record, field.attname)
    if isinstance(field, CustomValuesField) and isinstance(value, dict):
        return crypto.seal_keys(value, sealed)
    return value


# Fields whose Python values the database drivers take as they are.
_AS_IS = {"CharField", "TextField", "EmailField", "SlugField", "URLField", "BooleanField",
          "IntegerField", "BigIntegerField", "PositiveIntegerField", "SmallIntegerField",
          "PositiveSmallIntegerField", "ForeignKey"}


def _max_params() -> int:
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        return connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return 65535  # PostgreSQL's bind parameters per statement


def _default(field, now):
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return field.get_db_prep_save(now, connection)
    if field.null and not field.has_default():
        return None
    return field.get_db_prep_save(field.get_default(), connection)


def db_value(model, name: str, value):
    """`value` as the database takes it for `model`'s field `name`."""
    return model._meta.get_field(name).get_db_prep_save(value, connection)


_JSON_PLAIN = frozenset({str, int, bool, type(None)})


def _snapshotter(model, names: list[str]):
    """A faster `audit.snapshot(record, names)` for many records of one model."""
    attnames = []
    for name in names:
        field = model._meta.get_field(name)
        attnames.append((name, field.attname if isinstance(field, ForeignKey) else name))

    def snapshot(record) -> dict:
        found = {}
        for name, attname in attnames:
            value = getattr(record, attname)
            # Text, numbers and ids are JSON already, and most values are.
            found[name] = value if type(value) in _JSON_PLAIN else json_safe(value)
        return found

    return snapshot


def _add_entries(org, user, action: str, entity: str, entries: list[tuple], *, now,
                 keys: frozenset[str] | None = None) -> None:
    """Write one audit entry per (record id, label, JSON-safe changes), as `_entry` would;
    `keys` are the entity's encrypted custom fields, when the caller has them."""
    via, ip = current_channel()
    label = (user.email if user else via)[:254]
    changes = AuditEntry._meta.get_field("changes")
    database = connections[connection.alias]
    if keys is None:
        keys = encrypted_keys(org.pk, entity)
    insert_rows(AuditEntry, ("organization_id", "actor_id", "actor_label", "via", "ip",
                             "action", "entity", "object_id", "object_repr", "changes"),
                [(org.pk, user.pk if user else None, label, via, ip, action, entity, pk, text,
                  changes.get_db_prep_save(sealed_changes(org.pk, entity, diff, keys=keys),
                                          database))
                 for pk, text, diff in entries], now=now)


def _entry(org, user, action: str, entity: str, record, changes: dict, *,
           keys: frozenset[str] | None = None) -> AuditEntry:
    via, ip = current_channel()
    return AuditEntry(
        organization=org, actor=user, actor_label=(user.email if user else via)[:254], via=via,
        ip=ip, action=action, entity=entity, object_id=record.pk,
        object_repr=str(record)[:200],
        changes=sealed_changes(org.pk, entity, audit.json_safe(changes), keys=keys),
    )
