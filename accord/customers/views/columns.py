"""The columns a contact or company list can show, sort and export.

A column knows how to read its value from a record loaded by the list
queryset (with owner, company and tags already joined or prefetched), so a
page of rows costs the same few queries whatever it shows. Built-in columns
are keyed by field name and custom fields by `cf.<key>`, the same keys the
list's `ordering` parameter uses.
"""

import datetime as dt
import decimal
from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _

from accord.core.crypto import Unreadable

from ..models import Contact, CustomField, FieldType

HIDDEN_COMPANY = _("A company you cannot see")


@dataclass(frozen=True)
class Cell:
    """One rendered value: `kind` picks the markup, `url` makes it a link."""

    kind: str
    value: object
    url: str = ""
    extra: object = None


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    read: Callable[[object], Cell]
    sort: str | None = None
    numeric: bool = False
    # What goes into the CSV: (header, value getter) pairs; a column may
    # export as more than one cell (money as amount and currency).
    export: tuple = field(default=())

    def export_headers(self) -> list[str]:
        return [str(header) for header, _getter in self.export] or [str(self.label)]

    def export_values(self, record) -> list:
        if self.export:
            return [getter(record) for _header, getter in self.export]
        return [plain(self.read(record))]


def plain(cell: Cell):
    """The CSV value of a cell: numbers stay numbers, everything else becomes text.

    Choice fields export the label the list shows, not the stored key.
    """
    value = cell.value
    if value is None:
        return ""
    if cell.kind == "tags":
        return "; ".join(tag.name for tag in value)
    if cell.kind == "choices":
        return "; ".join(value)
    if cell.kind == "boolean":
        return "yes" if value else "no"
    if cell.kind == "datetime":
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if cell.kind == "date":
        return value.isoformat()
    if cell.kind == "money":
        return value
    if cell.kind == "phone":
        return value.raw if hasattr(value, "raw") else value
    if isinstance(value, int | decimal.Decimal) and not isinstance(value, bool):
        return value
    return str(value)


def _text(attribute: str, kind: str = "text") -> Callable[[object], Cell]:
    return lambda record: Cell(kind, getattr(record, attribute) or "")


def _choice_display(attribute: str) -> Callable[[object], Cell]:
    return lambda record: Cell("text", getattr(record, f"get_{attribute}_display")())


def _record_link(record) -> Cell:
    return Cell("link", str(record), url=record.get_absolute_url())


def _owner(record) -> Cell:
    return Cell("text", str(record.owner) if record.owner_id else "")


def _tags(record) -> Cell:
    return Cell("tags", [link.tag for link in record.tag_links.all()])


def _contact_company(record) -> Cell:
    # The list annotates `company_seen` (visibility.with_seen): a company hidden
    # from the reader is named by its kind alone, without a link.
    if not record.company_id:
        return Cell("text", "")
    if not record.company_seen:
        return Cell("text", HIDDEN_COMPANY)
    return Cell("link", record.company.name, url=record.company.get_absolute_url())


def _contact_phone(record) -> Cell:
    phones = list(record.phones.all())
    if not phones:
        return Cell("text", record.phone)
    return Cell("phone", phones[0])


def _stage(record) -> Cell:
    return Cell("stage", record.get_lifecycle_stage_display(), extra=record.lifecycle_stage)


def _parent(record) -> Cell:
    if not record.parent_id:
        return Cell("text", "")
    if not record.parent_seen:
        return Cell("text", HIDDEN_COMPANY)
    return Cell("link", record.parent.name, url=record.parent.get_absolute_url())


def _moment(attribute: str) -> Callable[[object], Cell]:
    return lambda record: Cell("datetime", getattr(record, attribute))


def _employees(record) -> Cell:
    return Cell("number", record.employees)


def _revenue(record) -> Cell:
    if record.annual_revenue is None:
        return Cell("money", None)
    return Cell("money", record.annual_revenue, extra=record.currency)


COMMON_TAIL = [
    ("owner", _("Owner"), _owner, "owner"),
    ("tags", _("Tags"), _tags, None),
    ("city", _("City"), _text("city"), "city"),
    ("country", _("Country"), _text("country"), "country"),
    ("source", _("Source"), _text("source"), None),
    ("created_at", _("Created"), _moment("created_at"), "created_at"),
    ("updated_at", _("Updated"), _moment("updated_at"), "updated_at"),
]

CONTACT_BUILT_IN = [
    Column("name", _("Name"), _record_link, sort="name"),
    Column("first_name", _("First name"), _text("first_name"), sort="first_name"),
    Column("last_name", _("Last name"), _text("last_name"), sort="last_name"),
    Column("email", _("E-mail"), _text("email", "email"), sort="email"),
    Column("phone", _("Phone"), _contact_phone),
    Column("title", _("Job title"), _text("title")),
    Column("company", _("Company"), _contact_company, sort="company"),
    Column("lifecycle_stage", _("Lifecycle stage"), _stage, sort="lifecycle_stage"),
] + [Column(key, label, read, sort=sort) for key, label, read, sort in COMMON_TAIL]

COMPANY_BUILT_IN = [
    Column("name", _("Name"), _record_link, sort="name"),
    Column("domain", _("Domain"), _text("domain"), sort="domain"),
    Column("website", _("Website"), _text("website", "url")),
    Column("industry", _("Industry"), _text("industry"), sort="industry"),
    Column("size", _("Size"), _choice_display("size")),
    Column("employees", _("Employees"), _employees, sort="employees", numeric=True),
    Column("annual_revenue", _("Annual revenue"), _revenue, sort="annual_revenue",
           numeric=True,
           export=((_("Annual revenue"), lambda record: record.annual_revenue or ""),
                   (_("Currency"), lambda record: record.currency))),
    Column("phone", _("Phone"), _text("phone")),
    Column("parent", _("Parent company"), _parent),
] + [Column(key, label, read, sort=sort) for key, label, read, sort in COMMON_TAIL]

CONTACT_DEFAULT = ["name", "email", "company", "lifecycle_stage", "owner", "tags", "updated_at"]
COMPANY_DEFAULT = ["name", "domain", "industry", "owner", "tags", "updated_at"]


def custom_cell(custom: CustomField, stored) -> Cell:
    """A custom field's stored JSON value as a typed cell."""
    kind = custom.field_type
    if stored in (None, "", []):
        return Cell("text", "")
    if isinstance(stored, Unreadable):
        return Cell("text", str(stored))
    if kind == FieldType.NUMBER:
        return Cell("number", decimal.Decimal(stored))
    if kind == FieldType.MONEY:
        return Cell("money", decimal.Decimal(stored["amount"]), extra=stored["currency"])
    if kind == FieldType.DATE:
        return Cell("date", parse_date(stored))
    if kind == FieldType.DATETIME:
        return Cell("datetime", parse_datetime(stored))
    if kind == FieldType.BOOLEAN:
        return Cell("boolean", bool(stored))
    if kind == FieldType.MULTI_CHOICE:
        return Cell("choices", list(stored))
    if kind == FieldType.URL:
        return Cell("url", stored)
    if kind == FieldType.EMAIL:
        return Cell("email", stored)
    return Cell("text", str(stored))


def _custom_column(custom: CustomField) -> Column:
    def read(record) -> Cell:
        return custom_cell(custom, record.custom_fields.get(custom.key))

    export = ()
    if custom.field_type == FieldType.MONEY:
        def amount(record):
            stored = record.custom_fields.get(custom.key)
            if isinstance(stored, Unreadable):
                return str(stored)
            return decimal.Decimal(stored["amount"]) if stored else ""

        def currency(record):
            stored = record.custom_fields.get(custom.key)
            return stored["currency"] if stored and isinstance(stored, dict) else ""

        export = ((custom.label, amount), (_("%(label)s currency") % {"label": custom.label},
                                           currency))
    sortable = custom.field_type != FieldType.MULTI_CHOICE and not custom.encrypted
    return Column(
        f"cf.{custom.key}", custom.label, read, sort=f"cf.{custom.key}" if sortable else None,
        numeric=custom.field_type in (FieldType.NUMBER, FieldType.MONEY), export=export,
    )


def available_columns(model, custom_fields: list[CustomField]) -> dict[str, Column]:
    built_in = CONTACT_BUILT_IN if model is Contact else COMPANY_BUILT_IN
    columns = {column.key: column for column in built_in}
    columns.update({f"cf.{custom.key}": _custom_column(custom) for custom in custom_fields})
    return columns


def chosen_columns(requested: list[str], available: dict[str, Column],
                   model) -> list[Column]:
    """The requested columns that exist, in order; the defaults when none are left."""
    keys = [key for key in dict.fromkeys(requested) if key in available]
    if not keys:
        keys = CONTACT_DEFAULT if model is Contact else COMPANY_DEFAULT
    return [available[key] for key in keys]


def needs_phones(columns: list[Column]) -> bool:
    return any(column.key == "phone" for column in columns)


__all__ = ["Cell", "Column", "available_columns", "chosen_columns", "plain"]
