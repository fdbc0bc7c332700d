"""Forms of the privacy pages: a data request about a contact, a retention rule."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accord.records.models import RecordType
from accord.web import MapsServiceErrors

from .models import RequestKind, RetentionAction, RetentionCondition, RetentionEntity
from .retention import MAX_AGE_DAYS


class DataRequestForm(MapsServiceErrors, forms.Form):
    kind = forms.ChoiceField(
        label=_("What the person asks for"), choices=RequestKind.choices,
        widget=forms.RadioSelect, initial=RequestKind.EXPORT,
        help_text=_("Export writes a ZIP archive of everything held about the contact. "
                    "Erase deletes the contact and what is theirs alone. Anonymise keeps "
                    "orders and deal amounts for the books, without the person."),
    )
    confirm = forms.CharField(
        label=_("To erase or anonymise, type ERASE"), required=False, max_length=10,
        help_text=_("Erasing and anonymising cannot be undone."),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("kind") in (RequestKind.ERASE, RequestKind.ANONYMISE) \
                and (cleaned.get("confirm") or "").strip() != "ERASE":
            self.add_error("confirm", _("Type ERASE to confirm; this cannot be undone."))
        return cleaned


class RetentionRuleForm(MapsServiceErrors, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120, required=False,
                           help_text=_("Left empty, a name is made from the rule."))
    entity = forms.ChoiceField(label=_("Records"), choices=RetentionEntity.choices)
    condition = forms.ChoiceField(label=_("Condition"), choices=RetentionCondition.choices,
                                  help_text=_("Each kind of record has one condition; see "
                                              "the list below the form."))
    age_days = forms.IntegerField(label=_("Age in days"), min_value=1,
                                  max_value=MAX_AGE_DAYS,
                                  help_text=_("For example 1095 for three years."))
    action = forms.ChoiceField(label=_("Action"), choices=RetentionAction.choices)
    record_type = forms.ChoiceField(
        label=_("Record type"), required=False,
        help_text=_("Only for custom records: the type whose records go."))
    date_field = forms.CharField(
        label=_("Date field"), max_length=50, required=False,
        help_text=_("Only for custom records counted from a date: the key of the type's "
                    "date field, such as appointment_date."))
    is_active = forms.BooleanField(label=_("Active (runs every night)"), required=False,
                                   initial=True)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        types = RecordType.objects.order_by("position", "plural").values_list("key", "plural")
        self.fields["record_type"].choices = [("", _("None")), *types]

    def spec(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("version", None)
        return data
