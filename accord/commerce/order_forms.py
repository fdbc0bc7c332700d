"""Forms of the orders and subscriptions pages.

Forms only collect input and turn it into the plain dicts the services
take; the services validate. Their errors name fields as the API does
(`lines.2.quantity`), and `field_for_error` puts each one next to its input.
"""

from django import forms
from django.utils.translation import gettext_lazy as _

from accord.customers.forms import company_choices
from accord.errors import InvalidInput
from accord.sales.forms import contact_choices

from .models import (
    Channel,
    Order,
    OrderKind,
    OrderStatus,
    Product,
    Subscription,
    SubscriptionStatus,
)

LINE_ROWS_EXTRA = 3  # empty line rows offered beyond the stored ones
LINE_FIELDS = ("sku", "description", "quantity", "unit_price", "discount_percent",
               "tax_percent")


def _number(step: str, **attrs):
    return forms.NumberInput(attrs={"step": step, **attrs})


class OrderLineForm(forms.Form):
    sku = forms.CharField(label=_("SKU"), required=False, max_length=64,
                          help_text=_("A catalogue SKU links the product."))
    description = forms.CharField(label=_("Description"), required=False, max_length=300)
    quantity = forms.CharField(label=_("Quantity"), required=False, widget=_number("any"))
    unit_price = forms.CharField(label=_("Unit price"), required=False,
                                 widget=_number("any", min="0"))
    discount_percent = forms.CharField(label=_("Discount (%)"), required=False,
                                       widget=_number("0.01", min="0", max="100"))
    tax_percent = forms.CharField(label=_("Tax (%)"), required=False,
                                  widget=_number("0.01", min="0", max="100"))


LineFormSet = forms.formset_factory(OrderLineForm, extra=0, can_delete=True)


def _choice(value):
    return int(value) if str(value or "").isdigit() else None


def _offer_customers(form, viewer, instance) -> None:
    """Fill the contact and company pickers with what `viewer` sees, plus the ones chosen
    or posted that the viewer sees, and the record's own (named only when seen)."""
    wanted = form.data if form.is_bound else form.initial

    def ids(*values):
        return [pk for pk in values if pk]

    form.fields["contact"].choices = [("", "—")] + contact_choices(
        ids(_choice(wanted.get("contact"))), viewer=viewer,
        kept=ids(instance.contact_id) if instance is not None else [])
    form.fields["company"].choices = [("", "—")] + company_choices(
        ids(_choice(wanted.get("company"))), viewer=viewer,
        kept=ids(instance.company_id) if instance is not None else [])


class OrderForm(forms.Form):
    """An order's own fields with its lines as a formset (`lines-<n>-<field>`)."""

    version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    number = forms.CharField(label=_("Number"), max_length=40)
    kind = forms.ChoiceField(label=_("Kind"), choices=OrderKind.choices)
    status = forms.ChoiceField(label=_("Status"), choices=OrderStatus.choices)
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices)
    placed_at = forms.DateTimeField(
        label=_("Placed"), required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("Now, if left empty."))
    currency = forms.CharField(label=_("Currency"), max_length=3, required=False,
                               widget=forms.TextInput(attrs={"size": 4}),
                               help_text=_("Three-letter code, such as EUR."))
    contact = forms.TypedChoiceField(label=_("Contact"), required=False, coerce=int,
                                     empty_value=None, help_text=_("Empty for a guest order."))
    company = forms.TypedChoiceField(label=_("Company"), required=False, coerce=int,
                                     empty_value=None,
                                     help_text=_("The contact's company, if left empty."))
    note = forms.CharField(label=_("Note"), required=False,
                           widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, org, viewer, instance: Order | None = None, **kwargs):
        self.org = org
        self.instance = instance
        super().__init__(*args, **kwargs)
        stored = list(instance.lines.all()) if instance is not None else []
        if instance is not None:
            self.initial.update({
                "version": instance.version, "number": instance.number, "kind": instance.kind,
                "status": instance.status, "channel": instance.channel,
                "placed_at": instance.placed_at, "currency": instance.currency,
                "contact": instance.contact_id, "company": instance.company_id,
                "note": instance.note})
        else:
            self.initial.setdefault("currency", org.base_currency)
        _offer_customers(self, viewer, instance)
        initial_lines = [{
            "sku": line.sku, "description": line.description,
            "quantity": line.quantity.normalize(), "unit_price": line.unit_price.normalize(),
            "discount_percent": line.discount_percent.normalize(),
            "tax_percent": line.tax_percent.normalize()} for line in stored]
        initial_lines += [{}] * LINE_ROWS_EXTRA
        self.lines = LineFormSet(self.data if self.is_bound else None, prefix="lines",
                                 initial=None if self.is_bound else initial_lines)
        self.kept: list[int] = []
        self.lines_error = ""

    def is_valid(self) -> bool:
        valid = super().is_valid()
        return self.lines.is_valid() and valid

    def service_data(self) -> dict:
        """The order as `create_order` and `update_order` read it, lines included.

        `self.kept` maps each line sent to its row, so that an error on
        `lines.<n>.<field>` lands on the right row.
        """
        data = {key: self.cleaned_data.get(key) for key in (
            "number", "kind", "status", "channel", "currency", "contact", "company", "note")}
        if self.cleaned_data.get("placed_at"):
            data["placed_at"] = self.cleaned_data["placed_at"]
        rows = []
        self.kept = []
        for index, line in enumerate(self.lines.forms):
            values = {name: line.cleaned_data.get(name) for name in LINE_FIELDS}
            if line.cleaned_data.get("DELETE") or not any(values.values()):
                continue
            rows.append({key: value for key, value in values.items() if value})
            self.kept.append(index)
        skus = {row["sku"] for row in rows if row.get("sku")}
        products = dict(Product.objects.filter(sku__in=skus).values_list("sku", "pk"))
        for row in rows:
            if row.get("sku") in products:
                row["product"] = products[row["sku"]]
            row.setdefault("unit_price", None)
            row.setdefault("quantity", None)
        data["lines"] = rows
        return data

    def place_line_errors(self, exc: InvalidInput) -> InvalidInput:
        """Put each `lines.<n>.<field>` error on its row; the rest, for `save_form`, returned."""
        rest = []
        for error in exc.errors:
            parts = error["field"].split(".")
            if parts[0] == "lines" and len(parts) == 3 and parts[1].isdigit():
                row = self.lines.forms[self.kept[int(parts[1])]]
                row.add_error(parts[2] if parts[2] in row.fields else None, error["message"])
            elif error["field"] == "lines":
                self.lines_error = error["message"]
            else:
                rest.append(error)
        return InvalidInput(rest)

    def field_for_error(self, name: str) -> str | None:
        return {"original": "kind"}.get(name, name)


class SubscriptionForm(forms.Form):
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    plan_name = forms.CharField(label=_("Plan"), max_length=200)
    status = forms.ChoiceField(label=_("Status"), choices=SubscriptionStatus.choices)
    mrr = forms.CharField(label=_("Monthly recurring revenue"),
                          widget=_number("0.01", min="0"))
    currency = forms.CharField(label=_("Currency"), max_length=3, required=False,
                               widget=forms.TextInput(attrs={"size": 4}))
    contact = forms.TypedChoiceField(label=_("Contact"), required=False, coerce=int,
                                     empty_value=None)
    company = forms.TypedChoiceField(label=_("Company"), required=False, coerce=int,
                                     empty_value=None,
                                     help_text=_("The contact's company, if left empty."))
    started_at = forms.DateField(label=_("Started"), required=False,
                                 widget=forms.DateInput(attrs={"type": "date"}))
    renews_on = forms.DateField(label=_("Renews on"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}))
    cancel_reason = forms.CharField(label=_("Cancellation reason"), required=False,
                                    max_length=200)

    def __init__(self, *args, org, viewer, instance: Subscription | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if instance is not None:
            self.initial.update({
                "version": instance.version, "plan_name": instance.plan_name,
                "status": instance.status, "mrr": instance.mrr.normalize(),
                "currency": instance.currency, "contact": instance.contact_id,
                "company": instance.company_id, "started_at": instance.started_at,
                "renews_on": instance.renews_on, "cancel_reason": instance.cancel_reason})
        else:
            self.initial.setdefault("currency", org.base_currency)
        _offer_customers(self, viewer, instance)

    def service_data(self) -> dict:
        data = {key: value for key, value in self.cleaned_data.items() if key != "version"}
        if not data.get("started_at"):
            data.pop("started_at", None)
        return data

    def field_for_error(self, name: str) -> str | None:
        return {"product": None, "cancelled_at": "status"}.get(name, name)
