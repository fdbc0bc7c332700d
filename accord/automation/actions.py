"""What a rule can do: each action checks its settings, says what it would do, and does it.

An action's `preview` only reads, for the dry run; `perform` makes the
change through the owning app's service, inside the run's transaction, and
returns a line for the run log. Both raise DomainError (or ActionFailed)
with a message a person can act on.
"""

import datetime as dt
import json
import re
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from accord import merge_fields
from accord.activities import services as activities
from accord.customers import custom_fields
from accord.customers import services as customers
from accord.customers.models import Contact, ContactTag, CustomField, Entity
from accord.customers.validation import clean_contact
from accord.errors import DomainError, InvalidInput
from accord.identity import visibility
from accord.identity.context import acting_member
from accord.identity.models import Membership, Team, User
from accord.integrations import outbound
from accord.marketing import emails, texting
from accord.marketing.models import SuppressedAddress
from accord.records import services as records
from accord.sales import services as sales
from accord.sales.models import Deal, Stage
from accord.sales.validation import clean_deal
from accord.service import services as service
from accord.service.models import Ticket
from accord.service.validation import clean_ticket

from . import custom_records
from .authors import author_of
from .models import Rule

MAX_DAYS = 3650  # ten years: longer waits and due dates are a typing mistake
MAX_TEXT = 20_000
WEBHOOK_USER_AGENT = "Accord-Rules/1"
# A body with an opening or closing tag is taken as HTML; anything else is plain text.
HTML_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(\s[^<>]*)?/?>")


class ActionFailed(DomainError):
    code = "action-failed"
    title = gettext_lazy("The action failed")
    status = 422


class ActionSkipped(Exception):
    """The action must not be done for this record; the run logs why and goes on."""


@dataclass
class Step:
    """What one action of one run works on."""

    org: object
    rule: Rule
    entity: str
    record: object
    contact: object
    depth: int = 1
    run_id: int | None = None


# Which field of each record holds its owner, and which service changes it;
# a custom record's owner is its `owner`.
OWNER_FIELDS = {"contact": "owner", "deal": "owner", "ticket": "assignee"}
# Actions that make a new deal or ticket for a contact: a rule about custom
# records has no place for them, as the record would not be linked to them.
NOT_FOR_RECORDS = {"create_deal", "create_ticket"}


def _owner_field(entity: str) -> str | None:
    return "owner" if custom_records.is_record(entity) else OWNER_FIELDS.get(entity)


def _updater(entity: str):
    if custom_records.is_record(entity):
        return records.update_record
    return {"contact": customers.update_contact, "deal": sales.update_deal,
            "ticket": service.update_ticket}.get(entity)


def _text(settings_: dict, name: str, errors: dict, *, required: bool = True,
          limit: int = 200, merge: bool = False) -> str:
    value = str(settings_.get(name) or "").strip()
    if required and not value:
        errors[name] = _("Fill this in.")
    elif len(value) > limit:
        errors[name] = _("Use at most %(limit)s characters.") % {"limit": limit}
    elif merge:
        try:
            merge_fields.check(value, name)
        except InvalidInput as exc:
            errors[name] = exc.errors[0]["message"]
    return value


def _days(settings_: dict, name: str, errors: dict, *, minimum: int = 0) -> int:
    try:
        value = int(settings_.get(name) if settings_.get(name) not in (None, "") else 0)
    except (TypeError, ValueError):
        errors[name] = _("Enter a whole number.")
        return 0
    if not minimum <= value <= MAX_DAYS:
        errors[name] = _("Enter a number from %(low)s to %(high)s.") % {
            "low": minimum, "high": MAX_DAYS}
    return value


def _member(org, value, errors: dict, name: str = "user") -> int | None:
    if value in (None, ""):
        return None
    try:
        user_id = int(value)
    except (TypeError, ValueError):
        user_id = None
    if user_id is None or not Membership.objects.filter(user_id=user_id,
                                                        is_active=True).exists():
        errors[name] = _("Choose an active member of this organisation.")
        return None
    return user_id


def _merge_values(step: Step, *, readers=(), to_contact: bool = False) -> dict:
    """The merge fields a rule's texts are filled from, as the rule's author sees them (a
    company hidden from them stays empty). Contact fields hidden from any role, or
    encrypted, stay out, as for custom records: whoever reads the task or notification a
    rule writes may be of such a role, and what it writes is plain text.

    What a rule writes into Accord (a task, a notification, a deal's name, the run log)
    is read by the members given as `readers` (user ids) and by every member who sees the
    record, so the company stays empty there unless each of them sees it too, and the
    contact stays empty when one of the `readers` may not see it. Only a text
    `to_contact`, the e-mail a contact gets, is filled as the author sees it.
    """
    values = merge_fields.person_values(step.contact, author_of(step.rule))
    shared = {field.key for field in CustomField.objects.filter(entity=Entity.CONTACT)
              if not field.hidden_from_roles and not field.encrypted}
    values["contact"]["custom"] = {key: value for key, value in
                                   values["contact"].get("custom", {}).items()
                                   if key in shared}
    if values["company"] and not to_contact and not _seen_by_every_reader(
            step, step.contact.company, readers):
        values["company"] = merge_fields.Named({})
    if step.contact is not None and not to_contact and not all(
            visibility.sees(_membership(user_id), step.contact) for user_id in readers):
        # A task or notification goes to its reader even about a contact hidden
        # from them (so that no work is lost); it names no one they may not see.
        values["contact"] = merge_fields.Named({})
    if custom_records.is_record(step.entity):
        values.update(custom_records.merge_values(step.record))
    return values


def _membership(user_id: int) -> Membership | None:
    return Membership.objects.filter(user_id=user_id, is_active=True).first()


def _seen_by_every_reader(step: Step, company, readers) -> bool:
    """Whether every active member who may read a rule's text about this step sees
    `company`: the members in `readers` and whoever sees the step's record or contact."""
    records = [record for record in (step.record, step.contact) if record is not None]
    for member in Membership.objects.filter(is_active=True):
        reads = member.user_id in readers or any(visibility.sees(member, record)
                                                 for record in records)
        if reads and not visibility.sees(member, company):
            return False
    return True


def _render(text: str, step: Step, field: str, *, readers=(), to_contact: bool = False) -> str:
    rendered = merge_fields.render(
        text, _merge_values(step, readers=readers, to_contact=to_contact), field=field)
    if field == "subject":
        # A subject is one line: a line break in a merged value (a name typed
        # with one) would not go into a mail header.
        return " ".join(rendered.split())
    return rendered.strip()


def _owner_id(step: Step) -> int | None:
    field = _owner_field(step.entity) or "owner"
    return getattr(step.record, f"{field}_id", None) or getattr(step.contact, "owner_id", None)


def _need_contact(step: Step) -> None:
    if step.contact is None and custom_records.is_record(step.entity):
        # A custom record may well have no contact; that is no failure to retry.
        raise ActionSkipped(_("The record links to no contact."))
    if step.contact is None:
        raise ActionFailed(_("This record has no contact."))


# set_field


# The fields a rule may set, by record kind, plus custom fields as `cf.<key>`.
# Links to other records are left out (the owner has its own action), except
# a deal's stage, which moves the deal through the usual stage history.
SETTABLE_FIELDS = {
    "contact": ["first_name", "last_name", "title", "email", "phone", "lifecycle_stage",
                "source", "street", "city", "region", "postal_code", "country", "birthday",
                "time_zone", "do_not_contact"],
    "deal": ["name", "stage", "amount", "currency", "expected_close_date", "source",
             "forecast_category", "next_step", "description"],
    "ticket": ["subject", "status", "priority", "channel"],
}
CUSTOM_PREFIX = "cf."
YES_NO = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def settable_fields(entity: str, viewer=None) -> list[str]:
    """The names `set_field` takes for `entity`: built-in fields, then `cf.<key>`; for a
    custom record, the keys of its type's plain fields. Given a `viewer` (a Membership),
    without the custom fields hidden from its role, which it may neither read nor set."""
    if custom_records.is_record(entity):
        return custom_records.settable_fields(entity, viewer)
    custom = custom_fields.active_fields(entity, viewer) if entity in SETTABLE_FIELDS else []
    return [*SETTABLE_FIELDS.get(entity, []),
            *(f"{CUSTOM_PREFIX}{field.key}" for field in custom)]


def _field_input(field: str, value: str, entity: str = "") -> dict:
    """The update a service takes for setting `field` to the stored text `value`."""
    if custom_records.is_record(entity):
        return custom_records.field_input(custom_records.active_type(entity), field, value)
    if field.startswith(CUSTOM_PREFIX):
        return {"custom_fields": {field.removeprefix(CUSTOM_PREFIX): value}}
    if field == "do_not_contact":
        return {field: YES_NO.get(value.lower(), value)}
    return {field: value}


def _check_field_value(org, entity: str, field: str, value: str) -> str:
    """The service's complaint about the value, checked on a blank record; empty if none."""
    if custom_records.is_record(entity):
        return _check_record_value(org, entity, field, value)
    data = _field_input(field, value)
    if field == "do_not_contact" and not isinstance(data[field], bool):
        return _("Enter true or false.")
    probes = {
        "contact": lambda: clean_contact(org, data, current=Contact(first_name="-")),
        "deal": lambda: clean_deal(org, data, current=Deal(name="-",
                                                           currency=org.base_currency)),
        "ticket": lambda: clean_ticket(org, data, current=Ticket(subject="-")),
    }
    try:
        probes[entity]()
    except InvalidInput as exc:
        return exc.errors[0]["message"]
    return ""


def _check_record_value(org, entity: str, field: str, value: str) -> str:
    """The records service's complaint about the value alone; empty if none."""
    record_type = custom_records.active_type(entity)
    try:
        records.clean_record(org, record_type, _field_input(field, value, entity),
                             partial=True)
    except InvalidInput as exc:
        # Checked without a record, every required field looks empty: only
        # the complaint about this field counts.
        for error in exc.errors:
            if error["field"] == f"values.{field}":
                return error["message"]
    return ""


def _clean_set_field(org, entity: str, data: dict, errors: dict) -> dict:
    field = _text(data, "field", errors, limit=100)
    value = str(data.get("value") if data.get("value") is not None else "")[:2000]
    # A field hidden from the member's role is as unknown to them as a made-up one.
    offered = settable_fields(entity, acting_member())
    if _updater(entity) is None:
        errors["type"] = _("Fields of this kind of record cannot be set by a rule.")
    elif field and field not in offered:
        errors["field"] = _("A rule cannot set this field. Choose one of: %(names)s.") % {
            "names": ", ".join(offered)}
    elif field:
        problem = _check_field_value(org, entity, field, value)
        if problem:
            errors["value"] = problem
    return {"field": field, "value": value}


def _field_value(record, field: str, entity: str = ""):
    if custom_records.is_record(entity):
        return (record.values or {}).get(field)
    if field.startswith(CUSTOM_PREFIX):
        return (record.custom_fields or {}).get(field.removeprefix(CUSTOM_PREFIX))
    return getattr(record, record._meta.get_field(field).attname)


def _shown(settings_: dict) -> dict:
    """The field and value as the log words them: a deal's stage by its name, not its id."""
    value = settings_["value"]
    if settings_["field"] == "stage" and value.isdigit():
        stage = Stage.objects.filter(pk=int(value)).first()
        value = stage.name if stage else value
    return {**settings_, "value": value}


def _preview_set_field(step: Step, settings_: dict) -> str:
    if settings_["field"] not in settable_fields(step.entity, author_of(step.rule)):
        raise ActionFailed(_("A rule cannot set the field %(field)s.") % settings_)
    return _("Would set %(field)s to “%(value)s”.") % _shown(settings_)


def _not_in_trash(step: Step) -> None:
    if getattr(step.record, "deleted_at", None) is not None:
        raise ActionSkipped(_("The record is in the trash; it is not changed."))


def _perform_set_field(step: Step, settings_: dict) -> str:
    _not_in_trash(step)
    updater = _updater(step.entity)
    if updater is None or settings_["field"] not in settable_fields(step.entity,
                                                                    author_of(step.rule)):
        # A custom field switched off since the rule was saved, or hidden since from
        # the author's role, ends up here.
        raise ActionFailed(_("A rule cannot set the field %(field)s.") % settings_)
    before = _field_value(step.record, settings_["field"], step.entity)
    updater(step.org, None, step.record,
            data=_field_input(settings_["field"], settings_["value"], step.entity))
    after = _field_value(type(step.record).objects.get(pk=step.record.pk), settings_["field"],
                         step.entity)
    if after == before:
        return _("%(field)s was “%(value)s” already; nothing changed.") % _shown(settings_)
    return _("Set %(field)s to “%(value)s”.") % _shown(settings_)


# add_tag


def _tags(contact) -> list[str]:
    return sorted(ContactTag.objects.filter(contact=contact).values_list("tag__name", flat=True))


def _clean_add_tag(org, entity: str, data: dict, errors: dict) -> dict:
    return {"tag": _text(data, "tag", errors, limit=100)}


def _preview_add_tag(step: Step, settings_: dict) -> str:
    _need_contact(step)
    if settings_["tag"].lower() in (name.lower() for name in _tags(step.contact)):
        return _("The contact already has the tag “%(tag)s”; nothing would change.") % settings_
    return _("Would add the tag “%(tag)s” to the contact.") % settings_


def _perform_add_tag(step: Step, settings_: dict) -> str:
    _need_contact(step)
    names = _tags(step.contact)
    if settings_["tag"].lower() in (name.lower() for name in names):
        return _("The contact already had the tag “%(tag)s”.") % settings_
    customers.update_contact(step.org, None, step.contact,
                             data={"tags": [*names, settings_["tag"]]})
    return _("Added the tag “%(tag)s” to the contact.") % settings_


# assign_owner


def _clean_assign(org, entity: str, data: dict, errors: dict) -> dict:
    if _owner_field(entity) is None:
        errors["type"] = _("This kind of record has no owner to assign.")
    user = _member(org, data.get("user"), errors)
    team = None
    if data.get("team") not in (None, ""):
        team = Team.objects.filter(pk=data["team"] if str(data["team"]).isdigit() else 0).first()
        if team is None:
            errors["team"] = _("Choose a team of this organisation.")
    if (user is None) == (team is None) and "user" not in errors and "team" not in errors:
        errors["user"] = _("Choose a member, or a team to take turns.")
    return {"user": user, "team": team.pk if team else None}


def _next_in_team(rule: Rule, team_id: int, *, commit: bool) -> int:
    members = list(Membership.objects.filter(team_id=team_id, is_active=True)
                   .order_by("user_id").values_list("user_id", flat=True))
    if not members:
        raise ActionFailed(_("The team has no active members to assign."))
    rule_row = Rule.objects.select_for_update().get(pk=rule.pk) if commit else rule
    later = [user_id for user_id in members if user_id > (rule_row.last_assignee_id or 0)]
    chosen = later[0] if later else members[0]
    if commit:
        Rule.objects.filter(pk=rule.pk).update(last_assignee_id=chosen)
    return chosen


def _user_name(user_id: int) -> str:
    user = User.objects.filter(pk=user_id).first()
    return (user.full_name or user.email) if user else str(user_id)


def _preview_assign(step: Step, settings_: dict) -> str:
    user_id = settings_["user"] or _next_in_team(step.rule, settings_["team"], commit=False)
    return _("Would assign the record to %(name)s.") % {"name": _user_name(user_id)}


def _perform_assign(step: Step, settings_: dict) -> str:
    _not_in_trash(step)
    updater = _updater(step.entity)
    if updater is None:
        raise ActionFailed(_("This kind of record has no owner to assign."))
    user_id = settings_["user"] or _next_in_team(step.rule, settings_["team"], commit=True)
    updater(step.org, None, step.record, data={_owner_field(step.entity): user_id})
    return _("Assigned the record to %(name)s.") % {"name": _user_name(user_id)}


# create_task


def _clean_task(org, entity: str, data: dict, errors: dict) -> dict:
    values = {"subject": _text(data, "subject", errors, merge=True),
              "days": _days(data, "days", errors)}
    # Without a member the task goes to the record's owner, named when it runs.
    user = _member(org, data.get("user"), errors)
    if user is not None:
        values["user"] = user
    return values


def _task_assignee(step: Step, settings_: dict) -> int | None:
    return settings_.get("user") or _owner_id(step) or step.rule.created_by_id


def _preview_task(step: Step, settings_: dict) -> str:
    assignee = _task_assignee(step, settings_)
    readers = [assignee] if assignee else []
    return ngettext("Would create the task “%(subject)s”, due in %(days)s day, for %(name)s.",
                    "Would create the task “%(subject)s”, due in %(days)s days, for %(name)s.",
                    settings_["days"]) % {
        "subject": _render(settings_["subject"], step, "subject", readers=readers),
        "days": settings_["days"],
        "name": _user_name(assignee) if assignee else _("no one")}


def _perform_task(step: Step, settings_: dict) -> str:
    assignee = _task_assignee(step, settings_)
    data = {"kind": "task", "due_at": timezone.now() + dt.timedelta(days=settings_["days"]),
            "subject": _render(settings_["subject"], step, "subject",
                               readers=[assignee] if assignee else []),
            "assignee": assignee}
    if step.contact is not None:
        data["contact"] = step.contact.pk
    if step.entity == "deal":
        data["deal"] = step.record.pk
    if custom_records.is_record(step.entity):
        # A record in the trash has no timeline to show the task on.
        if step.record.deleted_at is None:
            data["custom_record"] = step.record.pk
        elif step.contact is None:
            raise ActionSkipped(_("The record is in the trash and links to no contact, so "
                                  "the task has nowhere to go."))
    elif step.contact is None and step.entity != "deal":
        raise ActionFailed(_("A task needs a contact or a deal, and this record has neither."))
    task = activities.log_activity(step.org, None, data=data)
    return _("Created the task “%(subject)s” (%(id)s).") % {"subject": task.subject,
                                                            "id": task.pk}


# create_deal


def _clean_deal(org, entity: str, data: dict, errors: dict) -> dict:
    name = _text(data, "name", errors, merge=True)
    stage = None
    if data.get("stage") in (None, ""):
        errors["stage"] = _("Choose a stage.")
    else:
        stage = Stage.objects.filter(pk=data["stage"] if str(data["stage"]).isdigit() else 0,
                                     pipeline__isnull=False).first()
        if stage is None:
            errors["stage"] = _("Choose a stage of one of this organisation's pipelines.")
    return {"name": name, "stage": stage.pk if stage else None}


def _deal_owner(step: Step) -> list[int]:
    owner = _owner_id(step) or step.rule.created_by_id
    return [owner] if owner else []


def _preview_deal(step: Step, settings_: dict) -> str:
    stage = Stage.objects.filter(pk=settings_["stage"]).first()
    return _("Would create the deal “%(name)s” in the stage %(stage)s.") % {
        "name": _render(settings_["name"], step, "name", readers=_deal_owner(step)),
        "stage": stage.name if stage else _("(removed)")}


def _perform_deal(step: Step, settings_: dict) -> str:
    owner = _owner_id(step) or step.rule.created_by_id
    data = {"name": _render(settings_["name"], step, "name", readers=_deal_owner(step)),
            "stage": settings_["stage"], "owner": owner}
    if step.contact is not None:
        data["contacts"] = [{"contact": step.contact.pk, "role": ""}]
    deal = sales.create_deal(step.org, None, data=data)
    return _("Created the deal “%(name)s” (%(id)s).") % {"name": deal.name, "id": deal.pk}


# create_ticket


def _clean_ticket(org, entity: str, data: dict, errors: dict) -> dict:
    return {"subject": _text(data, "subject", errors, merge=True)}


def _preview_ticket(step: Step, settings_: dict) -> str:
    return _("Would open the ticket “%(subject)s”.") % {
        "subject": _render(settings_["subject"], step, "subject")}


def _perform_ticket(step: Step, settings_: dict) -> str:
    data = {"subject": _render(settings_["subject"], step, "subject")}
    if step.contact is not None:
        data["contact"] = step.contact.pk
    ticket = service.create_ticket(step.org, None, data=data)
    return _("Opened the ticket #%(number)s.") % {"number": ticket.number}


# send_email


def _send(message: EmailMessage) -> None:
    try:
        message.send()
    except OSError as exc:  # smtplib's errors are OSErrors too
        raise ActionFailed(_("The mail server did not take the message: %(error)s") % {
            "error": (str(exc) or type(exc).__name__)[:200]}) from None


def _clean_email(org, entity: str, data: dict, errors: dict) -> dict:
    return {"subject": _text(data, "subject", errors, merge=True),
            "body": _text(data, "body", errors, limit=MAX_TEXT, merge=True)}


def _why_not_mail(contact) -> str:
    """Why the contact must not get a rule's e-mail; empty when it may."""
    if contact.do_not_contact:
        return _("The contact is marked “do not contact”.")
    if not contact.email:
        return _("The contact has no e-mail address.")
    if SuppressedAddress.objects.filter(address=contact.email.lower()).exists():
        return _("The contact's address is on the suppression list.")
    return ""


def _contact_message(subject: str, body: str, step: Step) -> EmailMessage:
    """The e-mail for the contact: plain text, plus a sanitised HTML part when the body
    is written in HTML (merge values escaped there, the text part made from it)."""
    to = {"subject": subject, "from_email": settings.DEFAULT_FROM_EMAIL,
          "to": [step.contact.email]}
    if not HTML_TAG.search(body):
        return EmailMessage(body=_render(body, step, "body", to_contact=True), **to)
    markup = emails.sanitize_html(
        merge_fields.render(body, _merge_values(step, to_contact=True), html=True,
                            field="body"))
    message = EmailMultiAlternatives(body=emails.html_to_text(markup), **to)
    message.attach_alternative(markup, "text/html")
    return message


def _preview_email(step: Step, settings_: dict) -> str:
    _need_contact(step)
    reason = _why_not_mail(step.contact)
    if reason:
        return _("Would skip the e-mail: %(reason)s") % {"reason": reason}
    return _("Would e-mail “%(subject)s” to %(to)s.") % {
        "subject": _render(settings_["subject"], step, "subject"), "to": step.contact.email}


def _perform_email(step: Step, settings_: dict) -> str:
    _need_contact(step)
    reason = _why_not_mail(step.contact)
    if reason:
        raise ActionSkipped(_("E-mail not sent: %(reason)s") % {"reason": reason})
    _send(_contact_message(_render(settings_["subject"], step, "subject", to_contact=True),
                           settings_["body"], step))
    # The run log is read by members, so it names the subject as they may read it.
    return _("E-mailed “%(subject)s” to the contact.") % {
        "subject": _render(settings_["subject"], step, "subject")}


# send_sms, send_service_sms


def _clean_sms(org, entity: str, data: dict, errors: dict) -> dict:
    return {"body": _text(data, "body", errors, limit=texting.MAX_BODY, merge=True)}


def _sms_previewer(marketing: bool):
    def preview(step: Step, settings_: dict) -> str:
        _need_contact(step)
        reason = texting.why_not(step.contact, marketing=marketing)
        if reason:
            return _("Would skip the text: %(reason)s") % {"reason": reason}
        return _("Would text “%(body)s” to %(to)s.") % {
            "body": _render(settings_["body"], step, "body"),
            "to": texting.number_of(step.contact)}
    return preview


def _sms_performer(marketing: bool):
    def perform(step: Step, settings_: dict) -> str:
        _need_contact(step)
        reason = texting.why_not(step.contact, marketing=marketing)
        if reason:
            raise ActionSkipped(_("Text not sent: %(reason)s") % {"reason": reason})
        body = _render(settings_["body"], step, "body")
        try:
            message = texting.send_text(step.org, None, step.contact, body,
                                        marketing=marketing)
        except InvalidInput as exc:
            raise ActionFailed(exc.errors[0]["message"] if exc.errors else exc.detail) \
                from None
        except texting.NotSendable as exc:
            raise ActionFailed(exc.detail) from None
        if message.status != "sent":
            return _("Texted the contact at %(to)s, not confirmed: %(error)s") % {
                "to": message.to, "error": message.error}
        return _("Texted the contact at %(to)s.") % {"to": message.to}
    return perform


# notify_user


def _clean_notify(org, entity: str, data: dict, errors: dict) -> dict:
    return {"user": _member(org, data.get("user"), errors),
            "message": _text(data, "message", errors, limit=MAX_TEXT, merge=True)}


def _recipient(step: Step, settings_: dict) -> User:
    user_id = settings_["user"] or _owner_id(step) or step.rule.created_by_id
    user = User.objects.filter(pk=user_id).first() if user_id else None
    if user is None or not user.email:
        raise ActionFailed(_("There is no one to notify: the record has no owner."))
    return user


def _preview_notify(step: Step, settings_: dict) -> str:
    user = _recipient(step, settings_)
    return _("Would e-mail %(name)s about the record.") % {"name": user.full_name or user.email}


def _perform_notify(step: Step, settings_: dict) -> str:
    user = _recipient(step, settings_)
    message = _render(settings_["message"], step, "message", readers=[user.pk])
    _send(EmailMessage(subject=_("Accord: %(rule)s") % {"rule": step.rule.name}, body=message,
                       from_email=settings.DEFAULT_FROM_EMAIL, to=[user.email]))
    return _("E-mailed %(name)s.") % {"name": user.full_name or user.email}


# call_webhook


def _clean_webhook(org, entity: str, data: dict, errors: dict) -> dict:
    url = _text(data, "url", errors, limit=2000)
    if url and "url" not in errors:
        try:
            host, port, _path, _secure = outbound.check_url(url)
            outbound.resolve(host, port)
        except outbound.Refused as exc:
            errors["url"] = str(exc)
    return {"url": url}


def _preview_webhook(step: Step, settings_: dict) -> str:
    return _("Would send the record's id and the rule to %(url)s.") % settings_


def _perform_webhook(step: Step, settings_: dict) -> str:
    body = json.dumps({
        "rule": {"id": step.rule.pk, "name": step.rule.name}, "run": step.run_id,
        "entity": step.entity, "id": step.record.pk,
        "contact_id": step.contact.pk if step.contact is not None else None,
    }, separators=(",", ":"), sort_keys=True).encode()
    headers = {"Content-Type": "application/json", "User-Agent": WEBHOOK_USER_AGENT}
    try:
        reply = outbound.post(settings_["url"], body, headers)
    except outbound.Refused as exc:
        raise ActionFailed(str(exc)) from None
    except OSError as exc:
        raise ActionFailed(_("The receiver could not be reached: %(error)s") % {
            "error": (str(exc) or type(exc).__name__)[:200]}) from None
    if not 200 <= reply.status < 300:
        raise ActionFailed(_("The receiver answered %(status)s.") % {"status": reply.status})
    return _("The receiver answered %(status)s.") % {"status": reply.status}


# enrol_in_sequence, remove_from_sequence


def _clean_sequence(org, entity: str, data: dict, errors: dict) -> dict:
    from accord.marketing.sequence_models import Sequence

    value = data.get("sequence")
    sequence = Sequence.objects.filter(pk=value).first() if str(value).isdigit() else None
    if sequence is None:
        errors["sequence"] = _("Choose one of your sequences.")
    return {"sequence": sequence.pk if sequence else None}


def _the_sequence(settings_: dict):
    from accord.marketing.sequence_models import Sequence

    sequence = Sequence.objects.filter(pk=settings_["sequence"]).first()
    if sequence is None:
        raise ActionFailed(_("The sequence was deleted."))
    return sequence


def _preview_enrol(step: Step, settings_: dict) -> str:
    _need_contact(step)
    return _("Would enrol the contact in the sequence “%(name)s”.") % {
        "name": _the_sequence(settings_)}


def _perform_enrol(step: Step, settings_: dict) -> str:
    from accord.marketing import sequences
    from accord.marketing.sequence_models import EnrolmentSource

    _need_contact(step)
    sequence = _the_sequence(settings_)
    enrolment = sequences.enrol_contact(step.org, None, sequence, step.contact,
                                        source=EnrolmentSource.RULE)
    if enrolment is None:
        return _("The contact is in the sequence “%(name)s” already.") % {"name": sequence}
    return _("Enrolled the contact in the sequence “%(name)s”.") % {"name": sequence}


def _preview_unenrol(step: Step, settings_: dict) -> str:
    _need_contact(step)
    return _("Would take the contact out of the sequence “%(name)s”.") % {
        "name": _the_sequence(settings_)}


def _perform_unenrol(step: Step, settings_: dict) -> str:
    from accord.marketing import sequences

    _need_contact(step)
    sequence = _the_sequence(settings_)
    why = _("Taken out by the workflow rule “%(rule)s”.") % {"rule": step.rule.name}
    if not sequences.remove_contact(step.org, None, sequence, step.contact, why=why):
        return _("The contact was not in the sequence “%(name)s”.") % {"name": sequence}
    return _("Took the contact out of the sequence “%(name)s”.") % {"name": sequence}


# wait


def _clean_wait(org, entity: str, data: dict, errors: dict) -> dict:
    unit = data.get("unit") or "days"
    if unit not in ("hours", "days"):
        errors["unit"] = _("Choose hours or days.")
    return {"amount": _days(data, "amount", errors, minimum=1), "unit": unit}


def wait_for(settings_: dict) -> dt.timedelta:
    return dt.timedelta(**{settings_["unit"]: settings_["amount"]})


def _preview_wait(step: Step, settings_: dict) -> str:
    if settings_["unit"] == "hours":
        return ngettext("Would wait %(amount)s hour before the next action.",
                        "Would wait %(amount)s hours before the next action.",
                        settings_["amount"]) % settings_
    return ngettext("Would wait %(amount)s day before the next action.",
                    "Would wait %(amount)s days before the next action.",
                    settings_["amount"]) % settings_


@dataclass(frozen=True)
class Action:
    label: str
    clean: object
    preview: object
    perform: object = None


ACTIONS = {
    "set_field": Action(gettext_lazy("Set a field"), _clean_set_field, _preview_set_field,
                        _perform_set_field),
    "add_tag": Action(gettext_lazy("Add a tag to the contact"), _clean_add_tag,
                      _preview_add_tag, _perform_add_tag),
    "assign_owner": Action(gettext_lazy("Assign an owner"), _clean_assign, _preview_assign,
                           _perform_assign),
    "create_task": Action(gettext_lazy("Create a task"), _clean_task, _preview_task,
                          _perform_task),
    "create_deal": Action(gettext_lazy("Create a deal"), _clean_deal, _preview_deal,
                          _perform_deal),
    "create_ticket": Action(gettext_lazy("Open a ticket"), _clean_ticket, _preview_ticket,
                            _perform_ticket),
    "send_email": Action(gettext_lazy("E-mail the contact"), _clean_email, _preview_email,
                         _perform_email),
    "send_sms": Action(gettext_lazy("Text the contact (marketing: needs SMS consent)"),
                       _clean_sms, _sms_previewer(True), _sms_performer(True)),
    "send_service_sms": Action(gettext_lazy("Text the contact (a reminder or service "
                                            "message)"),
                               _clean_sms, _sms_previewer(False), _sms_performer(False)),
    "notify_user": Action(gettext_lazy("Notify a member by e-mail"), _clean_notify,
                          _preview_notify, _perform_notify),
    "call_webhook": Action(gettext_lazy("Call a webhook"), _clean_webhook, _preview_webhook,
                           _perform_webhook),
    "enrol_in_sequence": Action(gettext_lazy("Enrol the contact in a sequence"),
                                _clean_sequence, _preview_enrol, _perform_enrol),
    "remove_from_sequence": Action(gettext_lazy("Take the contact out of a sequence"),
                                   _clean_sequence, _preview_unenrol, _perform_unenrol),
    # Waiting is done by the run itself, which sleeps until the time comes.
    "wait": Action(gettext_lazy("Wait"), _clean_wait, _preview_wait),
}
MAX_ACTIONS = 20


def clean_actions(org, entity: str, raw) -> list[dict]:
    """The actions in their stored form, or InvalidInput naming `actions[i].<setting>`."""
    errors: dict[str, str] = {}
    if not isinstance(raw, list) or not raw:
        raise InvalidInput({"actions": _("Add at least one action.")})
    if len(raw) > MAX_ACTIONS:
        raise InvalidInput({"actions": _("Use at most %(max)s actions.") % {"max": MAX_ACTIONS}})
    clean = []
    for index, item in enumerate(raw):
        kind = item.get("type") if isinstance(item, dict) else None
        action = ACTIONS.get(kind)
        if action is None:
            errors[f"actions[{index}].type"] = _("Choose one of: %(types)s.") % {
                "types": ", ".join(ACTIONS)}
            continue
        if kind in NOT_FOR_RECORDS and custom_records.is_record(entity):
            errors[f"actions[{index}].type"] = _(
                "“%(action)s” cannot be used in a rule about custom records; choose a task, "
                "a notification, a field to set, a webhook or a wait.") % {
                "action": action.label}
            continue
        found: dict[str, str] = {}
        values = action.clean(org, entity, item, found)
        errors.update({f"actions[{index}].{name}": message for name, message in found.items()})
        clean.append({"type": kind, **values})
    if errors:
        raise InvalidInput(errors)
    return clean


def describe(action: dict) -> str:
    """One action in a few words for lists."""
    known = ACTIONS.get(action.get("type"))
    return str(known.label) if known else str(action.get("type"))


def perform(step: Step, action: dict) -> str:
    return ACTIONS[action["type"]].perform(step, action)


def preview(step: Step, action: dict) -> str:
    return ACTIONS[action["type"]].preview(step, action)

