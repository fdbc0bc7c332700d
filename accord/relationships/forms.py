"""Forms for relationships and the organisation's own roles."""

from django import forms
from django.utils.translation import gettext_lazy as _


class RelationshipForm(forms.Form):
    related = forms.CharField(label=_("Other contact"), max_length=254,
                              help_text=_("Their e-mail address, or their id."))
    role = forms.ChoiceField(label=_("They are this contact's"))
    started_on = forms.DateField(label=_("From"), required=False,
                                 widget=forms.DateInput(attrs={"type": "date"}))
    ended_on = forms.DateField(label=_("To"), required=False,
                               widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label=_("Note"), required=False, max_length=200)
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, roles: dict, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [(key, label) for key, (label, _inverse) in roles.items()]
        if editing:
            del self.fields["related"]

    def field_for_error(self, name: str) -> str | None:
        return name

    def expected_version(self) -> int | None:
        return self.cleaned_data.get("version")

    def to_data(self) -> dict:
        return {name: value for name, value in self.cleaned_data.items() if name != "version"}


class RoleForm(forms.Form):
    label = forms.CharField(label=_("Role"), max_length=60,
                            help_text=_("What the other person is, such as “Trustee”."))
    inverse_label = forms.CharField(label=_("Seen from the other side"), max_length=60,
                                    required=False,
                                    help_text=_("Such as “Trust beneficiary”; empty when "
                                                "it reads the same both ways."))

    def field_for_error(self, name: str) -> str | None:
        return name
