"""The segment form's own fields; the conditions come from the builder rows (builder.py)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import SegmentKind


class SegmentForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    name = forms.CharField(label=_("Name"), max_length=120)
    description = forms.CharField(label=_("Description"), max_length=500, required=False)
    kind = forms.ChoiceField(
        label=_("Kind"), choices=SegmentKind.choices, initial=SegmentKind.DYNAMIC,
        help_text=_("A dynamic segment is worked out whenever it is used. A frozen list keeps "
                    "the contacts that match when it is saved, until you refresh it."))

    def field_for_error(self, name: str) -> str | None:
        return name

    def service_data(self) -> dict:
        data = self.cleaned_data
        return {"name": data["name"], "description": data.get("description") or "",
                "kind": data["kind"]}
