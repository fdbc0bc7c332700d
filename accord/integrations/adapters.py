"""How an import reads, matches, creates and updates one kind of record.

An adapter turns the typed cells of a row into the input its services take
(a `Draft`), cleans that input through the same validation as the form and
the API, finds the existing record a row stands for, and writes. The engine
only talks to adapters, so deals or products add one adapter each.
"""

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import cached_property

from django.contrib.auth import get_user_model
from django.db.models.functions import Lower
from django.utils import timezone

from accord.activities import services as timeline
from accord.activities.models import Activity, Kind
from accord.audit.services import json_safe
from accord.commerce import orders as commerce_orders
from accord.commerce import services as commerce
from accord.commerce.models import Order, OrderKind, Product
from accord.commerce.validation import clean_product, sku_from_name
from accord.customers import bulk, custom_fields
from accord.customers import services as customers
from accord.customers.custom_fields import clean_field_label, clean_field_settings
from accord.customers.duplicates import company_name_keys
from accord.customers.models import (
    Company,
    Contact,
    ContactEmail,
    CustomField,
    EmailKind,
    FieldType,
    PhoneKind,
)
from accord.customers.phones import parse_phone
from accord.customers.validation import Collector, clean_company, clean_contact, clean_email
from accord.errors import InvalidInput
from accord.identity.context import acting_member
from accord.identity.visibility import through_records, visible
from accord.records import services as records
from accord.records.models import Record, RelationType
from accord.sales import leads
from accord.sales import services as sales
from accord.sales.models import Deal, Lead, LeadStatus, Pipeline, StageKind
from accord.sales.validation import clean_deal
from accord.search import fold

from . import cells, values
from .models import IMPORT_SYSTEM, ExternalId

User = get_user_model()

# Dates before this are misread or placeholder cells (1900-01-01 is a common
# spreadsheet default), not the start of a real deal.
EARLIEST_OPENED_ON = dt.date(1970, 1, 1)
NAME_LOOKUP_BATCH = 100  # OR-ed conditions per query; SQLite caps expression depth at 1000
# The system the "ID" column of Accord's own contacts and companies export is
# kept under, so that the export's activities file finds those records again.
EXPORT_SYSTEM = "accord"


def changed_fields(values, *, fill_only: bool) -> tuple[dict, dict]:
    """(data, before) of the (key, new, current) triples whose new value is given and
    differs from the current one; with `fill_only`, only where the current one is empty."""
    data, before = {}, {}
    for key, new, current in values:
        if new in (None, "") or new == current:
            continue
        if fill_only and current not in (None, ""):
            continue
        data[key], before[key] = new, current
    return data, before


@dataclass
class Draft:
    """One row on its way in: service input, where each value came from, what went wrong."""

    number: int
    data: dict = field(default_factory=dict)
    # service field ("first_name", "emails.0.address") -> (column, cell text)
    origin: dict = field(default_factory=dict)
    errors: list = field(default_factory=list)  # [{column, value, reason}]
    notes: list = field(default_factory=list)  # values read but not stored, same shape
    external_id: str = ""
    export_id: str = ""  # the record's id in the Accord organisation a file was exported from
    # {column, value, reason} when the row is read but deliberately not imported
    skip: dict | None = None
    # "company", "company_domain" or "parent" -> (column, text, value)
    links: dict = field(default_factory=dict)
    note: str = ""
    values: dict | None = None  # the cleaned input, once valid
    links_created: list = field(default_factory=list)
    # Columns whose cell could not be read; the row is still checked
    # without them, and a check they fail only repeats the reading error.
    unread: set = field(default_factory=set)

    def fail(self, column: str, value: str, reason: str) -> None:
        if column in self.unread:
            return
        self.errors.append({"column": column, "value": value, "reason": str(reason)})

    def fail_to_read(self, column: str, value: str, reason: str, *, field_name: str) -> None:
        """Report a cell that could not be read, standing for the input `field_name`."""
        self.fail(column, value, reason)
        self.unread.add(column)
        self.origin.setdefault(field_name, (column, value))

    def absorb(self, exc: InvalidInput) -> None:
        for error in exc.errors:
            column, value = self.origin.get(error["field"], ("", ""))
            self.fail(column, value, error["message"])


def split_name(text: str) -> tuple[str, str]:
    """First and last name from a full name: the last word is the last name."""
    parts = text.split()
    if len(parts) < 2:
        return text.strip(), ""
    return " ".join(parts[:-1]), parts[-1]


class Adapter:
    entity = ""
    model = Contact
    area = ""  # "contacts", "companies": the permission prefix
    owner_required = False  # whether an owner who is no member fails the row
    has_duplicates = True  # whether the duplicates queue looks at imported records
    # Whether rows sharing a key are parts of one record (an order's lines):
    # the engine then keeps them in one chunk and writes them together.
    group_rows = False
    # Whether a record's match keys are unique, so that a row matching one can
    # never be another record: with the "create" policy such a row is skipped.
    unique_match = False
    # Whether a row also finds its record by the id it had in an Accord export
    # (kept by an earlier import as an id in the system "accord"); `lookup`
    # answers those keys through `external_keys`.
    matches_export_ids = True

    def clean(self, org, draft: Draft, fields: list) -> None:
        """Set `draft.values`, or add an error per bad value; `fields` are the custom fields."""
        raise NotImplementedError

    def keys(self, draft: Draft) -> list[tuple[str, str]]:
        """Match keys in priority order: ("email", "a@b.c"), ("ext", "C-17"), ..."""
        raise NotImplementedError

    def lookup(self, keys: set[tuple[str, str]], system: str) -> dict:
        """{key: record id} for the keys that name a live record of this organisation."""
        raise NotImplementedError

    def create_many(self, org, actor, drafts: list[Draft]) -> list:
        raise NotImplementedError

    def changes(self, record, draft: Draft, *, fill_only: bool) -> tuple[dict, dict]:
        """(service input that applies the row, the record's values it replaces)."""
        raise NotImplementedError

    def update(self, org, actor, record, data: dict):
        raise NotImplementedError

    def group_key(self, draft: Draft) -> tuple[str, str]:
        """The record a row is part of, for adapters that set `group_rows`."""
        raise NotImplementedError

    def get(self, record_id):
        return self.model.objects.filter(pk=record_id).first()

    def remove(self, org, actor, ids: list[int]) -> list[int]:
        """Take back records an import created (undo); returns the ids taken back."""
        return bulk.trash(org, actor, self.model, ids)

    @cached_property
    def blank(self):
        """A new, unsaved record that new rows are cleaned against; validation only reads it,
        so one serves every row instead of a model instance built per row."""
        return self.model()

    def external_keys(self, keys, system: str) -> dict:
        """{key: record id} for the ("ext", id in `system`) and ("export", id in an Accord
        export) keys that name a live record."""
        found = {}
        for kind, in_system in (("ext", system), ("export", EXPORT_SYSTEM)):
            values_ = [value for key_kind, value in keys if key_kind == kind]
            if not values_:
                continue
            externals = list(ExternalId.objects.filter(entity=self.entity, system=in_system,
                                                       value__in=values_))
            live = set(self.model.objects.filter(
                pk__in=[external.record_id for external in externals])
                .values_list("pk", flat=True))
            found.update({(kind, external.value): external.record_id for external in externals
                          if external.record_id in live})
        return found


def _clean_new(org, draft: Draft, data: dict, clean, blank, fields: list) -> None:
    """Validate a new record's input with the rules of the form and the API.

    The input is cleaned as a change to a blank record, with the custom
    fields checked against the run's field list, because otherwise each row
    reads the organisation's field definitions again, which took half the
    time of a large import. A blank record makes every check that of a new one.
    """
    incoming = data.pop("custom_fields", None) or {}
    errors, values = [], None
    try:
        values = clean(org, data, current=blank)
    except InvalidInput as exc:
        errors.extend(exc.errors)
    try:
        stored = custom_fields.clean_values(fields, incoming, None, partial=False)
    except InvalidInput as exc:
        errors.extend(exc.errors)
    if errors:
        draft.absorb(InvalidInput(errors))
    elif not draft.errors:
        values["custom_fields"] = stored
        draft.values = values


def _simple_changes(record, draft: Draft, keys, *, fill_only: bool) -> tuple[dict, dict]:
    data, before = {}, {}
    cleaned = draft.values
    for key in keys:
        if key not in cleaned:
            continue
        new = json_safe(cleaned[key])
        attname = f"{key}_id" if key in ("company", "parent", "owner") else key
        current = json_safe(getattr(record, attname))
        if new in (None, "") or new == current:
            continue
        if fill_only and current not in (None, "", False):
            continue
        data[key] = new
        before[key] = current
    incoming = draft.data.get("custom_fields") or {}
    stored = getattr(record, "custom_fields", None) or {}
    for key in incoming:
        new = (cleaned.get("custom_fields") or {}).get(key)
        current = stored.get(key)
        if new in (None, "", []) or new == current:
            continue
        if fill_only and current not in (None, "", []):
            continue
        data.setdefault("custom_fields", {})[key] = new
        before.setdefault("custom_fields", {})[key] = current
    tags = cleaned.get("tags") or []
    if tags:
        have = customers._tag_names(record)
        added = [tag for tag in tags if tag.lower() not in {name.lower() for name in have}]
        if added:
            data["tags"] = have + added
            before["tags"] = have
    return data, before


class ContactAdapter(Adapter):
    entity = "contact"
    model = Contact
    area = "contacts"
    FIELDS = ["first_name", "last_name", "title", "company", "street", "city", "region",
              "postal_code", "country", "birthday", "lifecycle_stage", "time_zone",
              "do_not_contact", "owner", "source"]

    def clean(self, org, draft: Draft, fields: list) -> None:
        data = {key: value for key, value in draft.data.items() if key != "company"}
        _clean_new(org, draft, data, clean_contact, self.blank, fields)

    def keys(self, draft: Draft) -> list[tuple[str, str]]:
        found = [("email", email["address"].lower()) for email in draft.values.get("emails", [])]
        if draft.external_id:
            found.append(("ext", draft.external_id))
        return found

    def lookup(self, keys, system: str) -> dict:
        addresses = [value for kind, value in keys if kind == "email"]
        found = {}
        if addresses:
            rows = (ContactEmail.objects.annotate(folded=Lower("address"))
                    .filter(folded__in=addresses, contact__deleted_at__isnull=True)
                    .order_by("contact_id").values_list("folded", "contact_id"))
            # Every service keeps a contact's addresses, the primary one too,
            # as ContactEmail rows, so that table alone answers.
            for address, contact_id in rows:
                found.setdefault(("email", address), contact_id)
        found.update(self.external_keys(keys, system))
        return found

    def create_many(self, org, actor, drafts: list[Draft]) -> list:
        return bulk.create_contacts(org, actor, [draft.values for draft in drafts])

    def changes(self, record, draft: Draft, *, fill_only: bool) -> tuple[dict, dict]:
        data, before = _simple_changes(record, draft, self.FIELDS, fill_only=fill_only)
        emails = list(record.emails.all())
        have = {email.address.lower() for email in emails}
        added = [dict(email, is_primary=False) for email in draft.values.get("emails", [])
                 if email["address"].lower() not in have]
        if added:
            current = [{"address": email.address, "kind": email.kind, "label": email.label,
                        "is_primary": email.is_primary} for email in emails]
            data["emails"] = current + added
            before["emails"] = current
        phones = list(record.phones.all())
        have = {phone.number or phone.raw for phone in phones}
        added = [{"number": phone["raw"], "kind": phone["kind"], "label": phone["label"],
                  "is_primary": False}
                 for phone in draft.values.get("phones", [])
                 if (phone["number"] or phone["raw"]) not in have]
        if added:
            current = [{"number": phone.raw, "kind": phone.kind, "label": phone.label,
                        "is_primary": phone.is_primary} for phone in phones]
            data["phones"] = current + added
            before["phones"] = current
        return data, before

    def update(self, org, actor, record, data: dict):
        return customers.update_contact(org, actor, record, data=data)


class CompanyAdapter(Adapter):
    entity = "company"
    model = Company
    area = "companies"
    FIELDS = ["name", "domain", "website", "industry", "size", "employees", "annual_revenue",
              "currency", "phone", "description", "parent", "owner", "source", "street",
              "city", "region", "postal_code", "country"]

    def clean(self, org, draft: Draft, fields: list) -> None:
        data = {key: value for key, value in draft.data.items() if key != "parent"}
        phones = data.pop("phones", None)
        if phones:
            # Phone columns are gathered as a contact's list; a company has
            # one number, the first column's.
            data["phone"] = phones[0]["number"]
            draft.origin["phone"] = draft.origin.get("phones.0.number", ("", ""))
        if not str(data.get("name") or "").strip():
            draft.fail("", "", "Give the company a name.")
        _clean_new(org, draft, data, clean_company, self.blank, fields)

    def keys(self, draft: Draft) -> list[tuple[str, str]]:
        found = []
        if draft.external_id:
            found.append(("ext", draft.external_id))
        if draft.values.get("domain"):
            found.append(("domain", draft.values["domain"]))
        found.append(("name", fold(draft.values["name"])))
        return found

    def lookup(self, keys, system: str) -> dict:
        found = self.external_keys(keys, system)
        domains = [value for kind, value in keys if kind == "domain"]
        if domains:
            for domain, pk in (Company.objects.filter(domain__in=domains).order_by("pk")
                               .values_list("domain", "pk")):
                found.setdefault(("domain", domain), pk)
        names = sorted({value for kind, value in keys if kind == "name"})
        for start in range(0, len(names), NAME_LOOKUP_BATCH):
            batch = names[start:start + NAME_LOOKUP_BATCH]
            # The duplicate key narrows to names that differ at most in legal
            # form; the folded name then must match exactly.
            candidates = {company_name_keys(name)[0] for name in batch}
            for name, pk in (Company.objects.filter(name_key__in=candidates).order_by("pk")
                             .values_list("name", "pk")):
                folded = fold(name)
                if folded in batch:
                    found.setdefault(("name", folded), pk)
        return found

    def create_many(self, org, actor, drafts: list[Draft]) -> list:
        return bulk.create_companies(org, actor, [draft.values for draft in drafts])

    def changes(self, record, draft: Draft, *, fill_only: bool) -> tuple[dict, dict]:
        return _simple_changes(record, draft, self.FIELDS, fill_only=fill_only)

    def update(self, org, actor, record, data: dict):
        return customers.update_company(org, actor, record, data=data)


EMAIL_KINDS = {"email": EmailKind.WORK, "email_home": EmailKind.HOME,
               "email_other": EmailKind.OTHER}
PHONE_KINDS = {"phone": PhoneKind.MOBILE, "phone_mobile": PhoneKind.MOBILE,
               "phone_work": PhoneKind.WORK, "phone_home": PhoneKind.HOME,
               "phone_fax": PhoneKind.FAX}


def draft_from_cells(number: int, row_cells: list, *, member_of,
                     owner_required: bool = False, unread: list = ()) -> Draft:
    """A draft from [(target, column, text, typed value)]: the columns a mapping chose.

    `unread` are the cells that could not be read, as [(target, column,
    text, reason)]: each is an error of the row. An owner who is no member
    here fails the row when `owner_required`, and is otherwise noted while
    the row comes in owned by the importer.
    """
    draft = Draft(number)
    for target, column, text, reason in unread:
        draft.fail_to_read(column, text, reason, field_name=_input_field(target))
    emails, phones, full_name = [], [], None
    currencies = {}  # money custom field key -> the currency its own column gives
    for target, column, text, value in row_cells:
        key = target.key
        if key == "name" and target.kind == "full_name":
            full_name = (column, text, value)
        elif key in EMAIL_KINDS:
            emails.append((key != "email", column, text,
                           {"address": value, "kind": EMAIL_KINDS[key], "label": ""}))
        elif key in PHONE_KINDS:
            phones.append((key != "phone", column, text,
                           {"number": value, "kind": PHONE_KINDS[key], "label": ""}))
        elif key == "emails_all":
            emails += [(True, column, part, {"address": part, "kind": EmailKind.OTHER,
                                             "label": ""}) for part in _list_items(value)]
        elif key == "phones_all":
            phones += [(True, column, part, {"number": part, "kind": PhoneKind.OTHER,
                                             "label": ""}) for part in _list_items(value)]
        elif target.kind in ("company", "company_domain"):
            draft.links[key] = (column, text, value)
        elif key == "external_id":
            draft.external_id = value
        elif key == "export_id":
            draft.export_id = value
        elif key == "note":
            draft.note = value
        elif key == "owner":
            try:
                draft.data["owner"] = member_of(value)
            except ValueError as exc:
                if owner_required:
                    draft.fail_to_read(column, text, str(exc), field_name="owner_id")
                    continue
                # Owners named in another system's (or organisation's) file
                # are often not members here; the row still comes in, owned
                # by whoever imports it, and the problems file says so.
                draft.notes.append({"column": column, "value": text, "reason": (
                    f"{exc} The record is owned by the person who imported it.")})
            draft.origin["owner_id"] = (column, text)
        elif target.custom is not None:
            draft.data.setdefault("custom_fields", {})[target.custom.key] = (
                cells.as_custom_value(value))
            draft.origin[f"custom_fields.{target.custom.key}"] = (column, text)
        elif target.currency_of is not None:
            currencies[target.currency_of.key] = value.upper()
        else:
            draft.data[key] = value
            draft.origin[key] = (column, text)
    # An amount and its currency in two columns make one value; a currency
    # without an amount leaves the field empty.
    for field_key, currency in currencies.items():
        amounts = draft.data.get("custom_fields") or {}
        if amounts.get(field_key) not in (None, ""):
            amounts[field_key] = {"amount": amounts[field_key], "currency": currency}
    if full_name is not None:
        first, last = split_name(full_name[2])
        column, text = full_name[0], full_name[1]
        if "first_name" not in draft.data and "last_name" not in draft.data:
            draft.data.update(first_name=first, last_name=last)
            draft.origin.update(first_name=(column, text), last_name=(column, text))
    emails = _unique(emails, lambda email: email["address"].casefold())
    phones = _unique(phones, lambda phone: re.sub(r"\D", "", phone["number"]))
    if emails:
        emails.sort(key=lambda item: item[0])
        draft.data["emails"] = []
        for index, (_, column, text, email) in enumerate(emails):
            draft.data["emails"].append(dict(email, is_primary=index == 0))
            draft.origin[f"emails.{index}.address"] = (column, text)
            draft.origin[f"emails.{index}"] = (column, text)
    if phones:
        phones.sort(key=lambda item: item[0])
        draft.data["phones"] = []
        for index, (_, column, text, phone) in enumerate(phones):
            draft.data["phones"].append(dict(phone, is_primary=index == 0))
            draft.origin[f"phones.{index}.number"] = (column, text)
            draft.origin[f"phones.{index}"] = (column, text)
    return draft


def _input_field(target) -> str:
    """The service input a column fills, as `Draft.origin` names it."""
    if target.custom is not None:
        return f"custom_fields.{target.custom.key}"
    return "owner_id" if target.key == "owner" else target.key


def _list_items(text: str) -> list[str]:
    return [part.strip() for part in str(text or "").split(";") if part.strip()]


def _unique(items: list, key) -> list:
    """The first of each value: an address in both an "E-mail" column and an "All e-mails"
    one is stored once, with the kind its own column gives it."""
    if len(items) < 2:
        return items
    items = sorted(items, key=lambda item: item[0])
    seen, kept = set(), []
    for item in items:
        if key(item[3]) not in seen:
            seen.add(key(item[3]))
            kept.append(item)
    return kept


def _kind(value: str, choices, default: str) -> str:
    value = (value or "").lower()
    if value in ("cell", "cellular", "iphone"):
        value = PhoneKind.MOBILE
    if value in ("personal", "private"):
        value = EmailKind.HOME
    return value if value in choices.values else default


def _email_problem(email: dict) -> str | None:
    errors = Collector()
    clean_email(email["address"], "email", errors)
    return errors.errors[0]["message"] if errors.errors else None


def _phone_problem(phone: dict) -> str | None:
    try:
        parse_phone(phone["raw"])
    except InvalidInput as exc:
        return exc.errors[0]["message"]
    return None


def _readable(draft: Draft, items: list[dict], column: str, problem) -> list[dict]:
    """The card's e-mails or phones that can be stored; each other one becomes a note.

    Address books keep placeholders ("BusinessPhone") and mistyped numbers
    beside good values, so one of them leaves the rest of the card as it is
    rather than failing it, and the problems file names the value left out.
    """
    kept = []
    for item in items:
        reason = problem(item)
        if reason is None:
            kept.append(item)
            continue
        value = item.get("address") or item.get("raw") or ""
        draft.notes.append({"column": column, "value": value,
                            "reason": f"This value was not imported: {reason}"})
    if kept and any(item.get("is_primary") for item in items) and not any(
            item.get("is_primary") for item in kept):
        kept[0] = {**kept[0], "is_primary": True}
    return kept


def draft_from_card(card) -> Draft:
    """A contact draft from a vCard; whatever a contact cannot hold becomes a note."""
    draft = Draft(card.number)
    first, last = card.first_name or "", card.last_name or ""
    if not (first or last) and card.display_name:
        first, last = split_name(card.display_name)
    draft.data.update(first_name=first, last_name=last)
    draft.origin.update(first_name=("N", card.display_name or first),
                        last_name=("N", card.display_name or last))
    if card.title:
        draft.data["title"] = card.title
        draft.origin["title"] = ("TITLE", card.title)
    if card.organization:
        draft.links["company"] = ("ORG", card.organization, card.organization)
    if card.department:
        draft.notes.append({"column": "ORG", "value": card.department,
                            "reason": "The department was not imported: contacts have no "
                                      "department field."})
    if card.birthday:
        text = str(card.birthday)
        try:
            draft.data["birthday"] = (card.birthday if hasattr(card.birthday, "isoformat")
                                      else values.parse_date(text, "ymd"))
        except ValueError as exc:
            draft.fail_to_read("BDAY", text, str(exc), field_name="birthday")
        draft.origin["birthday"] = ("BDAY", text)
    if card.note:
        draft.note = card.note
    if card.categories:
        draft.data["tags"] = list(card.categories)
        draft.origin["tags"] = ("CATEGORIES", ",".join(card.categories))
    emails = []
    for index, email in enumerate(_readable(draft, card.emails, "EMAIL", _email_problem)):
        emails.append({"address": email["address"],
                       "kind": _kind(email.get("kind"), EmailKind, EmailKind.OTHER),
                       "label": email.get("label") or "",
                       "is_primary": bool(email.get("is_primary"))})
        draft.origin[f"emails.{index}.address"] = ("EMAIL", email["address"])
    if emails:
        draft.data["emails"] = emails
    phones = []
    for index, phone in enumerate(_readable(draft, card.phones, "TEL", _phone_problem)):
        phones.append({"number": phone["raw"],
                       "kind": _kind(phone.get("kind"), PhoneKind, PhoneKind.OTHER),
                       "label": phone.get("label") or "",
                       "is_primary": bool(phone.get("is_primary"))})
        draft.origin[f"phones.{index}.number"] = ("TEL", phone["raw"])
    if phones:
        draft.data["phones"] = phones
    for index, address in enumerate(card.addresses):
        text = ", ".join(part for part in (
            address.get("street"), " ".join(filter(None, (address.get("postal_code"),
                                                          address.get("city")))),
            address.get("region"), address.get("country")) if part)
        if index == 0:
            _take_address(draft, address, text)
        else:
            draft.notes.append({"column": "ADR", "value": text, "reason": (
                f"This {address.get('kind') or 'other'} address was not imported: a contact "
                "holds one address.")})
    for url in card.urls or []:
        draft.notes.append({"column": "URL", "value": url,
                            "reason": "Web addresses of contacts are not stored."})
    if card.photo:
        draft.notes.append({"column": "PHOTO", "value": "",
                            "reason": "Photos of contacts are not stored."})
    for sentence in card.dropped or []:
        draft.notes.append({"column": "", "value": "", "reason": sentence})
    return draft


def _take_address(draft: Draft, address: dict, text: str) -> None:
    for key in ("street", "city", "region", "postal_code"):
        if address.get(key):
            draft.data[key] = address[key]
            draft.origin[key] = ("ADR", text)
    if address.get("country"):
        try:
            draft.data["country"] = cells.country(address["country"])
        except ValueError:
            draft.notes.append({"column": "ADR", "value": address["country"],
                                "reason": "The country was not imported: its name is not "
                                          "one we know."})
        draft.origin["country"] = ("ADR", address.get("country"))


LOST_REASON = "Lost (imported)"  # for a lost deal whose row gives no reason


def _loose(text: str) -> str:
    """A name without case, accents, spaces or punctuation, for "did you mean" hints."""
    return re.sub(r"[\W_]+", "", fold(text or ""))


class DealAdapter(Adapter):
    """Deals by row: pipeline, stage, owner, product and contact named, never guessed.

    A name that matches nothing fails its row with the reason, so no deal
    lands in the wrong stage or without its product. A won or lost row is
    created in the pipeline's first open stage and moved on through
    `move_deal_to_stage`, so its history reads as any other deal's.
    """

    entity = "deal"
    model = Deal
    area = "deals"
    owner_required = True
    has_duplicates = False
    FIELDS = ["name", "amount", "currency", "expected_close_date", "owner", "company",
              "source", "description"]
    REFERENCES = ("pipeline", "stage", "product", "contact", "closed_on", "close_reason",
                  "opened_on")

    def clean(self, org, draft: Draft, fields: list) -> None:
        data = {key: value for key, value in draft.data.items()
                if key not in self.REFERENCES and key != "company"}
        stage = self._stage(draft)
        product = self._product(draft)
        contact = self._contact(draft)
        if not str(data.get("name") or "").strip():
            # Files from other systems often have no deal name; the deal is
            # named after what it sells and to whom.
            company = draft.links.get("company")
            parts = [product.name if product else "", company[2] if company else ""]
            data["name"] = " – ".join(part for part in parts if part) or draft.external_id
        _clean_new(org, draft, data, clean_deal, self.blank, fields)
        if draft.values is None or stage is None:
            return
        draft.values.update(stage=stage, product=product, contact=contact)
        self._check_close(draft, stage, product)
        self._check_opened(draft)

    def _check_opened(self, draft: Draft) -> None:
        """When the deal began in the other system: not in the future, not after it closed."""
        opened_on = draft.data.get("opened_on")
        if opened_on is None or draft.values is None:
            return
        closed_on = draft.values.get("closed_on")
        if opened_on > timezone.localdate():
            draft.fail(*draft.origin["opened_on"], "A deal cannot have begun in the future.")
        elif opened_on < EARLIEST_OPENED_ON:
            draft.fail(*draft.origin["opened_on"], "A deal cannot have begun before "
                                                   f"{EARLIEST_OPENED_ON.isoformat()}; "
                                                   "check the date.")
        elif closed_on is not None and opened_on > closed_on:
            draft.fail(*draft.origin["opened_on"], "The deal began after it closed; check "
                                                   "both dates.")
        if draft.errors:
            draft.values = None
            return
        draft.values["opened_on"] = opened_on

    def _stage(self, draft: Draft):
        pipeline_text = str(draft.data.get("pipeline") or "").strip()
        if pipeline_text:
            pipeline = Pipeline.objects.filter(name__iexact=pipeline_text).first()
            if pipeline is None:
                names = ", ".join(Pipeline.objects.values_list("name", flat=True))
                draft.fail(*draft.origin["pipeline"],
                           f"No pipeline has this name; the pipelines are: {names}.")
                return None
        else:
            pipeline = sales.default_pipeline()
            if pipeline is None:
                draft.fail("", "", "Create a pipeline before importing deals.")
                return None
        stages = pipeline.stages.order_by("position", "id")
        stage_text = str(draft.data.get("stage") or "").strip()
        if not stage_text:
            return stages.filter(kind=StageKind.OPEN).first()
        stage = stages.filter(name__iexact=stage_text).first()
        if stage is None:
            names = ", ".join(stages.values_list("name", flat=True))
            draft.fail(*draft.origin["stage"],
                       f"The pipeline {pipeline.name} has no stage of this name; its stages "
                       f"are: {names}.")
        return stage

    def _product(self, draft: Draft):
        text = str(draft.data.get("product") or "").strip()
        if not text:
            return None
        product = (Product.objects.filter(sku=text).first()
                   or Product.objects.filter(name__iexact=text).order_by("pk").first())
        if product is None:
            reason = "No product has this name or SKU."
            close = [other.name for other in Product.objects.filter(is_active=True)
                     if _loose(other.name) == _loose(text) or _loose(other.sku) == _loose(text)]
            if close:
                reason += f" “{close[0]}” differs only in spaces, case or punctuation; " \
                          "correct the file, or name the product so."
            draft.fail(*draft.origin["product"], reason)
        return product

    def _contact(self, draft: Draft):
        text = str(draft.data.get("contact") or "").strip()
        if not text:
            return None
        found = (ContactEmail.objects.annotate(folded=Lower("address"))
                 .filter(folded=text.lower(), contact__deleted_at__isnull=True)
                 .order_by("contact_id").values_list("contact_id", flat=True).first())
        if found is None:
            draft.fail(*draft.origin["contact"], "No contact has this e-mail address.")
            return None
        return Contact.objects.get(pk=found)

    def _check_close(self, draft: Draft, stage, product) -> None:
        """What winning or losing asks for, checked before anything is written."""
        values = draft.values
        closed_on = draft.data.get("closed_on")
        reason = str(draft.data.get("close_reason") or "").strip()
        if stage.kind == StageKind.OPEN:
            for key, value in (("closed_on", closed_on), ("close_reason", reason)):
                if value:
                    column, text = draft.origin[key]
                    draft.notes.append({"column": column, "value": text, "reason": (
                        "The deal is in an open stage, so this was not imported.")})
            return
        if len(reason) > 200:
            draft.fail(*draft.origin["close_reason"], "Use at most 200 characters.")
        values["closed_on"] = closed_on
        values["close_reason"] = reason or (LOST_REASON if stage.kind == StageKind.LOST
                                            else "")
        if stage.kind != StageKind.WON:
            return
        amount = values.get("amount")
        if amount is None and product is not None:
            amount = product.unit_price
        if amount is None or amount <= 0:
            draft.fail(*draft.origin.get("amount", ("", "")), "A won deal needs an amount.")
        if "company" not in draft.links and values.get("contact") is None:
            draft.fail("", "", "A won deal needs a company or a contact.")
        if draft.errors:
            draft.values = None

    def keys(self, draft: Draft) -> list[tuple[str, str]]:
        return [("ext", draft.external_id)] if draft.external_id else []

    def lookup(self, keys, system: str) -> dict:
        return self.external_keys(keys, system)

    def create_many(self, org, actor, drafts: list[Draft]) -> list:
        return [self._create(org, actor, draft.values) for draft in drafts]

    def _create(self, org, actor, values: dict) -> Deal:
        stage = values["stage"]
        first = (stage if stage.kind == StageKind.OPEN
                 else stage.pipeline.stages.filter(kind=StageKind.OPEN)
                 .order_by("position", "id").first())
        data = {key: values[key] for key in (*self.FIELDS, "custom_fields")
                if values.get(key) not in (None, "")}
        data.update(stage=first, pipeline=stage.pipeline_id)
        if values.get("product") is not None:
            data["line_items"] = [{"product": values["product"].pk, "quantity": 1}]
        if values.get("contact") is not None:
            data["contacts"] = [{"contact": values["contact"].pk}]
        deal = sales.create_deal(org, actor, data=data)
        if stage.pk != first.pk:
            deal = sales.move_deal_to_stage(org, actor, deal, stage,
                                            reason=values.get("close_reason"),
                                            closed_on=values.get("closed_on"))
        if values.get("opened_on") is not None:
            sales.backdate_history(org, deal, opened_on=values["opened_on"],
                                   closed_on=values.get("closed_on"))
        return deal

    def changes(self, record, draft: Draft, *, fill_only: bool) -> tuple[dict, dict]:
        data, before = _simple_changes(record, draft, self.FIELDS, fill_only=fill_only)
        stage = draft.values.get("stage")
        if stage is not None and stage.pk != record.stage_id and not fill_only:
            data["stage"] = stage.pk
            data["close_reason"] = draft.values.get("close_reason") or ""
            before["stage"] = record.stage_id
            before["close_reason"] = record.close_reason
        return data, before

    def update(self, org, actor, record, data: dict):
        return sales.update_deal(org, actor, record, data=data)


class ProductAdapter(Adapter):
    entity = "product"
    model = Product
    area = "products"
    has_duplicates = False
    FIELDS = ["name", "unit_price", "currency", "category", "description", "is_active"]

    def clean(self, org, draft: Draft, fields: list) -> None:
        data = dict(draft.data)
        data.pop("custom_fields", None)
        if not str(data.get("sku") or "").strip() and str(data.get("name") or "").strip():
            data["sku"] = sku_from_name(data["name"])
            draft.origin["sku"] = draft.origin.get("name", ("", ""))
        # A row whose SKU a product here has is cleaned as a change to that
        # product, which it then updates.
        existing = Product.objects.filter(sku=str(data.get("sku") or "").strip()).first()
        try:
            draft.values = clean_product(org, data, current=existing)
        except InvalidInput as exc:
            draft.absorb(exc)

    def keys(self, draft: Draft) -> list[tuple[str, str]]:
        found = [("sku", draft.values["sku"])]
        if draft.external_id:
            found.append(("ext", draft.external_id))
        return found

    def lookup(self, keys, system: str) -> dict:
        skus = [value for kind, value in keys if kind == "sku"]
        found = {("sku", sku): pk for sku, pk in
                 Product.objects.filter(sku__in=skus).values_list("sku", "pk")}
        found.update(self.external_keys(keys, system))
        return found

    def create_many(self, org, actor, drafts: list[Draft]) -> list:
        return [commerce.create_product(org, actor, data=draft.values) for draft in drafts]

    def changes(self, record, draft: Draft, *, fill_only: bool) -> tuple[dict, dict]:
        # Values are compared as they are, not as text: 600 is the stored 600.0000.
        data, before = changed_fields(((key, draft.values.get(key), getattr(record, key))
                                       for key in self.FIELDS), fill_only=fill_only)
        return ({key: json_safe(value) for key, value in data.items()},
                {key: json_safe(value) for key, value in before.items()})

    def update(self, org, actor, record, data: dict):
        return commerce.update_product(org, actor, record, data=data)

    def remove(self, org, actor, ids: list[int]) -> list[int]:
        """Products have no trash: the ones an import created are deactivated instead."""
        products = list(Product.objects.filter(pk__in=ids, is_active=True))
        for product in products:
            commerce.update_product(org, actor, product, data={"is_active": False})
        return [product.pk for product in products]


class LeadAdapter(Adapter):
    """Leads by row, each new one given an owner by the lead assignment rules.

    A row matches an open lead (new or being worked on) with the same e-mail
    address, then a lead with its id in another system; leads already
    qualified, disqualified or converted are left alone and the row is a new
    lead.
    """

    entity = "lead"
    model = Lead
    area = "leads"
    has_duplicates = False
    FIELDS = ["first_name", "last_name", "email", "phone", "title", "company_name", "website",
              "industry", "company_size", "country", "source", "description", "owner"]

    def clean(self, org, draft: Draft, fields: list) -> None:
        data = dict(draft.data)
        data.pop("custom_fields", None)
        emails, phones = data.pop("emails", None), data.pop("phones", None)
        if emails:
            data["email"] = emails[0]["address"]
            draft.origin["email"] = draft.origin.get("emails.0.address", ("", ""))
        if phones:
            data["phone"] = phones[0]["number"]
            draft.origin["phone"] = draft.origin.get("phones.0.number", ("", ""))
        try:
            draft.values = leads.clean_lead(org, data)
        except InvalidInput as exc:
            draft.absorb(exc)

    def keys(self, draft: Draft) -> list[tuple[str, str]]:
        found = []
        if draft.values.get("email"):
            found.append(("email", draft.values["email"]))
        if draft.external_id:
            found.append(("ext", draft.external_id))
        return found

    def lookup(self, keys, system: str) -> dict:
        addresses = [value for kind, value in keys if kind == "email"]
        found = {}
        if addresses:
            rows = (Lead.objects.filter(email__in=addresses, status__in=[
                LeadStatus.NEW, LeadStatus.WORKING]).order_by("id").values_list("email", "pk"))
            for address, lead_id in rows:
                found.setdefault(("email", address), lead_id)
        found.update(self.external_keys(keys, system))
        return found

    def create_many(self, org, actor, drafts: list[Draft]) -> list:
        return [leads.create_lead(org, actor, data=draft.values, channel="import")
                for draft in drafts]

    def changes(self, record, draft: Draft, *, fill_only: bool) -> tuple[dict, dict]:
        return changed_fields(((key, json_safe(draft.values[key]),
                                json_safe(getattr(record, "owner_id" if key == "owner" else key)))
                               for key in self.FIELDS if key in draft.values),
                              fill_only=fill_only)

    def update(self, org, actor, record, data: dict):
        return leads.update_lead(org, actor, record, data=data)

    def remove(self, org, actor, ids: list[int]) -> list[int]:
        removed = []
        for lead in Lead.objects.filter(pk__in=ids, converted_at__isnull=True):
            leads.delete_lead(org, actor, lead)
            removed.append(lead.pk)
        return removed


class OrderAdapter(Adapter):
    """Orders by line: rows with the same order number become one order.

    The engine hands the adapter each group of rows with one number (see
    `group_rows`); a number already here is skipped whole, so importing the
    same file again adds nothing. Products are found by SKU and customers by
    their id in another system in one query per chunk.

    Undoing such an import deletes its orders but keeps the contacts it made
    for unknown customer ids: undo takes back only companies made for links,
    and those contacts may have been given more since.
    """

    entity = "order"
    model = Order
    matches_export_ids = False  # an order is found by its number
    area = "orders"
    has_duplicates = False
    group_rows = True
    LINE_FIELDS = ("sku", "description", "quantity", "unit_price", "discount_percent",
                   "tax_percent")

    def clean(self, org, draft: Draft, fields: list) -> None:
        data = draft.data
        number = str(data.get("number") or "").strip()
        if not number:
            draft.fail("", "", "Give each row the number of its order.")
            return
        kind = OrderKind.RETURN if number.upper().startswith("C") else OrderKind.ORDER
        line = {key: data[key] for key in self.LINE_FIELDS if data.get(key) is not None}
        try:
            [line] = commerce_orders.clean_lines([line], kind)
        except InvalidInput as exc:
            for error in exc.errors:
                field_name = error["field"].removeprefix("lines.0.")
                column, text = draft.origin.get(field_name, ("", ""))
                draft.fail(column, text, error["message"])
            return
        header = {"number": number, "kind": kind}
        for key in ("placed_at", "currency", "channel", "status"):
            if data.get(key) not in (None, ""):
                header[key] = data[key]
        draft.values = {"order": header, "line": line, "customer": data.get("customer", ""),
                        "contact_id": data.get("contact_id", "")}

    def keys(self, draft: Draft) -> list[tuple[str, str]]:
        return [self.group_key(draft)]

    def group_key(self, draft: Draft) -> tuple[str, str]:
        """The order a row belongs to, read even from a row that failed its checks."""
        return ("number", str(draft.data.get("number") or "").strip())

    def lookup(self, keys, system: str) -> dict:
        numbers = [value for kind, value in keys if kind == "number"]
        return {("number", number): pk for number, pk in
                Order.objects.filter(number__in=numbers).values_list("number", "pk")}

    def prepare(self, drafts: list[Draft], system: str, *, create_missing: bool) -> dict:
        """The products (by SKU) and contacts (by external id) a chunk's rows name."""
        skus = {draft.values["line"]["sku"] for draft in drafts if draft.values["line"]["sku"]}
        products = {product.sku: product for product in Product.objects.filter(sku__in=skus)}
        customers_ = {draft.values["customer"] for draft in drafts if draft.values["customer"]}
        found = dict(ExternalId.objects.filter(entity="contact", system=system,
                                               value__in=customers_)
                     .values_list("value", "record_id"))
        contacts = Contact.objects.in_bulk(set(found.values()))
        # Ids from Accord's own export name contacts its contacts file brought
        # in; like the activities import, only those the importer sees.
        exported = dict(ExternalId.objects.filter(
            entity="contact", system=EXPORT_SYSTEM,
            value__in={draft.values["contact_id"] for draft in drafts
                       if draft.values["contact_id"]}).values_list("value", "record_id"))
        seen = _seen_by_importer(Contact.objects.filter(pk__in=set(exported.values())),
                                 "contacts").in_bulk()
        return {"products": products, "system": system, "create_missing": create_missing,
                "contacts": {value: contacts[pk] for value, pk in found.items()
                             if pk in contacts},
                "exported_contacts": {value: seen[pk] for value, pk in exported.items()
                                      if pk in seen}}

    def create_group(self, org, actor, drafts: list[Draft], context: dict):
        """One order from the rows of one number; InvalidInput names the order's problem."""
        first = drafts[0]
        data = dict(first.values["order"])
        customer = first.values["customer"]
        contact = context["contacts"].get(customer)
        exported = first.values["contact_id"]
        if exported:
            contact = context["exported_contacts"].get(exported)
            if contact is None:
                raise InvalidInput({"contact_id": "No contact has this ID from the exported "
                                                  "organisation; import its contacts file "
                                                  "first."})
        elif customer and contact is None:
            contact = self._new_customer(org, actor, customer, context)
            first.links_created.append({"entity": "contact", "id": contact.pk})
        if contact is not None:
            data["contact"] = contact.pk
        lines = []
        for draft in drafts:
            line = dict(draft.values["line"])
            product = context["products"].get(line["sku"])
            if product is not None:
                line["product"] = product.pk
                line["description"] = line["description"] or product.name
            lines.append(line)
        products = {product.pk: product for product in context["products"].values()}
        return commerce_orders.create_order(org, actor, data={**data, "lines": lines},
                                            products=products)

    @staticmethod
    def _new_customer(org, actor, customer: str, context: dict):
        """A contact for a customer id no contact has yet, when the job may create links.

        The file names customers only by their id, so the contact is called
        after it until someone fills in the person's name.
        """
        if not context["create_missing"]:
            raise InvalidInput({"customer": "No contact has this id in another system; "
                                            "allow creating missing records, or import the "
                                            "contacts first."})
        contact = customers.create_contact(org, actor, data={
            "first_name": "Customer", "last_name": customer})
        ExternalId.objects.create(organization=org, entity="contact", system=context["system"],
                                  record_id=contact.pk, value=customer)
        context["contacts"][customer] = contact
        return contact

    def remove(self, org, actor, ids: list[int]) -> list[int]:
        removed = []
        for order in Order.objects.filter(pk__in=set(ids)):
            commerce_orders.delete_order(org, actor, order)
            removed.append(order.pk)
        return removed


class CustomFieldAdapter(Adapter):
    """Custom field definitions by row, written by the services of the settings page.

    New rows go through `create_custom_field`, matched ones through
    `update_custom_field`, so an import checks and audits a definition as
    the settings page does. A row matches the field of its record type with
    the same key; a field's key and type never change, because its stored
    values depend on them, so a row giving another type fails.
    """

    entity = "custom_field"
    model = CustomField
    matches_export_ids = False  # a field is found by its record type and key
    area = "custom_fields"
    has_duplicates = False
    unique_match = True
    SETTINGS = ["label", "choices", "currency", "required", "help_text", "position",
                "hidden_from_roles", "encrypted", "is_active"]
    LISTS = ("choices", "hidden_from_roles")

    def clean(self, org, draft: Draft, fields: list) -> None:
        data = {key: value for key, value in draft.data.items() if key != "custom_fields"}
        for name in self.LISTS:
            if name in data:
                data[name] = _list_items(data[name])
        existing = None
        if data.get("entity"):
            existing = CustomField.objects.filter(
                entity=data["entity"], key=customers.custom_field_key(data)).first()
        try:
            draft.values = (customers.clean_custom_field(data) if existing is None
                            else self._clean_change(existing, data))
        except InvalidInput as exc:
            draft.absorb(exc)

    def _clean_change(self, existing: CustomField, data: dict) -> dict:
        """The row's settings as a change to `existing`, checked as the settings page checks
        one; settings the file leaves out keep the field's own."""
        if data.get("field_type") and data["field_type"] != existing.field_type:
            kind = FieldType(existing.field_type).label
            raise InvalidInput({"field_type": (
                f"The field {existing.key} is a {str(kind).lower()} field here, and a "
                "field's type cannot change.")})
        merged = {name: getattr(existing, name) for name in self.SETTINGS} | data
        errors: dict[str, str] = {}
        label = clean_field_label(merged["label"], errors)
        settings = clean_field_settings(existing.field_type, merged, errors)
        if errors:
            raise InvalidInput(errors)
        return {**merged, **settings, "label": label, "entity": existing.entity,
                "key": existing.key, "field_type": existing.field_type,
                "encrypted": bool(merged["encrypted"]), "is_active": bool(merged["is_active"])}

    def keys(self, draft: Draft) -> list[tuple[str, str]]:
        return [("field", f"{draft.values['entity']}.{draft.values['key']}")]

    def lookup(self, keys, system: str) -> dict:
        wanted = {value for kind, value in keys if kind == "field"}
        entities_ = {value.split(".", 1)[0] for value in wanted}
        found = CustomField.objects.filter(entity__in=entities_).values_list("entity", "key",
                                                                             "pk")
        return {("field", f"{entity}.{key}"): pk for entity, key, pk in found
                if f"{entity}.{key}" in wanted}

    def create_many(self, org, actor, drafts: list[Draft]) -> list:
        return [customers.create_custom_field(org, actor, data=draft.values)
                for draft in drafts]

    def changes(self, record, draft: Draft, *, fill_only: bool) -> tuple[dict, dict]:
        """The settings the file gives that differ; filling never changes whether the
        field is active, as a field switched off was switched off on purpose."""
        data, before = {}, {}
        for name in self.SETTINGS:
            if name not in draft.data:
                continue
            new, current = draft.values[name], getattr(record, name)
            if new == current:
                continue
            if fill_only and (name == "is_active" or current not in ("", [])):
                continue
            data[name], before[name] = new, current
        return data, before

    def update(self, org, actor, record, data: dict):
        settings = {key: value for key, value in data.items() if key != "is_active"}
        if settings:
            current = {name: getattr(record, name) for name in customers.CUSTOM_FIELD_AUDITED}
            record = customers.update_custom_field(org, actor, record,
                                                   data=current | settings)
        if "is_active" in data:
            record = customers.set_custom_field_active(org, actor, record,
                                                       active=data["is_active"])
        record.refresh_from_db()
        return record

    def remove(self, org, actor, ids: list[int]) -> list[int]:
        """Custom fields are never deleted, as records keep their values: the ones an import
        created are deactivated, as on the settings page, with their values kept."""
        fields = list(CustomField.objects.filter(pk__in=ids, is_active=True))
        for custom in fields:
            customers.set_custom_field_active(org, actor, custom, active=False)
        return [custom.pk for custom in fields]


def _seen_by_importer(queryset, area: str):
    """The records of `area` the importing member may see; all of them for code."""
    member = acting_member()
    return queryset if member is None else visible(queryset, member, area)


class ActivityAdapter(Adapter):
    """Timeline entries by row, each logged through `log_activity` as if typed in.

    The record a row hangs on must be here already and seen by the member
    importing: a contact by e-mail or id, a company by name, domain or id, a
    deal by name. An id is the record's "ID" in the Accord organisation the
    file was exported from, else its id in another system; a deal by name or by its id
    in another system. Rows are never
    matched by their content; only an id in another system that an earlier
    import of activities stored finds the entry again. System events are
    skipped, as the services write their own when records change.
    """

    entity = "activity"
    model = Activity
    area = "activities"
    has_duplicates = False
    FIELDS = ["subject", "body", "occurred_at", "due_at", "direction", "outcome",
              "duration_minutes"]
    PLAIN = ("kind", "subject", "body", "occurred_at", "due_at", "direction", "outcome",
             "duration_minutes")
    # A name before its id: an id that finds nothing is then only a note
    # when the name found the record (see `_links`).
    LINKS = ("contact", "contact_id", "company", "company_id", "deal", "deal_id")

    def clean(self, org, draft: Draft, fields: list) -> None:
        data = draft.data
        if data.get("kind") == Kind.SYSTEM:
            column, text = draft.origin["kind"]
            draft.skip = {"column": column, "value": text, "reason": (
                "System events are not imported: Accord writes its own as records are "
                "created and changed.")}
            return
        service = {key: data[key] for key in self.PLAIN if key in data}
        # What the row lacks is said here in the file's terms; the service's own
        # message for it names no column, so it is left out below.
        lacking = set()
        if "kind" not in service:
            draft.fail("", "", "Give the row a type: note, call, meeting, email or task.")
            lacking.add("kind")
        done = data.get("done")
        completed_at = data.get("completed_at")
        if done is None:
            done = completed_at is not None
        if done:
            service["done"] = True
            draft.origin["completed_at"] = draft.origin.get(
                "done", draft.origin.get("completed_at", ("", "")))
        if "assignee" in data:
            self._assignee(org, draft, service)
        self._links(draft, service)
        if not any(service.get(key) for key in ("contact", "company", "deal")):
            lacking.add("contact_id")

        try:
            timeline.clean_activity(org, service, viewer=acting_member())
        except InvalidInput as exc:
            draft.absorb(InvalidInput([error for error in exc.errors
                                       if error["field"] not in lacking]))
        if not draft.errors:
            draft.values = {"data": service,
                            "completed_at": completed_at if done else None}

    def _assignee(self, org, draft: Draft, service: dict) -> None:
        """An assignee who is no member here is noted, and the task goes to the importer."""
        text = str(draft.data["assignee"]).strip()
        column, _text = draft.origin["assignee"]
        wanted = text.casefold()
        for user in User.objects.filter(memberships__organization=org,
                                        memberships__is_active=True).order_by("pk"):
            if wanted in (user.email.casefold(), (user.full_name or "").casefold()):
                service["assignee"] = user.pk
                draft.origin["assignee_id"] = (column, text)
                return
        draft.notes.append({"column": column, "value": text, "reason": (
            "No active member of this organisation has this e-mail address or name; the "
            "task is assigned to the person who imported it.")})

    def _links(self, draft: Draft, service: dict) -> None:
        """Find the records the row names; one that is missing or hidden fails the row,
        unless the row's other column for the same kind (a name beside an id) finds it."""
        given = [key for key in self.LINKS if str(draft.data.get(key) or "").strip()]
        if not given:
            draft.fail("", "", "Name the record the activity belongs to: a contact (by "
                               "e-mail or id), a company (by name, domain or id) or a deal "
                               "(by name or id).")
            return
        missing: list[tuple[str, str, str, str]] = []
        for key in given:
            text = str(draft.data[key]).strip()
            column, _text = draft.origin[key]
            field_name = key.removesuffix("_id")
            try:
                record_id = getattr(self, f"_{key}")(text)
            except ValueError as exc:
                missing.append((field_name, column, text, str(exc)))
                continue
            if service.get(field_name) not in (None, record_id):
                draft.fail(column, text, f"This names another {field_name} than the row's "
                                         "other column; name one.")
                continue
            service[field_name] = record_id
            draft.origin[f"{field_name}_id"] = (column, text)
        # An id from elsewhere may well find nothing here while the name finds
        # the record: an organisation export names deals by id but holds none.
        for field_name, column, text, reason in missing:
            if service.get(field_name) is None:
                draft.fail(column, text, reason)
            else:
                draft.notes.append({"column": column, "value": text, "reason": (
                    f"{reason} The row's other {field_name} column finds one, which the "
                    "entry is logged on.")})

    @staticmethod
    def _contact(text: str) -> int:
        found = (_seen_by_importer(Contact.objects.filter(
            pk__in=ContactEmail.objects.annotate(folded=Lower("address"))
            .filter(folded=text.lower()).values("contact_id")), "contacts")
            .order_by("pk").values_list("pk", flat=True).first())
        if found is None:
            raise ValueError("No contact has this e-mail address.")
        return found

    @staticmethod
    def _by_id(model, entity: str, area: str, text: str) -> int | None:
        """The record with this id from an Accord export, else with this id in another
        system; None when there is none the importer sees. ValueError when the other
        systems' ids name several."""
        ids = {}
        for system, record_id in (ExternalId.objects.filter(entity=entity, value=text)
                                  .values_list("system", "record_id")):
            ids.setdefault(system, record_id)
        seen = set(_seen_by_importer(model.objects.filter(pk__in=ids.values()), area)
                   .values_list("pk", flat=True))
        if ids.get(EXPORT_SYSTEM) in seen:
            return ids[EXPORT_SYSTEM]
        if ids.get(IMPORT_SYSTEM) in seen:
            return ids[IMPORT_SYSTEM]
        others = {record_id for record_id in ids.values() if record_id in seen}
        if len(others) > 1:
            raise ValueError(f"Several {model._meta.verbose_name_plural} have this id in "
                             "different systems; name the record by another column.")
        return next(iter(others), None)

    def _known_id(self, model, kind: str, area: str, text: str) -> int:
        found = self._by_id(model, kind, area, text)
        if found is None:
            raise ValueError(f"No {kind} has this id; import the {area} first, from a "
                             "file with the same ids.")
        return found

    def _contact_id(self, text: str) -> int:
        return self._known_id(Contact, "contact", "contacts", text)

    @staticmethod
    def _company(text: str) -> int:
        keys = {("name", fold(text))}
        if "." in text and " " not in text:
            keys.add(("domain", text.lower()))
        found = ADAPTERS["company"].lookup(keys, "")
        seen = set(_seen_by_importer(Company.objects.filter(pk__in=found.values()),
                                     "companies").values_list("pk", flat=True))
        for key in sorted(keys):
            if found.get(key) in seen:
                return found[key]
        raise ValueError("No company has this name or domain.")

    def _company_id(self, text: str) -> int:
        return self._known_id(Company, "company", "companies", text)

    @staticmethod
    def _deal(text: str) -> int:
        found = list(_seen_by_importer(Deal.objects.filter(name__iexact=text), "deals")
                     .values_list("pk", flat=True)[:2])
        if not found:
            raise ValueError("No deal has this name.")
        if len(found) > 1:
            raise ValueError("More than one deal has this name; log the activity on the "
                             "deal's page instead.")
        return found[0]

    def _deal_id(self, text: str) -> int:
        return self._known_id(Deal, "deal", "deals", text)

    def keys(self, draft: Draft) -> list[tuple[str, str]]:
        return [("ext", draft.external_id)] if draft.external_id else []

    def lookup(self, keys, system: str) -> dict:
        # A row matches only entries the importer may see, as on the timeline.
        found = self.external_keys(keys, system)
        seen = set(self._visible(Activity.objects.filter(pk__in=found.values()))
                   .values_list("pk", flat=True))
        return {key: record_id for key, record_id in found.items() if record_id in seen}

    @staticmethod
    def _visible(entries):
        member = acting_member()
        return entries if member is None else through_records(entries, member)

    def get(self, record_id):
        return self._visible(Activity.objects.all()).filter(pk=record_id).first()

    def create_many(self, org, actor, drafts: list[Draft]) -> list:
        created = []
        for draft in drafts:
            activity = timeline.log_activity(org, actor, data=draft.values["data"],
                                             viewer=acting_member())
            completed_at = draft.values["completed_at"]
            if completed_at is not None:
                # The service marks a task done now; the file knows when it was
                # done, which "My tasks" and reports count from.
                Activity.objects.filter(pk=activity.pk).update(completed_at=completed_at)
                activity.completed_at = completed_at
            created.append(activity)
        return created

    def changes(self, record, draft: Draft, *, fill_only: bool) -> tuple[dict, dict]:
        incoming = draft.values["data"]
        return changed_fields(((key, json_safe(incoming[key]), json_safe(getattr(record, key)))
                               for key in self.FIELDS if key in incoming),
                              fill_only=fill_only)

    def update(self, org, actor, record, data: dict):
        return timeline.update_activity(org, actor, record, data=data, viewer=acting_member())

    def remove(self, org, actor, ids: list[int]) -> list[int]:
        """Timeline entries have no trash: the ones an import created are deleted, each
        written to the audit log as when deleted by hand."""
        removed = []
        for activity in Activity.objects.filter(pk__in=ids).exclude(kind=Kind.SYSTEM):
            timeline.delete_activity(org, actor, activity)
            removed.append(activity.pk)
        return removed


ADAPTERS: dict[str, Adapter] = {"contact": ContactAdapter(), "company": CompanyAdapter(),
                                "deal": DealAdapter(), "product": ProductAdapter(),
                                "lead": LeadAdapter(), "order": OrderAdapter(),
                                "custom_field": CustomFieldAdapter(),
                                "activity": ActivityAdapter()}


def _importer_sees(records):
    """The records the importing member may see; all of them for an import run by code."""
    member = acting_member()
    return records if member is None else visible(records, member, "records")


class RecordAdapter(Adapter):
    """Rows of one custom record type; made per job, as record types differ per organisation.

    Values go through `records.clean_record`, the check of the record form
    and the API. Links name existing records only: a contact by e-mail, a
    company by name or domain, a deal by name, a record by its title.
    """

    model = Record
    area = "records"
    has_duplicates = False

    def __init__(self, record_type):
        self.record_type = record_type
        self.entity = f"record:{record_type.key}"

    def clean(self, org, draft: Draft, fields: list) -> None:
        incoming = dict(draft.data.get("custom_fields") or {})
        origin = {"owner_id": draft.origin.get("owner_id", ("", ""))}
        for name, place in draft.origin.items():
            if name.startswith("custom_fields."):
                origin[f"values.{name.removeprefix('custom_fields.')}"] = place
        by_key = {custom.key: custom for custom in self._fields}
        for name, text in draft.data.items():
            if not name.startswith("link."):
                continue
            key = name.removeprefix("link.")
            column, _text = draft.origin.get(name, ("", text))
            origin[f"values.{key}"] = (column, text)
            incoming[key] = self._link(by_key[key], column, text, draft)
        draft.origin = origin
        data = {"values": incoming}
        if "owner" in draft.data:
            data["owner"] = draft.data["owner"]
        # Checked even when a link failed, so the error file lists every bad cell.
        failed = {f"values.{key}" for key in incoming if incoming[key] in (None, [])}
        try:
            records.clean_record(org, self.record_type, data, partial=False,
                                 viewer=acting_member())
        except InvalidInput as exc:
            draft.absorb(InvalidInput([error for error in exc.errors
                                       if not (draft.errors and error["field"] in failed)]))
        if not draft.errors:
            draft.values = data

    @cached_property
    def _fields(self) -> list:
        return records.fields_of(self.record_type)

    def _link(self, custom, column: str, text: str, draft: Draft):
        """The id (or ids, for a field linking to several) a link cell names."""
        names = [part.strip() for part in text.split(";") if part.strip()]
        if len(names) > 1 and not custom.many:
            draft.fail(column, text, f"{custom.label} links to one record; name only one.")
            return None
        ids = []
        for name in names:
            try:
                ids.append(self._find(custom, name))
            except ValueError as exc:
                draft.fail(column, name, str(exc))
        return ids if custom.many else next(iter(ids), None)

    def _find(self, custom, name: str) -> int:
        if custom.field_type == RelationType.CONTACT:
            found = list(ContactEmail.objects.annotate(folded=Lower("address"))
                         .filter(folded=name.lower(), contact__deleted_at__isnull=True)
                         .values_list("contact_id", flat=True).distinct()[:2])
            what = "contact has this e-mail address"
        elif custom.field_type == RelationType.COMPANY:
            keys = {("name", fold(name))}
            if "." in name and " " not in name:
                keys.add(("domain", name.lower()))
            lookup = ADAPTERS["company"].lookup(keys, "")
            found = [lookup[key] for key in sorted(keys) if key in lookup][:1]
            what = "company has this name or domain"
        elif custom.field_type == RelationType.DEAL:
            found = list(Deal.objects.filter(name__iexact=name).values_list("pk", flat=True)[:2])
            what = "deal has this name"
        else:
            found = list(_importer_sees(Record.objects.filter(record_type=custom.target,
                                                              title__iexact=name))
                         .values_list("pk", flat=True)[:2])
            what = f"{str(custom.target.singular).lower()} has this title"
        if not found:
            raise ValueError(f"No {what}; add it first.")
        if len(found) > 1:
            raise ValueError(f"More than one {what}; link it on the record's page instead.")
        return found[0]

    def keys(self, draft: Draft) -> list[tuple[str, str]]:
        return [("ext", draft.external_id)] if draft.external_id else []

    def lookup(self, keys, system: str) -> dict:
        # A row matches only records the importer may see, so an id in another
        # system cannot reach a confidential record of someone else.
        found = self.external_keys(keys, system)
        seen = set(_importer_sees(Record.objects.filter(pk__in=found.values()))
                   .values_list("pk", flat=True))
        return {key: record_id for key, record_id in found.items() if record_id in seen}

    def get(self, record_id):
        return (_importer_sees(Record.objects.select_related("record_type"))
                .filter(pk=record_id, record_type=self.record_type).first())

    def create_many(self, org, actor, drafts: list[Draft]) -> list:
        return [records.create_record(org, actor, self.record_type, data=draft.values,
                                      viewer=acting_member())
                for draft in drafts]

    def changes(self, record, draft: Draft, *, fill_only: bool) -> tuple[dict, dict]:
        incoming = draft.values["values"]
        cleaned = records.clean_record(record.organization, self.record_type,
                                       {"values": incoming}, current=record, partial=True,
                                       viewer=acting_member())
        links = records.link_values(record, self._fields)
        data, before = {}, {}
        for key in incoming:
            if key in cleaned["links"]:
                targets = [target.pk for target in cleaned["links"][key]]
                new = targets if key in links and isinstance(links[key], list) else next(
                    iter(targets), None)
                current = links.get(key)
            else:
                new, current = cleaned["values"].get(key), record.values.get(key)
            if new in (None, "", []) or new == current:
                continue
            if fill_only and current not in (None, "", []):
                continue
            data.setdefault("values", {})[key] = new
            before.setdefault("values", {})[key] = current
        owner = draft.values.get("owner")
        if owner and owner != record.owner_id and not (fill_only and record.owner_id):
            data["owner"], before["owner"] = owner, record.owner_id
        return data, before

    def update(self, org, actor, record, data: dict):
        return records.update_record(org, actor, record, data=data, viewer=acting_member())

    def remove(self, org, actor, ids: list[int]) -> list[int]:
        removed = []
        for record in Record.objects.filter(pk__in=ids, record_type=self.record_type):
            records.delete_record(org, actor, record)
            removed.append(record.pk)
        return removed


def adapter_for(entity) -> Adapter:
    """The adapter of an entity from `entities.for_org`: a record type's own, else the
    built-in one."""
    record_type = getattr(entity, "record_type", None)
    return RecordAdapter(record_type) if record_type is not None else ADAPTERS[entity.key]
