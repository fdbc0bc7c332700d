"""The composer and the activity edit form.

Forms only turn what was typed into values (dates in the user's time zone
become aware datetimes); the service decides what is valid, so the UI, the
API and imports refuse the same input with the same message.
"""

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from .models import Activity, CallOutcome, Direction, Kind

User = get_user_model()

DATETIME_WIDGET = {"type": "datetime-local"}
DATETIME_FORMAT = "%Y-%m-%dT%H:%M"

# Which inputs each kind of entry shows, in order.
KIND_FIELDS: dict[str, list[str]] = {
    Kind.NOTE: ["body"],
    Kind.CALL: ["subject", "direction", "outcome", "occurred_at", "duration_minutes", "body"],
    Kind.MEETING: ["subject", "occurred_at", "duration_minutes", "body"],
    Kind.EMAIL: ["subject", "direction", "occurred_at", "body"],
    Kind.TASK: ["subject", "due_at", "assignee", "remind_at", "body"],
}

# Service error fields that name a different form field.
ERROR_FIELDS = {"assignee_id": "assignee", "company_id": None, "contact_id": None,
                "deal_id": None}


def local_datetime_field(label, help_text=""):
    return forms.DateTimeField(
        label=label, required=False, help_text=help_text,
        widget=forms.DateTimeInput(attrs=DATETIME_WIDGET, format=DATETIME_FORMAT),
    )


class ActivityForm(forms.Form):
    """One entry of one kind; only that kind's fields are kept."""

    subject = forms.CharField(label=_("Subject"), required=False, max_length=200)
    body = forms.CharField(label=_("Details"), required=False, widget=forms.Textarea(
        attrs={"rows": 3}
    ))
    direction = forms.ChoiceField(
        label=_("Direction"), required=False,
        choices=[("", _("Not set"))] + list(Direction.choices),
    )
    outcome = forms.ChoiceField(
        label=_("Outcome"), required=False,
        choices=[("", _("Not set"))] + list(CallOutcome.choices),
    )
    occurred_at = local_datetime_field(_("When"), _("Leave empty for now."))
    duration_minutes = forms.IntegerField(
        label=_("Duration (minutes)"), required=False, min_value=0, max_value=24 * 60
    )
    due_at = local_datetime_field(_("Due"))
    assignee = forms.TypedChoiceField(label=_("Assignee"), required=False, coerce=int,
                                      empty_value=None)
    remind_at = local_datetime_field(_("Remind at"),
                                     _("An e-mail to the assignee at this time."))

    def __init__(self, *args, kind: str, org, editing: bool = False, **kwargs):
        # Ids of their own, so they cannot clash with a record page's form.
        kwargs.setdefault("auto_id", "activity-%s")
        super().__init__(*args, **kwargs)
        self.kind = kind
        for name in list(self.fields):
            if name not in KIND_FIELDS[kind]:
                del self.fields[name]
        self.order_fields(KIND_FIELDS[kind])
        if kind == Kind.NOTE:
            self.fields["body"].label = _("Note")
        if kind == Kind.TASK:
            self.fields["subject"].label = _("Task")
            blank = _("Nobody") if editing else _("Me")
            self.fields["assignee"].choices = [("", blank)] + [
                (user.pk, str(user)) for user in members_of(org)
            ]

    def to_data(self) -> dict:
        """The cleaned input as the service reads it."""
        data = {"kind": self.kind}
        for name in self.fields:
            data[name] = self.cleaned_data.get(name)
        for name in ("subject", "body"):
            if name in data and data[name] is None:
                data[name] = ""
        return data

    def add_service_errors(self, errors: list[dict]) -> None:
        """Put each service error next to its field, or above the form."""
        for error in errors:
            field = ERROR_FIELDS.get(error["field"], error["field"])
            if field not in self.fields:
                field = None
            self.add_error(field, error["message"])


def members_of(org):
    """The active members of `org`, as assignee choices."""
    return User.objects.filter(
        memberships__organization=org, memberships__is_active=True, is_active=True
    ).order_by("full_name", "email")


def initial_for(activity: Activity) -> dict:
    """Form values for editing an existing entry."""
    return {
        "subject": activity.subject,
        "body": activity.body,
        "direction": activity.direction,
        "outcome": activity.outcome,
        "occurred_at": activity.occurred_at,
        "duration_minutes": activity.duration_minutes,
        "due_at": activity.due_at,
        "assignee": activity.assignee_id,
        "remind_at": activity.remind_at,
    }
