"""Changing an organisation's own settings: name, base currency, time zone, tax rounding."""

import zoneinfo

from django.apps import apps
from django.db import transaction

from accord.audit import services as audit
from accord.audit.models import Action
from accord.errors import InvalidInput
from accord.money import Rounding, is_currency

from .models import Organization

FIELDS = ["name", "base_currency", "time_zone", "tax_rounding"]


@transaction.atomic
def update_organization(org, actor, *, data: dict) -> Organization:
    """Apply the given settings, naming every bad one; the change is audited.

    The base currency cannot change while exchange rates exist, because
    every rate is quoted in it; they are deleted (or re-entered) first.
    """
    org = Organization.objects.select_for_update().get(pk=org.pk)
    errors: dict[str, str] = {}
    values: dict = {}
    if "name" in data:
        name = str(data["name"] or "").strip()
        if not name or len(name) > 200:
            errors["name"] = "Give the organisation a name of at most 200 characters."
        values["name"] = name
    if "base_currency" in data:
        code = str(data["base_currency"] or "").strip().upper()
        if not is_currency(code):
            errors["base_currency"] = "Use a three-letter ISO 4217 code such as EUR."
        elif code != org.base_currency and _has_exchange_rates(org):
            errors["base_currency"] = (
                "Exchange rates are quoted in the current base currency. Delete them before "
                "changing it, then enter the rates against the new one."
            )
        elif code != org.base_currency and _has_quotas(org):
            errors["base_currency"] = (
                "Quotas are set in the current base currency. Delete them before changing "
                "it, then set them again in the new one."
            )
        values["base_currency"] = code
    if "time_zone" in data:
        if data["time_zone"] not in zoneinfo.available_timezones():
            errors["time_zone"] = "Choose a time zone such as Europe/Berlin."
        values["time_zone"] = data["time_zone"]
    if "tax_rounding" in data:
        if data["tax_rounding"] not in Rounding.values:
            errors["tax_rounding"] = "Choose line or document."
        values["tax_rounding"] = data["tax_rounding"]
    if errors:
        raise InvalidInput(errors)

    before = audit.snapshot(org, FIELDS)
    for field, value in values.items():
        setattr(org, field, value)
    changes = audit.diff(before, audit.snapshot(org, FIELDS))
    if changes:
        org.save(update_fields=list(values))
        audit.record(org, actor, Action.UPDATE, org, entity="organization", changes=changes)
    if "tax_rounding" in changes:
        # Open deals take their amount from their lines under this rule.
        from accord.sales.services import recompute_line_amounts

        recompute_line_amounts(org, actor)
    return org


def _has_quotas(org) -> bool:
    quotas = apps.get_model("sales", "Quota")
    return quotas.unscoped.filter(organization=org).exists()


def _has_exchange_rates(org) -> bool:
    rates = apps.get_model("sales", "ExchangeRate")
    return rates.unscoped.filter(organization=org).exists()
