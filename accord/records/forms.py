"""Forms of the record type settings and of the record pages.

Forms collect input and turn it into the plain dicts the services take; the
services validate, and their errors (`values.<key>`, `fields.<n>.<name>`)
are put next to the form field they name.
"""

from django import forms
from django.utils.translation import gettext_lazy as _

from accord.core.crypto import Unreadable
from accord.customers.forms import custom_form_field, custom_initial, custom_input, members_of
from accord.customers.models import Company, Contact, FieldType
from accord.identity.models import Role
from accord.identity.visibility import visible
from accord.sales.models import Deal
from accord.web import MapsServiceErrors

from .models import FIELD_TYPE_CHOICES, Record, RecordField, RecordType, RelationType
from .services import LINK_AREAS, PARTY_TYPES

PICKER_LIMIT = 500  # linkable records listed in a select, the chosen ones always among them
HIDDEN_LINK = {
    RelationType.CONTACT: _("A contact you cannot see"),
    RelationType.COMPANY: _("A company you cannot see"),
    RelationType.DEAL: _("A deal you cannot see"),
    RelationType.RECORD: _("A record you cannot see"),
}


class RecordTypeForm(forms.Form):
    """A type's names and place in the navigation; the key only when creating."""

    key = forms.CharField(
        label=_("Key"), max_length=50,
        help_text=_("Used in addresses, the API and imports: lower-case letters, digits and "
                    "underscores, such as property. It cannot be changed later."),
    )
    singular = forms.CharField(label=_("Singular label"), max_length=80,
                               help_text=_("One record, such as Property."))
    plural = forms.CharField(label=_("Plural label"), max_length=80,
                             help_text=_("Shown in the navigation, such as Properties."))
    description = forms.CharField(label=_("Description"), max_length=500, required=False,
                                  widget=forms.Textarea(attrs={"rows": 2}))
    title_field = forms.ChoiceField(
        label=_("Title field"), required=False,
        help_text=_("The field whose value names a record in lists, links and search."),
    )
    position = forms.IntegerField(label=_("Order in the navigation"), min_value=0,
                                  required=False)
    active = forms.BooleanField(
        label=_("Active"), required=False, initial=True,
        help_text=_("An inactive type leaves the navigation, lists and the API; its records "
                    "are kept and come back when it is active again."),
    )
    confidential = forms.BooleanField(
        label=_("Confidential"), required=False,
        help_text=_("Each record is seen only by its owner, the members it is shared with "
                    "and admins, whatever a role's visibility: in lists, search, links, "
                    "exports and the API."),
    )
    party_fields = forms.MultipleChoiceField(
        label=_("Party fields (conflict check)"), required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Fields that name parties, such as the client or the opposing party. "
                    "Before a record is opened, its parties are looked up among contacts, "
                    "companies and this type's records, and the person opening it confirms "
                    "there is no conflict."),
    )

    def __init__(self, *args, record_type: RecordType | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if record_type is None:
            del self.fields["title_field"]
            del self.fields["party_fields"]
        else:
            del self.fields["key"]
            active = list(record_type.fields.filter(is_active=True))
            self.fields["title_field"].choices = [("", "—")] + [
                (field.key, field.label) for field in active if not field.is_relation
            ]
            self.fields["party_fields"].choices = [
                (field.key, field.label) for field in active
                if field.field_type in PARTY_TYPES and not field.hidden_from_roles
            ]

    def spec(self) -> dict:
        data = dict(self.cleaned_data)
        if data.get("position") is None:
            data.pop("position", None)
        return data


class RecordFieldForm(forms.Form):
    """Every setting of a field; key, type, linked type and "several" only when creating."""

    label = forms.CharField(label=_("Label"), max_length=80)
    key = forms.CharField(
        label=_("Key"), max_length=50, required=False,
        help_text=_("Used in the API and imports. Left empty, it is made from the label. It "
                    "cannot be changed later."),
    )
    type = forms.ChoiceField(
        label=_("Type"), choices=FIELD_TYPE_CHOICES,
        help_text=_("The type cannot be changed later, because stored values depend on it."),
    )
    target = forms.ChoiceField(label=_("Linked record type"), required=False,
                               help_text=_("For links to records of a type."))
    many = forms.BooleanField(label=_("Several"), required=False,
                              help_text=_("For links: a record may link to several."))
    choices = forms.CharField(
        label=_("Choices"), required=False, widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("For choice fields: one choice per line, in the order shown to people."),
    )
    currency = forms.CharField(
        label=_("Currency"), max_length=3, required=False,
        help_text=_("For money fields: a three-letter code such as EUR; left empty, each "
                    "value names its own."),
    )
    required = forms.BooleanField(label=_("Required"), required=False)
    help_text = forms.CharField(label=_("Help text"), max_length=200, required=False)
    hidden_from_roles = forms.MultipleChoiceField(
        label=_("Hidden from"), required=False, widget=forms.CheckboxSelectMultiple,
        choices=[(value, label) for value, label in Role.choices if value != Role.ADMIN],
        help_text=_("These roles neither see nor change the field anywhere. Admins always "
                    "see it."),
    )
    encrypted = forms.BooleanField(
        label=_("Encrypted at rest"), required=False,
        help_text=_("For values such as health details or finances: they are stored "
                    "encrypted and shown as usual to those who may see the field, but records "
                    "cannot be searched, filtered, sorted or grouped by it, nor can reports, "
                    "date rules, the title or the conflict check use it. Links cannot be "
                    "encrypted. Changing this re-stores existing values in the background."),
    )

    FIXED = ("key", "type", "target", "many")

    def __init__(self, *args, record_type: RecordType, field: RecordField | None = None,
                 **kwargs):
        super().__init__(*args, **kwargs)
        if field is not None:
            for name in self.FIXED:
                del self.fields[name]
        else:
            self.fields["target"].choices = [("", "—")] + [
                (other.key, other.plural) for other in RecordType.objects.order_by("position")
            ]

    def spec(self) -> dict:
        data = dict(self.cleaned_data)
        data["choices"] = (data.get("choices") or "").splitlines()
        return data


def _open_money(field: RecordField) -> bool:
    """A money field whose values each name their currency."""
    return field.field_type == FieldType.MONEY and not field.currency


def _relation_choices(field: RecordField, selected: list[int], viewer) -> list[tuple]:
    model = {RelationType.CONTACT: Contact, RelationType.COMPANY: Company,
             RelationType.DEAL: Deal, RelationType.RECORD: Record}[field.field_type]
    rows = model.objects.all()
    if field.field_type == RelationType.RECORD:
        rows = rows.filter(record_type=field.target)
    seen = visible(rows, viewer, LINK_AREAS[field.field_type])
    # A link the member may not follow stays, unnamed, so saving the form
    # does not drop it.
    chosen_hidden = [(pk, str(HIDDEN_LINK[field.field_type])) for pk in rows.filter(
        pk__in=selected).exclude(pk__in=seen.values("pk")).values_list("pk", flat=True)]
    rows = seen
    chosen = list(rows.filter(pk__in=selected))
    shown = list(rows.order_by("-pk")[:PICKER_LIMIT])
    known = {row.pk for row in shown}
    rows = shown + [row for row in chosen if row.pk not in known]
    return sorted([*((row.pk, str(row)) for row in rows), *chosen_hidden],
                  key=lambda pair: pair[1].lower())


class RecordForm(MapsServiceErrors, forms.Form):
    """A record's owner and the values of the fields the member may see."""

    version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=None, required=False)
    error_aliases = {"owner_id": "owner"}

    shared_with = forms.ModelMultipleChoiceField(
        label=_("Shared with"), queryset=None, required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Besides the owner and admins, only these members see the record."),
    )
    conflict_checked = forms.BooleanField(
        label=_("I have checked these results: there is no conflict."), required=False,
    )

    def __init__(self, *args, org, fields: list[RecordField], instance: Record | None = None,
                 links: dict | None = None, record_type: RecordType | None = None,
                 viewer=None, may_share: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.record_fields = fields
        self.fields["owner"].queryset = members_of(org)
        if record_type is not None and record_type.is_confidential and may_share:
            self.fields["shared_with"].queryset = members_of(org)
            if instance is not None:
                self.initial["shared_with"] = list(
                    instance.shares.values_list("user_id", flat=True))
        else:
            del self.fields["shared_with"]
        if instance is not None or record_type is None or not record_type.party_fields:
            del self.fields["conflict_checked"]
        links = links or {}
        for field in fields:
            name = f"v_{field.key}"
            if field.is_relation:
                stored = links.get(field.key)
                selected = stored if isinstance(stored, list) else [stored] if stored else []
                choices = _relation_choices(field, selected, viewer)
                common = {"label": field.label, "required": False,
                          "help_text": field.help_text}
                if field.many:
                    self.fields[name] = forms.TypedMultipleChoiceField(
                        choices=choices, coerce=int, **common)
                else:
                    self.fields[name] = forms.TypedChoiceField(
                        choices=[("", "—"), *choices], coerce=int, empty_value=None, **common)
                if instance is not None:
                    self.initial[name] = stored
            elif instance is not None and isinstance(instance.values.get(field.key),
                                                     Unreadable):
                # Shown as a placeholder and left out of the change, so saving
                # the form keeps the value sealed as it is.
                self.fields[name] = forms.CharField(
                    label=field.label, required=False, disabled=True,
                    help_text=_("This value cannot be decrypted with the configured keys."))
                self.initial[name] = str(instance.values[field.key])
            elif _open_money(field):
                self.fields[name] = forms.CharField(
                    label=field.label, required=False,
                    help_text=" ".join(filter(None, [str(_("An amount and its currency, such as "
                                                       "1250.00 EUR.")), field.help_text])))
                stored = instance.values.get(field.key) if instance is not None else None
                if stored:
                    self.initial[name] = f"{stored['amount']} {stored['currency']}"
            else:
                self.fields[name] = custom_form_field(field)
                if instance is not None:
                    self.initial[name] = custom_initial(field, instance.values.get(field.key))
        if instance is not None:
            self.initial["version"] = instance.version
            self.initial["owner"] = instance.owner_id
            if record_type is not None and record_type.is_confidential and not may_share:
                # Only the owner and admins hand a confidential record on.
                self.fields["owner"].disabled = True
                self.fields["owner"].help_text = _("Only the owner and admins change the "
                                                   "owner of a confidential record.")

    def field_for_error(self, name: str) -> str | None:
        if name.startswith("values."):
            return "v_" + name.split(".", 1)[1]
        return super().field_for_error(name)

    def value_fields(self):
        return [self[f"v_{field.key}"] for field in self.record_fields]

    def to_data(self) -> dict:
        values = {}
        for field in self.record_fields:
            value = self.cleaned_data.get(f"v_{field.key}")
            if self.fields[f"v_{field.key}"].disabled:
                continue
            if field.is_relation:
                values[field.key] = value
            elif _open_money(field) and value:
                amount, _space, currency = value.strip().partition(" ")
                values[field.key] = {"amount": amount, "currency": currency.strip()}
            else:
                values[field.key] = custom_input(field, value)
        data = {"values": values}
        if not self.fields["owner"].disabled:
            data["owner"] = self.cleaned_data.get("owner")
        if "shared_with" in self.fields:
            data["shared_with"] = [user.pk for user in self.cleaned_data["shared_with"]]
        if "conflict_checked" in self.fields:
            data["conflict_checked"] = self.cleaned_data.get("conflict_checked") is True
        return data

    def expected_version(self) -> int | None:
        return self.cleaned_data.get("version")
