"""Forms of the deals UI: the deal, its move, contacts, line items, pipelines and stages.

Forms only collect input and turn it into the plain dicts the services take;
the services validate. Their InvalidInput errors name fields the way the API
does (`contacts.0.contact`, `line_items.2.quantity`, `custom_fields.<key>`),
and `field_for_error` says which form field shows each one.
"""

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from accord.customers.forms import (
    CustomFieldsMixin,
    company_choices,
    members_of,
    picker_choices,
)
from accord.customers.models import Contact
from accord.identity.visibility import visible

from .models import DealStatus, ForecastCategory, Stage, StageKind

User = get_user_model()

CONTACT_ROWS_EXTRA = 2  # empty contact rows offered beyond the linked ones
LINE_ROWS_EXTRA = 2  # empty line item rows offered beyond the stored ones


def contact_choices(selected_ids=(), *, viewer, kept=()) -> list[tuple]:
    """(id, name) pairs for a contact select: the first contacts `viewer` sees by name,
    those of `selected_ids` (asked for or posted) the viewer sees, and `kept`, the record's
    own links, which stay listed even when hidden, without their name."""
    seen = visible(Contact.objects.only("first_name", "last_name", "email"), viewer,
                   "contacts")
    return picker_choices(seen, ("last_name", "first_name", "id"), selected_ids, kept,
                          hidden_label=_("A contact you cannot see"))


def stage_choices(pipelines) -> list[tuple]:
    """Stages grouped by pipeline, as a select shows them."""
    return [(pipeline.name, [(stage.pk, stage.name) for stage in pipeline.stages.all()])
            for pipeline in pipelines]


def _selected_ids(form, prefix: str, count: int) -> list[int]:
    values = [str(form.data.get(f"{prefix}_{index}_contact", "")) for index in range(count)]
    return [int(value) for value in values if value.isdigit()]


class DealForm(CustomFieldsMixin, forms.Form):
    """A deal's own fields, its contacts with roles and its custom fields."""

    version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    name = forms.CharField(label=_("Name"), max_length=200)
    stage = forms.TypedChoiceField(label=_("Pipeline and stage"), coerce=int,
                                   empty_value=None)
    amount = forms.CharField(label=_("Amount"), required=False, widget=forms.NumberInput(
        attrs={"step": "0.01", "min": "0"}),
        help_text=_("Leave empty to use the total of the line items."))
    currency = forms.CharField(label=_("Currency"), max_length=3, required=False,
                               widget=forms.TextInput(attrs={"size": 4}),
                               help_text=_("Three-letter code, such as EUR."))
    expected_close_date = forms.DateField(label=_("Expected close"), required=False,
                                          widget=forms.DateInput(attrs={"type": "date"}))
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=User.objects.none(),
                                   required=False, empty_label=_("Unassigned"))
    company = forms.TypedChoiceField(label=_("Company"), required=False, coerce=int,
                                     empty_value=None)
    source = forms.CharField(label=_("Source"), required=False, max_length=80)
    forecast_category = forms.ChoiceField(label=_("Forecast category"),
                                          choices=ForecastCategory.choices,
                                          initial=ForecastCategory.PIPELINE)
    next_step = forms.CharField(label=_("Next step"), required=False, max_length=200)
    description = forms.CharField(label=_("Description"), required=False,
                                  widget=forms.Textarea(attrs={"rows": 4}))

    error_aliases = {"owner_id": "owner", "company_id": "company", "pipeline": "stage"}

    def __init__(self, *args, org, viewer, pipelines, custom_fields, instance=None, **kwargs):
        self.viewer = viewer
        self.org = org
        self.instance = instance
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = members_of(org)
        if instance is None:
            self.fields["stage"].choices = [("", "—")] + stage_choices(pipelines)
        else:
            # The stage changes through a move, which keeps the history.
            del self.fields["stage"]
            self.initial.update({
                "version": instance.version, "name": instance.name,
                "amount": instance.amount if instance.amount_overridden else None,
                "currency": instance.currency,
                "expected_close_date": instance.expected_close_date,
                "owner": instance.owner_id, "company": instance.company_id,
                "source": instance.source, "forecast_category": instance.forecast_category,
                "next_step": instance.next_step, "description": instance.description,
            })
        kept = [instance.company_id] if instance is not None else []
        selected = []
        if self.is_bound and str(self.data.get("company", "")).isdigit():
            selected.append(int(self.data["company"]))
        elif str(self.initial.get("company") or "").isdigit():
            selected.append(int(self.initial["company"]))
        self.fields["company"].choices = [("", "—")] + company_choices(
            selected, viewer=viewer, kept=kept)
        self._contact_fields(instance)
        self.add_custom_fields(custom_fields,
                               instance.custom_fields if instance is not None else None)

    def _contact_fields(self, instance) -> None:
        links = list(instance.contact_links.all()) if instance is not None else []
        wanted = self.initial.get("contact")
        if instance is None and str(wanted or "").isdigit():
            self.initial["contacts_0_contact"] = int(wanted)
        self.contact_rows = len(links) + CONTACT_ROWS_EXTRA
        if self.is_bound:
            sent = [name for name in self.data if name.startswith("contacts_")
                    and name.endswith("_contact")]
            self.contact_rows = max(self.contact_rows, len(sent))
        kept = [link.contact_id for link in links]
        selected = []
        if self.is_bound:
            selected += _selected_ids(self, "contacts", self.contact_rows)
        elif self.initial.get("contacts_0_contact"):
            selected.append(self.initial["contacts_0_contact"])
        choices = [("", "—")] + contact_choices(selected, viewer=self.viewer, kept=kept)
        for index in range(self.contact_rows):
            self.fields[f"contacts_{index}_contact"] = forms.TypedChoiceField(
                label=_("Contact") if index == 0 else _("Contact %(n)s") % {"n": index + 1},
                required=False, coerce=int, empty_value=None, choices=choices)
            self.fields[f"contacts_{index}_role"] = forms.CharField(
                label=_("Role"), required=False, max_length=80,
                widget=forms.TextInput(attrs={"placeholder": _("Decision maker")}))
        for index, link in enumerate(links):
            self.initial[f"contacts_{index}_contact"] = link.contact_id
            self.initial[f"contacts_{index}_role"] = link.role

    def contact_bound_rows(self):
        return [(self[f"contacts_{index}_contact"], self[f"contacts_{index}_role"])
                for index in range(self.contact_rows)]

    def main_bound_fields(self):
        names = ["name", "stage", "amount", "currency", "expected_close_date", "owner",
                 "company", "source", "forecast_category", "next_step", "description"]
        return [self[name] for name in names if name in self.fields]

    def to_data(self) -> dict:
        data = self.cleaned_data
        values = {name: data.get(name) for name in (
            "name", "amount", "currency", "expected_close_date", "company", "source",
            "forecast_category", "next_step", "description")}
        values["owner"] = data["owner"].pk if data.get("owner") else None
        values["amount"] = values["amount"] or None
        if "stage" in self.fields:
            values["stage"] = data.get("stage")
        values["contacts"] = [
            {"contact": data[f"contacts_{index}_contact"],
             "role": data.get(f"contacts_{index}_role") or ""}
            for index in range(self.contact_rows) if data.get(f"contacts_{index}_contact")
        ]
        values["custom_fields"] = self.custom_data()
        return values

    def field_for_error(self, name: str) -> str | None:
        if name.startswith("contacts."):
            _prefix, index, field = (name.split(".") + ["contact"])[:3]
            return f"contacts_{index}_{field}"
        return super().field_for_error(name)

    def expected_version(self) -> int | None:
        return self.cleaned_data.get("version")


class MoveForm(forms.Form):
    """Moving a deal to a stage: the version the user saw and, where needed, a reason."""

    stage = forms.IntegerField(widget=forms.HiddenInput)
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    reason = forms.CharField(label=_("Reason"), required=False, max_length=200)


class DealContactForm(forms.Form):
    contact = forms.TypedChoiceField(label=_("Contact"), coerce=int, empty_value=None)
    role = forms.CharField(label=_("Role"), required=False, max_length=80)

    def __init__(self, *args, viewer, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contact"].choices = [("", "—")] + contact_choices(viewer=viewer)


LINE_FIELDS = ["product", "name", "quantity", "unit_price", "discount_percent", "tax_percent"]


class LineItemsForm(forms.Form):
    """Every line item of a deal as rows of inputs, plus a few empty rows to add more."""

    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, deal, products, **kwargs):
        super().__init__(*args, **kwargs)
        items = list(deal.line_items.all())
        self.products = products
        self.rows = len(items) + LINE_ROWS_EXTRA
        if self.is_bound:
            sent = [name for name in self.data if name.startswith("items_")
                    and name.endswith("_name")]
            self.rows = max(self.rows, len(sent))
        self.initial["version"] = deal.version
        product_choices = [("", _("Typed in"))] + [(p.pk, f"{p.name} ({p.sku})")
                                                   for p in products]
        for index in range(self.rows):
            prefix = f"items_{index}_"
            if products:
                self.fields[prefix + "product"] = forms.TypedChoiceField(
                    label=_("Product"), required=False, coerce=int, empty_value=None,
                    choices=product_choices)
            self.fields[prefix + "name"] = forms.CharField(label=_("Item"), required=False,
                                                           max_length=200)
            self.fields[prefix + "quantity"] = forms.CharField(
                label=_("Quantity"), required=False,
                widget=forms.NumberInput(attrs={"step": "any", "min": "0"}))
            self.fields[prefix + "unit_price"] = forms.CharField(
                label=_("Unit price"), required=False,
                widget=forms.NumberInput(attrs={"step": "0.01", "min": "0"}))
            self.fields[prefix + "discount_percent"] = forms.CharField(
                label=_("Discount (%)"), required=False,
                widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "max": "100"}))
            self.fields[prefix + "tax_percent"] = forms.CharField(
                label=_("Tax (%)"), required=False,
                widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "max": "100"}))
            self.fields[prefix + "remove"] = forms.BooleanField(label=_("Remove"),
                                                                required=False)
        for index, item in enumerate(items):
            prefix = f"items_{index}_"
            self.initial.update({
                prefix + "product": item.product_id, prefix + "name": item.name,
                prefix + "quantity": item.quantity.normalize(),
                prefix + "unit_price": item.unit_price.normalize(),
                prefix + "discount_percent": item.discount_percent.normalize(),
                prefix + "tax_percent": item.tax_percent.normalize(),
            })

    def bound_rows(self):
        names = [*([] if not self.products else ["product"]), *LINE_FIELDS[1:], "remove"]
        return [[self[f"items_{index}_{name}"] for name in names] for index in range(self.rows)]

    def items(self) -> list[dict]:
        """The rows kept (filled in, not marked for removal), in order, as the service reads them.

        `self.kept` maps each item's index in the result to its row, so that
        an error on `line_items.<n>.<field>` lands on the right row.
        """
        items, self.kept = [], []
        for index in range(self.rows):
            prefix = f"items_{index}_"
            row = {name: self.cleaned_data.get(prefix + name) for name in LINE_FIELDS}
            if self.cleaned_data.get(prefix + "remove"):
                continue
            if not any(value not in (None, "") for value in row.values()):
                continue
            if row["quantity"] in (None, ""):
                row["quantity"] = 1
            items.append(row)
            self.kept.append(index)
        return items

    def field_for_error(self, name: str) -> str | None:
        parts = name.split(".")
        if len(parts) == 3 and parts[0] == "line_items" and parts[1].isdigit():
            row = self.kept[int(parts[1])]
            return f"items_{row}_{parts[2]}"
        return None


class PipelineForm(forms.Form):
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    name = forms.CharField(label=_("Name"), max_length=120)


class StageForm(forms.Form):
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    name = forms.CharField(label=_("Name"), max_length=120)
    kind = forms.ChoiceField(label=_("Kind"), choices=StageKind.choices,
                             initial=StageKind.OPEN)
    probability = forms.IntegerField(label=_("Win probability (%)"), min_value=0,
                                     max_value=100, required=False)
    rot_after_days = forms.IntegerField(
        label=_("Rotting after (days)"), min_value=1, max_value=3650, required=False,
        help_text=_("A deal with no activity for this many days is flagged."))
    reason_required = forms.BooleanField(
        label=_("Reason required"), required=False,
        help_text=_("Moving a deal here asks for a reason (always for lost stages)."))

    @classmethod
    def for_stage(cls, stage: Stage, data=None):
        return cls(data, initial={
            "version": stage.version, "name": stage.name, "kind": stage.kind,
            "probability": stage.probability, "rot_after_days": stage.rot_after_days,
            "reason_required": stage.reason_required,
        })

    def to_data(self) -> dict:
        data = {name: self.cleaned_data.get(name) for name in (
            "name", "kind", "probability", "rot_after_days", "reason_required")}
        if data["probability"] is None:
            data.pop("probability")
        return data


class StageDeleteForm(forms.Form):
    move_to = forms.TypedChoiceField(label=_("Move its deals to"), coerce=int,
                                     empty_value=None, required=False)

    def __init__(self, *args, stage: Stage, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["move_to"].choices = [("", "—")] + [
            (other.pk, other.name)
            # Deals move only to another open stage; winning or losing them is a
            # decision of its own, with its reasons.
            for other in stage.pipeline.stages.exclude(pk=stage.pk)
            .filter(kind=StageKind.OPEN).order_by("position")
        ]


STATUS_CHOICES = [("", _("Any status")), *DealStatus.choices]


class BoardFilterForm(forms.Form):
    """The board's and the list's filters; a bad value is shown beside its field and ignored."""

    owner = forms.TypedChoiceField(label=_("Owner"), required=False, coerce=int,
                                   empty_value=None)
    team = forms.TypedChoiceField(label=_("Team"), required=False, coerce=int,
                                  empty_value=None)
    close_from = forms.DateField(label=_("Expected close from"), required=False,
                                 widget=forms.DateInput(attrs={"type": "date"}))
    close_to = forms.DateField(label=_("Expected close to"), required=False,
                               widget=forms.DateInput(attrs={"type": "date"}))
    status = forms.ChoiceField(label=_("Status"), required=False, choices=STATUS_CHOICES)

    def __init__(self, *args, org, teams, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [("", _("Anyone"))] + [
            (user.pk, str(user)) for user in members_of(org)]
        self.fields["team"].choices = [("", _("Any team"))] + [
            (team.pk, team.name) for team in teams]

    def values(self) -> dict:
        """The filters that were given and are valid."""
        self.is_valid()
        cleaned = getattr(self, "cleaned_data", {})
        return {name: value for name, value in cleaned.items()
                if value not in (None, "") and name not in self.errors}
