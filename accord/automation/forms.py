"""The rule form: name, trigger and its settings as fields; the conditions come from the
segment builder rows (accord.marketing.builder) and the actions from numbered rows."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accord import events
from accord.customers import custom_fields
from accord.customers.models import CustomField, FieldType
from accord.identity.context import acting_member
from accord.sales.models import Stage
from accord.service.models import TicketStatus

from . import custom_records, triggers
from .actions import ACTIONS, settable_fields
from .models import Rule, Trigger

# The settings each action row shows once its type is chosen.
ACTION_INPUTS = {
    "set_field": ["field", "value"],
    "add_tag": ["tag"],
    "assign_owner": ["user", "team"],
    "create_task": ["subject", "days", "user"],
    "create_deal": ["name", "stage"],
    "create_ticket": ["subject"],
    "send_email": ["subject", "body"],
    "send_sms": ["body"],
    "send_service_sms": ["body"],
    "notify_user": ["user", "message"],
    "call_webhook": ["url"],
    "enrol_in_sequence": ["sequence"],
    "remove_from_sequence": ["sequence"],
    "wait": ["amount", "unit"],
}
INPUT_LABELS = {
    "field": _("Field"), "value": _("Value"), "tag": _("Tag"), "user": _("Member"),
    "team": _("Or a team, taking turns"), "subject": _("Subject"), "days": _("Due in days"),
    "name": _("Deal name"), "stage": _("Stage"), "body": _("Message"),
    "message": _("Message"), "url": _("Address"), "amount": _("How long"),
    "unit": _("Unit"), "sequence": _("Sequence (its number)"),
}
MAX_ROWS = 20
# Which trigger uses which setting, for the help beside each.
SETTING_FIELDS = ["entity", "field", "stage", "status", "date", "days", "time", "event_type",
                  "behaviour", "repeat_days"]


class RuleForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    name = forms.CharField(label=_("Name"), max_length=200)
    trigger = forms.ChoiceField(label=_("When"), choices=Trigger.choices)
    is_active = forms.BooleanField(label=_("Active"), required=False)
    entity = forms.ChoiceField(
        label=_("Record"), required=False,
        choices=[(key, label) for key, label in triggers.ENTITY_LABELS.items()],
        help_text=_("For “A record is created” and “A field changes”, and for an event "
                    "about records of a custom record type."))
    field = forms.CharField(label=_("Field"), required=False, max_length=64,
                            help_text=_("For “A field changes”: its name, such as "
                                        "lifecycle_stage or owner; custom_fields for any "
                                        "custom field; for a custom record, owner or the "
                                        "field's key."),
                            widget=forms.TextInput(attrs={"list": "rule-change-fields"}))
    stage = forms.ChoiceField(label=_("Stage"), required=False,
                              help_text=_("For “A deal moves to a stage”; empty for any."))
    status = forms.ChoiceField(label=_("Ticket status"), required=False,
                               choices=[("", _("Any status")), *TicketStatus.choices])
    date = forms.CharField(
        label=_("Date"), required=False, max_length=100,
        help_text=_("For “A date is reached”: subscription.renews_on, "
                    "deal.expected_close_date, contact.custom.<key> for a contact "
                    "custom field of type date, or record:<type key>.<field key> for a "
                    "date field of a custom record type."),
        widget=forms.TextInput(attrs={"list": "rule-dates"}))
    days = forms.IntegerField(label=_("Days from the date"), required=False,
                              help_text=_("Negative for days before the date."))
    time = forms.CharField(label=_("At (HH:MM)"), required=False, max_length=5,
                           help_text=_("For dates and schedules, in the organisation's time "
                                       "zone."))
    event_type = forms.ChoiceField(label=_("Event"), required=False)
    behaviour = forms.CharField(
        label=_("Behaviour event type"), required=False, max_length=100,
        help_text=_("For “A contact does something”: the type your shop or app sends, "
                    "such as cart.abandoned."))
    repeat_days = forms.IntegerField(
        label=_("Take a contact again after days"), required=False,
        help_text=_("For “Every day at a time”."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["entity"].choices = [
            *self.fields["entity"].choices,
            *((name, _("%(type)s (custom record)") % {"type": label})
              for name, label in custom_records.entity_choices())]
        self.fields["stage"].choices = [("", _("Any stage"))] + [
            (stage.pk, f"{stage.pipeline.name}: {stage.name}")
            for stage in Stage.objects.select_related("pipeline").order_by(
                "pipeline__name", "position")]
        self.fields["event_type"].choices = [("", "")] + [
            (name, f"{name}: {text}") for name, text in events.EVENT_TYPES.items()]

    def field_for_error(self, name: str) -> str | None:
        return name.removeprefix("settings.")

    def service_data(self) -> dict:
        data = self.cleaned_data
        settings = {name: data.get(name) for name in SETTING_FIELDS
                    if data.get(name) not in (None, "")}
        if "stage" in settings:
            settings["stage"] = int(settings["stage"])
        return {"name": data["name"], "trigger": data["trigger"],
                "is_active": data.get("is_active", False), "settings": settings}

    @staticmethod
    def initial_for(rule) -> dict:
        return {"name": rule.name, "trigger": rule.trigger, "is_active": rule.is_active,
                "version": rule.version, **(rule.settings or {})}


def date_options() -> list[tuple[str, str]]:
    """(date name, label) of every date a date rule can count from, for the form's list;
    a field hidden from the member's role is not offered."""
    viewer = acting_member()
    contact_dates = [field for field in CustomField.objects.filter(
        entity="contact", field_type=FieldType.DATE, is_active=True, encrypted=False
    ).order_by("label", "id") if custom_fields.may_see(viewer, field)]
    return [*((name, name) for name in triggers.DATE_FIELDS),
            *((f"{triggers.CUSTOM_DATE_PREFIX}{field.key}",
               _("Contact: %(label)s") % {"label": field.label}) for field in contact_dates),
            *custom_records.date_choices(viewer)]


def entity_of(form: RuleForm) -> str:
    """The kind of record the rule on the form is about, as far as the form says yet."""
    data = form.data if form.is_bound else form.initial
    settings = {name: data.get(name) for name in SETTING_FIELDS if data.get(name)}
    return triggers.rule_entity(Rule(trigger=data.get("trigger") or "", settings=settings))


def field_options(entity: str) -> dict[str, list[str]]:
    """The field names the form offers for `entity`: `changes` for “A field changes”,
    `settable` for the “Set a field” action."""
    if custom_records.is_record(entity):
        changes = custom_records.change_fields(entity)
    else:
        changes = triggers.CHANGE_FIELDS.get(entity, [])
    return {"changes": changes, "settable": settable_fields(entity, acting_member())}


def read_actions(post) -> list[dict]:
    """The action rows of a posted form, in their order, empty rows dropped."""
    rows = []
    for index in range(MAX_ROWS):
        kind = post.get(f"a{index}:type")
        if kind is None:
            break
        row = {"type": kind}
        for name in ACTION_INPUTS.get(kind, []):
            row[name] = post.get(f"a{index}:{name}", "")
        rows.append(row)
    return rows


def apply_row_action(rows: list[dict], action: str) -> None:
    """Add, remove or move up a row as a button of the form asked."""
    verb, _sep, place = action.partition(":")
    index = int(place) if place.isdigit() else -1
    if verb == "add_action" and len(rows) < MAX_ROWS:
        rows.append({"type": ""})
    elif verb == "remove_action" and 0 <= index < len(rows):
        rows.pop(index)
    elif verb == "up_action" and 0 < index < len(rows):
        rows[index - 1], rows[index] = rows[index], rows[index - 1]


def layout_actions(rows: list[dict], errors: dict[str, str]) -> list[dict]:
    """The rows as the template draws them: type, inputs with value and error."""
    laid = []
    for index, row in enumerate(rows):
        inputs = [{"name": name, "label": INPUT_LABELS[name],
                   "value": "" if row.get(name) is None else row.get(name),
                   "error": errors.get(f"actions[{index}].{name}", ""),
                   "multiline": name in ("body", "message")}
                  for name in ACTION_INPUTS.get(row.get("type"), [])]
        laid.append({"index": index, "type": row.get("type", ""), "inputs": inputs,
                     "error": errors.get(f"actions[{index}].type", "")})
    return laid


def action_choices() -> list[tuple[str, str]]:
    return [("", _("Choose an action"))] + [(key, action.label)
                                              for key, action in ACTIONS.items()]
