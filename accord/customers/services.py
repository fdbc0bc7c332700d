"""Every write to companies and contacts, as verbs.

Each service takes the organisation and the acting user first, validates its
input through `validation`, checks `expected_version` where the caller saw a
version, writes the change and its audit entry in one transaction, and adds
system events to the record's timeline.
"""

import datetime as dt
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.text import slugify

from accord import events, search
from accord.activities import services as timeline
from accord.audit import services as audit
from accord.audit.models import Action
from accord.errors import InvalidInput, NotFound, NotPermitted, StaleVersion
from accord.search import build_search_text, phone_words

from . import duplicates
from .custom_fields import FIELD_KEY, clean_field_label, clean_field_settings
from .models import (
    Affiliation,
    Company,
    CompanyTag,
    Consent,
    Contact,
    ContactEmail,
    ContactPhone,
    ContactTag,
    CustomField,
    Entity,
    FieldType,
    LifecycleChange,
    SavedView,
    Tag,
    consents_in_effect,
)
from .phones import national_digits
from .validation import clean_company, clean_contact, consent_time_problem

logger = logging.getLogger(__name__)

CONTACT_FIELDS = [
    "first_name", "last_name", "title", "email", "phone", "company", "owner",
    "lifecycle_stage", "source", "street", "city", "region", "postal_code", "country",
    "birthday", "time_zone", "do_not_contact", "custom_fields",
]
COMPANY_FIELDS = [
    "name", "domain", "website", "industry", "size", "employees", "annual_revenue",
    "currency", "phone", "description", "parent", "owner", "source", "street", "city",
    "region", "postal_code", "country", "custom_fields",
]


def get_contact(contact_id, *, with_deleted: bool = False) -> Contact:
    """The contact with this id in the current organisation, or ContactNotFound.

    A contact merged into another is never found here, trash or not.
    """
    manager = Contact.with_deleted if with_deleted else Contact.objects
    contact = _get(manager.filter(merged_into__isnull=True), contact_id)
    if contact is None:
        raise NotFound("No contact with this id.")
    return contact


def contact_with_address(address: str) -> Contact | None:
    """The live contact with this e-mail address as its primary one, else as another of
    theirs, oldest first; None for a blank address or when no one has it."""
    address = (address or "").strip()
    if not address:
        return None
    contact = Contact.objects.filter(email__iexact=address).order_by("pk").first()
    if contact is None:
        other = (ContactEmail.objects.filter(address__iexact=address,
                                             contact__deleted_at__isnull=True,
                                             contact__merged_into__isnull=True)
                 .order_by("contact_id").first())
        contact = other.contact if other is not None else None
    return contact


def get_company(company_id, *, with_deleted: bool = False) -> Company:
    manager = Company.with_deleted if with_deleted else Company.objects
    company = _get(manager.filter(merged_into__isnull=True), company_id)
    if company is None:
        raise NotFound("No company with this id.")
    return company


def _get(manager, pk):
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        return None
    return manager.select_related("owner").filter(pk=pk).first()


def _check_version(record, expected_version: int | None) -> None:
    if expected_version is not None and int(expected_version) != record.version:
        raise StaleVersion(current_version=record.version)


def _tag_names(record) -> list[str]:
    return sorted(link.tag.name for link in record.tag_links.select_related("tag"))


def _contact_search_text(contact: Contact) -> str:
    return contact_search_text(contact, [email.address for email in contact.emails.all()],
                               [(phone.number, phone.raw) for phone in contact.phones.all()])


def contact_search_text(contact: Contact, emails: list[str],
                        phones: list[tuple[str, str]]) -> str:
    """The search text of `contact` with these addresses and (number, raw) phones, for
    writers that hold them without the contact's e-mail and phone rows."""
    # The company is left out: lists match it through the companies the reader
    # sees (`queries.search_with_company`), so a hidden company's name finds no
    # contact and a renamed company needs no contact written again.
    numbers = [number for e164, raw in phones
               for number in (e164, raw, national_digits(e164))]
    return " ".join(filter(None, [
        build_search_text(contact.first_name, contact.last_name, *(emails or [contact.email]),
                          contact.title),
        *phone_words(*(numbers or [contact.phone])),
    ]))


def _company_search_text(company: Company) -> str:
    return " ".join(filter(None, [
        build_search_text(company.name, company.domain, company.city),
        *phone_words(company.phone, national_digits(company.phone)),
    ]))


search.register(
    Contact, "contacts", text_of=_contact_search_text,
    live=lambda contacts: contacts.filter(deleted_at__isnull=True, merged_into__isnull=True)
    .prefetch_related("emails", "phones"),
    sorted_words=("first_name", "last_name"),
)
search.register(
    Company, "companies", text_of=_company_search_text,
    live=lambda companies: companies.filter(deleted_at__isnull=True, merged_into__isnull=True),
    sorted_words=("name",),
)


# Contacts


@transaction.atomic
def create_contact(org, actor, *, data: dict) -> Contact:
    """Create a contact from plain input; raises InvalidInput naming each bad field."""
    values = clean_contact(org, data)
    tags = values.pop("tags", None)
    emails = values.pop("emails", None)
    phones = values.pop("phones", None)
    primary_email = values.pop("primary_email", None)
    primary_phone = values.pop("primary_phone", None)

    contact = Contact(organization=org, **values)
    if "owner" not in values and getattr(actor, "pk", None):
        contact.owner = actor
    contact.save()
    if emails is None and primary_email:
        emails = [{"address": primary_email, "kind": "work", "label": "", "is_primary": True}]
    if phones is None and primary_phone:
        phones = [{**primary_phone, "kind": "mobile", "label": "", "is_primary": True}]
    _replace_emails(org, contact, emails or [])
    _replace_phones(org, contact, phones or [])
    if tags:
        _set_tags(org, contact, tags, ContactTag, "contact")
    if contact.company_id:
        Affiliation.objects.get_or_create(
            organization=org, contact=contact, company=contact.company,
            defaults={"title": contact.title, "is_primary": True},
        )
    LifecycleChange.objects.create(
        organization=org, contact=contact, from_stage="", to_stage=contact.lifecycle_stage,
        changed_by=actor if getattr(actor, "pk", None) else None,
    )
    search.reindex(Contact, [contact.pk])

    after = audit.snapshot(contact, CONTACT_FIELDS)
    after["tags"] = tags or []
    audit.record(org, actor, Action.CREATE, contact, changes=audit.diff({}, after))
    events.emit(org, actor, "contact.created", contact, data=contact_event_data(contact))
    timeline.log_event(org, actor, "contact.created", contact=contact,
                       company=contact.company)
    duplicates.find_duplicates_for(org, Contact, [contact.pk])
    logger.info("contact.created", extra={"organization_id": org.id, "contact_id": contact.pk})
    return contact


@transaction.atomic
def update_contact(org, actor, contact: Contact, *, data: dict,
                   expected_version: int | None = None) -> Contact:
    """Apply a partial update; StaleVersion when someone saved since `expected_version`."""
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    _check_version(contact, expected_version)
    values = clean_contact(org, data, current=contact)
    tags = values.pop("tags", None)
    emails = values.pop("emails", None)
    phones = values.pop("phones", None)
    primary_email = values.pop("primary_email", None)
    primary_phone = values.pop("primary_phone", "unchanged")

    before = audit.snapshot(contact, CONTACT_FIELDS)
    before_tags = _tag_names(contact)
    before_channels = _channels(contact)
    old_stage = contact.lifecycle_stage
    old_company_id = contact.company_id
    for field, value in values.items():
        setattr(contact, field, value)
    if emails is not None:
        _replace_emails(org, contact, emails)
    elif primary_email is not None:
        _set_primary_email(org, contact, primary_email)
    if phones is not None:
        _replace_phones(org, contact, phones)
    elif primary_phone != "unchanged":
        _set_primary_phone(org, contact, primary_phone)
    if tags is not None:
        _set_tags(org, contact, tags, ContactTag, "contact")
    if contact.company_id and contact.company_id != old_company_id:
        Affiliation.objects.filter(contact=contact).update(is_primary=False)
        affiliation, _ = Affiliation.objects.get_or_create(
            organization=org, contact=contact, company=contact.company,
            defaults={"title": contact.title},
        )
        Affiliation.objects.filter(pk=affiliation.pk).update(is_primary=True)

    after = audit.snapshot(contact, CONTACT_FIELDS)
    changes = audit.diff(before, after)
    if tags is not None and sorted(tags) != before_tags:
        changes["tags"] = [before_tags, sorted(tags)]
    changes.update(audit.diff(before_channels, _channels(contact)))
    if not changes:
        return contact
    contact.version = F("version") + 1
    contact.save()
    contact.refresh_from_db()
    search.reindex(Contact, [contact.pk])
    audit.record(org, actor, Action.UPDATE, contact, changes=changes)
    events.emit(org, actor, "contact.updated", contact,
                data={**contact_event_data(contact), "changed": sorted(changes)})
    if contact.lifecycle_stage != old_stage:
        LifecycleChange.objects.create(
            organization=org, contact=contact, from_stage=old_stage,
            to_stage=contact.lifecycle_stage,
            changed_by=actor if getattr(actor, "pk", None) else None,
        )
        timeline.log_event(
            org, actor, "contact.stage_changed", contact=contact, company=contact.company,
            data={"from": old_stage, "to": contact.lifecycle_stage},
        )
    return contact


def contact_event_data(contact: Contact) -> dict:
    """The plain facts an event about a contact carries: ids and the main fields."""
    return {
        "id": contact.pk, "first_name": contact.first_name, "last_name": contact.last_name,
        "email": contact.email, "phone": contact.phone, "company_id": contact.company_id,
        "owner_id": contact.owner_id, "lifecycle_stage": contact.lifecycle_stage,
    }


def _company_event(company: Company) -> dict:
    return {
        "id": company.pk, "name": company.name, "domain": company.domain,
        "owner_id": company.owner_id, "parent_id": company.parent_id,
    }


def _channels(contact: Contact) -> dict:
    """Every e-mail and phone with its type, as the audit trail shows them."""
    return {
        "emails": [f"{e.address} ({e.kind})" for e in contact.emails.all()],
        "phones": [f"{p.raw} ({p.kind})" for p in contact.phones.all()],
    }


def _replace_emails(org, contact: Contact, emails: list[dict]) -> None:
    contact.emails.all().delete()
    ContactEmail.objects.bulk_create(
        ContactEmail(organization=org, contact=contact, **email) for email in emails
    )
    contact.email = emails[0]["address"] if emails else ""


def _set_primary_email(org, contact: Contact, address: str) -> None:
    emails = list(contact.emails.all())
    rest = [
        {"address": e.address, "kind": e.kind, "label": e.label, "is_primary": False}
        for e in emails if not e.is_primary and e.address.lower() != address.lower()
    ]
    kept = next((e for e in emails if e.is_primary), None)
    first = [{"address": address, "kind": kept.kind if kept else "work",
              "label": kept.label if kept else "", "is_primary": True}] if address else []
    _replace_emails(org, contact, first + rest)


def _replace_phones(org, contact: Contact, phones: list[dict]) -> None:
    contact.phones.all().delete()
    ContactPhone.objects.bulk_create(
        ContactPhone(organization=org, contact=contact, **phone) for phone in phones
    )
    contact.phone = (phones[0]["number"] or phones[0]["raw"]) if phones else ""


def _set_primary_phone(org, contact: Contact, phone: dict | None) -> None:
    phones = list(contact.phones.all())
    rest = [
        {"raw": p.raw, "number": p.number, "extension": p.extension, "kind": p.kind,
         "label": p.label, "is_primary": False}
        for p in phones if not p.is_primary
    ]
    kept = next((p for p in phones if p.is_primary), None)
    first = [{**phone, "kind": kept.kind if kept else "mobile",
              "label": kept.label if kept else "", "is_primary": True}] if phone else []
    _replace_phones(org, contact, first + rest)


def _set_tags(org, record, names: list[str], link_model, link_field: str) -> None:
    existing = {tag.name.lower(): tag for tag in Tag.objects.all()}
    tags = []
    for name in names:
        tag = existing.get(name.lower())
        if tag is None:
            tag = Tag.objects.create(organization=org, name=name)
            existing[name.lower()] = tag
        tags.append(tag)
    link_model.objects.filter(**{link_field: record}).exclude(tag__in=tags).delete()
    have = set(
        link_model.objects.filter(**{link_field: record}).values_list("tag_id", flat=True)
    )
    link_model.objects.bulk_create(
        link_model(organization=org, tag=tag, **{link_field: record})
        for tag in tags if tag.pk not in have
    )


@transaction.atomic
def delete_contact(org, actor, contact: Contact, *, expected_version: int | None = None) -> None:
    """Move a contact to the trash; it can be restored for TRASH_RETENTION_DAYS."""
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    _check_version(contact, expected_version)
    Contact.unscoped.filter(pk=contact.pk).update(deleted_at=timezone.now())
    search.reindex(Contact, [contact.pk])
    audit.record(org, actor, Action.DELETE, contact)
    events.emit(org, actor, "contact.deleted", contact, data={"id": contact.pk})


@transaction.atomic
def restore_contact(org, actor, contact: Contact) -> Contact:
    if contact.deleted_at is None:
        return contact
    Contact.unscoped.filter(pk=contact.pk).update(deleted_at=None, version=F("version") + 1)
    search.reindex(Contact, [contact.pk])
    audit.record(org, actor, Action.RESTORE, contact)
    return get_contact(contact.pk)


@transaction.atomic
def record_consent(org, actor, contact: Contact, *, channel: str, purpose: str, status: str,
                   method: str, recorded_at: dt.datetime | None = None,
                   evidence: str = "") -> Consent:
    """Append a consent event; the newest per channel and purpose is the current state.

    Raises InvalidInput for a time ahead of the clock or before 1990.
    """
    now = timezone.now()
    problem = consent_time_problem(recorded_at or now, now)
    if problem:
        raise InvalidInput({"recorded_at": problem})
    # A time a few minutes ahead is a fast clock and is stored as now, so no
    # row waits in the future to outrank a withdrawal recorded meanwhile.
    consent = Consent(
        organization=org, contact=contact, channel=channel, purpose=purpose, status=status,
        method=method, recorded_at=min(recorded_at or now, now), evidence=evidence,
        recorded_by=actor if getattr(actor, "pk", None) else None,
    )
    try:
        consent.full_clean(exclude=["organization", "contact", "recorded_by"])
    except ValidationError as exc:
        raise InvalidInput({
            field: " ".join(str(message) for message in messages)
            for field, messages in exc.message_dict.items()
        }) from None
    consent.save()
    audit.record(org, actor, Action.UPDATE, contact, changes={
        f"consent.{channel}.{purpose}": [None, status],
    })
    return consent


def current_consents(contact: Contact) -> list[Consent]:
    """The latest consent event in effect per channel and purpose."""
    latest: dict[tuple[str, str], Consent] = {}
    for consent in consents_in_effect(contact.consents.all()).order_by("-recorded_at", "-id"):
        latest.setdefault((consent.channel, consent.purpose), consent)
    return sorted(latest.values(), key=lambda c: (c.channel, c.purpose))


@transaction.atomic
def add_affiliation(org, actor, contact: Contact, company: Company, *, title: str = "",
                    is_primary: bool = False) -> Affiliation:
    affiliation, created = Affiliation.objects.get_or_create(
        organization=org, contact=contact, company=company, defaults={"title": title},
    )
    if not created and affiliation.title != title:
        affiliation.title = title
        affiliation.save(update_fields=["title"])
    if is_primary:
        update_contact(org, actor, contact, data={"company": company})
    audit.record(org, actor, Action.UPDATE, contact,
                 changes={"affiliations": [None, f"{company.name}: {title}".strip(": ")]})
    return affiliation


@transaction.atomic
def remove_affiliation(org, actor, affiliation: Affiliation) -> None:
    contact = affiliation.contact
    label = f"{affiliation.company.name}: {affiliation.title}".strip(": ")
    affiliation.delete()
    if contact.company_id == affiliation.company_id:
        update_contact(org, actor, contact, data={"company": None})
    audit.record(org, actor, Action.UPDATE, contact, changes={"affiliations": [label, None]})


# Companies


@transaction.atomic
def create_company(org, actor, *, data: dict) -> Company:
    values = clean_company(org, data)
    tags = values.pop("tags", None)

    company = Company(organization=org, **values)
    if "owner" not in values and getattr(actor, "pk", None):
        company.owner = actor
    company.save()
    search.reindex(Company, [company.pk])
    if tags:
        _set_tags(org, company, tags, CompanyTag, "company")

    after = audit.snapshot(company, COMPANY_FIELDS)
    after["tags"] = tags or []
    audit.record(org, actor, Action.CREATE, company, changes=audit.diff({}, after))
    events.emit(org, actor, "company.created", company, data=_company_event(company))
    timeline.log_event(org, actor, "company.created", company=company)
    duplicates.find_duplicates_for(org, Company, [company.pk])
    logger.info("company.created", extra={"organization_id": org.id, "company_id": company.pk})
    return company


@transaction.atomic
def update_company(org, actor, company: Company, *, data: dict,
                   expected_version: int | None = None) -> Company:
    company = Company.objects.select_for_update().get(pk=company.pk)
    _check_version(company, expected_version)
    values = clean_company(org, data, current=company)
    tags = values.pop("tags", None)

    before = audit.snapshot(company, COMPANY_FIELDS)
    before_tags = _tag_names(company)
    for field, value in values.items():
        setattr(company, field, value)
    if tags is not None:
        _set_tags(org, company, tags, CompanyTag, "company")

    changes = audit.diff(before, audit.snapshot(company, COMPANY_FIELDS))
    if tags is not None and sorted(tags) != before_tags:
        changes["tags"] = [before_tags, sorted(tags)]
    if not changes:
        return company
    company.version = F("version") + 1
    company.save()
    company.refresh_from_db()
    search.reindex(Company, [company.pk])
    audit.record(org, actor, Action.UPDATE, company, changes=changes)
    events.emit(org, actor, "company.updated", company,
                data={**_company_event(company), "changed": sorted(changes)})
    return company


@transaction.atomic
def delete_company(org, actor, company: Company, *, expected_version: int | None = None) -> None:
    company = Company.objects.select_for_update().get(pk=company.pk)
    _check_version(company, expected_version)
    Company.unscoped.filter(pk=company.pk).update(deleted_at=timezone.now())
    search.reindex(Company, [company.pk])
    audit.record(org, actor, Action.DELETE, company)
    events.emit(org, actor, "company.deleted", company, data={"id": company.pk})


@transaction.atomic
def restore_company(org, actor, company: Company) -> Company:
    if company.deleted_at is None:
        return company
    Company.unscoped.filter(pk=company.pk).update(deleted_at=None, version=F("version") + 1)
    search.reindex(Company, [company.pk])
    audit.record(org, actor, Action.RESTORE, company)
    return get_company(company.pk)


def purge_expired_trash(org, *, now: dt.datetime | None = None) -> int:
    """Delete for good the records that have been in the trash past retention."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.TRASH_RETENTION_DAYS)
    purged = 0
    for model in (Contact, Company):
        for record in model.with_deleted.filter(deleted_at__lt=cutoff):
            with transaction.atomic():
                audit.record(org, None, Action.PURGE, record)
                record_id = record.pk
                record.delete()
                search.reindex(model, [record_id])
                purged += 1
    return purged


# Bulk changes


BULK_LIMIT = 500  # one list page at its largest; a few seconds of writes at most
BULK_ACTIONS = ("add_tag", "remove_tag", "assign_owner", "set_stage", "trash")


@transaction.atomic
def bulk_change(org, actor, model, ids: list, *, action: str, value=None) -> int:
    """Apply one change to every listed contact or company, all or nothing.

    Each record goes through the same single-record service as a form edit,
    so versions, history and audit entries are written per record. Raises
    NotFound when any id is not a live record of this organisation, and
    InvalidInput for an unknown action, a missing value or too many ids.
    Returns how many records were changed.
    """
    if action not in BULK_ACTIONS or (action == "set_stage" and model is not Contact):
        raise InvalidInput({"action": "Choose one of the offered actions."})
    if action in ("add_tag", "remove_tag", "set_stage") and not str(value or "").strip():
        raise InvalidInput({"value": "Give a value for this action."})
    try:
        wanted = {int(pk) for pk in ids}
    except (TypeError, ValueError):
        raise NotFound("No record with this id.") from None
    if not wanted:
        raise InvalidInput({"ids": "Select at least one record."})
    if len(wanted) > BULK_LIMIT:
        raise InvalidInput({"ids": f"Select at most {BULK_LIMIT} records at a time."})
    records = list(model.objects.filter(pk__in=wanted).order_by("pk"))
    if len(records) != len(wanted):
        raise NotFound("No record with this id.")

    is_contact = model is Contact
    update = update_contact if is_contact else update_company
    delete = delete_contact if is_contact else delete_company
    for record in records:
        if action == "trash":
            delete(org, actor, record)
        elif action == "add_tag":
            update(org, actor, record, data={"tags": _tag_names(record) + [value.strip()]})
        elif action == "remove_tag":
            kept = [name for name in _tag_names(record)
                    if name.lower() != value.strip().lower()]
            update(org, actor, record, data={"tags": kept})
        elif action == "assign_owner":
            update(org, actor, record, data={"owner": value or None})
        else:
            update(org, actor, record, data={"lifecycle_stage": value})
    logger.info("customers.bulk_changed", extra={
        "organization_id": org.id, "entity": model._meta.model_name, "action": action,
        "count": len(records),
    })
    return len(records)


# Saved views


def visible_saved_views(actor, entity: str | None = None):
    """The actor's own views and everyone's shared ones, in the current organisation."""
    views = SavedView.objects.filter(Q(owner=actor) | Q(is_shared=True))
    if entity is not None:
        views = views.filter(entity=entity)
    return views.order_by("name", "id")


@transaction.atomic
def save_view(org, actor, *, entity: str, name: str, query: str, columns: list[str],
              is_shared: bool = False) -> SavedView:
    """Store a list's filters, sort and columns under a name; InvalidInput for a bad name."""
    name = (name or "").strip()
    if not name:
        raise InvalidInput({"name": "Give the view a name."})
    if len(name) > 80:
        raise InvalidInput({"name": "Keep the name under 80 characters."})
    if len(query) > 2000:
        raise InvalidInput({"query": "This view has too many filters to save."})
    view = SavedView.objects.create(
        organization=org, owner=actor, entity=entity, name=name, query=query,
        columns=[str(column) for column in columns][:50], is_shared=is_shared,
    )
    logger.info("saved_view.created", extra={"organization_id": org.id, "view_id": view.pk})
    return view


def get_saved_view(actor, view_id) -> SavedView:
    """A view the actor may see; NotFound for another user's private view."""
    view = _get(visible_saved_views(actor), view_id)
    if view is None:
        raise NotFound("No saved view with this id.")
    return view


def delete_saved_view(org, actor, view: SavedView, *, may_manage_shared: bool) -> None:
    """Only the view's owner, or someone who manages shared views, deletes it."""
    if view.owner_id != actor.pk and not (view.is_shared and may_manage_shared):
        raise NotPermitted("Only the person who saved this view can delete it.")
    view_id = view.pk
    view.delete()
    logger.info("saved_view.deleted", extra={"organization_id": org.id, "view_id": view_id})


# Custom field definitions


CUSTOM_FIELD_AUDITED = ["label", "choices", "currency", "required", "help_text", "position",
                        "is_active", "hidden_from_roles", "encrypted"]


def get_custom_field(field_id) -> CustomField:
    """The organisation's field definition `field_id`; NotFound for any other."""
    try:
        field = CustomField.objects.filter(pk=int(field_id)).first()
    except (TypeError, ValueError):
        field = None
    if field is None:
        raise NotFound("No custom field with this id.")
    return field


def custom_field_key(data: dict) -> str:
    """The key a new field gets: the one given, else one made from its label."""
    return ((data.get("key") or "").strip().lower()
            or slugify((data.get("label") or "").strip()).replace("-", "_"))


def clean_custom_field(data: dict) -> dict:
    """The checked definition of a new custom field; InvalidInput naming each bad value.

    `data` holds entity, key (derived from the label when empty), label,
    field_type, choices, currency, required, help_text, position,
    hidden_from_roles, encrypted and is_active. Call inside the tenant scope:
    a key another field of the record type uses is refused.
    """
    errors: dict[str, str] = {}
    entity = data.get("entity")
    if entity not in Entity.values:
        errors["entity"] = "Choose one of: " + ", ".join(Entity.values) + "."
    field_type = data.get("field_type")
    if field_type not in FieldType.values:
        errors["field_type"] = ("Choose one of the field types: " + ", ".join(FieldType.values)
                                + ".")
    label = clean_field_label(data.get("label"), errors)
    key = custom_field_key(data)
    if not FIELD_KEY.match(key):
        errors["key"] = ("Use lower-case letters, digits and underscores, starting with a "
                         "letter (at most 50 characters).")
    elif entity and CustomField.objects.filter(entity=entity, key=key).exists():
        errors["key"] = "Another field of this record type uses this key already."
    options = clean_field_settings(field_type, data, errors)
    if errors:
        raise InvalidInput(errors)
    if data.get("position") in (None, ""):
        last = CustomField.objects.filter(entity=entity).order_by("-position").first()
        options["position"] = last.position + 1 if last else 1
    return {"entity": entity, "key": key, "label": label, "field_type": field_type,
            "encrypted": bool(data.get("encrypted")),
            "is_active": bool(data.get("is_active", True)), **options}


@transaction.atomic
def create_custom_field(org, actor, *, data: dict) -> CustomField:
    """Add a typed custom field to one record type (contacts, companies, deals, tickets).

    `data` is checked by `clean_custom_field`, which raises InvalidInput. The
    key and type are fixed from here on, because stored values depend on them.
    """
    values = clean_custom_field(data)

    field = CustomField.objects.create(organization=org, **values)
    audit.record(org, actor, Action.CREATE, field, entity="custom_field",
                 changes=audit.diff({}, {"key": field.key, "field_type": field.field_type,
                                         **audit.snapshot(field, CUSTOM_FIELD_AUDITED)}))
    logger.info("custom_field.created",
                extra={"organization_id": org.id, "custom_field_id": field.pk})
    return field


@transaction.atomic
def update_custom_field(org, actor, field: CustomField, *, data: dict,
                        expected_version: int | None = None) -> CustomField:
    """Change a field's label, choices, currency, required flag, help text, order or
    encryption.

    Marking a field encrypted, or no longer encrypted, queues a job that
    re-stores its existing values that way (`tasks.restore_custom_field_values`);
    until it has run, records keep working, as values are read in either form.
    Raises StaleVersion when `expected_version` is not the field's version.
    """
    _check_version(field, expected_version)
    errors: dict[str, str] = {}
    label = clean_field_label(data.get("label"), errors)
    options = clean_field_settings(field.field_type, data, errors)
    if errors:
        raise InvalidInput(errors)

    before = audit.snapshot(field, CUSTOM_FIELD_AUDITED)
    field.label = label
    for name, value in options.items():
        setattr(field, name, value)
    encrypted = bool(data.get("encrypted", field.encrypted))
    restore = encrypted != field.encrypted
    field.encrypted = encrypted
    field.save_new_version()
    audit.record(org, actor, Action.UPDATE, field, entity="custom_field",
                 changes=audit.diff(before, audit.snapshot(field, CUSTOM_FIELD_AUDITED)))
    if restore:
        from .tasks import restore_custom_field_values

        transaction.on_commit(lambda: restore_custom_field_values.delay(org.pk, field.pk))
        logger.info("custom_field.encryption_changed", extra={
            "organization_id": org.id, "custom_field_id": field.pk, "encrypted": encrypted})
    return field


@transaction.atomic
def set_custom_field_active(org, actor, field: CustomField, *, active: bool) -> CustomField:
    """Deactivate (hide, keeping stored values) or reactivate a custom field."""
    if field.is_active != active:
        CustomField.objects.filter(pk=field.pk).update(
            is_active=active, version=F("version") + 1, updated_at=timezone.now()
        )
        audit.record(org, actor, Action.UPDATE, field, entity="custom_field",
                     changes={"is_active": [field.is_active, active]})
        field.is_active = active
    return field
