"""Turning plain deal input (form, API, import) into clean values, naming every bad field."""

import contextlib
import datetime as dt
import decimal

from django.contrib.auth import get_user_model
from django.utils.dateparse import parse_date

from accord.customers import custom_fields
from accord.customers.models import Company, Entity
from accord.customers.validation import may_link
from accord.errors import InvalidInput
from accord.identity.models import Membership
from accord.identity.permissions import has_permission
from accord.money import is_currency, minor_unit

from .models import ForecastCategory, Stage

User = get_user_model()

TEXT_LIMITS = {"name": 200, "source": 80, "next_step": 200, "description": 20000}
MAX_AMOUNT = decimal.Decimal("999999999999")  # fits the column with four decimals


def clean_decimal(value, field: str, errors: dict, *, minimum=None, maximum=None,
                  places: int = 4):
    """A Decimal from a string or number; floats are refused so no binary error slips in."""
    if value is None or value == "":
        return None
    if isinstance(value, float):
        value = repr(value)
    try:
        number = decimal.Decimal(str(value).strip())
    except decimal.InvalidOperation:
        errors[field] = "Enter a number such as 1250.50."
        return None
    if not number.is_finite():
        errors[field] = "Enter a number such as 1250.50."
        return None
    if number.as_tuple().exponent < -places:
        errors[field] = f"Use at most {places} decimal places."
        return None
    if minimum is not None and number < minimum:
        errors[field] = f"Must be at least {minimum}."
        return None
    if maximum is not None and number > maximum:
        errors[field] = f"Must be at most {maximum}."
        return None
    return number


def clean_date(value, field: str, errors: dict) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    parsed = None
    with contextlib.suppress(ValueError):
        parsed = parse_date(str(value).strip())
    if parsed is None:
        errors[field] = "Enter a date as YYYY-MM-DD."
    return parsed


def member(org, user_id, field: str, errors: dict, *, may: str | None = None):
    """The active member of `org` with this user id, or an error on `field`.

    With `may`, the member's role must also grant that permission: a deal or
    lead is owned only by someone who can work on it.
    """
    if user_id in (None, ""):
        return None
    if isinstance(user_id, User):
        user_id = user_id.pk
    try:
        user_id = int(user_id)
    except (TypeError, ValueError):
        errors[field] = "Choose a member of this organisation."
        return None
    membership = (Membership.objects.filter(organization=org, user_id=user_id, is_active=True)
                  .select_related("user").first())
    if membership is None:
        errors[field] = "Choose a member of this organisation."
        return None
    if may is not None and not has_permission(membership, may):
        errors[field] = "This member's role cannot work on these records; choose another."
        return None
    return membership.user


def clean_deal(org, data: dict, *, current=None) -> dict:
    """Validated values for the fields present in `data`; InvalidInput names each bad one.

    Stage and pipeline are checked here but moved by `move_deal_to_stage`,
    which keeps the stage history.
    """
    errors: dict[str, str] = {}
    values: dict = {}
    for field, limit in TEXT_LIMITS.items():
        if field in data:
            text = str(data[field] or "").strip()
            if len(text) > limit:
                errors[field] = f"Use at most {limit} characters."
            values[field] = text
    if (current is None or "name" in data) and not values.get("name"):
        errors["name"] = "Give the deal a name."
    if "amount" in data:
        values["amount"] = clean_decimal(data["amount"], "amount", errors,
                                         minimum=decimal.Decimal(0), maximum=MAX_AMOUNT)
        values["amount_overridden"] = values["amount"] is not None
    if "currency" in data and data["currency"] not in (None, ""):
        code = str(data["currency"]).strip().upper()
        if not is_currency(code):
            errors["currency"] = "Use a three-letter ISO 4217 code such as EUR."
        values["currency"] = code
    if "expected_close_date" in data:
        values["expected_close_date"] = clean_date(data["expected_close_date"],
                                                   "expected_close_date", errors)
    if "owner" in data:
        values["owner"] = member(org, data["owner"], "owner", errors, may="deals.change")
    if "company" in data:
        values["company"] = _company(data["company"], errors,
                                     kept=getattr(current, "company_id", None))
    if "forecast_category" in data:
        category = data["forecast_category"] or ForecastCategory.PIPELINE
        if category not in ForecastCategory.values:
            errors["forecast_category"] = (
                "Choose one of: " + ", ".join(ForecastCategory.values) + "."
            )
        values["forecast_category"] = category
    amount, currency = values.get("amount"), values.get("currency") or (
        current.currency if current is not None else org.base_currency)
    if amount is not None and "amount" not in errors and is_currency(currency) and (
            amount.as_tuple().exponent < -minor_unit(currency)):
        errors["amount"] = (f"{currency} amounts have at most {minor_unit(currency)} "
                            "decimal places.")
    if "stage" in data and data["stage"] not in (None, ""):
        values["stage"] = _stage(data["stage"], errors)
    problems = [{"field": field, "message": message} for field, message in errors.items()]
    if "custom_fields" in data or current is None:
        try:
            values["custom_fields"] = custom_fields.clean_values(
                custom_fields.active_fields(Entity.DEAL), data.get("custom_fields") or {},
                current.custom_fields if current is not None else None,
                partial=current is not None,
            )
        except InvalidInput as exc:
            problems.extend(exc.errors)
    if problems:
        raise InvalidInput(problems)
    return values


def _company(value, errors: dict, *, kept=None):
    """The company `value` names; one the acting member may not see reads as missing."""
    if value in (None, ""):
        return None
    if isinstance(value, Company):
        company = value
    else:
        try:
            company = Company.objects.filter(pk=int(value)).first()
        except (TypeError, ValueError):
            company = None
    if company is not None and not may_link(company, "companies", kept=kept):
        company = None
    if company is None:
        errors["company"] = "No company with this id."
    return company


def _stage(value, errors: dict):
    if isinstance(value, Stage):
        return value
    try:
        stage = Stage.objects.select_related("pipeline").filter(pk=int(value)).first()
    except (TypeError, ValueError):
        stage = None
    if stage is None:
        errors["stage"] = "No stage with this id."
    return stage
