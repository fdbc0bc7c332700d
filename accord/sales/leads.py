"""Every write to leads, as verbs: capture, edit, events, qualification and conversion.

`create_lead` is the one way in for every channel (the form, the API, the
public web form, later mail and imports): it cleans the input, assigns an
owner by the rules, scores the lead and notes both on its timeline.
"""

import datetime as dt
import logging
import secrets
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from accord import events, search
from accord.activities import services as timeline
from accord.activities.models import Activity, Kind
from accord.audit import services as audit
from accord.audit.models import Action
from accord.customers import services as customers
from accord.customers.duplicates import FREE_MAIL_DOMAINS, company_name_keys
from accord.customers.models import Company, CompanySize, Contact, ContactEmail
from accord.customers.phones import parse_phone
from accord.customers.validation import COUNTRY_CODES
from accord.errors import Conflict, DomainError, InvalidInput, NotFound, StaleVersion
from accord.identity.visibility import visible

from . import assignment, scoring
from .models import (
    CaptureForm,
    Deal,
    FormSubmission,
    Lead,
    LeadActivity,
    LeadEntryKind,
    LeadStatus,
)
from .models.lead import WEB_FORM_SOURCE
from .validation import member

logger = logging.getLogger(__name__)

LEAD_FIELDS = [
    "first_name", "last_name", "email", "phone", "title", "company_name", "website", "domain",
    "industry", "company_size", "country", "source", "status", "disqualify_reason", "owner",
    "description", "custom_fields",
]
TEXT_LIMITS = {
    "first_name": 100, "last_name": 100, "title": 120, "company_name": 200,
    "industry": 80, "source": 80, "description": 20000,
}
CHANNELS = ("web", "api", "web_form", "email", "import")
EDITABLE_STATUSES = (LeadStatus.NEW, LeadStatus.WORKING)
MAX_CUSTOM_FIELDS = 50  # a lead is not a spreadsheet row; more keys are a wrong mapping
EVENT_TYPE = scoring.EVENT_TYPE


def _lead_search_text(lead: Lead) -> str:
    return search.build_search_text(lead.first_name, lead.last_name, lead.email,
                                    lead.company_name, lead.domain, lead.title)


search.register(Lead, "leads", text_of=_lead_search_text,
                live=lambda leads: leads.filter(deleted_at__isnull=True))


def check_version(record, expected_version) -> None:
    if expected_version is not None and int(expected_version) != record.version:
        raise StaleVersion(current_version=record.version)


def get_lead(lead_id, *, with_deleted: bool = False) -> Lead:
    """The lead with this id in the current organisation, or NotFound."""
    manager = Lead.with_deleted if with_deleted else Lead.objects
    try:
        lead = manager.select_related("owner").filter(pk=int(lead_id)).first()
    except (TypeError, ValueError):
        lead = None
    if lead is None:
        raise NotFound("No lead with this id.")
    return lead


def domain_of(website: str, email: str) -> str:
    """The company domain a lead's website, else its work e-mail address, points to."""
    host = (urlsplit(website).hostname or "") if website else ""
    if not host and email and "@" in email:
        host = email.rpartition("@")[2].lower()
        if host in FREE_MAIL_DOMAINS:
            host = ""
    return host.lower().removeprefix("www.")


def clean_lead(org, data: dict, *, current: Lead | None = None) -> dict:
    """Validated values for the fields present in `data`; InvalidInput names each bad one."""
    errors: dict[str, str] = {}
    values: dict = {}
    for field, limit in TEXT_LIMITS.items():
        if field in data:
            text = str(data[field] or "").strip()
            if len(text) > limit:
                errors[field] = _("Use at most %(limit)d characters.") % {"limit": limit}
            values[field] = text
    if "email" in data:
        values["email"] = str(data["email"] or "").strip().lower()
        if len(values["email"]) > 254:
            errors["email"] = _("Use at most 254 characters.")
        elif values["email"]:
            try:
                validate_email(values["email"])
            except ValidationError:
                errors["email"] = _("Enter an e-mail address such as name@example.com.")
    if "website" in data:
        website = str(data["website"] or "").strip()
        if website and "://" not in website:
            website = "https://" + website
        if len(website) > 300:
            errors["website"] = _("Use at most 300 characters.")
        elif website:
            try:
                URLValidator(schemes=["http", "https"])(website)
            except ValidationError:
                errors["website"] = _("Enter a web address such as example.com.")
        values["website"] = website
    if "domain" in data:
        values["domain"] = str(data["domain"] or "").strip().lower().removeprefix("www.")
        if len(values["domain"]) > 253:
            errors["domain"] = _("Use at most 253 characters.")
    if "country" in data:
        values["country"] = str(data["country"] or "").strip().upper()
        if values["country"] and values["country"] not in COUNTRY_CODES:
            errors["country"] = _("Use a two-letter ISO code such as DE.")
    if "phone" in data:
        values["phone"] = _clean_phone(data["phone"], values.get("country") or (
            current.country if current else ""), errors)
    if "company_size" in data:
        values["company_size"] = str(data["company_size"] or "")
        if values["company_size"] and values["company_size"] not in CompanySize.values:
            errors["company_size"] = _("Choose one of: %(choices)s.") % {
                "choices": ", ".join(CompanySize.values)}
    if "owner" in data:
        values["owner"] = member(org, data["owner"], "owner", errors, may="leads.change")
    if "custom_fields" in data:
        values["custom_fields"] = _clean_custom(data["custom_fields"], errors)
    merged = {name: values.get(name, getattr(current, name, "") if current else "")
              for name in ("first_name", "last_name", "email", "company_name")}
    if not any(merged.values()):
        errors["last_name"] = _("Give at least a name, an e-mail address or a company.")
    if errors:
        raise InvalidInput(errors)
    return values


def _clean_phone(raw, country: str, errors: dict) -> str:
    if raw in (None, ""):
        return ""
    text = str(raw).strip()
    if len(text) > 64:
        errors["phone"] = _("Use at most 64 characters.")
        return ""
    try:
        parse_phone(text, country, field="phone")
    except InvalidInput as exc:
        errors["phone"] = exc.errors[0]["message"]
        return ""
    return text


def _clean_custom(raw, errors: dict) -> dict:
    if raw in (None, ""):
        return {}
    if not isinstance(raw, dict) or len(raw) > MAX_CUSTOM_FIELDS:
        errors["custom_fields"] = _("Give at most %(count)d fields as an object.") % {
            "count": MAX_CUSTOM_FIELDS}
        return {}
    cleaned = {}
    for key, value in raw.items():
        if not isinstance(value, str | int | bool | None) or len(str(key)) > 50 or (
                isinstance(value, str) and len(value) > 1000):
            errors["custom_fields"] = _(
                "Give each field a key of at most 50 characters and a plain value.")
            return {}
        cleaned[str(key)] = value
    return cleaned


def add_timeline_entry(org, actor, lead: Lead, *, kind: str, event: str = "", body: str = "",
                       data: dict | None = None) -> LeadActivity:
    return LeadActivity.objects.create(
        organization=org, lead=lead, kind=kind, event=event, body=body, data=data or {},
        occurred_at=timezone.now(), author=actor if getattr(actor, "pk", None) else None,
    )


@transaction.atomic
def create_lead(org, actor, *, data: dict, channel: str = "web") -> Lead:
    """A new lead from any channel, assigned and scored; raises InvalidInput.

    An owner given in `data` is kept; otherwise the assignment rules choose
    one, then the fallback owner, then the person entering it. `actor` is
    None for the public web form.
    """
    if channel not in CHANNELS:
        raise ValueError(f"Unknown lead channel {channel!r}")
    values = clean_lead(org, data)
    if not values.get("domain"):
        values["domain"] = domain_of(values.get("website", ""), values.get("email", ""))

    lead = Lead(organization=org, **values)
    rule = None
    by_hand = lead.owner_id is not None
    if not by_hand:
        lead.owner, rule = assignment.choose_owner(lead)
    if lead.owner_id is None and getattr(actor, "pk", None):
        lead.owner, by_hand = actor, True
    lead.save()
    scoring.recompute_fit(org, lead)
    scoring.score_event(org, lead, "lead.created")
    Lead.objects.filter(pk=lead.pk).update(
        score=lead.score, fit_points=lead.fit_points, score_reasons=lead.score_reasons,
        behaviour_points=lead.behaviour_points, behaviour_decayed_at=lead.behaviour_decayed_at)
    search.reindex(Lead, [lead.pk])

    audit.record(org, actor, Action.CREATE, lead,
                 changes=audit.diff({}, audit.snapshot(lead, LEAD_FIELDS)))
    add_timeline_entry(org, actor, lead, kind=LeadEntryKind.SYSTEM, event="lead.created",
                       data={"channel": channel})
    if lead.owner_id is not None:
        assigned_by = (_("rule “%(rule)s”") % {"rule": rule.name} if rule
                       else _("the person who entered it") if by_hand
                       else _("the fallback owner"))
        add_timeline_entry(org, actor, lead, kind=LeadEntryKind.SYSTEM, event="lead.assigned",
                           data={"owner": str(lead.owner), "rule": rule.name if rule else "",
                                 "rule_id": rule.pk if rule else None, "by": assigned_by})
    events.emit(org, actor, "lead.created", lead, data={**_event_data(lead), "channel": channel})
    logger.info("lead.created", extra={"organization_id": org.id, "lead_id": lead.pk,
                                       "channel": channel})
    return lead


def _event_data(lead: Lead) -> dict:
    return {"id": lead.pk, "status": lead.status, "owner_id": lead.owner_id,
            "score": lead.score, "source": lead.source}


def _lock(lead: Lead, expected_version=None) -> Lead:
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    check_version(lead, expected_version)
    return lead


def _refuse_if_converted(lead: Lead) -> None:
    if lead.is_converted:
        raise Conflict(_("This lead was converted; change the contact instead."))


@transaction.atomic
def update_lead(org, actor, lead: Lead, *, data: dict,
                expected_version: int | None = None) -> Lead:
    """Change a lead's fields and score it again; StaleVersion, Conflict once converted."""
    lead = _lock(lead, expected_version)
    _refuse_if_converted(lead)
    values = clean_lead(org, data, current=lead)

    before = audit.snapshot(lead, LEAD_FIELDS)
    for field, value in values.items():
        setattr(lead, field, value)
    if ("website" in values or "email" in values) and "domain" not in values:
        lead.domain = domain_of(lead.website, lead.email) or lead.domain
    scoring.recompute_fit(org, lead)
    changes = audit.diff(before, audit.snapshot(lead, LEAD_FIELDS))
    if changes:
        lead.save_new_version()
        search.reindex(Lead, [lead.pk])
        audit.record(org, actor, Action.UPDATE, lead, changes=changes)
        events.emit(org, actor, "lead.updated", lead,
                    data={**_event_data(lead), "changed": sorted(changes)})
    return lead


@transaction.atomic
def delete_lead(org, actor, lead: Lead, *, expected_version: int | None = None) -> None:
    """Move a lead to the trash."""
    lead = _lock(lead, expected_version)
    lead.deleted_at = timezone.now()
    lead.save_new_version(update_fields=["deleted_at", "version", "updated_at"])
    search.reindex(Lead, [lead.pk])
    audit.record(org, actor, Action.DELETE, lead)
    events.emit(org, actor, "lead.deleted", lead, data=_event_data(lead))


@transaction.atomic
def add_note(org, actor, lead: Lead, *, body: str) -> LeadActivity:
    body = str(body or "").strip()
    if not body:
        raise InvalidInput({"body": _("Write the note first.")})
    if len(body) > 20000:
        raise InvalidInput({"body": _("Use at most 20000 characters.")})
    _refuse_if_converted(lead)
    return add_timeline_entry(org, actor, lead, kind=LeadEntryKind.NOTE, body=body)


@transaction.atomic
def record_lead_event(org, actor, lead: Lead, *, event_type: str,
                      data: dict | None = None) -> LeadActivity:
    """Note a behaviour event (an opened e-mail, a visited page) and score it.

    `event_type` is a dotted lower-case name such as "email.opened".
    """
    event_type = str(event_type or "").strip()
    if not EVENT_TYPE.match(event_type) or len(event_type) > 64:
        raise InvalidInput({"type": _(
            "Name the event in dotted lower case, such as email.opened, in at most 64 "
            "characters.")})
    if event_type.startswith("lead."):
        # Accord records what happens to the lead itself; a sender posting
        # "lead.qualified" would score a qualification that never happened.
        raise InvalidInput({"type": _("Event types starting with lead. are Accord's own.")})
    if data is not None and (not isinstance(data, dict) or len(str(data)) > 2000):
        raise InvalidInput({"data": _("Give the details as an object of at most 2000 "
                                      "characters.")})
    lead = _lock(lead)
    _refuse_if_converted(lead)

    entry = add_timeline_entry(org, actor, lead, kind=LeadEntryKind.BEHAVIOUR,
                               event=event_type, data=data or {})
    before = audit.snapshot(lead, ["score"])
    if scoring.score_event(org, lead, event_type, at=entry.occurred_at):
        Lead.objects.filter(pk=lead.pk).update(
            score=lead.score, behaviour_points=lead.behaviour_points,
            behaviour_decayed_at=lead.behaviour_decayed_at)
    audit.record(org, actor, Action.UPDATE, lead, changes={
        "event": [None, event_type], **audit.diff(before, audit.snapshot(lead, ["score"]))})
    events.emit(org, actor, "lead.event_recorded", lead,
                data={**_event_data(lead), "type": event_type})
    return entry


def _set_status(org, actor, lead: Lead, status: str, *, reason: str = "",
                expected_version=None) -> Lead:
    lead = _lock(lead, expected_version)
    _refuse_if_converted(lead)
    before = audit.snapshot(lead, ["status", "disqualify_reason"])
    lead.status = status
    lead.disqualify_reason = reason
    changes = audit.diff(before, audit.snapshot(lead, ["status", "disqualify_reason"]))
    if not changes:
        return lead

    scoring.score_event(org, lead, f"lead.{status}")
    lead.save_new_version()
    audit.record(org, actor, Action.UPDATE, lead, changes=changes)
    add_timeline_entry(org, actor, lead, kind=LeadEntryKind.SYSTEM, event=f"lead.{status}",
                       data={"reason": reason})
    events.emit(org, actor, f"lead.{status}", lead, data={**_event_data(lead), "reason": reason})
    return lead


@transaction.atomic
def qualify_lead(org, actor, lead: Lead, *, expected_version: int | None = None) -> Lead:
    return _set_status(org, actor, lead, LeadStatus.QUALIFIED, expected_version=expected_version)


@transaction.atomic
def disqualify_lead(org, actor, lead: Lead, *, reason: str,
                    expected_version: int | None = None) -> Lead:
    """Mark a lead disqualified; InvalidInput without a reason of at most 200 characters."""
    reason = str(reason or "").strip()
    if not reason:
        raise InvalidInput({"reason": _("Say why the lead is disqualified.")})
    if len(reason) > 200:
        raise InvalidInput({"reason": _("Use at most 200 characters.")})
    return _set_status(org, actor, lead, LeadStatus.DISQUALIFIED, reason=reason,
                       expected_version=expected_version)


@transaction.atomic
def reopen_lead(org, actor, lead: Lead, *, expected_version: int | None = None) -> Lead:
    return _set_status(org, actor, lead, LeadStatus.WORKING, expected_version=expected_version)


# Conversion


def matching_contact(lead: Lead, viewer=None) -> Contact | None:
    """The live contact with the lead's e-mail address, if there is one the `viewer` (a
    Membership; None for code acting for the organisation) may see."""
    if not lead.email:
        return None
    contacts = _seen(Contact.objects.filter(merged_into__isnull=True), viewer, "contacts")
    live = {"contact__deleted_at__isnull": True, "contact__merged_into__isnull": True}
    found = (ContactEmail.objects.filter(address__iexact=lead.email,
                                         contact__in=contacts.values("pk"), **live)
             .order_by("contact_id").values_list("contact_id", flat=True).first())
    if found is not None:
        return contacts.get(pk=found)
    return contacts.filter(email__iexact=lead.email).order_by("id").first()


def matching_company(lead: Lead, viewer=None) -> Company | None:
    """The live company with the lead's domain, else with its name less any legal form,
    among those the `viewer` may see."""
    companies = _seen(Company.objects.filter(merged_into__isnull=True), viewer, "companies")
    if lead.domain:
        company = companies.filter(domain__iexact=lead.domain).order_by("id").first()
        if company is not None:
            return company
    if lead.company_name:
        name_key, _block = company_name_keys(lead.company_name)
        if name_key:
            return companies.filter(name_key=name_key).order_by("id").first()
    return None


def _seen(queryset, viewer, area: str):
    return queryset if viewer is None else visible(queryset, viewer, area)


@transaction.atomic
def convert_lead(org, actor, lead: Lead, *, deal: dict | None = None,
                 expected_version: int | None = None, viewer=None) -> Lead:
    """Turn a lead into a contact, a company and, when `deal` is given, a deal.

    The contact is the one with the lead's e-mail address or a new one; the
    company is matched by domain, then by name, or made from the company
    name. Only records the `viewer` (the converting member) may see are
    matched: a contact or company hidden from them is neither shown nor
    changed, and a new one is made beside it. The lead's timeline moves onto
    the contact. Everything happens in one transaction; Conflict when the
    lead was converted already, and InvalidInput naming `deal.<field>` when
    the deal cannot be made.
    """
    from . import services as sales

    lead = _lock(lead, expected_version)
    if lead.is_converted:
        raise Conflict(_("This lead was converted already."))
    if lead.status == LeadStatus.DISQUALIFIED:
        raise Conflict(_("This lead was disqualified; reopen it before converting it."))

    owner = {"owner": lead.owner_id} if lead.owner_id else {}
    company = matching_company(lead, viewer)
    company_created = False
    if company is None and lead.company_name:
        company = customers.create_company(org, actor, data={
            "name": lead.company_name, "domain": lead.domain, "website": lead.website,
            "industry": lead.industry, "size": lead.company_size, "country": lead.country,
            "source": lead.source, **owner,
        })
        company_created = True
    contact = matching_contact(lead, viewer)
    contact_created = contact is None
    if contact is None:
        contact = customers.create_contact(org, actor, data={
            "first_name": lead.first_name, "last_name": lead.last_name,
            "email": lead.email, "phone": lead.phone, "title": lead.title,
            "country": lead.country, "source": lead.source,
            "company": company.pk if company else None, **owner,
        })
    elif company is not None:
        customers.add_affiliation(org, actor, contact, company, title=lead.title,
                                  is_primary=contact.company_id is None)
    new_deal = None
    if deal is not None:
        try:
            new_deal = sales.create_deal(org, actor, data={
                "name": deal.get("name") or str(lead), "amount": deal.get("amount"),
                "currency": deal.get("currency") or None, "pipeline": deal.get("pipeline"),
                "company": company.pk if company else None, "source": lead.source,
                "contacts": [{"contact": contact.pk}], **owner,
            })
        except InvalidInput as exc:
            for error in exc.errors:
                error["field"] = f"deal.{error['field']}"
            raise
    moved = _move_timeline(org, lead, contact)

    before = audit.snapshot(lead, LEAD_FIELDS)
    lead.status = LeadStatus.CONVERTED
    lead.converted_contact = contact
    lead.converted_company = company
    lead.converted_deal = new_deal
    lead.converted_at = timezone.now()
    lead.save_new_version()
    changes = audit.diff(before, audit.snapshot(lead, LEAD_FIELDS))
    changes["converted_to"] = [None, {"contact": contact.pk,
                                      "company": company.pk if company else None,
                                      "deal": new_deal.pk if new_deal else None}]
    audit.record(org, actor, Action.UPDATE, lead, changes=changes)
    data = {**_event_data(lead), "contact_id": contact.pk, "contact_created": contact_created,
            "company_id": company.pk if company else None, "company_created": company_created,
            "deal_id": new_deal.pk if new_deal else None, "activities_moved": moved}
    events.emit(org, actor, "lead.converted", lead, data=data)
    timeline.log_event(org, actor, "lead.converted", contact=contact, company=company,
                       deal=new_deal, data={"lead": str(lead)})
    logger.info("lead.converted", extra={"organization_id": org.id, "lead_id": lead.pk,
                                         "contact_id": contact.pk})
    return lead


def _move_timeline(org, lead: Lead, contact: Contact) -> int:
    """Put the lead's timeline entries on the contact's, keeping their time and author."""
    entries = list(LeadActivity.objects.filter(lead=lead).order_by("occurred_at", "id"))
    for entry in entries:
        note = entry.kind == LeadEntryKind.NOTE
        Activity.objects.create(
            organization=org, contact=contact, kind=Kind.NOTE if note else Kind.SYSTEM,
            body=entry.body, event="" if note else entry.event[:40], data=entry.data,
            occurred_at=entry.occurred_at, author=entry.author,
        )
    LeadActivity.objects.filter(pk__in=[entry.pk for entry in entries]).delete()
    return len(entries)


def lead_filters(queryset, params):
    """`queryset` narrowed by the list filters shared by the page, the CSV and the API."""
    query = (params.get("q") or "").strip()
    if query:
        queryset = search.search(queryset, query)
    statuses = [value for value in params.getlist("status") if value]
    if any(value not in LeadStatus.values for value in statuses):
        raise InvalidInput({"status": _("Choose one of: %(choices)s.") % {
            "choices": ", ".join(LeadStatus.values)}})
    if statuses:
        queryset = queryset.filter(status__in=statuses)
    owner = params.get("owner")
    if owner == "none":
        queryset = queryset.filter(owner__isnull=True)
    elif owner:
        queryset = queryset.filter(owner_id=_int(owner, "owner"))
    source = (params.get("source") or "").strip()
    if source:
        queryset = queryset.filter(source__iexact=source)
    for name, lookup in (("score_min", "score__gte"), ("score_max", "score__lte")):
        if params.get(name) not in (None, ""):
            queryset = queryset.filter(Q(**{lookup: _int(params.get(name), name)}))
    return queryset


def _int(value, field: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidInput({field: _("Enter a whole number.")}) from None


# Capture forms on other sites

FORM_WINDOW = dt.timedelta(minutes=10)
MAX_POSTS_PER_IP = 10  # a person sends a form once or twice; a flood is a script
FORM_FIELDS = ["first_name", "last_name", "email", "phone", "title", "company_name", "website",
               "industry", "company_size", "country", "description"]
HONEYPOT = "fax_number"  # hidden from people by the form's markup; only bots fill it in


class Throttled(DomainError):
    code = "too-many-requests"
    title = _("Too many requests")
    status = 429


def get_capture_form(form_id) -> CaptureForm:
    try:
        form = CaptureForm.objects.filter(pk=int(form_id)).first()
    except (TypeError, ValueError):
        form = None
    if form is None:
        raise NotFound("No capture form with this id.")
    return form


def find_capture_form(token: str) -> CaptureForm | None:
    """The active capture form with this token, across organisations; None when unknown."""
    if not token or len(token) > 64:
        return None
    return (CaptureForm.unscoped.select_related("organization")
            .filter(token=token, is_active=True).first())


@transaction.atomic
def create_capture_form(org, actor, *, name: str, thank_you: str = "") -> CaptureForm:
    name = str(name or "").strip()
    if not name or len(name) > 120:
        raise InvalidInput({"name": _("Give the form a name of at most 120 characters.")})
    form = CaptureForm.objects.create(organization=org, name=name,
                                      thank_you=str(thank_you or "").strip()[:300],
                                      token=secrets.token_urlsafe(32))
    audit.record(org, actor, Action.CREATE, form, changes={"name": [None, name]})
    return form


@transaction.atomic
def set_capture_form_active(org, actor, form: CaptureForm, *, active: bool) -> CaptureForm:
    if form.is_active != active:
        form.is_active = active
        form.save_new_version(update_fields=["is_active", "version", "updated_at"])
        audit.record(org, actor, Action.UPDATE, form, changes={"is_active": [not active, active]})
    return form


def submit_capture_form(form: CaptureForm, data: dict, *, ip: str) -> Lead | None:
    """A lead from a post to `form`, or None for a bot's post, which is answered as usual.

    Raises Throttled when this address posted too often lately, and
    InvalidInput naming each bad field. Runs inside the form's organisation
    scope.
    """
    org = form.organization
    # Keyed, so that the stored value cannot be turned back into the address
    # by hashing every IPv4 address.
    ip_hash = salted_hmac("accord.lead_form", ip).hexdigest()
    recent = FormSubmission.objects.filter(ip_hash=ip_hash,
                                           created_at__gte=timezone.now() - FORM_WINDOW)
    if recent.count() >= MAX_POSTS_PER_IP:
        logger.warning("lead_form.throttled",
                       extra={"organization_id": org.id, "form_id": form.pk})
        raise Throttled(_("Too many posts from this address; try again in a few minutes."))
    spam = bool(str(data.get(HONEYPOT) or "").strip())
    FormSubmission.objects.create(organization=org, form=form, ip_hash=ip_hash,
                                  accepted=not spam)
    if spam:
        logger.warning("lead_form.spam", extra={"organization_id": org.id, "form_id": form.pk})
        return None

    values = {name: data[name] for name in FORM_FIELDS if name in data}
    # A JSON post may carry an object or a list where text belongs; stored as
    # text it would read as Python, so the sender is told instead.
    wrong = {name: _("Send a single text value.") for name, value in values.items()
             if isinstance(value, dict | list)}
    if wrong:
        raise InvalidInput(wrong)
    values["source"] = WEB_FORM_SOURCE
    values["custom_fields"] = {"capture_form": form.name}
    return create_lead(org, None, data=values, channel="web_form")


CONVERSIONS = (("contact", Contact, "contacts"), ("company", Company, "companies"),
               ("deal", Deal, "deals"))


def seen_conversions(membership, leads) -> dict[int, set[str]]:
    """For each lead, which of the records it became ("contact", "company", "deal") the
    member sees; one query per kind, whatever the number of leads."""
    shown = seen_conversion_ids(membership, {
        relation: {getattr(lead, f"converted_{relation}_id") for lead in leads}
        for relation, _model, _area in CONVERSIONS})
    return {lead.pk: {relation for relation, ids in shown.items()
                      if getattr(lead, f"converted_{relation}_id") in ids} for lead in leads}


def seen_conversion_ids(membership, wanted: dict[str, set]) -> dict[str, set[int]]:
    """Of the ids of converted records, by relation ("contact", "company", "deal"), those
    the member sees; one query per relation that names any. A record in the trash counts
    as seen by whoever would see it there."""
    shown = {}
    for relation, model, area in CONVERSIONS:
        ids = set(wanted.get(relation, ())) - {None}
        shown[relation] = set(
            visible(model._base_manager.filter(pk__in=ids), membership, area)
            .values_list("pk", flat=True)) if ids and membership is not None else set()
    return shown
