"""Validation and storage of typed custom field values.

Values live in the record's `custom_fields` JSON object keyed by field key, in
a canonical JSON form per type: text as strings, numbers and money amounts as
decimal strings (money as {"amount", "currency"}), dates and datetimes as ISO
8601 (datetimes in UTC), choices as strings, multi-choices as lists, booleans
as true/false. `clean_values` is the only way values get in.
"""

import datetime as dt
import decimal
import re

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.utils.dateparse import parse_date, parse_datetime

from accord.core.crypto import Unreadable
from accord.errors import InvalidInput
from accord.identity.context import acting_member
from accord.identity.models import Role
from accord.money import is_currency

from .models import CustomField, FieldType
from .phones import parse_phone
from .text import trim

MAX_TEXT = 1000
MAX_LONG_TEXT = 20000
MAX_DIGITS = 18
MAX_WHOLE_DIGITS = 15  # amounts up to a thousand trillion; more is a typo or an attack
MAX_DECIMALS = 6
FIELD_KEY = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
CHOICE_TYPES = {FieldType.CHOICE, FieldType.MULTI_CHOICE}
MAX_CHOICES = 200  # a longer list belongs in a related record, not a drop-down


def active_fields(entity: str, viewer=None) -> list[CustomField]:
    """The organisation's active fields for `entity`; call inside the tenant scope.

    Given a `viewer` (a Membership), only the fields its role may see.
    """
    if viewer is None:
        return list(CustomField.objects.filter(entity=entity, is_active=True))
    return [field for field in _fields_of(entity, viewer)
            if field.is_active and may_see(viewer, field)]


def _fields_of(entity: str, viewer) -> list[CustomField]:
    """Every field of `entity`, read once for the membership object, which lives as
    long as one request or job."""
    known = viewer.__dict__.setdefault("_custom_fields_by_entity", {})
    if entity not in known:
        known[entity] = list(CustomField.objects.filter(entity=entity))
    return known[entity]


def may_see(viewer, field: CustomField) -> bool:
    """Whether the member's role may see and change the field's values."""
    if viewer is None or viewer.role == Role.ADMIN:
        return True
    return viewer.role not in field.hidden_from_roles


def hidden_keys(entity: str, viewer) -> frozenset[str]:
    """Keys of `entity`'s fields, active or not, hidden from the member's role."""
    if viewer is None or viewer.role == Role.ADMIN:
        return frozenset()
    return frozenset(field.key for field in _fields_of(entity, viewer)
                     if not may_see(viewer, field))


def hidden_field_ids(viewer) -> list[int]:
    """Ids of the definitions, of every record type, hidden from the member's role."""
    if viewer is None or viewer.role == Role.ADMIN:
        return []
    return [field.pk for field in CustomField.objects.all() if not may_see(viewer, field)]


def visible_values(entity: str, viewer, values: dict | None) -> dict:
    """A record's stored values without those the member may not see."""
    hidden = hidden_keys(entity, viewer)
    return {key: value for key, value in (values or {}).items() if key not in hidden}


def refuse_hidden_choices(entity: str, viewer, choices) -> None:
    """Refuse merge choices (`cf.<key>`) of fields hidden from the member, answering as
    for a field that cannot be chosen."""
    if not isinstance(choices, dict):
        return
    hidden = hidden_keys(entity, viewer)
    errors = [{"field": f"choices.{name}", "code": "invalid",
               "message": "This field cannot be chosen in a merge."}
              for name in choices
              if str(name).startswith("cf.") and str(name)[3:] in hidden]
    if errors:
        raise InvalidInput(errors)


def values_for_api(entity: str, record, context) -> dict:
    """The values an API answer shows of a record (or its dict): those the requesting
    member may see."""
    values = record["custom_fields"] if isinstance(record, dict) else record.custom_fields
    request = (context or {}).get("request")
    return visible_values(entity, getattr(request, "membership", None), values)


def refuse_hidden(entity: str, viewer, incoming) -> None:
    """Refuse values for fields hidden from the member, answering as for an unknown key."""
    if not isinstance(incoming, dict):
        return
    hidden = hidden_keys(entity, viewer)
    errors = [{"field": f"custom_fields.{key}", "code": "unknown",
               "message": "There is no custom field with this key."}
              for key in incoming if key in hidden]
    if errors:
        raise InvalidInput(errors)


def clean_values(
    fields: list[CustomField], incoming: dict, current: dict | None = None, *, partial: bool
) -> dict:
    """Merge `incoming` into `current` after validating every value against its field.

    Unknown keys, wrong types and missing required values raise InvalidInput
    with one error per field, named `custom_fields.<key>`. A value of None or
    "" clears the field. With `partial`, keys not in `incoming` keep their value.
    """
    if not isinstance(incoming, dict):
        raise InvalidInput(
            {"custom_fields": "Custom fields must be an object keyed by field key."}
        )
    by_key = {field.key: field for field in fields}
    result = dict(current or {}) if partial else {}
    errors = []
    for key in incoming:
        if key not in by_key:
            errors.append({"field": f"custom_fields.{key}", "code": "unknown",
                           "message": "There is no custom field with this key."})
    for key, field in by_key.items():
        if key not in incoming:
            if not partial and current and key in current:
                result[key] = current[key]
            continue
        if isinstance((current or {}).get(key), Unreadable):
            if incoming[key] != current[key]:
                # Replacing it would lose a value that may only need its key back.
                errors.append({"field": f"custom_fields.{key}", "code": "unreadable",
                               "message": "This value cannot be decrypted with the configured "
                                          "keys, so it cannot be changed until an admin "
                                          "restores the key."})
            result[key] = current[key]
            continue
        try:
            value = clean_value(field, incoming[key])
        except ValueError as exc:
            errors.append({"field": f"custom_fields.{key}", "code": "invalid",
                           "message": str(exc)})
            continue
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    # A required field hidden from the acting member's role cannot be asked of
    # them: they could neither see the error nor fill the field in.
    viewer = acting_member()
    for key, field in by_key.items():
        if not may_see(viewer, field):
            continue
        if field.required and result.get(key) in (None, "", []) and not any(
            error["field"] == f"custom_fields.{key}" for error in errors
        ):
            errors.append({"field": f"custom_fields.{key}", "code": "required",
                           "message": f"{field.label} is required."})
    if errors:
        raise InvalidInput(errors)
    return result


def clean_value(field: CustomField, value):
    """The canonical stored form of `value`, None for empty; ValueError when invalid."""
    if value is None or (isinstance(value, str) and not value.strip()) or value == []:
        return None
    cleaner = _CLEANERS[field.field_type]
    return cleaner(field, value)


def _text(limit: int):
    def clean(field, value):
        if not isinstance(value, str | int | float | decimal.Decimal) or isinstance(value, bool):
            raise ValueError("Enter text.")
        text = trim(str(value))
        if len(text) > limit:
            raise ValueError(f"Keep this under {limit} characters.")
        if "\x00" in text:
            raise ValueError("Remove the NUL character; it cannot be stored.")
        return text
    return clean


def _decimal(value, message: str) -> decimal.Decimal:
    if isinstance(value, bool) or isinstance(value, float) and value != value:
        raise ValueError(message)
    try:
        number = decimal.Decimal(str(value).strip())
    except (decimal.InvalidOperation, ValueError):
        raise ValueError(message) from None
    if not number.is_finite() or len(number.as_tuple().digits) > MAX_DIGITS:
        raise ValueError(message)
    if number.adjusted() >= MAX_WHOLE_DIGITS or number.as_tuple().exponent < -MAX_DECIMALS:
        raise ValueError(message)
    return number


def _number(field, value):
    # Written out in full ("1000", not "1E+3") so lists and exports read naturally.
    return format(_decimal(value, "Enter a number, such as 42 or 3.5."), "f")


def _money(field, value):
    message = "Enter an amount, such as 1250.00."
    currency = field.currency or ""
    if isinstance(value, dict):
        currency = str(value.get("currency") or currency).upper()
        value = value.get("amount")
        if value in (None, ""):
            return None
    amount = _decimal(value, message)
    if amount.as_tuple().exponent < -2:
        raise ValueError("Amounts have at most two decimal places.")
    if not is_currency(currency):
        raise ValueError("Give the amount's three-letter currency code, such as EUR.")
    if field.currency and currency != field.currency:
        raise ValueError(f"This field holds amounts in {field.currency}.")
    return {"amount": str(amount.quantize(decimal.Decimal("0.01"))), "currency": currency}


def _date(field, value):
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        parsed = parse_date(str(value).strip()) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValueError("Enter a date as YYYY-MM-DD.")
    return parsed.isoformat()


def _datetime(field, value):
    if isinstance(value, str):
        try:
            value = parse_datetime(value.strip())
        except ValueError:
            value = None
    if not isinstance(value, dt.datetime):
        raise ValueError("Enter a date and time in ISO 8601, such as 2026-05-01T09:30:00Z.")
    if value.tzinfo is None:
        raise ValueError("Include the time zone, such as Z or +02:00.")
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _choice(field, value):
    if not isinstance(value, str) or value not in field.choices:
        raise ValueError("Choose one of: " + ", ".join(field.choices) + ".")
    return value


def _multi_choice(field, value):
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError("Give a list of choices.")
    unknown = [item for item in value if item not in field.choices]
    if unknown:
        raise ValueError("Choose from: " + ", ".join(field.choices) + ".")
    return [choice for choice in field.choices if choice in value]


_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}


def _boolean(field, value):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError("Enter yes or no.")


def _url(field, value):
    text = str(value).strip()
    try:
        URLValidator(schemes=["http", "https"])(text)
    except ValidationError:
        raise ValueError("Enter a full web address starting with https://.") from None
    return text


def _email(field, value):
    text = str(value).strip()
    try:
        EmailValidator()(text)
    except ValidationError:
        raise ValueError("Enter a valid e-mail address.") from None
    return text.lower()


def _phone(field, value):
    try:
        phone = parse_phone(str(value))
    except InvalidInput as exc:
        raise ValueError(exc.errors[0]["message"]) from None
    return phone.e164 or phone.raw


_CLEANERS = {
    FieldType.TEXT: _text(MAX_TEXT),
    FieldType.LONG_TEXT: _text(MAX_LONG_TEXT),
    FieldType.NUMBER: _number,
    FieldType.MONEY: _money,
    FieldType.DATE: _date,
    FieldType.DATETIME: _datetime,
    FieldType.CHOICE: _choice,
    FieldType.MULTI_CHOICE: _multi_choice,
    FieldType.BOOLEAN: _boolean,
    FieldType.URL: _url,
    FieldType.EMAIL: _email,
    FieldType.PHONE: _phone,
}


def clean_field_label(value, errors: dict) -> str:
    """The trimmed label of a field definition; a missing or long one is put in `errors`."""
    label = (value or "").strip()
    if not label:
        errors["label"] = "Give the field a label."
    elif len(label) > 80:
        errors["label"] = "Keep the label under 80 characters."
    return label


def clean_field_settings(field_type: str | None, data: dict, errors: dict, *,
                         currency_required: bool = True) -> dict:
    """Choices, currency, required, help text and order, checked against the type.

    Without `currency_required`, a money field may leave its currency open, and
    each value then names its own.
    """
    out = {"choices": [], "currency": "", "required": bool(data.get("required"))}
    if field_type in CHOICE_TYPES:
        out["choices"] = clean_choices(field_type, data.get("choices") or [], errors)
    if field_type == FieldType.MONEY:
        currency = (data.get("currency") or "").strip().upper()
        if (currency or currency_required) and not is_currency(currency):
            errors["currency"] = "Give a three-letter currency code, such as EUR."
        out["currency"] = currency
    help_text = (data.get("help_text") or "").strip()
    if len(help_text) > 200:
        errors["help_text"] = "Keep the help text under 200 characters."
    out["help_text"] = help_text
    out["hidden_from_roles"] = clean_hidden_roles(data.get("hidden_from_roles") or [], errors)
    position = data.get("position")
    try:
        out["position"] = int(position) if position not in (None, "") else 0
    except (TypeError, ValueError):
        errors["position"] = "Enter a whole number of zero or more."
    else:
        if out["position"] < 0:
            errors["position"] = "Enter a whole number of zero or more."
    return out


def clean_hidden_roles(roles, errors: dict) -> list[str]:
    """The roles a sensitive field is hidden from; admins can never be among them."""
    if isinstance(roles, str) or not isinstance(roles, list | tuple):
        errors["hidden_from_roles"] = "Give a list of roles."
        return []
    wanted = {str(role) for role in roles}
    if Role.ADMIN in wanted:
        errors["hidden_from_roles"] = "Admins see every field; a field cannot be hidden from them."
    elif unknown := wanted - set(Role.values):
        errors["hidden_from_roles"] = "Unknown role: " + ", ".join(sorted(unknown)) + "."
    return [role for role in Role.values if role in wanted]


def clean_choices(field_type: str, choices, errors: dict) -> list[str]:
    """The distinct, trimmed choices of a (multiple) choice field, checked into `errors`."""
    if isinstance(choices, str):
        choices = choices.splitlines()
    cleaned: list[str] = []
    for choice in choices:
        text = str(choice).strip()
        if text and text.casefold() not in {existing.casefold() for existing in cleaned}:
            cleaned.append(text)
    if not cleaned:
        errors["choices"] = "Give at least one choice, one per line."
    elif len(cleaned) > MAX_CHOICES:
        errors["choices"] = f"Keep the list to {MAX_CHOICES} choices."
    elif any(len(choice) > 100 for choice in cleaned):
        errors["choices"] = "Keep each choice under 100 characters."
    # Imports and filters read a multiple choice as a comma-separated list.
    elif field_type == FieldType.MULTI_CHOICE and any("," in choice for choice in cleaned):
        errors["choices"] = "Choices of a multiple-choice field cannot contain commas."
    return cleaned
