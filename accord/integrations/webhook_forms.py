from django import forms
from django.utils.translation import gettext_lazy as _

from accord import events


def _event_choices() -> list[tuple[str, str]]:
    return [(name, f"{name} — {text}") for name, text in events.EVENT_TYPES.items()]


class WebhookForm(forms.Form):
    url = forms.URLField(label=_("Receiver URL"), max_length=2000, assume_scheme="https",
                         help_text=_("Accord POSTs JSON here and expects a 2xx answer."))
    events = forms.MultipleChoiceField(label=_("Events"), choices=_event_choices,
                                       widget=forms.CheckboxSelectMultiple)
    description = forms.CharField(label=_("Description"), max_length=200, required=False)


class NewWebhookForm(WebhookForm):
    secret = forms.CharField(
        label=_("Secret"), required=False, min_length=16, max_length=128,
        help_text=_("Leave empty to have Accord generate one. It is shown only once."),
    )


class EditWebhookForm(WebhookForm):
    is_active = forms.BooleanField(label=_("Active"), required=False,
                                   help_text=_("Switching it on also lifts a pause."))
    version = forms.IntegerField(widget=forms.HiddenInput)
