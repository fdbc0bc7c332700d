"""Web forms: designing them, and taking what visitors send into contacts or leads.

A visitor's post becomes a contact (matched by e-mail within the
organisation) or a lead, with the UTM tags and referring page it came with,
a consent record with its evidence, a `WebFormSubmission` row, a
`form.submitted` event and an entry on the contact's timeline. With double
opt-in, the consent waits on the submission until the visitor follows the
signed link the worker mails them.
"""

import datetime as dt
import logging
import secrets
import smtplib
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import URLValidator, validate_email
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from accord import events
from accord.activities import services as activities
from accord.activities.services import site_url
from accord.audit import services as audit
from accord.audit.models import Action
from accord.core import ratelimit
from accord.customers import services as customers
from accord.customers.custom_fields import active_fields, hidden_keys
from accord.customers.models import (
    Company,
    ConsentChannel,
    ConsentMethod,
    ConsentPurpose,
    ConsentStatus,
    Contact,
    Entity,
    FieldType,
    LifecycleStage,
)
from accord.customers.validation import Collector, as_pk, clean_member, clean_tags
from accord.errors import DomainError, NotFound, StaleVersion
from accord.identity.context import acting_member
from accord.identity.models import Scope
from accord.identity.visibility import scope_for, visible
from accord.sales import leads
from accord.sales.models import Lead, LeadEntryKind
from accord.sales.models.lead import WEB_FORM_SOURCE

from .webform_models import ConsentState, FormTarget, WebForm, WebFormSubmission

logger = logging.getLogger(__name__)

# The contact fields a form may ask for, with the label a new form gives them.
STANDARD_FIELDS = {
    "first_name": _("First name"),
    "last_name": _("Last name"),
    "email": _("E-mail"),
    "phone": _("Phone"),
    "company_name": _("Company"),
    "title": _("Job title"),
    "message": _("Message"),
}
TEXT_LIMIT = 200  # a name, phone or company; contact fields hold no more
MESSAGE_LIMIT = 5000  # a few paragraphs
MAX_BODY = 32 * 1024  # a filled-in form is a few KB; anything larger is not a person typing
HONEYPOT = "homepage"  # hidden from people by the form's markup; only bots fill it in
CONSENT_FIELD = "consent"
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
UTM_LIMIT = 200
URL_LIMIT = 2000
# Per minute, counted in the shared rate counters (accord.core.ratelimit): a
# person sends a form once or twice, a campaign landing page a few a second.
MAX_POSTS_PER_IP = 10
MAX_POSTS_PER_FORM = 600
CONFIRM_LIFETIME = dt.timedelta(days=7)
EVIDENCE_LIMIT = 300  # the consent record's evidence column
FORM_FIELDS = ["name", "fields", "consent_purpose", "consent_text", "creates",
               "lifecycle_stage", "owner", "tags", "thank_you", "redirect_url", "double_opt_in",
               "allowed_origins", "is_active"]

_confirm_signer = signing.TimestampSigner(salt="accord.webform.confirm")


class Throttled(DomainError):
    code = "too-many-requests"
    title = _("Too many requests")
    status = 429


class LinkExpired(DomainError):
    code = "link-expired"
    title = _("Link expired")
    status = 410


# Designing forms


def get_form(form_id) -> WebForm:
    """The form of the scope's organisation with this id; NotFound otherwise."""
    pk = as_pk(form_id)
    form = WebForm.objects.select_related("owner").filter(pk=pk).first() if pk else None
    if form is None:
        raise NotFound("No web form with this id.")
    return form


def find_form(public_key: str) -> WebForm | None:
    """The active form with this public key, in any organisation; None when unknown."""
    if not public_key or len(public_key) > 32:
        return None
    # The key is all a visitor has; the organisation comes from the form.
    return (WebForm.unscoped.select_related("organization")
            .filter(public_key=public_key, is_active=True).first())


def field_choices(org, viewer=None) -> dict[str, str]:
    """Every field a form of `org` may ask for: name to label, contact custom fields last.

    Given a `viewer` (a Membership), custom fields hidden from its role are left out.
    """
    choices = {name: str(label) for name, label in STANDARD_FIELDS.items()}
    for field in active_fields(Entity.CONTACT, viewer):
        choices[f"cf_{field.key}"] = field.label
    return choices


def hidden_names(viewer) -> frozenset[str]:
    """The form field names (`cf_<key>`) of contact custom fields hidden from the member."""
    return frozenset(f"cf_{key}" for key in hidden_keys(Entity.CONTACT, viewer))


def shown_fields(form: WebForm, viewer) -> list[dict]:
    """The form's fields without those the member may not see."""
    hidden = hidden_names(viewer)
    return [item for item in form.fields if item["name"] not in hidden]


def _clean_fields(org, raw, errors: Collector, current: WebForm | None) -> list[dict]:
    viewer = acting_member()
    known = field_choices(org, viewer)
    if not isinstance(raw, list):
        errors.add("fields", "Give a list of fields.")
        return []
    # A field hidden from the designer's role is neither offered nor accepted;
    # one already on the form, put there by someone who sees it, stays.
    hidden = hidden_names(viewer)
    kept = [item for item in (current.fields if current else []) if item["name"] in hidden]
    out, seen = [], set()
    for index, item in enumerate(raw):
        name = item.get("name") if isinstance(item, dict) else None
        if name not in known:
            errors.add(f"fields[{index}].name", "Choose a contact field or custom field.")
            continue
        if name in seen:
            errors.add(f"fields[{index}].name", "Each field may be on the form once.")
            continue
        seen.add(name)
        label = item.get("label") or known[name]
        if not isinstance(label, str) or len(label.strip()) > 120 or "\x00" in label:
            errors.add(f"fields[{index}].label", "Keep the label under 120 characters.")
            continue
        out.append({"name": name, "label": label.strip(),
                    "required": bool(item.get("required")) or name == "email"})
    out += kept
    if "email" not in seen:
        # Matching and consent both rest on the address, so every form asks it.
        out.insert(0, {"name": "email", "label": str(STANDARD_FIELDS["email"]),
                       "required": True})
    return out


def _clean_text(data: dict, name: str, limit: int, errors: Collector) -> str:
    value = data.get(name) or ""
    if not isinstance(value, str) or "\x00" in value:
        errors.add(name, "Enter plain text.")
        return ""
    if len(value.strip()) > limit:
        errors.add(name, f"Keep this under {limit} characters.", "too_long")
    return value.strip()


def _clean_redirect(value, errors: Collector) -> str:
    value = value.strip() if isinstance(value, str) else ""
    if not value:
        return ""
    try:
        URLValidator(schemes=["http", "https"])(value)
    except ValidationError:
        errors.add("redirect_url", "Enter a web address starting with http:// or https://.")
    if len(value) > 500:
        errors.add("redirect_url", "Keep the address under 500 characters.", "too_long")
    return value


def _clean_origins(value, errors: Collector) -> list[str]:
    if isinstance(value, str):
        value = value.split()
    if not isinstance(value, list):
        errors.add("allowed_origins", "Give a list of origins such as https://example.com.")
        return []
    origins = []
    for origin in value:
        parts = (urlsplit(origin.strip().rstrip("/"))
                 if isinstance(origin, str) and "\x00" not in origin else None)
        if (parts is None or parts.scheme not in ("http", "https") or not parts.netloc
                or parts.path or parts.query):
            errors.add("allowed_origins",
                       "Give each origin as scheme and host only, such as https://example.com.")
            continue
        origins.append(f"{parts.scheme}://{parts.netloc.lower()}")
    return sorted(set(origins))


def clean_form(org, data: dict, *, current: WebForm | None = None) -> dict:
    """Validated values for the keys in `data` (all of them on create); InvalidInput
    names each bad field."""
    errors = Collector()
    out: dict = {}
    creating = current is None
    if "name" in data or creating:
        name = data.get("name")
        name = " ".join(name.split()) if isinstance(name, str) else ""
        if not name:
            errors.add("name", "Give the form a name.", "required")
        elif "\x00" in name:
            errors.add("name", "Remove the NUL character; it cannot be stored.")
        elif len(name) > 120:
            errors.add("name", "Keep the name under 120 characters.", "too_long")
        elif WebForm.objects.filter(name__iexact=name).exclude(
                pk=getattr(current, "pk", None)).exists():
            errors.add("name", "Another form already has this name.", "duplicate")
        out["name"] = name
    if "fields" in data or creating:
        out["fields"] = _clean_fields(org, data.get("fields") or [], errors, current)
    if "consent_purpose" in data:
        purpose = data.get("consent_purpose") or ""
        if purpose and purpose not in ConsentPurpose.values:
            errors.add("consent_purpose", "Choose one of the consent purposes.")
        out["consent_purpose"] = purpose
    if "consent_text" in data:
        out["consent_text"] = _clean_text(data, "consent_text", 1000, errors)
    purpose = out.get("consent_purpose", getattr(current, "consent_purpose", ""))
    text = out.get("consent_text", getattr(current, "consent_text", ""))
    if purpose and not text:
        errors.add("consent_text", "Write the consent text the visitor agrees to.", "required")
    if "creates" in data:
        if data.get("creates") not in FormTarget.values:
            errors.add("creates", "Choose contact or lead.")
        out["creates"] = data.get("creates")
    if "lifecycle_stage" in data:
        stage = data.get("lifecycle_stage") or ""
        if stage and stage not in LifecycleStage.values:
            errors.add("lifecycle_stage", "Choose one of the lifecycle stages.")
        out["lifecycle_stage"] = stage
    if "owner" in data:
        out["owner"] = clean_member(org, data.get("owner"), "owner", errors)
    if "tags" in data:
        tags = clean_tags(data.get("tags") or [], errors) or []
        if any("\x00" in tag for tag in tags):
            errors.add("tags", "Remove the NUL character; it cannot be stored.")
        out["tags"] = tags
    if "thank_you" in data:
        out["thank_you"] = _clean_text(data, "thank_you", 500, errors)
    if "redirect_url" in data:
        out["redirect_url"] = _clean_redirect(data.get("redirect_url"), errors)
    if "allowed_origins" in data:
        out["allowed_origins"] = _clean_origins(data.get("allowed_origins") or [], errors)
    for flag in ("double_opt_in", "is_active"):
        if flag in data:
            if not isinstance(data[flag], bool):
                errors.add(flag, "Give true or false.")
            out[flag] = bool(data[flag])
    errors.raise_if_any()
    return out


def _snapshot(form: WebForm) -> dict:
    values = audit.snapshot(form, [name for name in FORM_FIELDS if name != "owner"])
    values["owner"] = form.owner_id
    return values


@transaction.atomic
def create_form(org, actor, *, data: dict) -> WebForm:
    """Save a new form with a fresh public key; InvalidInput names each bad field."""
    values = clean_form(org, data)

    form = WebForm.objects.create(organization=org, public_key=secrets.token_urlsafe(18),
                                  created_by=actor if getattr(actor, "pk", None) else None,
                                  **values)

    audit.record(org, actor, Action.CREATE, form, changes=audit.diff({}, _snapshot(form)))
    logger.info("webform.created", extra={"organization_id": org.id, "form_id": form.pk})
    return form


@transaction.atomic
def update_form(org, actor, form: WebForm, *, data: dict,
                expected_version: int | None = None) -> WebForm:
    """Change a form; StaleVersion when `expected_version` is not the stored one."""
    form = WebForm.objects.select_for_update().get(pk=form.pk)
    if expected_version is not None and int(expected_version) != form.version:
        raise StaleVersion(current_version=form.version)
    values = clean_form(org, data, current=form)

    before = _snapshot(form)
    for name, value in values.items():
        setattr(form, name, value)
    changes = audit.diff(before, _snapshot(form))
    if not changes:
        return form
    form.save_new_version()

    audit.record(org, actor, Action.UPDATE, form, changes=changes)
    return form


@transaction.atomic
def delete_form(org, actor, form: WebForm, *, expected_version: int | None = None) -> None:
    """Delete a form and its submissions; the contacts and leads they made stay."""
    form = WebForm.objects.select_for_update().get(pk=form.pk)
    if expected_version is not None and int(expected_version) != form.version:
        raise StaleVersion(current_version=form.version)

    audit.record(org, actor, Action.DELETE, form, changes=audit.diff(_snapshot(form), {}))
    form.delete()


def public_url(form: WebForm) -> str:
    return site_url() + reverse("marketing:webform_public", args=[form.public_key])


def json_url(form: WebForm) -> str:
    return site_url() + reverse("marketing:webform_json", args=[form.public_key])


def inputs(form: WebForm) -> list[dict]:
    """The form's questions as the public page and the snippet draw them.

    Each is `{"name", "label", "required", "kind", "choices"}`; `kind` is
    `text`, `email`, `tel`, `textarea`, `select`, `checkbox` or `checkboxes`
    (a group of boxes, one per choice, for a multi-choice field). A custom
    field removed since the form was made is left out.
    """
    custom = {f"cf_{field.key}": field for field in active_fields(Entity.CONTACT)}
    out = []
    for item in form.fields:
        name = item["name"]
        kind, choices = {"email": "email", "phone": "tel", "message": "textarea"}.get(
            name, "text"), []
        if name.startswith("cf_"):
            field = custom.get(name)
            if field is None:
                continue
            if field.field_type == FieldType.CHOICE:
                kind, choices = "select", list(field.choices)
            elif field.field_type == FieldType.MULTI_CHOICE:
                kind, choices = "checkboxes", list(field.choices)
            elif field.field_type == FieldType.BOOLEAN:
                kind = "checkbox"
        out.append({**item, "kind": kind, "choices": choices})
    return out


# Taking submissions


def check_rate(form: WebForm, ip: str) -> None:
    """Count one post; Throttled beyond the per-address or per-form limit a minute."""
    by_ip, _reset = ratelimit.hit(f"webform-ip:{ip or 'unknown'}")
    by_form, _reset = ratelimit.hit(f"webform:{form.pk}")
    if by_ip > MAX_POSTS_PER_IP or by_form > MAX_POSTS_PER_FORM:
        logger.warning("webform.throttled", extra={
            "organization_id": form.organization_id, "form_id": form.pk})
        raise Throttled(_("Too many posts lately; wait a minute, then send the form again."))


def _clean_submission(form: WebForm, data: dict) -> dict:
    """The visitor's answers by field name; InvalidInput names each bad or missing one."""
    errors = Collector()
    values: dict = {}
    for item in inputs(form):
        name = item["name"]
        raw = data.get(name)
        if item["kind"] == "checkboxes":
            values[name] = _clean_picks(item, raw, errors)
            continue
        if isinstance(raw, dict | list):
            # Only a multi-choice field takes several values; an object is never an answer.
            errors.add(name, f"{item['label']}: send a single text value.")
            continue
        if item["kind"] == "checkbox":
            values[name] = raw not in (None, "", "0", "false", "off", False)
            if item["required"] and not values[name]:
                errors.add(name, f"{item['label']}: tick this box to go on.", "required")
            continue
        value = raw if isinstance(raw, str) else "" if raw is None else str(raw)
        value = value.strip().replace("\x00", "")
        limit = MESSAGE_LIMIT if name == "message" else TEXT_LIMIT
        if len(value) > limit:
            errors.add(name, f"Keep this under {limit} characters.", "too_long")
        elif item["required"] and not value:
            errors.add(name, f"{item['label']}: this field is required.", "required")
        elif item["kind"] == "select" and value and value not in item["choices"]:
            errors.add(name, f"{item['label']}: choose one of the options.")
        values[name] = value
    email = values.get("email", "")
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors.add("email", "Enter an e-mail address such as name@example.com.")
    errors.raise_if_any()
    return values


def _clean_picks(item: dict, raw, errors: Collector) -> list[str]:
    """The ticked choices of a multi-choice field, in the field's order."""
    picks = [] if raw in (None, "") else [raw] if isinstance(raw, str) else raw
    if not isinstance(picks, list) or not all(isinstance(pick, str) for pick in picks):
        errors.add(item["name"], f"{item['label']}: send a list of the chosen options.")
        return []
    if any(pick not in item["choices"] for pick in picks):
        errors.add(item["name"], f"{item['label']}: choose from the options.")
    elif item["required"] and not picks:
        errors.add(item["name"], f"{item['label']}: choose at least one.", "required")
    return [choice for choice in item["choices"] if choice in picks]


def _utm(data: dict, page_url: str) -> dict:
    """UTM tags from the form's hidden fields, else from the query string of its page."""
    query = parse_qs(urlsplit(page_url).query)
    utm = {}
    for key in UTM_KEYS:
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            value = (query.get(key) or [""])[0]
        value = value.strip().replace("\x00", "")[:UTM_LIMIT]
        if value:
            utm[key] = value
    return utm


def _source(utm: dict, referrer: str) -> str:
    """What a new record's `source` says: the UTM source, else the referring site."""
    if utm.get("utm_source"):
        return f"{WEB_FORM_SOURCE}: {utm['utm_source']}"[:80]
    host = urlsplit(referrer).hostname if referrer else None
    return f"{WEB_FORM_SOURCE}: {host}"[:80] if host else WEB_FORM_SOURCE


def _plain_url(value) -> str:
    value = value.strip().replace("\x00", "") if isinstance(value, str) else ""
    return value[:URL_LIMIT] if urlsplit(value).scheme in ("http", "https") else ""


def submit(form: WebForm, data: dict, *, ip: str, page_url: str = "",
           referrer: str = "") -> WebFormSubmission | None:
    """Take one post to `form`; None for a bot's post, which is answered as usual.

    Raises Throttled beyond the rate limits and InvalidInput naming each bad
    field. Runs inside the form's organisation scope; `page_url` is the page
    the form was on and `referrer` the page before it.
    """
    check_rate(form, ip)
    if str(data.get(HONEYPOT) or "").strip():
        logger.warning("webform.spam", extra={
            "organization_id": form.organization_id, "form_id": form.pk})
        return None
    values = _clean_submission(form, data)
    page_url = _plain_url(data.get("page_url")) or _plain_url(page_url)
    referrer = _plain_url(data.get("referrer")) or _plain_url(referrer)
    consented = bool(form.consent_purpose) and data.get(CONSENT_FIELD) not in (
        None, "", "0", "false", "off", False)
    return _record(form, values, utm=_utm(data, page_url), page_url=page_url,
                   referrer=referrer, ip=ip, consented=consented)


@transaction.atomic
def _record(form: WebForm, values: dict, *, utm: dict, page_url: str, referrer: str, ip: str,
            consented: bool) -> WebFormSubmission:
    org = form.organization
    source = _source(utm, referrer)

    contact, lead = None, None
    if form.creates == FormTarget.LEAD:
        lead = _create_lead(org, form, values, source)
    else:
        contact = _save_contact(org, form, values, source)
    submission = WebFormSubmission.objects.create(
        organization=org, form=form, data=values, utm=utm, page_url=page_url,
        referrer=referrer, ip=ip[:45], contact=contact, lead=lead,
        consent_text=form.consent_text if consented else "",
        consent_purpose=form.consent_purpose if consented else "",
        consent=(ConsentState.PENDING if consented and form.double_opt_in
                 else ConsentState.GRANTED if consented else ConsentState.NONE))

    if submission.consent == ConsentState.GRANTED and contact is not None:
        customers.record_consent(
            org, None, contact, channel=ConsentChannel.EMAIL,
            purpose=submission.consent_purpose,
            status=ConsentStatus.GRANTED, method=ConsentMethod.WEB_FORM,
            evidence=_evidence(_("Web form"), submission, ip))
    if submission.consent == ConsentState.PENDING:
        from .webform_tasks import send_confirmation

        transaction.on_commit(lambda: send_confirmation.delay(org.pk, submission.pk))
    _note_on_timeline(org, form, submission, values)
    events.emit(org, None, "form.submitted", submission, entity="form_submission",
                data={"id": submission.pk, "form_id": form.pk, "form": form.name,
                      "email": values["email"], "contact_id": submission.contact_id,
                      "lead_id": submission.lead_id, "utm": utm, "referrer": referrer,
                      "page_url": page_url, "consent": submission.consent})
    logger.info("webform.submitted", extra={
        "organization_id": org.id, "form_id": form.pk, "submission_id": submission.pk})
    return submission


def _evidence(how, submission: WebFormSubmission, ip: str) -> str:
    """What the consent record keeps as proof; the whole text stays on the submission."""
    text = (f"{how} “{submission.form.name}”, submission {submission.pk}, IP {ip or '?'}, "
            f"page {submission.page_url or '?'}; text: “{submission.consent_text}”")
    return text if len(text) <= EVIDENCE_LIMIT else text[:EVIDENCE_LIMIT - 1] + "…"


def _company(org, name: str) -> Company:
    company = Company.objects.filter(name__iexact=name).order_by("pk").first()
    return company or customers.create_company(org, None, data={"name": name})


def _save_contact(org, form: WebForm, values: dict, source: str) -> Contact:
    """Create the contact, or fill in the empty fields of the one with this address.

    Anyone may post a form with anyone's address, so an answer never replaces
    a value stored on a known contact, custom fields included; the submission
    keeps what was sent. An existing contact also keeps its lifecycle stage,
    owner, company and source: the form describes new people, not a change to
    known ones.
    """
    given = {name: value for name, value in values.items()
             if name in ("first_name", "last_name", "phone", "title") and value}
    custom = {name[3:]: value for name, value in values.items()
              if name.startswith("cf_") and value not in ("", None, [])}
    contact = customers.contact_with_address(values["email"])
    if contact is None:
        data = {**given, "email": values["email"], "source": source,
                "tags": list(form.tags), "owner": form.owner_id}
        if custom:
            data["custom_fields"] = custom
        if form.lifecycle_stage:
            data["lifecycle_stage"] = form.lifecycle_stage
        if values.get("company_name"):
            data["company"] = _company(org, values["company_name"]).pk
        return customers.create_contact(org, None, data=data)

    data = {name: value for name, value in given.items() if not getattr(contact, name)}
    stored = contact.custom_fields or {}
    custom = {key: value for key, value in custom.items()
              if stored.get(key) in (None, "", [])}
    if custom:
        data["custom_fields"] = custom
    if not contact.source:
        data["source"] = source
    if form.owner_id and not contact.owner_id:
        data["owner"] = form.owner_id
    if form.tags:
        current = {link.tag.name for link in contact.tag_links.select_related("tag")}
        if not set(form.tags) <= current:
            data["tags"] = sorted(current | set(form.tags))
    if values.get("company_name") and not contact.company_id:
        data["company"] = _company(org, values["company_name"]).pk
    return customers.update_contact(org, None, contact, data=data) if data else contact


def _create_lead(org, form: WebForm, values: dict, source: str) -> Lead:
    data = {name: values[name] for name in ("first_name", "last_name", "email", "phone",
                                            "title", "company_name") if values.get(name)}
    data["source"] = source
    if values.get("message"):
        data["description"] = values["message"]
    if form.owner_id:
        data["owner"] = form.owner_id
    custom = {name[3:]: ", ".join(value) if isinstance(value, list) else str(value)
              for name, value in values.items()
              if name.startswith("cf_") and value not in ("", None, [])}
    data["custom_fields"] = {**custom, "web_form": form.name}
    return leads.create_lead(org, None, data=data, channel="web_form")


def _note_on_timeline(org, form: WebForm, submission: WebFormSubmission, values: dict) -> None:
    facts = {"form": form.name, "form_id": form.pk, "submission_id": submission.pk,
             **submission.utm}
    if submission.lead is not None:
        leads.add_timeline_entry(org, None, submission.lead, kind=LeadEntryKind.SYSTEM,
                                 event="form.submitted", data=facts)
        return
    activities.log_event(org, None, "form.submitted", contact=submission.contact,
                         company=submission.contact.company, data=facts)
    if values.get("message"):
        activities.log_activity(org, None, data={
            "kind": "note", "contact": submission.contact,
            "body": f"{form.name}:\n\n{values['message']}"})


# Reading submissions


def visible_submissions(queryset, viewer):
    """Narrow submissions to those whose contact or lead the member may see.

    A submission that made or matched no record (its contact or lead was
    deleted since) is seen only by members who see every contact, like the
    visitor's details it holds.
    """
    if viewer is None:
        return queryset.none()
    all_contacts = scope_for(viewer, "contacts") == Scope.ALL
    if all_contacts and scope_for(viewer, "leads") == Scope.ALL:
        return queryset
    seen = (Q(contact__in=visible(Contact.objects.all(), viewer, "contacts"))
            | Q(lead__in=visible(Lead.objects.all(), viewer, "leads")))
    if all_contacts:
        seen |= Q(contact__isnull=True, lead__isnull=True)
    return queryset.filter(seen)


def shown_data(submission: WebFormSubmission, viewer) -> dict:
    """The submission's answers without custom fields hidden from the member's role."""
    hidden = hidden_names(viewer)
    return {name: value for name, value in submission.data.items() if name not in hidden}


# Double opt-in


def confirmation_url(submission: WebFormSubmission) -> str:
    token = _confirm_signer.sign(f"{submission.organization_id}-{submission.pk}")
    return site_url() + reverse("marketing:webform_confirm", args=[token])


def send_confirmation(org, submission_id: int) -> bool:
    """Mail the confirmation link of a pending submission once; False when there is none
    to send (already sent, confirmed or gone).

    The send is claimed before the mail goes out, so a second run sends
    nothing; a failed send gives the claim back and raises for a retry.
    """
    claimed = WebFormSubmission.objects.filter(
        pk=submission_id, consent=ConsentState.PENDING, confirmation_sent_at__isnull=True,
    ).update(confirmation_sent_at=timezone.now())
    if not claimed:
        return False
    submission = WebFormSubmission.objects.select_related("form").get(pk=submission_id)
    recipient = submission.data.get("email", "")
    context = {"org": org, "form": submission.form, "url": confirmation_url(submission),
               "days": CONFIRM_LIFETIME.days}
    with translation.override(settings.LANGUAGE_CODE):
        subject = render_to_string("marketing/webform_confirm_subject.txt", context)
        body = render_to_string("marketing/webform_confirm_email.txt", context)
    try:
        EmailMessage(subject=" ".join(subject.split()), body=body, to=[recipient],
                     headers={"Auto-Submitted": "auto-generated"}).send()
    except (OSError, smtplib.SMTPException):
        WebFormSubmission.objects.filter(pk=submission_id).update(confirmation_sent_at=None)
        logger.warning("webform.confirmation_failed", extra={
            "organization_id": org.id, "submission_id": submission_id})
        raise
    logger.info("webform.confirmation_sent", extra={
        "organization_id": org.id, "submission_id": submission_id})
    return True


def submission_for_token(token: str) -> WebFormSubmission:
    """The submission a confirmation link is for, in any organisation.

    Raises LinkExpired for a link older than CONFIRM_LIFETIME and NotFound
    for one that was changed or whose submission is gone.
    """
    try:
        value = _confirm_signer.unsign(token or "", max_age=CONFIRM_LIFETIME)
    except signing.SignatureExpired:
        raise LinkExpired(_("This confirmation link has expired. Send the form again to "
                            "get a new one.")) from None
    except signing.BadSignature:
        raise NotFound(_("This confirmation link is not valid. Check that it was copied "
                         "whole.")) from None
    org_id, _sep, submission_id = value.partition("-")
    submission = (WebFormSubmission.unscoped.select_related("organization", "form")
                  .filter(organization_id=as_pk(org_id), pk=as_pk(submission_id)).first())
    if submission is None:
        raise NotFound(_("This confirmation link is not valid any more."))
    return submission


@transaction.atomic
def confirm_submission(org, submission: WebFormSubmission, *, ip: str) -> bool:
    """Record the pending consent as granted; False when it was confirmed before.

    Runs inside the submission's organisation scope.
    """
    now = timezone.now()
    confirmed = WebFormSubmission.objects.filter(
        pk=submission.pk, consent=ConsentState.PENDING,
    ).update(consent=ConsentState.GRANTED, confirmed_at=now)
    if not confirmed:
        return False

    submission.refresh_from_db()
    if submission.contact is not None:
        customers.record_consent(
            org, None, submission.contact, channel=ConsentChannel.EMAIL,
            purpose=submission.consent_purpose, status=ConsentStatus.GRANTED,
            method=ConsentMethod.WEB_FORM, recorded_at=now,
            evidence=_evidence(_("Confirmed link from web form"), submission, ip))
    logger.info("webform.confirmed", extra={
        "organization_id": org.id, "submission_id": submission.pk})
    return True
