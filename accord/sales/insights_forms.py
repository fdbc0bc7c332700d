"""Forms of the forecast, quota, exchange rate and report pages.

They shape and label input; `set_quota` and `set_exchange_rate` decide what
is valid and the views put their InvalidInput back on these fields.
"""

import datetime as dt
import decimal

from django import forms
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from accord.errors import InvalidInput

from . import services
from .models import Period


def quota_field_name(user_id: int, starts_on: dt.date) -> str:
    return f"quota_{user_id}_{starts_on:%Y%m%d}"


class QuotaGridForm(forms.Form):
    """One amount per person and month (or quarter) of a year; saved all or nothing."""

    def __init__(self, *args, people, starts: list[dt.date], period: str, current: dict,
                 **kwargs):
        initial = {quota_field_name(user_id, starts_on): amount
                   for (user_id, starts_on), amount in current.items()}
        super().__init__(*args, initial=initial, **kwargs)
        self.people = people
        self.starts = starts
        self.period = period
        self.current = current
        for person in people:
            for starts_on in starts:
                name = quota_field_name(person.pk, starts_on)
                self.fields[name] = forms.DecimalField(
                    label=_("Quota of %(person)s from %(day)s") % {
                        "person": person, "day": starts_on.isoformat()},
                    required=False, min_value=0, max_digits=14, decimal_places=2,
                    widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 9}),
                )

    def _seen(self, name: str, fallback):
        """The value the page showed for a cell when it was opened (sent back hidden)."""
        key = f"seen_{name}"
        if key not in self.data:
            return fallback
        try:
            return decimal.Decimal(self.data[key]) if self.data[key] != "" else None
        except decimal.InvalidOperation:
            return fallback

    def rows(self) -> list[tuple]:
        """(person, [bound field per period]) in the order of the grid."""
        return [(person, [self[quota_field_name(person.pk, starts_on)]
                          for starts_on in self.starts]) for person in self.people]

    def save(self, org, actor) -> int:
        """Set every changed quota through `set_quota`; returns how many changed.

        When any cell is refused, none is kept and each message sits on its cell.
        """
        changed = 0
        with transaction.atomic():
            for person in self.people:
                for starts_on in self.starts:
                    name = quota_field_name(person.pk, starts_on)
                    amount = self.cleaned_data.get(name)
                    before = self.current.get((person.pk, starts_on))
                    seen = self._seen(name, before)
                    if amount == seen:
                        continue  # not touched here; a newer value saved meanwhile stays
                    if seen != before:
                        self.add_error(name, _(
                            "Someone else set this to %(value)s since the page was opened; "
                            "it now shows their value.") % {"value": before if before is not
                                                            None else "—"})
                        continue
                    if amount is None:
                        if before is not None:
                            self.add_error(name, _("A quota cannot be removed; enter 0."))
                        continue
                    if amount == before:
                        continue
                    try:
                        services.set_quota(org, actor, user=person.pk, period=self.period,
                                           starts_on=starts_on, amount=amount)
                    except InvalidInput as exc:
                        for error in exc.errors:
                            self.add_error(name, error["message"])
                    else:
                        changed += 1
            if self.errors:
                transaction.set_rollback(True)
                return 0
        return changed


class QuotaYearForm(forms.Form):
    year = forms.IntegerField(label=_("Year"), min_value=2000, max_value=2100)
    period = forms.ChoiceField(label=_("Quotas per"), choices=Period.choices)


class ExchangeRateForm(forms.Form):
    currency = forms.CharField(
        label=_("Currency"), max_length=3,
        help_text=_("Three-letter ISO 4217 code such as EUR."),
        widget=forms.TextInput(attrs={"size": 4, "autocapitalize": "characters"}),
    )
    valid_on = forms.DateField(label=_("Valid from"),
                               widget=forms.DateInput(attrs={"type": "date"}))
    rate = forms.DecimalField(
        label=_("Rate"), min_value=0, decimal_places=10, max_digits=20,
        help_text=_("What one unit of this currency is worth in the base currency."),
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )


class ReportRangeForm(forms.Form):
    date_from = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))

    MAX_DAYS = 3660  # ten years keeps a report to a few thousand closed deals

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("End on or after the start."))
        elif start and end and (end - start).days > self.MAX_DAYS:
            self.add_error("date_to", _("Choose a range of at most ten years."))
        return cleaned
