"""Contacts, companies, tags and custom field definitions under `/api/v1/`.

Lists read the same query parameters as the UI (accord.customers.queries),
so `tag`, the built-in filters and `cf.<key>` filters mean the same in both.
"""

from collections import defaultdict

from django.db.models import Prefetch
from django.db.models.functions import Lower
from django.http import HttpRequest
from ninja import Query, Router, Status

from accord import bulk
from accord.audit.api import HistoryPage, HistoryParams, history_page
from accord.bulk import RecordsBulkIn, RecordsBulkOut
from accord.customers.custom_fields import hidden_field_ids, may_see, refuse_hidden
from accord.errors import NotFound
from accord.identity.api_auth import allow
from accord.identity.visibility import require_visible, visible
from accord.pagination import clamp_limit, paginate, parse_ordering

from . import duplicates, merge, services
from .merge_api import CompanyCreatedOut, ContactCreatedOut
from .models import (
    Affiliation,
    Company,
    CompanyTag,
    Contact,
    ContactEmail,
    ContactPhone,
    ContactTag,
    CustomField,
    Entity,
    Tag,
)
from .queries import (
    COMPANY_ORDERINGS,
    check_parameter_names,
    contact_orderings,
    custom_field_orderings,
    filter_companies,
    filter_contacts,
    refuse_encrypted_ordering,
)
from .schemas import (
    CompanyFilters,
    CompanyIn,
    CompanyOut,
    CompanyPage,
    CompanyPatch,
    ConsentIn,
    ConsentOut,
    ConsentPage,
    ContactDetailOut,
    ContactFilters,
    ContactIn,
    ContactPage,
    ContactPatch,
    CustomFieldFilters,
    CustomFieldOut,
    CustomFieldPage,
    CustomFieldPatch,
    TagFilters,
    TagPage,
    to_service_data,
)

contacts = Router(tags=["contacts"])
companies = Router(tags=["companies"])
custom_fields = Router(tags=["custom fields"])
tags = Router(tags=["tags"])
# Records written in bulk go through the same schemas, checks and services as one by one.
CONTACTS = bulk.Kind("contact", ContactIn, ContactPatch, services.create_contact,
                     services.update_contact, bulk.owned(services.get_contact, "contacts"),
                     "contacts.add", "contacts.change", to_service_data)
COMPANIES = bulk.Kind("company", CompanyIn, CompanyPatch, services.create_company,
                      services.update_company, bulk.owned(services.get_company, "companies"),
                      "companies.add", "companies.change", to_service_data)

TAG_ORDERINGS = {"name": Lower("name"), "created_at": "created_at"}
CUSTOM_FIELD_ORDERINGS = {"position": "position", "key": "key", "label": Lower("label"),
                          "created_at": "created_at"}


def _page(queryset, ordering, params) -> dict:
    items, next_cursor = paginate(queryset, ordering, cursor=params.cursor,
                                  limit=clamp_limit(params.limit))
    return {"items": items, "next": next_cursor}


# Contacts


def _contact_rows():
    """Contacts with everything ContactOut shows, loaded in a fixed number of queries."""
    return Contact.objects.prefetch_related(
        "emails", "phones", Prefetch("tag_links", ContactTag.objects.select_related("tag")),
    )


def _with_lists(page: list[Contact]) -> list[Contact]:
    """The page's contacts holding the e-mails, phones and tag links ContactOut shows,
    read in three queries as `_contact_rows` reads them. Django's prefetch builds a
    queryset for every contact of the page before it hands the rows out, which cost a
    list more than its queries did; here each contact gets its rows as a list."""
    ids = [contact.pk for contact in page]
    lists = {name: defaultdict(list) for name in ("emails", "phones", "tag_links")}
    for name, rows in (("emails", ContactEmail.objects.filter(contact_id__in=ids)),
                       ("phones", ContactPhone.objects.filter(contact_id__in=ids)),
                       ("tag_links", ContactTag.objects.filter(contact_id__in=ids)
                        .select_related("tag"))):
        for row in rows:
            lists[name][row.contact_id].append(row)
    for contact in page:
        contact._prefetched_objects_cache = {name: found.get(contact.pk, [])
                                             for name, found in lists.items()}
    return page


def _contact_detail(contact_id: int) -> Contact:
    contact = _contact_rows().prefetch_related(
        Prefetch("affiliations", Affiliation.objects.select_related("company"))
    ).filter(pk=contact_id).first()
    if contact is None:
        raise NotFound("No contact with this id.")
    return contact


def _visible_contact(request, contact_id: int) -> Contact:
    return require_visible(request.membership, services.get_contact(contact_id), "contacts")


@contacts.get("", response=ContactPage, summary="List contacts")
def list_contacts(request: HttpRequest, filters: Query[ContactFilters]):
    allow(request, "contacts.view")
    check_parameter_names(request.GET, Entity.CONTACT)
    orderings = contact_orderings(request.membership) | custom_field_orderings(Entity.CONTACT,
                                                           viewer=request.membership)
    refuse_encrypted_ordering(filters.ordering, Entity.CONTACT, request.membership)
    ordering = parse_ordering(filters.ordering, orderings, "name")
    contacts = visible(Contact.objects.all(), request.membership, "contacts")
    page = _page(filter_contacts(contacts, request.GET, viewer=request.membership), ordering,
                 filters)
    return {**page, "items": _with_lists(page["items"])}


@contacts.post("/bulk", response=RecordsBulkOut,
               summary="Create or change up to 1,000 contacts, with a result for each")
def bulk_contacts(request: HttpRequest, payload: RecordsBulkIn):
    return bulk.run_bulk(request, CONTACTS, payload.items)


@contacts.post("", response={201: ContactCreatedOut}, summary="Create a contact")
def create_contact(request: HttpRequest, payload: ContactIn):
    allow(request, "contacts.add")
    refuse_hidden("contact", request.membership, payload.custom_fields)
    contact = services.create_contact(request.organization, request.user,
                                      data=to_service_data(payload))
    detail = _contact_detail(contact.pk)
    detail.possible_duplicates = duplicates.as_api_items(detail, request.membership)
    return Status(201, detail)


# A merged contact's id answers 301 with the survivor's address; see merge_api.


@contacts.get("/{contact_id}", response=ContactDetailOut, summary="Read a contact")
def read_contact(request: HttpRequest, contact_id: int):
    allow(request, "contacts.view")
    merge.raise_if_merged(Contact, contact_id, request.membership)
    return require_visible(request.membership, _contact_detail(contact_id), "contacts")


@contacts.patch("/{contact_id}", response=ContactDetailOut, summary="Change a contact")
def update_contact(request: HttpRequest, contact_id: int, payload: ContactPatch):
    allow(request, "contacts.change")
    merge.raise_if_merged(Contact, contact_id, request.membership)
    contact = _visible_contact(request, contact_id)
    refuse_hidden("contact", request.membership, payload.custom_fields)
    services.update_contact(request.organization, request.user, contact,
                            data=to_service_data(payload), expected_version=payload.version)
    return _contact_detail(contact_id)


@contacts.delete("/{contact_id}", response={204: None}, summary="Move a contact to the trash")
def delete_contact(request: HttpRequest, contact_id: int, version: int | None = None):
    allow(request, "contacts.delete")
    merge.raise_if_merged(Contact, contact_id, request.membership)
    contact = _visible_contact(request, contact_id)
    services.delete_contact(request.organization, request.user, contact,
                            expected_version=version)
    return Status(204, None)


@contacts.post("/{contact_id}/restore", response=ContactDetailOut,
               summary="Bring a contact back from the trash")
def restore_contact(request: HttpRequest, contact_id: int):
    allow(request, "trash.restore")
    contact = require_visible(request.membership,
                              services.get_contact(contact_id, with_deleted=True), "contacts")
    services.restore_contact(request.organization, request.user, contact)
    return _contact_detail(contact_id)


@contacts.get("/{contact_id}/history", response=HistoryPage,
              summary="A contact's field history")
def contact_history(request: HttpRequest, contact_id: int, params: Query[HistoryParams]):
    allow(request, "contacts.view")
    contact = _visible_contact(request, contact_id)
    return history_page("contact", contact.pk, params)


@contacts.get("/{contact_id}/consents", response=ConsentPage,
              summary="A contact's current consent per channel and purpose")
def list_consents(request: HttpRequest, contact_id: int):
    allow(request, "contacts.view")
    contact = _visible_contact(request, contact_id)
    return {"items": services.current_consents(contact), "next": None}


@contacts.post("/{contact_id}/consents", response={201: ConsentOut},
               summary="Record consent given or withdrawn")
def record_consent(request: HttpRequest, contact_id: int, payload: ConsentIn):
    allow(request, "contacts.change")
    contact = _visible_contact(request, contact_id)
    consent = services.record_consent(request.organization, request.user, contact,
                                      **payload.model_dump())
    return Status(201, consent)


# Companies


def _company_rows():
    return Company.objects.prefetch_related(
        Prefetch("tag_links", CompanyTag.objects.select_related("tag"))
    )


def _visible_company(request, company_id: int) -> Company:
    return require_visible(request.membership, services.get_company(company_id), "companies")


@companies.get("", response=CompanyPage, summary="List companies")
def list_companies(request: HttpRequest, filters: Query[CompanyFilters]):
    allow(request, "companies.view")
    check_parameter_names(request.GET, Entity.COMPANY)
    orderings = COMPANY_ORDERINGS | custom_field_orderings(Entity.COMPANY,
                                                           viewer=request.membership)
    refuse_encrypted_ordering(filters.ordering, Entity.COMPANY, request.membership)
    ordering = parse_ordering(filters.ordering, orderings, "name")
    companies = visible(_company_rows(), request.membership, "companies")
    return _page(filter_companies(companies, request.GET, viewer=request.membership),
                 ordering, filters)


@companies.post("/bulk", response=RecordsBulkOut,
                summary="Create or change up to 1,000 companies, with a result for each")
def bulk_companies(request: HttpRequest, payload: RecordsBulkIn):
    return bulk.run_bulk(request, COMPANIES, payload.items)


@companies.post("", response={201: CompanyCreatedOut}, summary="Create a company")
def create_company(request: HttpRequest, payload: CompanyIn):
    allow(request, "companies.add")
    refuse_hidden("company", request.membership, payload.custom_fields)
    company = services.create_company(request.organization, request.user,
                                      data=to_service_data(payload))
    company.possible_duplicates = duplicates.as_api_items(company, request.membership)
    return Status(201, company)


@companies.get("/{company_id}", response=CompanyOut, summary="Read a company")
def read_company(request: HttpRequest, company_id: int):
    allow(request, "companies.view")
    merge.raise_if_merged(Company, company_id, request.membership)
    return require_visible(request.membership, services.get_company(company_id), "companies")


@companies.patch("/{company_id}", response=CompanyOut, summary="Change a company")
def update_company(request: HttpRequest, company_id: int, payload: CompanyPatch):
    allow(request, "companies.change")
    merge.raise_if_merged(Company, company_id, request.membership)
    company = _visible_company(request, company_id)
    refuse_hidden("company", request.membership, payload.custom_fields)
    return services.update_company(request.organization, request.user, company,
                                   data=to_service_data(payload),
                                   expected_version=payload.version)


@companies.delete("/{company_id}", response={204: None}, summary="Move a company to the trash")
def delete_company(request: HttpRequest, company_id: int, version: int | None = None):
    allow(request, "companies.delete")
    merge.raise_if_merged(Company, company_id, request.membership)
    company = _visible_company(request, company_id)
    services.delete_company(request.organization, request.user, company,
                            expected_version=version)
    return Status(204, None)


@companies.post("/{company_id}/restore", response=CompanyOut,
                summary="Bring a company back from the trash")
def restore_company(request: HttpRequest, company_id: int):
    allow(request, "trash.restore")
    company = require_visible(request.membership,
                              services.get_company(company_id, with_deleted=True), "companies")
    return services.restore_company(request.organization, request.user, company)


@companies.get("/{company_id}/history", response=HistoryPage,
               summary="A company's field history")
def company_history(request: HttpRequest, company_id: int, params: Query[HistoryParams]):
    allow(request, "companies.view")
    company = _visible_company(request, company_id)
    return history_page("company", company.pk, params)


# Tags and custom field definitions


@tags.get("", response=TagPage, summary="List tags")
def list_tags(request: HttpRequest, filters: Query[TagFilters]):
    allow(request, "tags.view")
    ordering = parse_ordering(filters.ordering, TAG_ORDERINGS, "name")
    queryset = Tag.objects.all()
    # Tags have no folded search text, so each word matches case-insensitively
    # but with its accents as typed.
    for word in (filters.q or "").split():
        queryset = queryset.filter(name__icontains=word)
    return _page(queryset, ordering, filters)


@custom_fields.get("", response=CustomFieldPage, summary="List custom field definitions")
def list_custom_fields(request: HttpRequest, filters: Query[CustomFieldFilters]):
    allow(request, "custom_fields.view")
    ordering = parse_ordering(filters.ordering, CUSTOM_FIELD_ORDERINGS, "position")
    queryset = CustomField.objects.all()
    queryset = queryset.exclude(pk__in=hidden_field_ids(request.membership))
    if filters.entity:
        queryset = queryset.filter(entity=filters.entity)
    if filters.is_active is not None:
        queryset = queryset.filter(is_active=filters.is_active)
    for word in (filters.q or "").split():
        queryset = queryset.filter(label__icontains=word)
    return _page(queryset, ordering, filters)


@custom_fields.get("/{field_id}", response=CustomFieldOut,
                   summary="Read a custom field definition")
def read_custom_field(request: HttpRequest, field_id: int):
    allow(request, "custom_fields.view")
    field = CustomField.objects.filter(pk=field_id).first()
    if field is None or not may_see(request.membership, field):
        raise NotFound("No custom field with this id.")
    return field


@custom_fields.patch("/{field_id}", response=CustomFieldOut,
                     summary="Change a custom field definition")
def update_custom_field(request: HttpRequest, field_id: int, payload: CustomFieldPatch):
    """Changing `encrypted` re-stores the field's existing values in the background."""
    allow(request, "custom_fields.manage")
    field = services.get_custom_field(field_id)
    changes = payload.model_dump(exclude_unset=True, exclude={"version"})
    data = {name: getattr(field, name) for name in services.CUSTOM_FIELD_AUDITED} | changes
    return services.update_custom_field(request.organization, request.user, field, data=data,
                                        expected_version=payload.version)
