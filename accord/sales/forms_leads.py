"""Forms of the lead pages and of the lead settings page.

Forms check shapes only; the lead services decide what a value means and
their InvalidInput is put next to the field it names.
"""

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from accord.customers.forms import members_of
from accord.customers.models import CompanySize
from accord.identity.models import Team
from accord.web import MapsServiceErrors

from .models import Pipeline
from .models.lead import RULE_FIELDS, MatchKind, Operator

User = get_user_model()

LEAD_TEXT = ["first_name", "last_name", "email", "phone", "title", "company_name", "website",
             "industry", "company_size", "country", "source", "description"]


class ErrorAliases(MapsServiceErrors):
    """Errors about the deal made by a conversion go to the form's deal fields."""

    def field_for_error(self, name: str) -> str | None:
        return super().field_for_error(name).removeprefix("deal.")


class LeadForm(ErrorAliases, forms.Form):
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    first_name = forms.CharField(label=_("First name"), required=False, max_length=100)
    last_name = forms.CharField(label=_("Last name"), required=False, max_length=100)
    email = forms.CharField(label=_("E-mail"), required=False, max_length=254,
                            widget=forms.EmailInput)
    phone = forms.CharField(label=_("Phone"), required=False, max_length=64)
    title = forms.CharField(label=_("Job title"), required=False, max_length=120)
    company_name = forms.CharField(label=_("Company"), required=False, max_length=200)
    website = forms.CharField(label=_("Website"), required=False, max_length=300)
    industry = forms.CharField(label=_("Industry"), required=False, max_length=80)
    company_size = forms.ChoiceField(label=_("Company size"), required=False,
                                     choices=[("", "—"), *CompanySize.choices])
    country = forms.CharField(label=_("Country"), required=False, max_length=2,
                              help_text=_("Two-letter code, such as GB or DE."),
                              widget=forms.TextInput(attrs={"size": 3}))
    source = forms.CharField(label=_("Source"), required=False, max_length=80)
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=User.objects.none(),
                                   required=False,
                                   empty_label=_("Chosen by the assignment rules"))
    description = forms.CharField(label=_("Description"), required=False,
                                  widget=forms.Textarea(attrs={"rows": 4}))

    error_aliases = {"owner_id": "owner"}

    def __init__(self, *args, org, instance=None, **kwargs):
        self.instance = instance
        if instance is not None:
            kwargs["initial"] = {**{name: getattr(instance, name) for name in LEAD_TEXT},
                                 "owner": instance.owner_id, "version": instance.version}
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = members_of(org)
        if instance is not None:
            self.fields["owner"].empty_label = _("Unassigned")

    def to_data(self) -> dict:
        data = {name: self.cleaned_data[name] for name in LEAD_TEXT}
        owner = self.cleaned_data["owner"]
        if owner is not None or self.instance is not None:
            data["owner"] = owner.pk if owner else None
        return data


class NoteForm(forms.Form):
    body = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 3}))


class DisqualifyForm(ErrorAliases, forms.Form):
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    reason = forms.CharField(label=_("Reason"), max_length=200,
                             help_text=_("For example: no budget, a student, a competitor."))


class ConvertForm(ErrorAliases, forms.Form):
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    create_deal = forms.BooleanField(label=_("Also open a deal"), required=False)
    name = forms.CharField(label=_("Deal name"), required=False, max_length=200)
    amount = forms.DecimalField(label=_("Amount"), required=False, min_value=0,
                                max_digits=16, decimal_places=4)
    pipeline = forms.TypedChoiceField(label=_("Pipeline"), required=False, coerce=int,
                                      empty_value=None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pipeline"].choices = [("", _("The default pipeline"))] + [
            (pipeline.pk, pipeline.name)
            for pipeline in Pipeline.objects.filter(is_active=True).order_by("position")]

    def deal(self) -> dict | None:
        if not self.cleaned_data["create_deal"]:
            return None
        amount = self.cleaned_data["amount"]
        return {"name": self.cleaned_data["name"], "pipeline": self.cleaned_data["pipeline"],
                "amount": str(amount) if amount is not None else None}


def _rule_field_choices():
    return [("", "—")] + [(key, label) for key, label in RULE_FIELDS.items()]


class AssignmentRuleForm(ErrorAliases, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    match = forms.ChoiceField(label=_("Applies to"), choices=MatchKind.choices)
    field = forms.ChoiceField(label=_("Field"), required=False, choices=_rule_field_choices)
    operator = forms.ChoiceField(label=_("Test"), choices=Operator.choices)
    value = forms.CharField(label=_("Value"), required=False, max_length=200,
                            help_text=_("Countries: two-letter codes separated by commas."))
    owner = forms.ModelChoiceField(label=_("Assign to"), queryset=User.objects.none(),
                                   required=False, empty_label="—")
    team = forms.ModelChoiceField(label=_("Or in turn within team"),
                                  queryset=Team.objects.none(), required=False,
                                  empty_label="—")
    error_aliases = {"owner_id": "owner", "team_id": "team"}

    def __init__(self, *args, org, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = members_of(org)
        self.fields["team"].queryset = Team.objects.order_by("name")

    def to_data(self) -> dict:
        data = dict(self.cleaned_data)
        data["owner"] = data["owner"].pk if data["owner"] else None
        data["team"] = data["team"].pk if data["team"] else None
        return data


class ScoringRuleForm(ErrorAliases, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    field = forms.ChoiceField(label=_("Field"), required=False, choices=_rule_field_choices)
    operator = forms.ChoiceField(label=_("Test"), choices=Operator.choices)
    value = forms.CharField(label=_("Value"), required=False, max_length=200)
    event_type = forms.CharField(label=_("Or each event"), required=False, max_length=64,
                                 help_text=_("For example email.opened or page.visited."))
    points = forms.IntegerField(label=_("Points"),
                                help_text=_("Negative to take points away."))

    def to_data(self) -> dict:
        return dict(self.cleaned_data)


class LeadSettingsForm(ErrorAliases, forms.Form):
    fallback_owner = forms.ModelChoiceField(
        label=_("Fallback owner"), queryset=User.objects.none(), required=False,
        empty_label=_("The person who enters the lead"),
        help_text=_("Gets every new lead that no assignment rule matches."))
    decay_mode = forms.ChoiceField(label=_("Behaviour points fade"), required=False, choices=[
        ("", _("never")), ("halve", _("by half")), ("subtract", _("by a number"))])
    decay_points = forms.IntegerField(label=_("Points taken each time"), min_value=0,
                                      required=False)
    decay_every_days = forms.IntegerField(label=_("Every (days)"), min_value=1,
                                          max_value=3650)

    def __init__(self, *args, org, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["fallback_owner"].queryset = members_of(org)


class CaptureFormForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    thank_you = forms.CharField(label=_("Thank-you message"), required=False, max_length=300)
