"""Creating and trashing many contacts or companies at once, for imports.

Each function writes what its single-record service writes (the records,
their e-mails, phones, tags, company links, lifecycle start, timeline event,
audit entries, and search text built by the functions the services use) but
in a few statements per batch instead of a dozen per record. Input is
already cleaned by `validation`; call inside the tenant scope and a
transaction.
"""

from django.utils import timezone

from accord import search
from accord.activities.models import Activity, Kind
from accord.audit import services as audit
from accord.audit.context import current_channel
from accord.audit.models import Action, AuditEntry

from .duplicates import company_name_keys, contact_name_keys
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
from .services import COMPANY_FIELDS, CONTACT_FIELDS

# Rows go in through bulk_create on every database; PostgreSQL's COPY would
# load faster but is not used yet, so both databases share one tested path.

EXTRAS = ("tags", "emails", "phones", "primary_email", "primary_phone")


def create_contacts(org, actor, rows: list[dict]) -> list[Contact]:
    """Create one contact per cleaned `clean_contact` result, in the order given."""
    user = actor if getattr(actor, "pk", None) else None
    contacts, extras = [], []
    for values in rows:
        fields = {key: value for key, value in values.items() if key not in EXTRAS}
        contact = Contact(organization=org, **fields)
        if "owner" not in fields:
            contact.owner = user
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
    Contact.unscoped.bulk_create(contacts)

    now = timezone.now()
    for contact, (emails, phones, _) in zip(contacts, extras, strict=True):
        # Kept on the contact as if prefetched, so its search text is built
        # from them below without a query per contact.
        contact._prefetched_objects_cache = {
            "emails": [ContactEmail(organization=org, contact=contact, **email)
                       for email in emails],
            "phones": [ContactPhone(organization=org, contact=contact, **phone)
                       for phone in phones],
        }
    ContactEmail.unscoped.bulk_create(
        email for contact in contacts for email in contact._prefetched_objects_cache["emails"]
    )
    ContactPhone.unscoped.bulk_create(
        phone for contact in contacts for phone in contact._prefetched_objects_cache["phones"]
    )
    _link_tags(org, ContactTag, "contact",
               [(contact, tags) for contact, (_, _, tags) in zip(contacts, extras, strict=True)])
    Affiliation.unscoped.bulk_create(
        Affiliation(organization=org, contact=contact, company_id=contact.company_id,
                    title=contact.title, is_primary=True)
        for contact in contacts if contact.company_id
    )
    LifecycleChange.unscoped.bulk_create(
        LifecycleChange(organization=org, contact=contact, from_stage="",
                        to_stage=contact.lifecycle_stage, changed_by=user)
        for contact in contacts
    )
    Activity.unscoped.bulk_create(
        Activity(organization=org, kind=Kind.SYSTEM, event="contact.created", data={},
                 contact=contact, company_id=contact.company_id, occurred_at=now, author=user)
        for contact in contacts
    )
    entries = []
    for contact, (_, _, tags) in zip(contacts, extras, strict=True):
        after = audit.snapshot(contact, CONTACT_FIELDS)
        after["tags"] = tags
        entries.append(_entry(org, user, Action.CREATE, "contact", contact,
                              audit.diff({}, after)))
    AuditEntry.unscoped.bulk_create(entries)
    search.index(Contact, contacts)
    for contact in contacts:
        del contact._prefetched_objects_cache
    return contacts


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
    for company, tags in zip(companies, tag_lists, strict=True):
        after = audit.snapshot(company, COMPANY_FIELDS)
        after["tags"] = tags
        entries.append(_entry(org, user, Action.CREATE, "company", company,
                              audit.diff({}, after)))
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


def _entry(org, user, action: str, entity: str, record, changes: dict) -> AuditEntry:
    via, ip = current_channel()
    return AuditEntry(
        organization=org, actor=user, actor_label=(user.email if user else via)[:254], via=via,
        ip=ip, action=action, entity=entity, object_id=record.pk,
        object_repr=str(record)[:200], changes=audit.json_safe(changes),
    )
