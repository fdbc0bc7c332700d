"""The admin's form for defining a custom field on contacts or companies."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accord.identity.models import Role

from .models import Entity, FieldType


class CustomFieldForm(forms.Form):
    """Every setting of a field; key, record type and field type only when creating.

    Checks that depend on the type (choices, currency) and on the
    organisation (a unique key) are the service's, so the API and this form
    answer the same.
    """

    entity = forms.ChoiceField(label=_("Record type"), choices=Entity.choices)
    label = forms.CharField(label=_("Label"), max_length=80)
    key = forms.CharField(
        label=_("Key"), max_length=50, required=False,
        help_text=_("Used in the API, imports and exports; lower-case letters, digits and "
                    "underscores. Left empty, it is made from the label. It cannot be "
                    "changed later."),
    )
    field_type = forms.ChoiceField(
        label=_("Type"), choices=FieldType.choices,
        help_text=_("The type cannot be changed later, because stored values depend on it."),
    )
    choices = forms.CharField(
        label=_("Choices"), required=False, widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("For choice fields: one choice per line, in the order shown to people. "
                    "Removing a choice leaves records that have it unchanged."),
    )
    currency = forms.CharField(
        label=_("Currency"), max_length=3, required=False,
        help_text=_("For money fields: a three-letter code such as EUR."),
    )
    required = forms.BooleanField(
        label=_("Required"), required=False,
        help_text=_("Records cannot be saved without a value."),
    )
    help_text = forms.CharField(
        label=_("Help text"), max_length=200, required=False,
        help_text=_("Shown under the field on forms."),
    )
    hidden_from_roles = forms.MultipleChoiceField(
        label=_("Hidden from"), required=False, widget=forms.CheckboxSelectMultiple,
        choices=[(value, label) for value, label in Role.choices if value != Role.ADMIN],
        help_text=_("For sensitive values such as health or income: these roles do not see "
                    "the field anywhere (pages, lists, exports, the API, history) and cannot "
                    "change it. Admins always see it."),
    )
    encrypted = forms.BooleanField(
        label=_("Encrypted at rest"), required=False,
        help_text=_("For values such as health details or finances: they are stored "
                    "encrypted and shown as usual to those who may see the field, but records "
                    "cannot be searched, filtered, sorted or grouped by the field, nor can "
                    "segments and reports use it. Changing this re-stores existing values in "
                    "the background."),
    )
    position = forms.IntegerField(
        label=_("Order"), min_value=0, required=False,
        help_text=_("Fields with a lower number come first."),
    )

    FIXED = ("entity", "key", "field_type")

    def __init__(self, *args, creating: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not creating:
            for name in self.FIXED:
                del self.fields[name]

    def service_data(self) -> dict:
        """The cleaned input in the shape the custom field services take."""
        data = dict(self.cleaned_data)
        data["choices"] = (data.get("choices") or "").splitlines()
        return data
