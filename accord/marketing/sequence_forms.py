"""Forms of the sequence pages; the services validate again."""

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from accord.web import MapsServiceErrors

from .models import EmailTemplate, Segment
from .sequences import STEP_TYPES, WEEKDAYS
from .services import visible_segments

STEP_ERROR = re.compile(r"^steps\[\d+\]\.")


class SequenceForm(MapsServiceErrors, forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    name = forms.CharField(label=_("Name"), max_length=120)
    description = forms.CharField(label=_("Description"), max_length=500, required=False)
    from_name = forms.CharField(label=_("From name"), max_length=120, required=False)
    from_email = forms.EmailField(label=_("From address"), max_length=254)
    segment = forms.ModelChoiceField(
        label=_("Enrol new members of"), queryset=Segment.objects.none(), required=False,
        help_text=_("While the sequence is active, contacts who join this segment are "
                    "enrolled (checked every ten minutes)."))
    exit_reply = forms.BooleanField(label=_("Leave when the contact replies by e-mail"),
                                    required=False, initial=True)
    exit_customer = forms.BooleanField(label=_("Leave when the contact becomes a customer"),
                                       required=False, initial=True)
    goal_segment = forms.ModelChoiceField(
        label=_("Goal: leave when the contact is in"), queryset=Segment.objects.none(),
        required=False)
    error_aliases = {"exit.goal_segment": "goal_segment"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("segment", "goal_segment"):
            self.fields[name].queryset = visible_segments().order_by("name")

    def service_data(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data["name"], "description": data.get("description") or "",
            "from_name": data.get("from_name") or "", "from_email": data["from_email"],
            "segment": data["segment"].pk if data.get("segment") else None,
            "exit": {"reply": data.get("exit_reply", False),
                     "customer": data.get("exit_customer", False),
                     "goal_segment": data["goal_segment"].pk if data.get("goal_segment")
                     else None},
        }


class StepForm(forms.Form):
    """One new step; which settings matter depends on the type, and the service says
    which are missing."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    type = forms.ChoiceField(label=_("Step"), choices=list(STEP_TYPES.items()))
    template = forms.ModelChoiceField(label=_("E-mail template"), required=False,
                                      queryset=EmailTemplate.objects.none())
    amount = forms.CharField(label=_("Wait for"), required=False, max_length=6)
    unit = forms.ChoiceField(label=_("Unit"), required=False,
                             choices=[("days", _("days")), ("hours", _("hours"))])
    weekday = forms.ChoiceField(label=_("Weekday"), required=False,
                                choices=[(day, day.capitalize()) for day in WEEKDAYS])
    time = forms.CharField(label=_("Time (HH:MM)"), required=False, max_length=5)
    zone = forms.ChoiceField(label=_("Time zone"), required=False, choices=[
        ("organization", _("The organisation's")), ("contact", _("The contact's"))])
    subject = forms.CharField(label=_("Task"), required=False, max_length=200)
    days = forms.CharField(label=_("Due in days"), required=False, max_length=3)
    field = forms.CharField(label=_("Field"), required=False, max_length=100)
    value = forms.CharField(label=_("Value"), required=False, max_length=2000)
    tag = forms.CharField(label=_("Tag"), required=False, max_length=100)
    condition = forms.ChoiceField(label=_("Branch on"), required=False, choices=[
        ("opened", _("Opened an e-mail")), ("clicked", _("Clicked in an e-mail")),
        ("segment", _("Is in a segment"))])
    step = forms.CharField(label=_("E-mail step (key)"), required=False, max_length=16)
    segment = forms.ModelChoiceField(label=_("Segment"), required=False,
                                     queryset=Segment.objects.none())
    then = forms.CharField(label=_("If so"), required=False, max_length=16, initial="next",
                           help_text=_("next, exit, or a later step's key"))
    otherwise = forms.CharField(label=_("Otherwise"), required=False, max_length=16,
                                initial="next", help_text=_("next, exit, or a later step's key"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = EmailTemplate.objects.order_by("name")
        self.fields["segment"].queryset = visible_segments().order_by("name")

    def field_for_error(self, name: str) -> str | None:
        name = STEP_ERROR.sub("", name)
        return {"else": "otherwise", "steps": None}.get(name, name)

    def spec(self) -> dict:
        data = self.cleaned_data
        step = {"type": data["type"]}
        for name in ("amount", "unit", "weekday", "time", "zone", "subject", "days", "field",
                     "value", "tag", "condition", "step", "then"):
            if data.get(name) not in (None, ""):
                step[name] = data[name]
        for name in ("template", "segment"):
            if data.get(name) is not None:
                step[name] = data[name].pk
        step["else"] = data.get("otherwise") or "next"
        return step


class EnrolSegmentForm(forms.Form):
    segment = forms.ModelChoiceField(label=_("Segment"), queryset=Segment.objects.none())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["segment"].queryset = visible_segments().order_by("name")
