"""Forms of the contacts and companies UI.

Forms only collect input and turn it into the plain dicts the services take;
the services validate. Their InvalidInput errors name fields the way the API
does (`phones.0.number`, `custom_fields.<key>`, `company_id`), and
`field_for_error` says which form field shows each one.
"""

import re

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from accord.core.crypto import Unreadable
from accord.identity.models import TIME_ZONE_CHOICES
from accord.identity.visibility import visible
from accord.web import MapsServiceErrors

from .models import (
    Company,
    CompanySize,
    ConsentChannel,
    ConsentMethod,
    ConsentPurpose,
    ConsentStatus,
    CustomField,
    EmailKind,
    FieldType,
    LifecycleStage,
    PhoneKind,
)
from .validation import consent_time_problem

User = get_user_model()

EXTRA_ROWS = 2  # empty e-mail and phone rows offered beyond the stored ones
PICKER_LIMIT = 500  # companies listed in a select; the picker search finds the rest


def members_of(org):
    """Active members of `org`: the only people a record can be assigned to."""
    return User.objects.filter(
        memberships__organization=org, memberships__is_active=True
    ).order_by("full_name", "email")


def company_choices(selected_ids=(), *, viewer, kept=(), exclude_id=None) -> list[tuple]:
    """(id, name) pairs for a company select: the first companies `viewer` sees by name,
    those of `selected_ids` (asked for or posted) the viewer sees, and `kept`, the record's
    own links, which stay listed even when hidden, without their name."""
    seen = visible(Company.objects.only("name"), viewer, "companies")
    return picker_choices(seen, ("name", "id"), selected_ids, kept,
                          hidden_label=_("A company you cannot see"), exclude_id=exclude_id)


def picker_choices(seen, ordering, selected_ids, kept, *, hidden_label, exclude_id=None):
    """(id, label) pairs of a select over `seen` (the rows the member sees, ordered by
    `ordering`): the first PICKER_LIMIT, the `selected_ids` among `seen`, and the `kept`
    ids, named when seen and called `hidden_label` otherwise."""
    if exclude_id is not None:
        seen = seen.exclude(pk=exclude_id)
    rows = [(row.pk, str(row)) for row in seen.order_by(*ordering)[:PICKER_LIMIT]]
    shown = {pk for pk, _name in rows}
    wanted = {pk for pk in [*selected_ids, *kept] if pk and pk not in shown}
    if wanted:
        found = {row.pk: str(row) for row in seen.filter(pk__in=wanted)}
        rows += list(found.items())
        rows += [(pk, str(hidden_label)) for pk in dict.fromkeys(kept)
                 if pk and pk not in shown and pk not in found]
        rows.sort(key=lambda row: (row[1].lower(), row[0]))
    return rows


def custom_form_field(custom: CustomField) -> forms.Field:
    """A form field whose widget suits the custom field's type; the service validates."""
    common = {"label": custom.label, "required": False, "help_text": custom.help_text}
    attrs = {"aria-required": "true"} if custom.required else {}
    kind = custom.field_type
    if kind == FieldType.LONG_TEXT:
        return forms.CharField(widget=forms.Textarea(attrs={"rows": 3, **attrs}), **common)
    if kind == FieldType.NUMBER:
        return forms.CharField(widget=forms.NumberInput(attrs={"step": "any", **attrs}),
                               **common)
    if kind == FieldType.MONEY:
        if custom.currency:
            common["help_text"] = " ".join(filter(None, [custom.currency, custom.help_text]))
        return forms.CharField(widget=forms.NumberInput(attrs={"step": "0.01", **attrs}),
                               **common)
    if kind == FieldType.DATE:
        return forms.CharField(widget=forms.DateInput(attrs={"type": "date", **attrs}),
                               **common)
    if kind == FieldType.DATETIME:
        return forms.CharField(
            widget=forms.DateTimeInput(attrs={"type": "datetime-local", **attrs}), **common
        )
    if kind == FieldType.CHOICE:
        return forms.ChoiceField(choices=[("", "—")] + [(c, c) for c in custom.choices],
                                 widget=forms.Select(attrs=attrs), **common)
    if kind == FieldType.MULTI_CHOICE:
        return forms.MultipleChoiceField(choices=[(c, c) for c in custom.choices],
                                         widget=forms.CheckboxSelectMultiple, **common)
    if kind == FieldType.BOOLEAN:
        return forms.ChoiceField(choices=[("", "—"), ("true", _("Yes")), ("false", _("No"))],
                                 widget=forms.Select(attrs=attrs), **common)
    if kind == FieldType.URL:
        return forms.CharField(widget=forms.URLInput(attrs=attrs), **common)
    if kind == FieldType.EMAIL:
        return forms.CharField(widget=forms.EmailInput(attrs=attrs), **common)
    if kind == FieldType.PHONE:
        return forms.CharField(widget=forms.TextInput(attrs={"type": "tel", **attrs}),
                               **common)
    return forms.CharField(widget=forms.TextInput(attrs=attrs), **common)


def custom_initial(custom: CustomField, stored):
    """The stored JSON value as the form field shows it."""
    if stored in (None, ""):
        return None
    if isinstance(stored, Unreadable):
        return str(stored)
    if custom.field_type == FieldType.MONEY:
        return stored.get("amount")
    if custom.field_type == FieldType.BOOLEAN:
        return "true" if stored else "false"
    if custom.field_type == FieldType.DATETIME:
        moment = parse_datetime(stored)
        return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M") if moment else stored
    return stored


def custom_input(custom: CustomField, value):
    """The form's value as the custom field service expects it; None clears."""
    if value in (None, "", []):
        return None
    if custom.field_type == FieldType.DATETIME and isinstance(value, str):
        moment = parse_datetime(value)
        if moment is not None and timezone.is_naive(moment):
            # The browser sends wall-clock time in the user's zone.
            return timezone.make_aware(moment).isoformat()
    return value


class CustomFieldsMixin(MapsServiceErrors):
    """A record type's custom fields as `cf_<key>` form fields."""

    def add_custom_fields(self, custom_fields: list[CustomField], stored: dict | None) -> None:
        """Adds a field per custom field, filled from `stored` values when given."""
        self.custom_fields = custom_fields
        for custom in custom_fields:
            self.fields[f"cf_{custom.key}"] = custom_form_field(custom)
            if stored and isinstance(stored.get(custom.key), Unreadable):
                # Shown as a placeholder and left out of the change, so saving
                # the form keeps the value sealed as it is.
                self.fields[f"cf_{custom.key}"] = forms.CharField(
                    label=custom.label, required=False, disabled=True,
                    help_text=_("This value cannot be decrypted with the configured keys."))
            if stored is not None:
                self.initial.setdefault(f"cf_{custom.key}",
                                        custom_initial(custom, stored.get(custom.key)))

    def custom_bound_fields(self):
        return [self[f"cf_{custom.key}"] for custom in self.custom_fields]

    def custom_data(self) -> dict:
        return {custom.key: custom_input(custom, self.cleaned_data.get(f"cf_{custom.key}"))
                for custom in self.custom_fields if not self.fields[f"cf_{custom.key}"].disabled}


class RecordForm(CustomFieldsMixin, forms.Form):
    """Fields shared by contacts and companies, plus the record's custom fields."""

    version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    error_aliases: dict[str, str] = {"owner_id": "owner"}

    def __init__(self, *args, org, viewer, custom_fields: list[CustomField], instance=None,
                 **kwargs):
        self.org = org
        self.viewer = viewer
        self.instance = instance
        super().__init__(*args, **kwargs)
        owner = self.fields["owner"]
        owner.queryset = members_of(org)
        self.add_custom_fields(custom_fields,
                               instance.custom_fields if instance is not None else None)
        if instance is not None:
            self.initial["version"] = instance.version
            self.initial["tags"] = ", ".join(
                sorted(link.tag.name for link in instance.tag_links.select_related("tag"))
            )

    def expected_version(self) -> int | None:
        return self.cleaned_data.get("version")


ADDRESS = ["street", "city", "region", "postal_code", "country"]


def _address_fields(form) -> None:
    form.fields["street"] = forms.CharField(label=_("Street"), required=False, max_length=200)
    form.fields["city"] = forms.CharField(label=_("City"), required=False, max_length=120)
    form.fields["region"] = forms.CharField(label=_("Region"), required=False,
                                            max_length=120)
    form.fields["postal_code"] = forms.CharField(label=_("Postal code"), required=False,
                                                 max_length=20)
    form.fields["country"] = forms.CharField(
        label=_("Country"), required=False, max_length=2,
        help_text=_("Two-letter code, such as GB or DE."),
        widget=forms.TextInput(attrs={"size": 3, "autocomplete": "country"}),
    )


class ContactForm(RecordForm):
    """A contact with any number of typed e-mails and phones (a few empty rows each)."""

    first_name = forms.CharField(label=_("First name"), required=False, max_length=100)
    last_name = forms.CharField(label=_("Last name"), required=False, max_length=100)
    title = forms.CharField(label=_("Job title"), required=False, max_length=120)
    company = forms.TypedChoiceField(label=_("Company"), required=False, coerce=int,
                                     empty_value=None)
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=User.objects.none(),
                                   required=False, empty_label=_("Unassigned"))
    lifecycle_stage = forms.ChoiceField(label=_("Lifecycle stage"),
                                        choices=LifecycleStage.choices,
                                        initial=LifecycleStage.LEAD)
    source = forms.CharField(label=_("Source"), required=False, max_length=80)
    tags = forms.CharField(label=_("Tags"), required=False,
                           help_text=_("Separate tags with commas."))
    birthday = forms.DateField(label=_("Birthday"), required=False,
                               widget=forms.DateInput(attrs={"type": "date"}))
    time_zone = forms.ChoiceField(label=_("Time zone"), required=False,
                                  choices=[("", "—")] + TIME_ZONE_CHOICES)
    do_not_contact = forms.BooleanField(label=_("Do not contact"), required=False)

    error_aliases = {"owner_id": "owner", "company_id": "company",
                     "email": "emails_0_address", "phone": "phones_0_number"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _address_fields(self)
        instance = self.instance
        emails = list(instance.emails.all()) if instance is not None else []
        phones = list(instance.phones.all()) if instance is not None else []
        self.email_rows = self._rows("emails", len(emails))
        self.phone_rows = self._rows("phones", len(phones))
        for index in range(self.email_rows):
            self.fields[f"emails_{index}_address"] = forms.CharField(
                label=_("E-mail") if index == 0 else _("Address %(n)s") % {"n": index + 1},
                required=False, max_length=254,
                widget=forms.EmailInput(attrs={"autocomplete": "off"}),
            )
            self.fields[f"emails_{index}_kind"] = forms.ChoiceField(
                label=_("Type"), choices=EmailKind.choices, initial=EmailKind.WORK,
                required=False,
            )
        for index in range(self.phone_rows):
            self.fields[f"phones_{index}_number"] = forms.CharField(
                label=_("Phone") if index == 0 else _("Phone %(n)s") % {"n": index + 1},
                required=False, max_length=64, widget=forms.TextInput(attrs={"type": "tel"}),
            )
            self.fields[f"phones_{index}_kind"] = forms.ChoiceField(
                label=_("Type"), choices=PhoneKind.choices, initial=PhoneKind.MOBILE,
                required=False,
            )
        kept = [instance.company_id] if instance is not None else []
        selected = []
        if self.is_bound and str(self.data.get("company", "")).isdigit():
            selected.append(int(self.data["company"]))
        elif str(self.initial.get("company") or "").isdigit():
            selected.append(int(self.initial["company"]))
        choices = company_choices(selected, viewer=self.viewer, kept=kept)
        self.company_overflow = len(choices) >= PICKER_LIMIT
        self.fields["company"].choices = [("", "—")] + choices
        self._sent_rows: dict[str, list[int]] = {"emails": [], "phones": []}
        if instance is not None:
            for name in ["first_name", "last_name", "title", "lifecycle_stage", "source",
                         "birthday", "time_zone", "do_not_contact", *ADDRESS]:
                self.initial[name] = getattr(instance, name)
            self.initial["company"] = instance.company_id
            self.initial["owner"] = instance.owner_id
            for index, email in enumerate(emails):
                self.initial[f"emails_{index}_address"] = email.address
                self.initial[f"emails_{index}_kind"] = email.kind
            for index, phone in enumerate(phones):
                self.initial[f"phones_{index}_number"] = phone.raw
                self.initial[f"phones_{index}_kind"] = phone.kind

    def _rows(self, prefix: str, stored: int) -> int:
        """Stored rows plus empty ones, and every row the submitted form carried."""
        rows = stored + EXTRA_ROWS
        if self.is_bound:
            pattern = re.compile(rf"^{prefix}_(\d+)_")
            submitted = [int(m.group(1)) + 1 for key in self.data if (m := pattern.match(key))]
            rows = max([rows, *submitted])
        return min(rows, 20)

    def email_fields(self):
        return [(self[f"emails_{i}_address"], self[f"emails_{i}_kind"])
                for i in range(self.email_rows)]

    def phone_fields(self):
        return [(self[f"phones_{i}_number"], self[f"phones_{i}_kind"])
                for i in range(self.phone_rows)]

    def to_data(self) -> dict:
        data = self.cleaned_data
        emails, phones = [], []
        self._sent_rows = {"emails": [], "phones": []}
        for index in range(self.email_rows):
            address = (data.get(f"emails_{index}_address") or "").strip()
            if address:
                emails.append({"address": address,
                               "kind": data.get(f"emails_{index}_kind") or EmailKind.WORK})
                self._sent_rows["emails"].append(index)
        for index in range(self.phone_rows):
            number = (data.get(f"phones_{index}_number") or "").strip()
            if number:
                phones.append({"number": number,
                               "kind": data.get(f"phones_{index}_kind") or PhoneKind.MOBILE})
                self._sent_rows["phones"].append(index)
        return {
            **{name: data.get(name) or "" for name in
               ["first_name", "last_name", "title", "source", "time_zone", *ADDRESS]},
            "company": data.get("company"),
            "owner": data.get("owner"),
            "lifecycle_stage": data["lifecycle_stage"],
            "birthday": data.get("birthday"),
            "do_not_contact": data.get("do_not_contact", False),
            "tags": data.get("tags") or "",
            "emails": emails,
            "phones": phones,
            "custom_fields": self.custom_data(),
        }

    def field_for_error(self, name: str) -> str | None:
        match = re.match(r"^(emails|phones)\.(\d+)(?:\.(\w+))?$", name)
        if match:
            prefix, sent, part = match.group(1), int(match.group(2)), match.group(3)
            rows = self._sent_rows[prefix]
            row = rows[sent] if sent < len(rows) else 0
            part = part if part in ("kind",) else ("address" if prefix == "emails" else "number")
            return f"{prefix}_{row}_{part}"
        return super().field_for_error(name)


class CompanyForm(RecordForm):
    name = forms.CharField(label=_("Name"), required=False, max_length=200)
    domain = forms.CharField(label=_("Domain"), required=False, max_length=253,
                             help_text=_("Such as example.com."))
    website = forms.CharField(label=_("Website"), required=False, max_length=300,
                              widget=forms.URLInput)
    industry = forms.CharField(label=_("Industry"), required=False, max_length=80)
    size = forms.ChoiceField(label=_("Size"), required=False,
                             choices=[("", "—")] + CompanySize.choices)
    employees = forms.CharField(label=_("Employees"), required=False,
                                widget=forms.NumberInput(attrs={"min": 0}))
    annual_revenue = forms.CharField(label=_("Annual revenue"), required=False,
                                     widget=forms.NumberInput(attrs={"step": "0.01"}))
    currency = forms.CharField(label=_("Currency"), required=False, max_length=3,
                               help_text=_("Three-letter code, such as EUR."),
                               widget=forms.TextInput(attrs={"size": 4}))
    phone = forms.CharField(label=_("Phone"), required=False, max_length=64,
                            widget=forms.TextInput(attrs={"type": "tel"}))
    parent = forms.TypedChoiceField(label=_("Parent company"), required=False, coerce=int,
                                    empty_value=None)
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=User.objects.none(),
                                   required=False, empty_label=_("Unassigned"))
    source = forms.CharField(label=_("Source"), required=False, max_length=80)
    tags = forms.CharField(label=_("Tags"), required=False,
                           help_text=_("Separate tags with commas."))
    description = forms.CharField(label=_("Description"), required=False,
                                  widget=forms.Textarea(attrs={"rows": 4}))

    error_aliases = {"owner_id": "owner", "parent_id": "parent"}
    TEXT = ["name", "domain", "website", "industry", "size", "currency", "phone", "source",
            "description"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _address_fields(self)
        instance = self.instance
        kept = [instance.parent_id] if instance is not None else []
        selected = []
        if self.is_bound and str(self.data.get("parent", "")).isdigit():
            selected.append(int(self.data["parent"]))
        self.fields["parent"].choices = [("", "—")] + company_choices(
            selected, viewer=self.viewer, kept=kept,
            exclude_id=instance.pk if instance is not None else None
        )
        if instance is not None:
            for name in [*self.TEXT, *ADDRESS, "employees", "annual_revenue"]:
                self.initial[name] = getattr(instance, name)
            self.initial["parent"] = instance.parent_id
            self.initial["owner"] = instance.owner_id

    def to_data(self) -> dict:
        data = self.cleaned_data
        return {
            **{name: data.get(name) or "" for name in [*self.TEXT, *ADDRESS]},
            "employees": data.get("employees") or None,
            "annual_revenue": data.get("annual_revenue") or None,
            "parent": data.get("parent"),
            "owner": data.get("owner"),
            "tags": data.get("tags") or "",
            "custom_fields": self.custom_data(),
        }


class ConsentForm(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), choices=ConsentChannel.choices)
    purpose = forms.ChoiceField(label=_("Purpose"), choices=ConsentPurpose.choices)
    status = forms.ChoiceField(label=_("Consent"), choices=ConsentStatus.choices)
    method = forms.ChoiceField(label=_("How it was given"), choices=ConsentMethod.choices)
    recorded_at = forms.DateTimeField(
        label=_("When"), required=False, help_text=_("Leave empty for now."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
    )
    evidence = forms.CharField(label=_("Evidence"), required=False, max_length=300,
                               help_text=_("Where the consent can be checked, such as a "
                                           "form submission or a letter reference."))

    def clean_recorded_at(self):
        moment = self.cleaned_data.get("recorded_at")
        problem = moment and consent_time_problem(moment, timezone.now())
        if problem:
            raise forms.ValidationError(problem)
        return moment


class AffiliationForm(forms.Form):
    company = forms.TypedChoiceField(label=_("Company"), coerce=int)
    title = forms.CharField(label=_("Role or title"), required=False, max_length=120)
    is_primary = forms.BooleanField(label=_("Main company"), required=False)

    def __init__(self, *args, viewer, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["company"].choices = [("", "—")] + company_choices(viewer=viewer)


class SavedViewForm(forms.Form):
    name = forms.CharField(label=_("View name"), max_length=80)
    is_shared = forms.BooleanField(label=_("Share with everyone"), required=False)
    query = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)
    columns = forms.CharField(required=False, widget=forms.HiddenInput)


class BulkForm(forms.Form):
    """One action for the selected rows; which value it needs depends on the action.

    The owner and stage pickers start on "Choose…" (an empty value), so an
    action whose value was never picked is refused instead of applying the
    first option; "Unassigned" is an explicit choice of its own.
    """

    UNASSIGNED = "none"

    action = forms.ChoiceField(label=_("Action"))
    tag = forms.CharField(label=_("Tag"), required=False, max_length=60)
    # A text value checked by the service, which names an outsider precisely;
    # the select only offers the organisation's members.
    owner = forms.CharField(label=_("Owner"), required=False)
    lifecycle_stage = forms.ChoiceField(label=_("Lifecycle stage"), required=False,
                                        choices=[("", _("Choose…"))] + LifecycleStage.choices)

    def __init__(self, *args, actions: list[tuple[str, str]], members=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = actions
        self.fields["owner"].widget = forms.Select(choices=[
            ("", _("Choose…")), (self.UNASSIGNED, _("Unassigned")),
        ] + [(str(member.pk), str(member)) for member in members])

    def clean(self):
        data = super().clean()
        action = data.get("action")
        if action in ("add_tag", "remove_tag") and not (data.get("tag") or "").strip():
            self.add_error("tag", _("Give the tag's name."))
        if action == "assign_owner" and not data.get("owner"):
            self.add_error("owner", _("Choose an owner, or “Unassigned” to clear the owner."))
        if action == "set_stage" and not data.get("lifecycle_stage"):
            self.add_error("lifecycle_stage", _("Choose a lifecycle stage."))
        return data

    def needed_field(self):
        """The field the chosen action takes its value from; None for one without."""
        action = self.data.get("action")
        if action not in dict(self.fields["action"].choices):
            return None
        name = {"add_tag": "tag", "remove_tag": "tag", "assign_owner": "owner",
                "set_stage": "lifecycle_stage"}.get(action)
        return self[name] if name else None

    def value(self):
        action = self.cleaned_data["action"]
        if action in ("add_tag", "remove_tag"):
            return self.cleaned_data["tag"].strip()
        if action == "assign_owner":
            owner = self.cleaned_data["owner"]
            return None if owner == self.UNASSIGNED else owner
        if action == "set_stage":
            return self.cleaned_data["lifecycle_stage"]
        return None
