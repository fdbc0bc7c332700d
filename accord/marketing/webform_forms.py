"""The form that designs a web form: its settings, and one row per field it may ask."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accord.customers.models import ConsentPurpose, LifecycleStage
from accord.identity.context import acting_member

from .conditions.fields import owner_choices
from .webform_models import FormTarget, WebForm
from .webforms import field_choices


class WebFormForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    name = forms.CharField(label=_("Name"), max_length=120)
    creates = forms.ChoiceField(label=_("Each submission creates"), choices=FormTarget.choices,
                                initial=FormTarget.CONTACT)
    lifecycle_stage = forms.ChoiceField(
        label=_("Lifecycle stage of new contacts"), required=False,
        choices=[("", _("The default"))] + LifecycleStage.choices)
    owner = forms.ChoiceField(label=_("Owner"), required=False)
    tags = forms.CharField(label=_("Tags"), required=False, max_length=600,
                           help_text=_("Separated by commas; added to the contact."))
    consent_purpose = forms.ChoiceField(
        label=_("Consent checkbox for"), required=False,
        choices=[("", _("No consent checkbox"))] + ConsentPurpose.choices)
    consent_text = forms.CharField(
        label=_("Consent text"), required=False, max_length=1000, widget=forms.Textarea(
            attrs={"rows": 3}),
        help_text=_("Shown beside the checkbox; kept word for word with each consent."))
    double_opt_in = forms.BooleanField(
        label=_("Double opt-in"), required=False,
        help_text=_("Consent counts only once the visitor follows the link we e-mail them."))
    thank_you = forms.CharField(label=_("Thank-you message"), required=False, max_length=500)
    redirect_url = forms.CharField(
        label=_("Or send visitors to"), required=False, max_length=500,
        help_text=_("A web address starting with http:// or https://."))
    allowed_origins = forms.CharField(
        label=_("Sites that may post with script"), required=False, widget=forms.Textarea(
            attrs={"rows": 2}),
        help_text=_("One origin a line, such as https://www.example.com; only these may "
                    "call the JSON endpoint from a browser."))
    is_active = forms.BooleanField(label=_("Accepting submissions"), required=False,
                                   initial=True)

    def __init__(self, *args, org, form: WebForm | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [("", _("Nobody"))] + owner_choices()
        chosen = {item["name"]: item for item in (form.fields if form else [])}
        # Custom fields hidden from the designer's role are not offered.
        self.available = field_choices(org, acting_member())
        self.rows = []
        for name, label in self.available.items():
            item = chosen.get(name)
            self.fields[f"use_{name}"] = forms.BooleanField(
                label=label, required=False,
                initial=item is not None or (form is None and name in ("first_name", "email")),
                disabled=name == "email")
            self.fields[f"label_{name}"] = forms.CharField(
                label=_("Label"), required=False, max_length=120,
                initial=item["label"] if item else label)
            self.fields[f"required_{name}"] = forms.BooleanField(
                label=_("Required"), required=False,
                initial=bool(item and item["required"]) or name == "email",
                disabled=name == "email")
            self.rows.append(name)

    def field_rows(self):
        return [(self[f"use_{name}"], self[f"label_{name}"], self[f"required_{name}"])
                for name in self.rows]

    def field_for_error(self, name: str) -> str | None:
        return None if name.startswith("fields") else name

    def service_data(self) -> dict:
        data = self.cleaned_data
        fields = [{"name": name, "label": data.get(f"label_{name}") or self.available[name],
                   "required": bool(data.get(f"required_{name}"))}
                  for name in self.rows if name == "email" or data.get(f"use_{name}")]
        return {
            "name": data["name"], "creates": data["creates"],
            "lifecycle_stage": data.get("lifecycle_stage") or "",
            "owner": data.get("owner") or None,
            "tags": [tag.strip() for tag in (data.get("tags") or "").split(",") if tag.strip()],
            "consent_purpose": data.get("consent_purpose") or "",
            "consent_text": data.get("consent_text") or "",
            "double_opt_in": bool(data.get("double_opt_in")),
            "thank_you": data.get("thank_you") or "",
            "redirect_url": data.get("redirect_url") or "",
            "allowed_origins": (data.get("allowed_origins") or "").split(),
            "is_active": bool(data.get("is_active")),
            "fields": fields,
        }


def initial_for(form: WebForm) -> dict:
    return {
        "version": form.version, "name": form.name, "creates": form.creates,
        "lifecycle_stage": form.lifecycle_stage, "owner": form.owner_id or "",
        "tags": ", ".join(form.tags), "consent_purpose": form.consent_purpose,
        "consent_text": form.consent_text, "double_opt_in": form.double_opt_in,
        "thank_you": form.thank_you, "redirect_url": form.redirect_url,
        "allowed_origins": "\n".join(form.allowed_origins), "is_active": form.is_active,
    }
