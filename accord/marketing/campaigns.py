"""Every write to e-mail templates, campaigns and the suppression list.

Who a campaign reaches is decided once, when it starts: the segment is
resolved (a dynamic one as it matches then) and one CampaignRecipient row is
written per contact, either waiting to be sent or excluded with its reason.
A contact is sent to only when all of these hold:

- it has an e-mail address and is not marked "do not contact";
- its latest consent event for e-mail marketing (channel `email`, purpose
  `marketing`) is "granted" - no record at all counts as no consent, and a
  withdrawal (by the unsubscribe link, on the contact page, through the API
  or an import) as unsubscribed;
- its address is not on the organisation's suppression list (bounced
  addresses are put there by the sender);
- the campaign's author may see it (accord.identity.visibility), and so
  may the member who starts it by hand: a member whose role sees only some
  contacts reaches only those, an admin the whole segment.
"""

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_scopes import scope, scopes_disabled

from accord import events, merge_fields
from accord.audit import services as audit
from accord.audit.models import Action
from accord.customers.models import (
    Consent,
    ConsentChannel,
    ConsentPurpose,
    ConsentStatus,
    Contact,
    consents_in_effect,
)
from accord.customers.validation import Collector, as_pk, clean_email
from accord.errors import Conflict, InvalidInput, NotFound, StaleVersion
from accord.identity.context import acting_member
from accord.identity.models import Area, Membership
from accord.identity.visibility import visible
from accord.timezones import zone_named

from . import emails, subject_test
from .conditions import Conditions
from .models import (
    Campaign,
    CampaignLink,
    CampaignRecipient,
    CampaignStatus,
    EmailTemplate,
    ExclusionReason,
    RecipientStatus,
    Segment,
    SegmentMember,
    SuppressedAddress,
    SuppressionReason,
    TestMetric,
)
from .sequence_models import Sequence
from .services import visible_segments

logger = logging.getLogger(__name__)

NAME_LIMIT = 120
SUBJECT_LIMIT = 250
TEMPLATE_FIELDS = ["name", "subject", "html", "text", "text_by_hand"]
DELETABLE = (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED, CampaignStatus.CANCELLED)
# Recipient rows of a campaign that never reached the mail server.
NEVER_HANDED_OVER = (RecipientStatus.EXCLUDED, RecipientStatus.PENDING, RecipientStatus.HELD,
                     RecipientStatus.CANCELLED)
PREVIEW_LINK = "#"  # in place of each signed link in previews and test sends
CAMPAIGN_FIELDS = ["name", "template", "segment", "from_name", "from_email", "scheduled_at",
                   "in_recipient_time_zone", "subject_b", "test_percent", "test_hours",
                   "test_metric"]
RESOLVE_CHUNK = 500  # contacts per query and INSERT while resolving recipients
DUE_LIMIT = 50  # scheduled campaigns started per beat tick
# The first time zone to reach a clock time is UTC+14, the last UTC-12: a
# campaign sent at each recipient's own clock time starts when the first
# zone reaches it and goes on for up to 26 hours.
EARLIEST_ZONE = dt.timedelta(hours=14)
ZONE_SPAN = dt.timedelta(hours=26)


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


def _check_version(record, expected_version) -> None:
    if expected_version is not None and int(expected_version) != record.version:
        raise StaleVersion(current_version=record.version)


# Templates


def get_template(template_id) -> EmailTemplate:
    """The template of the scope's organisation with this id; NotFound otherwise."""
    pk = as_pk(template_id)
    template = EmailTemplate.objects.filter(pk=pk).first() if pk else None
    if template is None:
        raise NotFound("No e-mail template with this id.")
    return template


def clean_template(data: dict, *, current: EmailTemplate | None = None) -> dict:
    """Validate template fields; only keys present in `data` are returned (all on create).

    The HTML comes back sanitised, and the plain text is derived from it
    unless `text_by_hand`. Raises InvalidInput naming every bad field,
    including merge-field mistakes and tags the sandbox refuses.
    """
    errors = Collector()
    out: dict = {}
    if "name" in data or current is None:
        name = data.get("name")
        name = " ".join(name.split()) if isinstance(name, str) else ""
        if not name:
            errors.add("name", "Give the template a name.", "required")
        elif len(name) > NAME_LIMIT or "\x00" in name:
            errors.add("name", f"Keep the name under {NAME_LIMIT} characters.", "too_long")
        elif EmailTemplate.objects.filter(name__iexact=name).exclude(
                pk=getattr(current, "pk", None)).exists():
            errors.add("name", "Another template already has this name.", "duplicate")
        out["name"] = name
    if "subject" in data or current is None:
        subject = data.get("subject")
        subject = " ".join(subject.split()) if isinstance(subject, str) else ""
        if not subject:
            errors.add("subject", "Write a subject.", "required")
        elif len(subject) > SUBJECT_LIMIT or "\x00" in subject:
            errors.add("subject", f"Keep the subject under {SUBJECT_LIMIT} characters.",
                       "too_long")
        else:
            _check_merge_fields(subject, "subject", errors)
        out["subject"] = subject
    if "html" in data or current is None:
        markup = data.get("html")
        markup = markup if isinstance(markup, str) else ""
        if not markup.strip():
            errors.add("html", "Write the e-mail's text.", "required")
        elif len(markup) > emails.HTML_LIMIT or "\x00" in markup:
            errors.add("html", f"Keep the HTML under {emails.HTML_LIMIT} characters.",
                       "too_long")
        else:
            markup = emails.sanitize_html(markup)
            _check_merge_fields(markup, "html", errors)
        out["html"] = markup
    by_hand = data.get("text_by_hand", getattr(current, "text_by_hand", False))
    out["text_by_hand"] = bool(by_hand)
    if by_hand:
        text = data.get("text", getattr(current, "text", ""))
        text = text if isinstance(text, str) else ""
        if not text.strip():
            errors.add("text", "Write the plain-text part, or let it come from the HTML.",
                       "required")
        elif len(text) > emails.HTML_LIMIT or "\x00" in text:
            errors.add("text", f"Keep the text under {emails.HTML_LIMIT} characters.",
                       "too_long")
        else:
            _check_merge_fields(text, "text", errors)
        out["text"] = text
    elif "html" in out:
        out["text"] = emails.html_to_text(out["html"])
    elif current is not None and current.text_by_hand:
        out["text"] = emails.html_to_text(current.html)
    errors.raise_if_any()
    return out


def _check_merge_fields(text: str, field: str, errors: Collector) -> None:
    try:
        merge_fields.check(text, field)
    except InvalidInput as exc:
        errors.absorb(exc)


@transaction.atomic
def create_template(org, actor, *, data: dict) -> EmailTemplate:
    values = clean_template(data)

    template = EmailTemplate.objects.create(organization=org, created_by=_user(actor),
                                            **values)

    audit.record(org, actor, Action.CREATE, template,
                 changes=audit.diff({}, audit.snapshot(template, TEMPLATE_FIELDS)))
    return template


@transaction.atomic
def update_template(org, actor, template: EmailTemplate, *, data: dict,
                    expected_version: int | None = None) -> EmailTemplate:
    """Change a template; StaleVersion when `expected_version` is not the stored one.
    Campaigns already started keep the copy they took."""
    template = EmailTemplate.objects.select_for_update().get(pk=template.pk)
    _check_version(template, expected_version)
    values = clean_template(data, current=template)

    before = audit.snapshot(template, TEMPLATE_FIELDS)
    for name, value in values.items():
        setattr(template, name, value)
    changes = audit.diff(before, audit.snapshot(template, TEMPLATE_FIELDS))
    if not changes:
        return template
    template.save_new_version()

    audit.record(org, actor, Action.UPDATE, template, changes=changes)
    return template


@transaction.atomic
def delete_template(org, actor, template: EmailTemplate, *,
                    expected_version: int | None = None) -> None:
    """Delete a template; Conflict while a campaign or a sequence uses it."""
    template = EmailTemplate.objects.select_for_update().get(pk=template.pk)
    _check_version(template, expected_version)
    used_by = Campaign.objects.filter(template=template).count()
    if used_by:
        raise Conflict(ngettext(
            "A campaign uses this template; delete the campaign first. A campaign that has "
            "sent e-mail cannot be deleted: its report needs the template.",
            "%(count)d campaigns use this template; delete them first. A campaign that has "
            "sent e-mail cannot be deleted: its report needs the template.", used_by)
            % {"count": used_by})
    if any(step.get("template") == template.pk for steps in
           Sequence.objects.values_list("steps", flat=True) for step in steps):
        raise Conflict(_("A sequence uses this template; take it out of the sequence's "
                         "steps first."))

    audit.record(org, actor, Action.DELETE, template,
                 changes=audit.diff(audit.snapshot(template, TEMPLATE_FIELDS), {}))
    template.delete()


def preview(org, template: EmailTemplate, contact: Contact | None,
            viewer) -> tuple[str, str, str]:
    """(subject, HTML, text) of the template as `contact` would get it (empty values
    without a contact), with only the custom fields the `viewer` may see.

    The unsubscribe and preference-centre links point nowhere: the real ones
    are signed for the contact, and whoever holds them can change the
    contact's consent, which a preview or a test send must not hand out.
    """
    values = emails.person_values(contact, org, viewer)
    values["contact"]["preferences_url"] = PREVIEW_LINK
    html_body, urls = emails.track_links(template.html)
    values["tracking"] = {"links": urls, "unsubscribe": PREVIEW_LINK, "open": ""}
    html_body, text_body = emails.with_footer(html_body, template.text)
    return emails.render(template.subject, html_body, text_body, values)


def send_test(org, actor, template: EmailTemplate, contact: Contact | None, viewer) -> str:
    """E-mail the template, filled for `contact` as the `viewer` may see it, to the actor's
    own address; return the address."""
    subject, html_body, text_body = preview(org, template, contact, viewer)
    message = EmailMultiAlternatives(
        subject=f"[TEST] {subject}", body=text_body, from_email=settings.DEFAULT_FROM_EMAIL,
        to=[actor.email])
    message.attach_alternative(html_body, "text/html")
    message.send()
    logger.info("marketing.template_test_sent", extra={
        "organization_id": org.id, "template_id": template.pk, "user_id": actor.pk})
    return actor.email


# Campaigns


def get_campaign(campaign_id) -> Campaign:
    pk = as_pk(campaign_id)
    campaign = (Campaign.objects.select_related("template", "segment").filter(pk=pk).first()
                if pk else None)
    if campaign is None:
        raise NotFound("No campaign with this id.")
    return campaign


def clean_campaign(data: dict, *, current: Campaign | None = None) -> dict:
    """Validate campaign fields; only keys present in `data` are returned (all on create).

    `template` and `segment` are ids of the organisation's records;
    `scheduled_at`, when given, must be an aware time in the future.
    """
    errors = Collector()
    out: dict = {}
    if "name" in data or current is None:
        name = data.get("name")
        name = " ".join(name.split()) if isinstance(name, str) else ""
        if not name:
            errors.add("name", "Give the campaign a name.", "required")
        elif len(name) > NAME_LIMIT or "\x00" in name:
            errors.add("name", f"Keep the name under {NAME_LIMIT} characters.", "too_long")
        out["name"] = name
    # A segment the acting member may not see (it is built on a field hidden
    # from them) cannot be chosen either.
    for field, records, message in (
            ("template", EmailTemplate.objects.all(), "Choose one of your e-mail templates."),
            ("segment", visible_segments(), "Choose one of your segments.")):
        if field in data or current is None:
            value = data.get(field)
            pk = as_pk(getattr(value, "pk", value))
            record = records.filter(pk=pk).first() if pk else None
            if record is None:
                errors.add(field, message, "required" if value in (None, "") else "invalid")
            out[field] = record
    if "from_name" in data:
        from_name = data.get("from_name") or ""
        from_name = " ".join(from_name.split()) if isinstance(from_name, str) else ""
        if len(from_name) > NAME_LIMIT or any(c in from_name for c in '"<>\x00'):
            errors.add("from_name", "Use a plain name of up to 120 characters.")
        out["from_name"] = from_name
    if "from_email" in data or current is None:
        address = clean_email(data.get("from_email") or "", "from_email", errors)
        if not address and not any(e["field"] == "from_email" for e in errors.errors):
            errors.add("from_email", "Give the address the campaign is sent from.", "required")
        out["from_email"] = address or ""
    _clean_subject_test(data, out, errors, current)
    if "scheduled_at" in data:
        when = data.get("scheduled_at")
        if when is not None and (not isinstance(when, dt.datetime) or timezone.is_naive(when)):
            errors.add("scheduled_at", "Give a date and time with its time zone.")
        elif when is not None and when <= timezone.now():
            errors.add("scheduled_at", "Choose a time in the future.")
        out["scheduled_at"] = when
    if "in_recipient_time_zone" in data:
        out["in_recipient_time_zone"] = bool(data.get("in_recipient_time_zone"))
        when = out.get("scheduled_at", current.scheduled_at if current else None)
        if out["in_recipient_time_zone"] and when is None:
            errors.add("in_recipient_time_zone", "Choose a time to send at: each recipient "
                                                 "gets the e-mail at that time of day in "
                                                 "their own time zone.")
    elif "scheduled_at" in data and out["scheduled_at"] is None and current is not None \
            and current.in_recipient_time_zone:
        # Refused rather than switched off quietly: a draft keeping the flag
        # without a time would mean nothing, and the caller may have meant to
        # move the time, not to give up sending by time zone.
        errors.add("scheduled_at", "This campaign is sent in each recipient's time zone, "
                                   "which needs a time; to keep it as a draft, also set "
                                   "in_recipient_time_zone to false.")
    errors.raise_if_any()
    return out


def _clean_subject_test(data: dict, out: dict, errors: Collector,
                        current: Campaign | None) -> None:
    """The subject test's settings of `data` into `out`; a share needs a second subject."""
    if "subject_b" in data:
        subject = data.get("subject_b") or ""
        subject = " ".join(subject.split()) if isinstance(subject, str) else ""
        if len(subject) > SUBJECT_LIMIT:
            errors.add("subject_b", f"Keep the subject under {SUBJECT_LIMIT} characters.",
                       "too_long")
        elif subject:
            _check_merge_fields(subject, "subject_b", errors)
        out["subject_b"] = subject
    for field, low, high in (("test_percent", 0, 100),
                             ("test_hours", 1, subject_test.MAX_HOURS)):
        if field in data:
            value = data.get(field)
            if isinstance(value, str) and value.strip().isdigit():
                value = int(value)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                errors.add(field, f"Enter a whole number from {low} to {high}.")
            out[field] = value
    if "test_metric" in data:
        if data.get("test_metric") not in TestMetric.values:
            errors.add("test_metric", "Choose opens or clicks.")
        out["test_metric"] = data.get("test_metric")
    percent = out.get("test_percent", current.test_percent if current else 0)
    second = out.get("subject_b", current.subject_b if current else "")
    if isinstance(percent, int) and percent > 0 and not second:
        errors.add("subject_b", "Give the second subject to test, or test 0 % of the "
                                "recipients.", "required")


def _event_data(campaign: Campaign, **extra) -> dict:
    return {"name": campaign.name, "status": campaign.status, **extra}


@transaction.atomic
def create_campaign(org, actor, *, data: dict) -> Campaign:
    """Save a draft campaign; it is scheduled when `scheduled_at` is given."""
    values = clean_campaign(data)

    status = CampaignStatus.SCHEDULED if values.get("scheduled_at") else CampaignStatus.DRAFT
    campaign = Campaign.objects.create(organization=org, created_by=_user(actor), status=status,
                                       **values)

    audit.record(org, actor, Action.CREATE, campaign,
                 changes=audit.diff({}, audit.snapshot(campaign, CAMPAIGN_FIELDS)))
    events.emit(org, actor, "campaign.created", campaign, data=_event_data(campaign))
    return campaign


@transaction.atomic
def update_campaign(org, actor, campaign: Campaign, *, data: dict,
                    expected_version: int | None = None) -> Campaign:
    """Change a draft or scheduled campaign; setting or clearing `scheduled_at` schedules
    or unschedules it. InvalidInput once it has started."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    _check_version(campaign, expected_version)
    if not campaign.is_editable:
        raise InvalidInput({"status": "This campaign has started; it can no longer change."})
    values = clean_campaign(data, current=campaign)

    before = audit.snapshot(campaign, CAMPAIGN_FIELDS)
    for name, value in values.items():
        setattr(campaign, name, value)
    campaign.status = (CampaignStatus.SCHEDULED if campaign.scheduled_at
                       else CampaignStatus.DRAFT)
    changes = audit.diff(before, audit.snapshot(campaign, CAMPAIGN_FIELDS))
    if not changes:
        return campaign
    campaign.save_new_version()

    audit.record(org, actor, Action.UPDATE, campaign, changes=changes)
    return campaign


@transaction.atomic
def cancel_campaign(org, actor, campaign: Campaign, *,
                    expected_version: int | None = None) -> Campaign:
    """Stop a campaign: nothing more is sent. E-mails already handed over stay sent."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    _check_version(campaign, expected_version)
    if campaign.status in (CampaignStatus.SENT, CampaignStatus.CANCELLED):
        raise InvalidInput({"status": "This campaign has finished already."})

    before = campaign.status
    campaign.status = CampaignStatus.CANCELLED
    campaign.finished_at = timezone.now()
    campaign.save_new_version()
    # Rows still waiting (for their time zone, a retry or the subject test's
    # winner) will never go: marked so, the sender cannot claim them, since it
    # only takes `pending` rows, and the report does not show them as waiting.
    not_sent = CampaignRecipient.objects.filter(
        campaign=campaign, status__in=(RecipientStatus.PENDING, RecipientStatus.HELD),
    ).update(status=RecipientStatus.CANCELLED, next_attempt_at=None)

    audit.record(org, actor, Action.UPDATE, campaign,
                 changes={"status": [before, CampaignStatus.CANCELLED],
                          "not_sent": [None, not_sent]})
    events.emit(org, actor, "campaign.cancelled", campaign, data=_event_data(campaign))
    return campaign


def can_delete_campaign(campaign: Campaign) -> bool:
    """Whether the campaign has sent nothing and so may be deleted."""
    return campaign.status in DELETABLE and not CampaignRecipient.objects.filter(
        campaign=campaign).exclude(status__in=NEVER_HANDED_OVER).exists()


@transaction.atomic
def delete_campaign(org, actor, campaign: Campaign, *,
                    expected_version: int | None = None) -> None:
    """Delete a campaign that has sent nothing: a draft, a scheduled one or one cancelled
    before its first e-mail went. Conflict for any other, whose report must stay."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    _check_version(campaign, expected_version)
    if campaign.status == CampaignStatus.SENDING:
        raise Conflict(_("This campaign is sending; cancel it before deleting it."))
    if not can_delete_campaign(campaign):
        raise Conflict(_("This campaign has sent e-mail, and its report is kept; it cannot "
                         "be deleted."))

    audit.record(org, actor, Action.DELETE, campaign, changes=audit.diff(
        audit.snapshot(campaign, ["name", "status"]), {}))
    events.emit(org, actor, "campaign.deleted", campaign, data=_event_data(campaign))
    campaign.delete()


def local_send_time(org, campaign: Campaign) -> dt.datetime | None:
    """The clock time (naive) each recipient gets the campaign at, or None when it is sent
    at one moment for everyone."""
    if not campaign.in_recipient_time_zone or campaign.scheduled_at is None:
        return None
    return campaign.scheduled_at.astimezone(zone_named(org.time_zone)).replace(tzinfo=None)


def first_moment(org, campaign: Campaign) -> dt.datetime:
    """When the campaign is due to start: its time, or when the first zone reaches it."""
    local = local_send_time(org, campaign)
    if local is None:
        return campaign.scheduled_at
    return (local - EARLIEST_ZONE).replace(tzinfo=dt.UTC)


@transaction.atomic
def start_campaign(org, actor, campaign: Campaign, *,
                   expected_version: int | None = None, by_schedule: bool = False) -> Campaign:
    """Resolve the recipients, copy the template and queue the sending.

    A scheduled campaign started by hand ("Send now") goes at once to
    everyone, overriding the schedule. Started `by_schedule`, a campaign in
    each recipient's time zone gives every recipient their own send time.
    InvalidInput when the campaign is not a draft or scheduled, or when its
    segment's conditions no longer fit the organisation.
    """
    campaign = (Campaign.objects.select_for_update().select_related("template", "segment")
                .get(pk=campaign.pk))
    _check_version(campaign, expected_version)
    if campaign.status == CampaignStatus.CANCELLED:
        raise InvalidInput({"status": "This campaign was cancelled; it cannot be started."})
    if not campaign.is_editable:
        raise InvalidInput({"status": "This campaign has started already."})
    if not visible_segments().filter(pk=campaign.segment_id).exists():
        # The segment was built on a field hidden since from the member's role.
        raise InvalidInput({"segment": "This campaign's segment uses a field hidden from "
                                       "your role; someone who may see it has to start it."})

    template = campaign.template
    html_body, urls = emails.track_links(template.html)
    campaign.html, campaign.text = emails.with_footer(html_body, template.text)
    campaign.subject = template.subject
    CampaignLink.objects.bulk_create([
        CampaignLink(organization=org, campaign=campaign, position=position, url=url)
        for position, url in enumerate(urls)])
    counts = _resolve_recipients(org, campaign,
                                 local_send_time(org, campaign) if by_schedule else None,
                                 members=[author_of(campaign), acting_member()])
    now = timezone.now()
    if subject_test.is_test(campaign):
        counts["subject_test"] = subject_test.split(campaign, now)
    campaign.status = CampaignStatus.SENDING
    campaign.started_at = campaign.heartbeat_at = now
    campaign.save_new_version()

    audit.record(org, actor, Action.UPDATE, campaign,
                 changes={"status": [CampaignStatus.DRAFT, CampaignStatus.SENDING],
                          "recipients": [None, counts]})
    events.emit(org, actor, "campaign.started", campaign,
                data=_event_data(campaign, recipients=counts))
    logger.info("marketing.campaign_started", extra={
        "organization_id": org.id, "campaign_id": campaign.pk, **counts})
    transaction.on_commit(lambda: queue_sending(org.pk, campaign.pk))
    return campaign


def queue_sending(org_id: int, campaign_id: int, countdown: float = 0) -> None:
    from .tasks import send_campaign

    send_campaign.apply_async((org_id, campaign_id), countdown=countdown)


def author_of(record) -> Membership | None:
    """The membership of the person who made a campaign or sequence in the scope's
    organisation, or None when code made it or its author has left."""
    if record.created_by_id is None:
        return None
    return Membership.objects.filter(user_id=record.created_by_id).first()


def reached_by(contacts, members):
    """`contacts` narrowed to those each of `members` may see; a None in `members` (the
    scheduler, code, an author who has left) narrows nothing."""
    for membership in members:
        if membership is not None:
            contacts = visible(contacts, membership, Area.CONTACTS)
    return contacts


def segment_contacts(org, segment: Segment, members=()):
    """Every live contact of the segment in the organisation, whoever may see it; narrow
    it with `reached_by` for the people it is sent to. A dynamic segment's conditions
    about related records (deals, companies, activities) count those all `members` see."""
    if segment.is_frozen:
        stored = SegmentMember.objects.filter(organization_id=org.pk, segment=segment,
                                              contact=OuterRef("pk"))
        contacts = Contact.objects.filter(Exists(stored))
    else:
        try:
            contacts = Conditions(org).contacts(segment.conditions, seen_by=members)
        except InvalidInput as exc:
            raise InvalidInput({"segment": "The segment's conditions refer to something that "
                                           "no longer exists; edit the segment."}) from exc
    return contacts.filter(deleted_at__isnull=True, merged_into__isnull=True)


def _resolve_recipients(org, campaign: Campaign, local: dt.datetime | None = None, *,
                        members=()) -> dict:
    """Write one recipient row per contact of the segment that all `members` may see;
    the counts by outcome.

    With a `local` clock time, each row waits until that time in its contact's
    time zone (the organisation's when the contact has none).
    """
    suppressed = dict(SuppressedAddress.objects.values_list("address", "reason"))
    counts = {"pending": 0, **dict.fromkeys(ExclusionReason.values, 0)}
    contacts = reached_by(segment_contacts(org, campaign.segment, members), members)
    ids = contacts.order_by("pk").values_list(
        "pk", "email", "do_not_contact", "time_zone")
    send_at = _send_times(org, local)
    batch: list[tuple] = []
    for row in ids.iterator(chunk_size=RESOLVE_CHUNK):
        batch.append(row)
        if len(batch) == RESOLVE_CHUNK:
            _write_recipients(org, campaign, batch, suppressed, counts, send_at)
            batch = []
    _write_recipients(org, campaign, batch, suppressed, counts, send_at)
    return counts


def _send_times(org, local: dt.datetime | None):
    """A function from a contact's time-zone name to when its e-mail is due (None: now)."""
    if local is None:
        return lambda _zone: None
    now = timezone.now()
    known: dict[str, dt.datetime | None] = {}

    def send_at(zone: str) -> dt.datetime | None:
        if zone not in known:
            moment = local.replace(tzinfo=zone_named(zone or org.time_zone))
            known[zone] = moment if moment > now else None
        return known[zone]

    return send_at


def _write_recipients(org, campaign, rows, suppressed: dict, counts: dict, send_at) -> None:
    consent = marketing_consent([row[0] for row in rows])
    recipients = []
    for pk, address, do_not_contact, zone in rows:
        reason = exclusion_reason(address, do_not_contact, consent.get(pk), suppressed)
        counts[reason or "pending"] += 1
        recipients.append(CampaignRecipient(
            organization=org, campaign=campaign, contact_id=pk, address=address,
            status=RecipientStatus.EXCLUDED if reason else RecipientStatus.PENDING,
            reason=reason, next_attempt_at=None if reason else send_at(zone)))
    CampaignRecipient.objects.bulk_create(recipients, batch_size=RESOLVE_CHUNK // 5)


def exclusion_reason(address: str, do_not_contact: bool, consent: str | None,
                     suppressed: dict) -> str:
    """Why a contact is left out of a campaign, or "" when it is sent to.

    The reasons are checked in this order, so each contact counts once.
    """
    if not address:
        return ExclusionReason.NO_EMAIL
    if do_not_contact:
        return ExclusionReason.DO_NOT_CONTACT
    listed = suppressed.get(address.lower())
    if listed == SuppressionReason.BOUNCED:
        return ExclusionReason.BOUNCED
    if consent == ConsentStatus.WITHDRAWN or listed == SuppressionReason.UNSUBSCRIBED:
        return ExclusionReason.UNSUBSCRIBED
    if listed is not None:
        return ExclusionReason.SUPPRESSED
    if consent != ConsentStatus.GRANTED:
        return ExclusionReason.NO_CONSENT
    return ""


def marketing_consent(contact_ids: list[int]) -> dict[int, str]:
    """The latest e-mail marketing consent status in effect per contact, for those with
    any."""
    latest: dict[int, str] = {}
    rows = (consents_in_effect(Consent.objects.filter(
                contact_id__in=contact_ids, channel=ConsentChannel.EMAIL,
                purpose=ConsentPurpose.MARKETING))
            .order_by("recorded_at", "id").values_list("contact_id", "status"))
    for contact_id, status in rows:
        latest[contact_id] = status
    return latest


def start_due_campaigns(now: dt.datetime | None = None) -> int:
    """Start the scheduled campaigns whose time has come, across organisations; how many."""
    now = now or timezone.now()
    with scopes_disabled():
        scheduled = (Campaign.unscoped.filter(status=CampaignStatus.SCHEDULED)
                     .select_related("organization").order_by("scheduled_at"))
        due = list(scheduled.filter(scheduled_at__lte=now)[:DUE_LIMIT])
        # Campaigns in each recipient's time zone start up to 26 hours early.
        due += [campaign for campaign in scheduled.filter(
                    in_recipient_time_zone=True, scheduled_at__gt=now,
                    scheduled_at__lte=now + ZONE_SPAN)[:DUE_LIMIT]
                if first_moment(campaign.organization, campaign) <= now]
    started = 0
    for campaign in due:
        org = campaign.organization
        with scope(organization=org):
            try:
                start_campaign(org, None, campaign, by_schedule=True)
            except InvalidInput as exc:
                # A segment that no longer fits, or a campaign started by
                # hand in between: the campaign stays as it is, for a person
                # to look at.
                logger.warning("marketing.campaign_not_started", extra={
                    "organization_id": org.id, "campaign_id": campaign.pk,
                    "reason": exc.errors[0]["field"] if exc.errors else ""})
                continue
            started += 1
    return started


# Suppression list


SUPPRESSED_ADDRESS_LENGTH = SuppressedAddress._meta.get_field("address").max_length


@transaction.atomic
def suppress_address(org, actor, address: str, *, reason: str = SuppressionReason.MANUAL,
                     note: str = "", campaign: Campaign | None = None) -> SuppressedAddress:
    """Put `address` on the suppression list (once); InvalidInput for a bad address."""
    errors = Collector()
    cleaned = clean_email(address or "", "address", errors)
    if not cleaned and not errors.errors:
        errors.add("address", "Enter an e-mail address.", "required")
    elif cleaned and len(cleaned) > SUPPRESSED_ADDRESS_LENGTH:
        errors.add("address", "Enter a valid e-mail address of at most "
                              f"{SUPPRESSED_ADDRESS_LENGTH} characters.", "too_long")
    if reason not in SuppressionReason.values:
        errors.add("reason", "Choose a reason from the list.")
    if len(note or "") > 300:
        errors.add("note", "Keep the note under 300 characters.", "too_long")
    errors.raise_if_any()

    existing = SuppressedAddress.objects.filter(address=cleaned.lower()).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            entry = SuppressedAddress.objects.create(
                organization=org, address=cleaned.lower(), reason=reason, note=note or "",
                campaign=campaign, created_by=_user(actor))
    except IntegrityError:
        return SuppressedAddress.objects.get(address=cleaned.lower())

    audit.record(org, actor, Action.CREATE, entry, changes={"reason": [None, reason]})
    return entry


@transaction.atomic
def unsuppress_address(org, actor, entry: SuppressedAddress) -> None:
    """Take an address off the list; campaigns started afterwards may send to it again."""
    audit.record(org, actor, Action.DELETE, entry, changes={"reason": [entry.reason, None]})
    entry.delete()


def suppressions():
    return SuppressedAddress.objects.order_by(Lower("address"), "id")


def get_suppression(entry_id) -> SuppressedAddress:
    pk = as_pk(entry_id)
    entry = SuppressedAddress.objects.filter(pk=pk).first() if pk else None
    if entry is None:
        raise NotFound("No address with this id on the suppression list.")
    return entry
