"""What can be exported: one entry per entity, each knowing its rows, columns and documents.

An entity reads its records chunk by chunk (keyset pages, never OFFSET, never
the whole table in memory), in the order its list shows them. Contacts and
companies take the list's query string, so an export is the filtered list;
the other entities are exported whole, only inside an organisation export.
Deals, products and orders are written in the columns their import reads,
so an organisation export imports back file by file; an order is one row per
line, each carrying its order's number. Add an entity by adding an
`EntitySpec` to REGISTRY.
"""

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.db.models import BooleanField, F, OuterRef, Prefetch, Subquery, Value
from django.http import QueryDict
from django.utils.translation import gettext as _

from accord.activities.models import Activity
from accord.commerce.models import Channel, Order, OrderLine, OrderStatus, Product
from accord.customers import custom_fields as custom_field_defs
from accord.customers import queries
from accord.customers.models import (
    Company,
    CompanySize,
    CompanyTag,
    Contact,
    ContactEmail,
    ContactPhone,
    ContactTag,
    CustomField,
    Entity,
    LifecycleStage,
    Tag,
)
from accord.customers.views.columns import (
    COMPANY_BUILT_IN,
    CONTACT_BUILT_IN,
    HIDDEN_COMPANY,
    available_columns,
)
from accord.identity.visibility import through_contact, visible, with_seen
from accord.pagination import Ordering, paginate, parse_ordering
from accord.sales.models import Deal, DealContact, LineItem, StageChange
from accord.timezones import zone_named

from ..models import IMPORT_SYSTEM, ExternalId
from ..writers import iso_utc

CONTACT_LABELS = {column.key: column.label for column in CONTACT_BUILT_IN}
COMPANY_LABELS = {column.key: column.label for column in COMPANY_BUILT_IN}
CHUNK = 1000  # records per query: a few MB of rows at most, and few round trips
# Parameters of a list URL that shape the page rather than filter it.
LIST_CONTROLS = ("cursor", "view", "columns", "ordering", "limit")


@dataclass(frozen=True)
class Column:
    header: str
    read: Callable[[object], object]


@dataclass
class EntitySpec:
    """One kind of record an export can hold, and how to read and write it."""

    key: str
    label: str
    model: type
    document: Callable[[object], dict]
    # (spec, query, viewer): the viewer is the Membership the export is for, or None
    # for the command line, which exports everything.
    rows: Callable[["EntitySpec", QueryDict, object], tuple]
    # Built-in columns for spreadsheets; without them the document is flattened.
    columns: Callable[[object], list[Column]] | None = None
    formats: tuple = ("csv", "xlsx", "jsonl")
    extra: dict = field(default_factory=dict)

    def queryset(self, query: str = "", viewer=None):
        """The filtered queryset and its ordering; InvalidInput for a bad parameter."""
        return self.rows(self, QueryDict(query), viewer)

    def records(self, query: str = "", viewer=None) -> Iterator:
        """Every record of the export, in order, one chunk of CHUNK in memory at a time."""
        queryset, ordering = self.queryset(query, viewer)
        cursor = None
        while True:
            page, cursor = paginate(queryset, ordering, cursor=cursor, limit=CHUNK)
            if self.extra.get("entity"):
                _attach_external_ids(self.extra["entity"], page)
            yield from page
            if cursor is None:
                return

    def table_columns(self, viewer=None) -> list[Column] | None:
        return self.columns(viewer) if self.columns else None

    def viewed_document(self, record, viewer) -> dict:
        """The record's document without the custom fields hidden from the viewer."""
        document = self.document(record)
        if self.extra.get("entity") and "custom_fields" in document:
            document["custom_fields"] = custom_field_defs.visible_values(
                self.extra["entity"], viewer, document["custom_fields"])
        return document


def _list_rows(entity: EntitySpec, params: QueryDict, viewer):
    kind = entity.extra["entity"]
    custom = custom_field_defs.active_fields(kind, viewer)
    allowed = {**entity.extra["orderings"](viewer), **queries.custom_field_orderings(kind, custom)}
    ordering = parse_ordering(params.get("ordering"), allowed, "name")
    filters = {name: params.getlist(name) for name in params if name not in LIST_CONTROLS}
    rows = entity.extra["filter"](entity.extra["base"](), filters, viewer=viewer)
    return _with_link_seen(rows, entity.extra["link"], viewer), ordering


def _with_link_seen(queryset, link: str, viewer, area: str = "companies"):
    """The rows, each knowing as `<link>_seen` whether the viewer sees the record it
    links to (every one for the command line, which exports for the organisation)."""
    if viewer is None:
        return queryset.annotate(**{f"{link}_seen": Value(True, output_field=BooleanField())})
    return with_seen(queryset, viewer, link, area)


def _by_id(entity: EntitySpec, params: QueryDict, viewer):
    return entity.model.objects.all(), Ordering("id", F("id"), False)


def _field_definitions(entity: EntitySpec, params: QueryDict, viewer):
    """Custom field definitions, less those hidden from the viewer."""
    fields = CustomField.objects.exclude(pk__in=custom_field_defs.hidden_field_ids(viewer))
    return fields, Ordering("id", F("id"), False)


# Prefetched into plain lists (`to_attr`): filling each record's related
# manager cache instead costs a scoped queryset per record, which made
# exports several times slower.
def _tags_prefetch(link_model) -> Prefetch:
    return Prefetch("tag_links", link_model.objects.select_related("tag").order_by("tag__name"),
                    to_attr="export_tags")


def _contact_base():
    return Contact.objects.select_related("owner", "company").prefetch_related(
        Prefetch("emails", ContactEmail.objects.order_by("-is_primary", "id"),
                 to_attr="export_emails"),
        Prefetch("phones", ContactPhone.objects.order_by("-is_primary", "id"),
                 to_attr="export_phones"),
        _tags_prefetch(ContactTag),
    )


def _company_base():
    return Company.objects.select_related("owner", "parent").prefetch_related(
        _tags_prefetch(CompanyTag))


def _deal_rows(entity: EntitySpec, params: QueryDict, viewer):
    """Every deal the viewer sees, with its stages' names, the day its history begins,
    its contacts (each knowing whether the viewer sees it) and its line items."""
    began = (StageChange.objects.filter(deal=OuterRef("pk")).order_by("changed_at", "id")
             .values("changed_at")[:1])
    contacts = _with_link_seen(
        DealContact.objects.filter(contact__deleted_at__isnull=True)
        .select_related("contact").order_by("id"), "contact", viewer, "contacts")
    deals = (Deal.objects.select_related("organization", "pipeline", "stage", "owner",
                                         "company")
             .prefetch_related(
                 Prefetch("contact_links", contacts, to_attr="export_contacts"),
                 Prefetch("line_items", LineItem.objects.select_related("product")
                          .order_by("position", "id"), to_attr="export_lines"))
             .annotate(export_began=Subquery(began)))
    if viewer is not None:
        deals = visible(deals, viewer, "deals")
    return _with_link_seen(deals, "company", viewer), Ordering("id", F("id"), False)


def _order_line_rows(entity: EntitySpec, params: QueryDict, viewer):
    """Every line of the orders the viewer sees, an order's lines one after another.

    Orders follow their contact's visibility, as on the order pages.
    """
    orders = Order.objects.all()
    if viewer is not None:
        orders = through_contact(orders, viewer)
    lines = OrderLine.objects.filter(order__in=orders.values("pk")).select_related(
        "order", "order__contact")
    return lines, Ordering("order", F("order_id"), False)


# Documents: every field, for JSON Lines and vCard.


def _attach_external_ids(entity: str, records: list) -> None:
    """Each record's ids in other systems as `export_external_ids` {system: value}."""
    found: dict[int, dict] = {}
    for record_id, system, value in ExternalId.objects.filter(
        entity=entity, record_id__in=[record.pk for record in records]
    ).order_by("system").values_list("record_id", "system", "value"):
        found.setdefault(record_id, {})[system] = value
    for record in records:
        record.export_external_ids = found.get(record.pk, {})


def _external_id(record) -> str:
    """The id an import stored without naming a system, else the first one there is."""
    ids = getattr(record, "export_external_ids", {})
    return ids.get(IMPORT_SYSTEM) or next(iter(ids.values()), "")


def _tag_names(record) -> list[str]:
    return [link.tag.name for link in record.export_tags]


def _record_base(record) -> dict:
    return {
        "id": record.pk,
        "owner": record.owner.email if record.owner_id else None,
        "owner_id": record.owner_id,
        "tags": _tag_names(record),
        "street": record.street, "city": record.city, "region": record.region,
        "postal_code": record.postal_code, "country": record.country,
        "source": record.source,
        "custom_fields": record.custom_fields,
        "external_ids": getattr(record, "export_external_ids", {}),
        "created_at": iso_utc(record.created_at), "updated_at": iso_utc(record.updated_at),
        "version": record.version,
    }


def _company_name(company: Company, seen: bool) -> str:
    return company.name if seen else str(HIDDEN_COMPANY)


def contact_document(contact: Contact) -> dict:
    company = ({"id": contact.company_id,
                "name": _company_name(contact.company, contact.company_seen)}
               if contact.company_id else None)
    return {
        "id": contact.pk,
        "first_name": contact.first_name, "last_name": contact.last_name,
        "title": contact.title, "email": contact.email, "phone": contact.phone,
        "company": company,
        "lifecycle_stage": contact.lifecycle_stage,
        "emails": [
            {"address": email.address, "kind": email.kind, "label": email.label,
             "primary": email.is_primary}
            for email in contact.export_emails
        ],
        "phones": [
            {"raw": phone.raw, "e164": phone.number, "extension": phone.extension,
             "kind": phone.kind, "label": phone.label, "primary": phone.is_primary}
            for phone in contact.export_phones
        ],
        "birthday": contact.birthday.isoformat() if contact.birthday else None,
        "time_zone": contact.time_zone,
        "do_not_contact": contact.do_not_contact,
    } | _record_base(contact)


def company_document(company: Company) -> dict:
    return {
        "id": company.pk,
        "name": company.name, "domain": company.domain, "website": company.website,
        "industry": company.industry, "size": company.size, "employees": company.employees,
        "annual_revenue": (str(company.annual_revenue)
                           if company.annual_revenue is not None else None),
        "currency": company.currency, "phone": company.phone,
        "description": company.description,
        "parent": ({"id": company.parent_id,
                    "name": _company_name(company.parent, company.parent_seen)}
                   if company.parent_id else None),
    } | _record_base(company)


def activity_document(activity: Activity) -> dict:
    return {
        "id": activity.pk, "kind": activity.kind, "subject": activity.subject,
        "body": activity.body, "contact_id": activity.contact_id,
        "company_id": activity.company_id, "deal_id": activity.deal_id,
        # By name too: an import elsewhere finds the deal by its name when it
        # does not know the deal's id (deals brought in from another file).
        "deal": activity.deal.name if activity.deal_id and activity.deal_seen else None,
        "occurred_at": iso_utc(activity.occurred_at),
        "author": activity.author.email if activity.author_id else None,
        "direction": activity.direction, "outcome": activity.outcome,
        "duration_minutes": activity.duration_minutes, "due_at": iso_utc(activity.due_at),
        "assignee": activity.assignee.email if activity.assignee_id else None,
        "remind_at": iso_utc(activity.remind_at),
        "completed_at": iso_utc(activity.completed_at),
        "event": activity.event, "data": activity.data,
        "created_at": iso_utc(activity.created_at), "updated_at": iso_utc(activity.updated_at),
        "version": activity.version,
    }


def tag_document(tag: Tag) -> dict:
    return {"id": tag.pk, "name": tag.name, "color": tag.color,
            "created_at": iso_utc(tag.created_at), "updated_at": iso_utc(tag.updated_at)}


def custom_field_document(custom: CustomField) -> dict:
    return {
        "id": custom.pk, "entity": custom.entity, "key": custom.key, "label": custom.label,
        "field_type": custom.field_type, "choices": custom.choices,
        "currency": custom.currency, "required": custom.required,
        "help_text": custom.help_text, "position": custom.position,
        "is_active": custom.is_active, "hidden_from_roles": custom.hidden_from_roles,
        "encrypted": custom.encrypted,
        "created_at": iso_utc(custom.created_at), "updated_at": iso_utc(custom.updated_at),
    }


def _began_on(deal: Deal) -> dt.date | None:
    """The day the deal's history begins, in its organisation's time zone.

    A deal entered after the fact and closed on an earlier day began no later
    than it closed: the close day is written, which the import accepts.
    """
    if deal.export_began is None:
        return None
    began = deal.export_began.astimezone(zone_named(deal.organization.time_zone)).date()
    return min(began, deal.closed_on) if deal.closed_on else began


def _deal_contacts(deal: Deal) -> list[dict]:
    # A contact the viewer may not see is written by its id alone.
    return [{"id": link.contact_id,
             "email": link.contact.email if link.contact_seen else None,
             "role": link.role}
            for link in deal.export_contacts]


def _money(value) -> str | None:
    return str(value) if value is not None else None


def deal_document(deal: Deal) -> dict:
    began = _began_on(deal)
    return {
        "id": deal.pk, "name": deal.name,
        "pipeline": {"id": deal.pipeline_id, "name": deal.pipeline.name},
        "stage": {"id": deal.stage_id, "name": deal.stage.name},
        "status": deal.status, "amount": _money(deal.amount), "currency": deal.currency,
        "expected_close_date": (deal.expected_close_date.isoformat()
                                if deal.expected_close_date else None),
        "began_on": began.isoformat() if began else None,
        "closed_on": deal.closed_on.isoformat() if deal.closed_on else None,
        "close_reason": deal.close_reason,
        "owner": deal.owner.email if deal.owner_id else None, "owner_id": deal.owner_id,
        "company": ({"id": deal.company_id,
                     "name": _company_name(deal.company, deal.company_seen)}
                    if deal.company_id else None),
        "contacts": _deal_contacts(deal),
        "line_items": [
            {"product_id": line.product_id,
             "sku": line.product.sku if line.product_id else None, "name": line.name,
             "quantity": str(line.quantity), "unit_price": str(line.unit_price),
             "discount_percent": str(line.discount_percent),
             "tax_percent": str(line.tax_percent)}
            for line in deal.export_lines
        ],
        "source": deal.source, "forecast_category": deal.forecast_category,
        "next_step": deal.next_step, "description": deal.description,
        "custom_fields": deal.custom_fields,
        "external_ids": getattr(deal, "export_external_ids", {}),
        "created_at": iso_utc(deal.created_at), "updated_at": iso_utc(deal.updated_at),
        "version": deal.version,
    }


def product_document(product: Product) -> dict:
    return {
        "id": product.pk, "sku": product.sku, "name": product.name,
        "unit_price": _money(product.unit_price), "currency": product.currency,
        "category": product.category, "description": product.description,
        "attributes": product.attributes, "is_active": product.is_active,
        "external_ids": getattr(product, "export_external_ids", {}),
        "created_at": iso_utc(product.created_at), "updated_at": iso_utc(product.updated_at),
        "version": product.version,
    }


def order_line_document(line: OrderLine) -> dict:
    """One line with its order's header, as the order import reads it: a row per line."""
    order = line.order
    return {
        "number": order.number, "kind": order.kind, "placed_at": iso_utc(order.placed_at),
        "status": order.status, "channel": order.channel, "currency": order.currency,
        "contact_id": order.contact_id,
        "contact": order.contact.email if order.contact_id else None,
        "company_id": order.company_id, "order_id": order.pk, "line_id": line.pk,
        "position": line.position, "product_id": line.product_id, "sku": line.sku,
        "description": line.description, "quantity": str(line.quantity),
        "unit_price": str(line.unit_price), "discount_percent": str(line.discount_percent),
        "tax_percent": str(line.tax_percent), "line_total": str(line.line_total),
    }


# Spreadsheet columns: the list export's headers, every built-in field, then
# the custom fields as the list exports them (money as amount and currency).


def _list_column(model, key: str) -> list[Column]:
    column = available_columns(model, [])[key]
    headers = column.export_headers()
    if len(headers) == 1:
        return [Column(headers[0], lambda record: column.export_values(record)[0])]
    return [Column(header, lambda record, i=index: column.export_values(record)[i])
            for index, header in enumerate(headers)]


def _custom_columns(model, kind: str, viewer) -> list[Column]:
    columns = []
    for custom in custom_field_defs.active_fields(kind, viewer):
        column = available_columns(model, [custom])[f"cf.{custom.key}"]
        for index, header in enumerate(column.export_headers()):
            columns.append(Column(
                header, lambda record, column=column, i=index: column.export_values(record)[i]))
    return columns


def _attr(header: str, name: str) -> Column:
    return Column(header, lambda record: getattr(record, name))


def _id_column() -> Column:
    # Ids are text, like phone numbers and postcodes: a spreadsheet must not
    # reformat or sum them.
    return Column(_("ID"), lambda record: str(record.pk))


def _owner_email(record):
    return record.owner.email if record.owner_id else ""


def _choice_column(header, name: str, choices) -> Column:
    # The label people see, as the list shows it; looked up once per export
    # rather than translated again for every row.
    labels = {value: str(label) for value, label in choices.choices}
    return Column(str(header), lambda record: labels.get(getattr(record, name), ""))


def _primary_phone(record) -> str:
    # As the list shows it: the primary phone as typed, else the plain field.
    return record.export_phones[0].raw if record.export_phones else record.phone


def _tags_column() -> Column:
    return Column(str(CONTACT_LABELS["tags"]), lambda record: "; ".join(_tag_names(record)))


def _joined(values) -> str:
    return "; ".join(value for value in values if value)


def contact_columns(viewer=None) -> list[Column]:
    def listed(key):
        return _list_column(Contact, key)

    return [
        _id_column(), *listed("first_name"), *listed("last_name"), *listed("email"),
        Column(str(CONTACT_LABELS["phone"]), _primary_phone), *listed("title"),
        *listed("company"), _choice_column(CONTACT_LABELS["lifecycle_stage"],
                                           "lifecycle_stage", LifecycleStage),
        Column(_("Owner"), _owner_email), _tags_column(),
        _attr(_("Street"), "street"), *listed("city"), _attr(_("Region"), "region"),
        _attr(_("Postal code"), "postal_code"), *listed("country"),
        Column(_("Birthday"), lambda record: record.birthday),
        _attr(_("Time zone"), "time_zone"),
        Column(_("Do not contact"), lambda record: record.do_not_contact),
        *listed("source"),
        Column(_("All e-mails"), lambda record: _joined(e.address for e in record.export_emails)),
        Column(_("All phones"), lambda record: _joined(p.raw for p in record.export_phones)),
        Column(_("Id in another system"), _external_id),
        *listed("created_at"), *listed("updated_at"),
        *_custom_columns(Contact, Entity.CONTACT, viewer),
    ]


def company_columns(viewer=None) -> list[Column]:
    def listed(key):
        return _list_column(Company, key)

    return [
        _id_column(), *listed("name"), *listed("domain"), *listed("website"),
        *listed("industry"), _choice_column(COMPANY_LABELS["size"], "size", CompanySize),
        *listed("employees"), *listed("annual_revenue"),
        *listed("phone"), _attr(_("Description"), "description"), *listed("parent"),
        Column(_("Owner"), _owner_email), _tags_column(),
        _attr(_("Street"), "street"), *listed("city"), _attr(_("Region"), "region"),
        _attr(_("Postal code"), "postal_code"), *listed("country"), *listed("source"),
        Column(_("Id in another system"), _external_id),
        *listed("created_at"), *listed("updated_at"),
        *_custom_columns(Company, Entity.COMPANY, viewer),
    ]


def _first_contact(deal: Deal):
    return deal.export_contacts[0] if deal.export_contacts else None


def _first_product_sku(deal: Deal) -> str:
    return next((line.product.sku for line in deal.export_lines if line.product_id), "")


def _text_id(value) -> str:
    return str(value) if value is not None else ""


def _amount(deal: Deal):
    # Stored with four places; written with as many as it has, as the import
    # refuses more than the currency's own ("5000", not "5000.0000").
    amount = deal.amount
    if amount is None:
        return None
    return amount.quantize(1) if amount == amount.to_integral_value() else amount.normalize()


def deal_columns(viewer=None) -> list[Column]:
    # Headers are the deal import's own, so that the file maps without help.
    # The import reads one product and one contact per deal: the first of each.
    def contact_email(deal):
        link = _first_contact(deal)
        return link.contact.email if link and link.contact_seen else ""

    return [
        _id_column(), _attr(_("Name"), "name"),
        Column(_("Pipeline"), lambda deal: deal.pipeline.name),
        Column(_("Stage"), lambda deal: deal.stage.name),
        Column(_("Amount"), _amount), _attr(_("Currency"), "currency"),
        _attr(_("Expected close"), "expected_close_date"),
        Column(_("Began on"), _began_on), _attr(_("Closed on"), "closed_on"),
        _attr(_("Won or lost reason"), "close_reason"),
        Column(_("Owner"), _owner_email),
        Column(_("Company ID"), lambda deal: _text_id(deal.company_id)),
        Column(_("Company"), lambda deal: (_company_name(deal.company, deal.company_seen)
                                           if deal.company_id else "")),
        Column(_("Contact ID"), lambda deal: _text_id(
            getattr(_first_contact(deal), "contact_id", None))),
        Column(_("Contact"), contact_email),
        Column(_("Product"), _first_product_sku),
        _attr(_("Source"), "source"), _attr(_("Description"), "description"),
        Column(_("Id in another system"), _external_id),
        *_custom_columns(Deal, Entity.DEAL, viewer),
    ]


def product_columns(viewer=None) -> list[Column]:
    return [
        _id_column(), _attr(_("SKU"), "sku"), _attr(_("Name"), "name"),
        _attr(_("Price"), "unit_price"), _attr(_("Currency"), "currency"),
        _attr(_("Category"), "category"), _attr(_("Description"), "description"),
        _attr(_("Active"), "is_active"), Column(_("Id in another system"), _external_id),
    ]


def _of_order(header, name: str) -> Column:
    return Column(header, lambda line: getattr(line.order, name))


def order_line_columns(viewer=None) -> list[Column]:
    # The order import's headers; a return is known by its number starting with C.
    statuses = {value: str(label) for value, label in OrderStatus.choices}
    channels = {value: str(label) for value, label in Channel.choices}
    return [
        _of_order(_("Order number"), "number"),
        Column(_("Placed at"), lambda line: iso_utc(line.order.placed_at)),
        Column(_("Status"), lambda line: statuses.get(line.order.status, "")),
        Column(_("Channel"), lambda line: channels.get(line.order.channel, "")),
        _of_order(_("Currency"), "currency"),
        Column(_("Contact ID"), lambda line: _text_id(line.order.contact_id)),
        Column(_("Contact"), lambda line: (line.order.contact.email
                                           if line.order.contact_id else "")),
        _attr(_("SKU"), "sku"), _attr(_("Description"), "description"),
        _attr(_("Quantity"), "quantity"), _attr(_("Unit price"), "unit_price"),
        _attr(_("Discount (%)"), "discount_percent"), _attr(_("Tax (%)"), "tax_percent"),
    ]


def flat_value(value):
    """A document value as one spreadsheet cell: lists joined, objects as JSON."""
    if isinstance(value, list):
        return "; ".join(str(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, dt.datetime):
        return iso_utc(value)
    return value


REGISTRY: dict[str, EntitySpec] = {
    "contacts": EntitySpec(
        key="contacts", label="Contacts", model=Contact, document=contact_document,
        rows=_list_rows, columns=contact_columns, formats=("csv", "xlsx", "vcf", "jsonl"),
        extra={"entity": Entity.CONTACT, "orderings": queries.contact_orderings,
               "filter": queries.filter_contacts, "base": _contact_base, "link": "company"},
    ),
    "companies": EntitySpec(
        key="companies", label="Companies", model=Company, document=company_document,
        rows=_list_rows, columns=company_columns,
        extra={"entity": Entity.COMPANY, "orderings": queries.company_orderings,
               "filter": queries.filter_companies, "base": _company_base, "link": "parent"},
    ),
    "activities": EntitySpec(
        key="activities", label="Activities", model=Activity, document=activity_document,
        rows=lambda entity, params, viewer: (
            _with_link_seen(Activity.objects.select_related("author", "assignee", "deal"),
                            "deal", viewer, "deals"),
            Ordering("id", F("id"), False)),
    ),
    "deals": EntitySpec(
        key="deals", label="Deals", model=Deal, document=deal_document, rows=_deal_rows,
        columns=deal_columns, extra={"entity": Entity.DEAL},
    ),
    "products": EntitySpec(
        key="products", label="Products", model=Product, document=product_document,
        rows=_by_id, columns=product_columns, extra={"entity": "product"},
    ),
    "orders": EntitySpec(
        key="orders", label="Orders", model=OrderLine, document=order_line_document,
        rows=_order_line_rows, columns=order_line_columns,
    ),
    "tags": EntitySpec(key="tags", label="Tags", model=Tag, document=tag_document,
                         rows=_by_id),
    "custom_fields": EntitySpec(
        key="custom_fields", label="Custom field definitions", model=CustomField,
        document=custom_field_document, rows=_field_definitions,
    ),
}
# What an organisation export holds, one file each, in this order. Each file
# names records only of the files before it (deals their companies, contacts
# and products; orders their contacts and products), so an import into an
# empty organisation can follow it, after the custom field definitions.
ORGANISATION = ["contacts", "companies", "products", "deals", "orders", "activities", "tags",
                "custom_fields"]
