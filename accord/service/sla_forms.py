"""Forms of Settings → Business hours and SLA policies, and of the satisfaction pages.

They turn what people type ("09:00–12:00, 13:00–17:00", hours and minutes)
into the plain data the services take; the services check it, and their
errors (`hours.0`, `first_response_minutes`) land next to the field that
holds the value.
"""

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from accord.identity.models import TIME_ZONE_CHOICES
from accord.web import MapsServiceErrors

from .business_hours import WEEKDAY_NAMES
from .models import RATING_CHOICES, BusinessCalendar, Priority, Queue

DASHES = re.compile(r"\s*[-–—]\s*")


def hours_text(intervals: list) -> str:
    """Stored intervals as people write them: "09:00–12:00, 13:00–17:00"."""
    return ", ".join(f"{start}–{end}" for start, end in intervals)


def parse_intervals(text: str) -> list[list[str]]:
    """Intervals from a line of text; a piece that is no pair is left for the service to name."""
    intervals = []
    for piece in (text or "").split(","):
        if piece.strip():
            intervals.append(DASHES.split(piece.strip(), maxsplit=1))
    return intervals


def _minutes(hours, minutes) -> int | None:
    if hours in (None, "") and minutes in (None, ""):
        return None
    return int(hours or 0) * 60 + int(minutes or 0)


class CalendarForm(forms.Form):
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    name = forms.CharField(label=_("Name"), max_length=120)
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=TIME_ZONE_CHOICES,
                                  initial="UTC")
    holidays = forms.CharField(
        label=_("Holidays"), required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("One date per line, as YYYY-MM-DD. Delete a line to remove a holiday."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for weekday, name in enumerate(WEEKDAY_NAMES):
            self.fields[f"hours_{weekday}"] = forms.CharField(
                label=name, required=False, max_length=300,
                help_text=_("Such as 09:00–12:00, 13:00–17:00; 24:00 ends the day; "
                            "empty for a day off.") if weekday == 0 else "")
        self.order_fields(["version", "name", "time_zone",
                           *(f"hours_{day}" for day in range(7)), "holidays"])

    @classmethod
    def initial_for(cls, calendar: BusinessCalendar) -> dict:
        initial = {"version": calendar.version, "name": calendar.name,
                   "time_zone": calendar.time_zone,
                   "holidays": "\n".join(calendar.holidays or [])}
        for weekday in range(7):
            initial[f"hours_{weekday}"] = hours_text((calendar.hours or {}).get(str(weekday),
                                                                                []))
        return initial

    def to_data(self) -> dict:
        data = self.cleaned_data
        holidays = [line.strip() for line in re.split(r"[\n,]", data["holidays"])
                    if line.strip()]
        hours = {str(day): parse_intervals(data[f"hours_{day}"]) for day in range(7)}
        return {"name": data["name"], "time_zone": data["time_zone"],
                "hours": {day: spans for day, spans in hours.items() if spans},
                "holidays": holidays}

    def field_for_error(self, name: str) -> str | None:
        if name.startswith("hours."):
            return "hours_" + name.split(".", 1)[1]
        return name


class PolicyForm(MapsServiceErrors, forms.Form):
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    name = forms.CharField(label=_("Name"), max_length=120)
    position = forms.IntegerField(
        label=_("Position"), min_value=0, initial=0,
        help_text=_("Policies are tried from the lowest position; the first that fits a "
                    "ticket applies."))
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    priorities = forms.MultipleChoiceField(
        label=_("Priorities"), choices=Priority.choices, required=False,
        widget=forms.CheckboxSelectMultiple, help_text=_("None ticked: any priority."))
    queue = forms.ModelChoiceField(label=_("Queue"), queryset=Queue.objects.none(),
                                   required=False, empty_label=_("Any queue"))
    customer_tier = forms.CharField(
        label=_("Customer tier"), required=False, max_length=60,
        help_text=_("A tag on the contact or their company, such as Gold; empty for every "
                    "customer."))
    first_response_hours = forms.IntegerField(label=_("First response within: hours"),
                                              required=False, min_value=0)
    first_response_mins = forms.IntegerField(label=_("and minutes"), required=False,
                                             min_value=0, max_value=59)
    resolution_hours = forms.IntegerField(label=_("Resolution within: hours"), required=False,
                                          min_value=0)
    resolution_mins = forms.IntegerField(label=_("and minutes"), required=False, min_value=0,
                                         max_value=59)
    warn_before_minutes = forms.IntegerField(
        label=_("Warn before (minutes)"), min_value=0, initial=60,
        help_text=_("The assignee hears this long before a target falls due; 0 for no "
                    "warning."))
    calendar = forms.ModelChoiceField(
        label=_("Business hours"), queryset=BusinessCalendar.objects.none(), required=False,
        empty_label=_("Round the clock"),
        help_text=_("Targets count working time of this calendar only."))

    error_aliases = {"first_response_minutes": "first_response_hours",
                     "resolution_minutes": "resolution_hours", "queue_id": "queue",
                     "calendar_id": "calendar"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["queue"].queryset = Queue.objects.all()
        self.fields["calendar"].queryset = BusinessCalendar.objects.all()

    @classmethod
    def initial_for(cls, policy) -> dict:
        initial = {name: getattr(policy, name) for name in (
            "version", "name", "position", "is_active", "priorities", "customer_tier",
            "warn_before_minutes")}
        initial.update(queue=policy.queue_id, calendar=policy.calendar_id)
        for target in ("first_response", "resolution"):
            minutes = getattr(policy, f"{target}_minutes")
            if minutes is not None:
                initial[f"{target}_hours"], initial[f"{target}_mins"] = divmod(minutes, 60)
        return initial

    def to_data(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data["name"], "position": data["position"], "is_active": data["is_active"],
            "priorities": data["priorities"], "queue": data["queue"],
            "customer_tier": data["customer_tier"],
            "first_response_minutes": _minutes(data["first_response_hours"],
                                               data["first_response_mins"]),
            "resolution_minutes": _minutes(data["resolution_hours"], data["resolution_mins"]),
            "warn_before_minutes": data["warn_before_minutes"], "calendar": data["calendar"],
        }


class ConfirmDeleteForm(forms.Form):
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)


class SurveyAnswerForm(MapsServiceErrors, forms.Form):
    rating = forms.TypedChoiceField(label=_("Your rating"), choices=RATING_CHOICES, coerce=int,
                                    widget=forms.RadioSelect)
    comment = forms.CharField(label=_("Anything you want to add? (optional)"), required=False,
                              max_length=2000, widget=forms.Textarea(attrs={"rows": 4}))


class ReportFilterForm(forms.Form):
    start = forms.DateField(label=_("Solved from"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("to"), required=False,
                          widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", _("End the period on or after its first day."))
        return data
