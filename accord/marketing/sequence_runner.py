"""Running sequences on the worker: each due enrolment goes on until it has to wait.

The beat calls `run_due` every minute. It claims a batch of due enrolments
(`SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL, so several workers share
the work without taking the same row) by moving their next run a lease
ahead, then runs each one step at a time, every step in a transaction of
its own with the enrolment row locked. A worker that dies mid-batch leaves
its enrolments to be claimed again when the lease runs out.

Steps other than e-mail change the database only, in the same transaction
that moves the enrolment on, so a step is done once or not at all. An
e-mail step writes its SequenceMessage row (the ledger) and commits before
the e-mail goes to the mail server; a step whose row exists is never sent
again, so a crash between the two loses at most that one e-mail and never
sends it twice. Who may get an e-mail is decided as for campaigns
(accord.marketing.campaigns.exclusion_reason), and each e-mail carries the
same unsubscribe link, List-Unsubscribe headers and tracking.
"""

import datetime as dt
import logging
import smtplib
import time
from email.utils import formataddr, make_msgid

from django.conf import settings
from django.core.mail import get_connection
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_scopes import scope, scopes_disabled

from accord.activities import services as activities
from accord.activities.models import Activity, Direction, Kind
from accord.activities.services import site_url
from accord.audit.context import channel
from accord.customers import services as customers
from accord.customers.models import ContactTag
from accord.errors import DomainError, InvalidInput
from accord.identity.models import Membership, Organization
from accord.timezones import zone_named

from . import campaigns, emails, sending, sequence_tracking, sequences
from .models import Segment, SuppressedAddress, SuppressionReason
from .sequence_models import (
    Enrolment,
    EnrolmentStatus,
    MessageStatus,
    Sequence,
    SequenceMessage,
    SequenceStatus,
)

logger = logging.getLogger(__name__)

BATCH = 200  # enrolments claimed at once; each takes a few database round trips
BUDGET = 45  # seconds a run keeps claiming batches, under the beat's minute
STEPS_PER_RUN = 50  # more than any sequence has steps, so a run always reaches a wait
# Exclusion reasons that take the contact out of the sequence, not just skip an e-mail.
LEAVING = {"unsubscribed": "unsubscribed", "do_not_contact": "unsubscribed",
           "bounced": "bounced"}
REPLY_KINDS = ("", "reply", "normal")  # ticket mail kinds written by a person


def lease() -> dt.timedelta:
    return dt.timedelta(seconds=settings.SEQUENCE_LEASE_SECONDS)


def run_due(now: dt.datetime | None = None, limit: int = BATCH) -> int:
    """Run the due enrolments of active sequences, across organisations, batch after
    batch for up to BUDGET seconds; how many ran."""
    now = now or timezone.now()
    started, ran = time.monotonic(), 0
    while time.monotonic() - started < BUDGET:
        claimed = _claim(now, limit)
        if not claimed:
            break
        for org_id, enrolment_id in claimed:
            _run_one(org_id, enrolment_id, now)
        ran += len(claimed)
    return ran


def _run_one(org_id: int, enrolment_id: int, now: dt.datetime) -> None:
    org = Organization.objects.get(pk=org_id)
    with scope(organization=org), channel("job"):
        try:
            advance(org, enrolment_id, now)
        except Exception:
            # One broken enrolment must not hold up the batch; it is claimed
            # again when its lease runs out.
            logger.exception("marketing.sequence_step_crashed", extra={
                "organization_id": org_id, "enrolment_id": enrolment_id})


def _claim(now: dt.datetime, limit: int) -> list[tuple[int, int]]:
    with scopes_disabled(), transaction.atomic():
        due = (Enrolment.unscoped.filter(status=EnrolmentStatus.ACTIVE, next_run_at__lte=now,
                                         sequence__status=SequenceStatus.ACTIVE)
               .order_by("next_run_at", "id"))
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True, of=("self",))
        rows = list(due.values_list("organization_id", "pk")[:limit])
        Enrolment.unscoped.filter(pk__in=[pk for _org, pk in rows]).update(
            next_run_at=now + lease())
    return rows


def advance(org, enrolment_id: int, now: dt.datetime) -> None:
    """Run the enrolment's steps from its current one until it waits, leaves or ends."""
    for _step in range(STEPS_PER_RUN):
        with transaction.atomic():
            enrolment = (Enrolment.objects.select_for_update().select_related("contact")
                         .filter(pk=enrolment_id).first())
            if enrolment is None or not enrolment.is_active:
                return
            if enrolment.next_run_at is None or (enrolment.next_run_at > now
                                                 and enrolment.next_run_at != now + lease()):
                return  # not due: it waits, or another run moved it on
            sequence = Sequence.objects.get(pk=enrolment.sequence_id)
            if not sequence.is_active:
                # Waits where it is; the run goes on once the sequence is active again.
                Enrolment.objects.filter(pk=enrolment.pk).update(next_run_at=now)
                return
            reason = exit_reason(org, sequence, enrolment)
            if reason:
                finish(org, enrolment, EnrolmentStatus.EXITED, reason, now)
                return
            step = sequence.step(enrolment.step_key)
            if step is None:
                finish(org, enrolment, EnrolmentStatus.COMPLETED, "", now)
                return
            if step["type"] == "email":
                outgoing = _prepare_email(org, sequence, enrolment, step, now)
            else:
                outgoing = None
                if not _run_step(org, sequence, enrolment, step, now):
                    return
        if outgoing is not None:
            _deliver(org, sequence, enrolment, step, outgoing, now)
    Enrolment.objects.filter(pk=enrolment_id).update(next_run_at=now)


def _following(sequence: Sequence, key: str) -> str:
    position = sequence.position(key)
    if position is None or position + 1 >= len(sequence.steps):
        return ""
    return sequence.steps[position + 1]["key"]


def _move(enrolment: Enrolment, key: str, at: dt.datetime) -> None:
    Enrolment.objects.filter(pk=enrolment.pk).update(step_key=key, next_run_at=at)
    enrolment.step_key, enrolment.next_run_at = key, at


def finish(org, enrolment: Enrolment, status: str, reason: str, now: dt.datetime) -> None:
    Enrolment.objects.filter(pk=enrolment.pk).update(
        status=status, exit_reason=reason, finished_at=now, next_run_at=None)
    if status == EnrolmentStatus.COMPLETED:
        sequences.log(enrolment, "completed", _("Went through every step."), at=now)
    else:
        sequences.log(enrolment, "exited", _("Left the sequence: %(why)s.") % {
            "why": EXIT_WORDS.get(reason, reason)}, step_key=enrolment.step_key, at=now)
    logger.info("marketing.enrolment_finished", extra={
        "organization_id": org.id, "enrolment_id": enrolment.pk, "status": status,
        "reason": reason})


EXIT_WORDS = {
    "unsubscribed": gettext_lazy("unsubscribed or withdrew e-mail consent"),
    "bounced": gettext_lazy("the address bounced"),
    "replied": gettext_lazy("replied by e-mail"),
    "customer": gettext_lazy("became a customer"),
    "goal": gettext_lazy("reached the goal"),
    "branch": gettext_lazy("a branch ended it"),
    "deleted": gettext_lazy("the contact was deleted"),
}


# Exit conditions


def exit_reason(org, sequence: Sequence, enrolment: Enrolment) -> str:
    """Why the contact must leave now, or "" when it stays."""
    contact = enrolment.contact
    if contact.deleted_at is not None or contact.merged_into_id is not None:
        return "deleted"
    if _unsubscribed(contact):
        return "unsubscribed"
    rules = sequence.exit or {}
    if rules.get("reply", True) and replied_since(contact, enrolment.enrolled_at):
        return "replied"
    if rules.get("customer", True) and sequences.is_customer(contact):
        return "customer"
    goal = rules.get("goal_segment")
    if goal and in_segment(org, goal, contact, campaigns.author_of(sequence)):
        return "goal"
    return ""


def _unsubscribed(contact) -> bool:
    if contact.do_not_contact:
        return True
    consent = campaigns.marketing_consent([contact.pk]).get(contact.pk)
    if consent == "withdrawn":
        return True
    return bool(contact.email) and SuppressedAddress.objects.filter(
        address=contact.email.lower(), reason=SuppressionReason.UNSUBSCRIBED).exists()


def replied_since(contact, since: dt.datetime) -> bool:
    """Whether mail from the contact came in since `since`: a support message written by
    a person (not an auto-reply or a bounce) or an inbound e-mail on the timeline."""
    from accord.service.models import MessageKind, TicketMessage

    if Activity.objects.filter(contact=contact, kind=Kind.EMAIL, direction=Direction.INBOUND,
                               occurred_at__gte=since).exists():
        return True
    return TicketMessage.objects.filter(contact=contact, kind=MessageKind.INBOUND,
                                        created_at__gte=since,
                                        mail_kind__in=REPLY_KINDS).exists()


def in_segment(org, segment_id: int, contact, author: Membership | None) -> bool:
    """Whether the contact is in the segment as the sequence's `author` sees related
    records (None: as code, counting every record)."""
    segment = Segment.objects.filter(pk=segment_id).first()
    if segment is None:
        return False
    try:
        contacts = campaigns.segment_contacts(org, segment, [author])
        return contacts.filter(pk=contact.pk).exists()
    except InvalidInput:
        return False


# Steps other than e-mail


def _run_step(org, sequence: Sequence, enrolment: Enrolment, step: dict,
              now: dt.datetime) -> bool:
    """Do one step and move the enrolment on; False when the run stops here (a wait or an
    exit)."""
    kind, key = step["type"], step["key"]
    if kind in ("wait", "wait_until"):
        until = (now + dt.timedelta(**{step["unit"]: step["amount"]}) if kind == "wait"
                 else next_weekday_time(step, _zone(org, enrolment.contact, step), now))
        _move(enrolment, _following(sequence, key), until)
        sequences.log(enrolment, "waited", _("Waiting until %(when)s UTC.") % {
            "when": until.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M")}, step_key=key, at=now)
        return False
    if kind == "branch":
        taken = _branch_holds(org, enrolment, step)
        target = step["then"] if taken else step["else"]
        sequences.log(enrolment, "branched", _("%(test)s: %(way)s.") % {
            "test": _("Condition met") if taken else _("Condition not met"),
            "way": sequences._target_words(target)}, step_key=key, at=now)
        if target == "exit":
            finish(org, enrolment, EnrolmentStatus.EXITED, "branch", now)
            return False
        _move(enrolment, _following(sequence, key) if target == "next" else target, now)
        return True
    try:
        with transaction.atomic():
            text = ACTIONS[kind](org, sequence, enrolment.contact, step, now)
    except DomainError as exc:
        text = _("Could not %(step)s: %(why)s") % {
            "step": sequences.describe_step(step).lower(),
            "why": exc.errors[0]["message"] if getattr(exc, "errors", None) else exc.detail}
        sequences.log(enrolment, "failed", text, step_key=key, at=now)
    else:
        sequences.log(enrolment, "step_done", text, step_key=key, at=now)
    _move(enrolment, _following(sequence, key), now)
    return True


def _zone(org, contact, step: dict):
    if step["zone"] == "contact" and contact.time_zone:
        return zone_named(contact.time_zone)
    return zone_named(org.time_zone)


def next_weekday_time(step: dict, zone, now: dt.datetime) -> dt.datetime:
    """The first moment at or after `now` that is the step's weekday and time in `zone`."""
    hour, minute = (int(part) for part in step["time"].split(":"))
    weekday = sequences.WEEKDAYS.index(step["weekday"])
    local = now.astimezone(zone)
    for days in range(8):
        day = (local + dt.timedelta(days=days)).date()
        if day.weekday() != weekday:
            continue
        at = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
        if at >= local:
            return at.astimezone(dt.UTC)
    raise AssertionError("a weekday comes round within eight days")


def _branch_holds(org, enrolment: Enrolment, step: dict) -> bool:
    if step["condition"] == "segment":
        return in_segment(org, step["segment"], enrolment.contact,
                          campaigns.author_of(enrolment.sequence))
    message = SequenceMessage.objects.filter(enrolment=enrolment, step_key=step["step"]).first()
    if message is None:
        return False
    if step["condition"] == "opened":
        return message.opened_at is not None
    return message.clicked_at is not None


def _task(org, sequence, contact, step, now) -> str:
    assignee = contact.owner_id or sequence.created_by_id
    task = activities.log_activity(org, None, data={
        "kind": "task", "subject": step["subject"], "contact": contact.pk,
        "due_at": now + dt.timedelta(days=step["days"]), "assignee": assignee})
    return _("Created the task “%(subject)s” (%(id)s).") % {"subject": task.subject,
                                                            "id": task.pk}


def _set_field(org, sequence, contact, step, now) -> str:
    if step["field"] not in sequences.settable_fields():
        raise InvalidInput({"field": _("This field cannot be set any more.")})
    customers.update_contact(org, None, contact,
                             data=sequences.field_input(step["field"], step["value"]))
    return _("Set %(field)s to “%(value)s”.") % step


def _add_tag(org, sequence, contact, step, now) -> str:
    names = list(ContactTag.objects.filter(contact=contact).values_list("tag__name", flat=True))
    if step["tag"].lower() in (name.lower() for name in names):
        return _("The contact had the tag “%(tag)s” already.") % step
    customers.update_contact(org, None, contact, data={"tags": [*names, step["tag"]]})
    return _("Added the tag “%(tag)s”.") % step


ACTIONS = {"task": _task, "set_field": _set_field, "add_tag": _add_tag}


# E-mail steps


class Outgoing:
    """An e-mail whose ledger row is written: the message to hand over and its row."""

    def __init__(self, message, row_id: int, attempts: int = 0):
        self.message, self.row_id, self.attempts = message, row_id, attempts


def _write_row(org, enrolment: Enrolment, sequence: Sequence, key: str,
               existing: SequenceMessage | None, **fields) -> SequenceMessage:
    """The step's ledger row with `fields`: a new row, or the deferred one taken again."""
    if existing is None:
        return SequenceMessage.objects.create(
            organization=org, enrolment=enrolment, sequence=sequence, step_key=key,
            contact=enrolment.contact, **fields)
    SequenceMessage.objects.filter(pk=existing.pk).update(**fields)
    return existing


def _prepare_email(org, sequence: Sequence, enrolment: Enrolment, step: dict,
                   now: dt.datetime) -> Outgoing | None:
    """Write the step's ledger row and build its message; None when nothing is to be sent
    (the row existed, or the contact is left out), with the enrolment moved on."""
    key, contact = step["key"], enrolment.contact
    existing = SequenceMessage.objects.filter(enrolment=enrolment, step_key=key).first()
    if existing is not None and existing.status != MessageStatus.DEFERRED:
        if existing.status == MessageStatus.SENDING:
            sequences.log(enrolment, "step_done", _(
                "The e-mail was handed to the mail server before a restart and is not sent "
                "again."), step_key=key, at=now)
        _move(enrolment, _following(sequence, key), now)
        return None

    consent = campaigns.marketing_consent([contact.pk]).get(contact.pk)
    suppressed = dict(SuppressedAddress.objects.filter(address=(contact.email or "").lower())
                      .values_list("address", "reason"))
    reason = campaigns.exclusion_reason(contact.email, contact.do_not_contact, consent,
                                        suppressed)
    template = sequences.EmailTemplate.objects.filter(pk=step.get("template")).first()
    if template is None and not reason:
        reason = "no_template"
    if reason:
        _write_row(org, enrolment, sequence, key, existing, address=contact.email or "",
                   status=MessageStatus.EXCLUDED, reason=reason)
        sequences.log(enrolment, "skipped", _("E-mail not sent: %(why)s.") % {
            "why": SKIP_WORDS.get(reason, reason)}, step_key=key, at=now)
        if reason in LEAVING:
            finish(org, enrolment, EnrolmentStatus.EXITED, LEAVING[reason], now)
        else:
            _move(enrolment, _following(sequence, key), now)
        return None

    html_body, urls = emails.track_links(template.html)
    html_body, text_body = emails.with_footer(html_body, template.text)
    message_id = make_msgid(domain=sequence.from_email.rpartition("@")[2] or None)
    row = _write_row(org, enrolment, sequence, key, existing, address=contact.email,
                     status=MessageStatus.SENDING, message_id=message_id, links=urls, error="")
    # Merge fields show what the person who made the sequence may see, no more.
    writer = Membership.objects.filter(user_id=sequence.created_by_id).first()
    values = emails.person_values(contact, org, writer)
    values["tracking"] = sequence_tracking.values(site_url(), org.pk, row.pk, len(urls))
    try:
        subject, html_text, plain = emails.Compiled(
            template.subject, html_body, text_body).render(values)
    except InvalidInput as exc:
        error = exc.errors[0]["message"] if exc.errors else exc.detail
        SequenceMessage.objects.filter(pk=row.pk).update(status=MessageStatus.FAILED,
                                                         error=str(error)[:300])
        sequences.log(enrolment, "failed", _("E-mail not sent: %(why)s") % {"why": error},
                      step_key=key, at=now)
        _move(enrolment, _following(sequence, key), now)
        return None
    message = emails.marketing_message(
        subject, html_text, plain, to=contact.email,
        sender=formataddr((sequence.from_name, sequence.from_email)), message_id=message_id,
        unsubscribe=values["tracking"]["unsubscribe"])
    return Outgoing(message, row.pk, existing.attempts if existing else 0)


SKIP_WORDS = {
    "no_email": gettext_lazy("the contact has no e-mail address"),
    "do_not_contact": gettext_lazy("the contact is marked do not contact"),
    "no_consent": gettext_lazy("no e-mail marketing consent"),
    "unsubscribed": gettext_lazy("unsubscribed"),
    "suppressed": gettext_lazy("the address is on the suppression list"),
    "bounced": gettext_lazy("the address bounced before"),
    "no_template": gettext_lazy("the template was deleted"),
}


def _deliver(org, sequence: Sequence, enrolment: Enrolment, step: dict, outgoing: Outgoing,
             now: dt.datetime) -> None:
    """Hand the e-mail to the mail server, then record how it went and move on.

    A temporary refusal (a 4xx reply, or no connection to the mail server at
    all) keeps the enrolment on the step and tries again later, up to
    sending.MAX_ATTEMPTS times, as campaigns do.
    """
    key = step["key"]
    status, error, leave, temporary = MessageStatus.SENT, "", "", False
    mail = get_connection()
    try:
        mail.open()
    except (smtplib.SMTPException, OSError) as exc:
        # Nothing was handed over, so trying again later cannot send it twice.
        status, error, temporary = (MessageStatus.FAILED,
                                    (str(exc) or exc.__class__.__name__)[:300], True)
    else:
        try:
            mail.send_messages([outgoing.message])
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            status, error, temporary = MessageStatus.FAILED, _smtp_error(code, text), code < 500
            if code >= 500:
                status, leave = MessageStatus.BOUNCED, "bounced"
        except (smtplib.SMTPResponseException, smtplib.SMTPSenderRefused) as exc:
            status, error = MessageStatus.FAILED, _smtp_error(exc.smtp_code, exc.smtp_error)
            temporary = 400 <= exc.smtp_code < 500
        except (smtplib.SMTPException, OSError) as exc:
            # The connection broke while the e-mail was on its way: it may
            # have arrived, so it is not sent again.
            status, error = MessageStatus.FAILED, (str(exc) or exc.__class__.__name__)[:300]
        finally:
            mail.close()
    attempts = outgoing.attempts + 1
    retry_at = None
    if temporary and attempts < sending.MAX_ATTEMPTS:
        delays = sending.RETRY_DELAYS
        retry_at = now + dt.timedelta(seconds=delays[min(attempts - 1, len(delays) - 1)])
        status = MessageStatus.DEFERRED

    with transaction.atomic():
        SequenceMessage.objects.filter(pk=outgoing.row_id).update(
            status=status, error=error, attempts=attempts,
            sent_at=timezone.now() if status == MessageStatus.SENT else None)
        enrolment = Enrolment.objects.select_for_update().get(pk=enrolment.pk)
        if status == MessageStatus.SENT:
            sequences.log(enrolment, "step_done", _("Sent the e-mail."), step_key=key, at=now)
        elif retry_at is not None:
            sequences.log(enrolment, "deferred", _(
                "The mail server refused the e-mail for now (%(why)s); it is tried again "
                "later.") % {"why": error}, step_key=key, at=now)
        else:
            sequences.log(enrolment, "failed", _("The e-mail was not sent: %(why)s") % {
                "why": error}, step_key=key, at=now)
        if status == MessageStatus.BOUNCED:
            campaigns.suppress_address(org, None, outgoing.message.to[0],
                                       reason=SuppressionReason.BOUNCED, note=error)
        if not enrolment.is_active or enrolment.step_key != key:
            return  # taken out, or moved on by another run, meanwhile
        if leave:
            finish(org, enrolment, EnrolmentStatus.EXITED, leave, now)
        elif retry_at is not None:
            _move(enrolment, key, retry_at)
        else:
            _move(enrolment, _following(sequence, key), now)
    logger.info("marketing.sequence_email", extra={
        "organization_id": org.id, "sequence_id": sequence.pk, "enrolment_id": enrolment.pk,
        "status": status})


def _smtp_error(code: int, text) -> str:
    reason = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
    return f"{code} {reason}"[:300]


# New segment members


def enrol_new_members() -> int:
    """Enrol the new members of each active sequence's segment; how many were enrolled."""
    with scopes_disabled():
        rows = list(Sequence.unscoped.filter(status=SequenceStatus.ACTIVE,
                                             segment__isnull=False)
                    .values_list("organization_id", "pk"))
    enrolled = 0
    for org_id, sequence_id in rows:
        org = Organization.objects.get(pk=org_id)
        with scope(organization=org), channel("job"):
            sequence = Sequence.objects.select_related("segment").get(pk=sequence_id)
            try:
                counts = sequences.enrol_segment(org, None, sequence, sequence.segment,
                                                 campaigns.author_of(sequence), only_new=True)
            except InvalidInput:
                logger.warning("marketing.sequence_segment_invalid", extra={
                    "organization_id": org_id, "sequence_id": sequence_id})
                continue
            enrolled += counts["enrolled"]
    return enrolled
