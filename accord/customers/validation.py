"""Turning plain input (from a form, the API or an import) into clean record values.

Every writer of contacts and companies goes through these functions, so a
value refused in the API is refused in the UI and in imports with the same
message. Errors are collected for every field before raising, so one answer
names everything that is wrong.
"""

import datetime as dt
import decimal
import unicodedata
import zoneinfo

import phonenumbers
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext

from accord.errors import InvalidInput
from accord.identity import visibility
from accord.identity.context import acting_member
from accord.money import is_currency

from . import custom_fields
from .models import (
    Company,
    CompanySize,
    EmailKind,
    Entity,
    LifecycleStage,
    PhoneKind,
)
from .phones import parse_phone
from .text import trim

User = get_user_model()

CONSENT_CLOCK_SKEW = dt.timedelta(minutes=5)  # a sender's clock may run a little fast
# The floor behaviour events use too: nothing Accord records predates 1990.
CONSENT_EARLIEST = dt.datetime(1990, 1, 1, tzinfo=dt.UTC)

_email_validator = EmailValidator()
# Every region with a telephone numbering plan, which is every country a
# contact can live in, plus the few ISO codes without one.
COUNTRY_CODES = frozenset(phonenumbers.SUPPORTED_REGIONS) | {"AQ", "BV", "GS", "HM", "PN", "TF",
                                                             "UM"}
_url_validator = URLValidator(schemes=["http", "https"])

TEXT_LIMITS = {
    "first_name": 100, "last_name": 100, "title": 120, "source": 80, "street": 200,
    "city": 120, "region": 120, "postal_code": 20, "name": 200, "industry": 80,
    "description": 20000,
}
ADDRESS_FIELDS = ["street", "city", "region", "postal_code", "country"]
CONTACT_TEXT = ["first_name", "last_name", "title", "source"]
COMPANY_TEXT = ["name", "industry", "source", "description"]


class Collector:
    """Gathers per-field errors so that one answer names every bad field."""

    def __init__(self):
        self.errors: list[dict] = []

    def add(self, field: str, message: str, code: str = "invalid") -> None:
        self.errors.append({"field": field, "code": code, "message": message})

    def absorb(self, exc: InvalidInput) -> None:
        self.errors.extend(exc.errors)

    def raise_if_any(self) -> None:
        if self.errors:
            raise InvalidInput(self.errors)


def clean_text(value, field: str, errors: Collector) -> str | None:
    if value is None:
        return ""
    if not isinstance(value, str):
        errors.add(field, "Enter text.")
        return None
    text = unicodedata.normalize("NFC", trim(value))
    if "\x00" in text:
        errors.add(field, "Remove the NUL character; it cannot be stored.")
        return None
    limit = TEXT_LIMITS.get(field, 200)
    if len(text) > limit:
        errors.add(field, f"Keep this under {limit} characters.", "too_long")
        return None
    return text


def clean_email(value, field: str, errors: Collector) -> str | None:
    if value in (None, ""):
        return ""
    if not isinstance(value, str):
        errors.add(field, "Enter a valid e-mail address.")
        return None
    text = value.strip()
    try:
        _email_validator(text)
    except ValidationError:
        errors.add(field, "Enter a valid e-mail address, such as name@example.com.")
        return None
    local, _, domain = text.rpartition("@")
    return f"{local}@{domain.lower()}"


def clean_country(value, errors: Collector) -> str | None:
    if value in (None, ""):
        return ""
    code = value.strip().upper() if isinstance(value, str) else ""
    if code not in COUNTRY_CODES:
        errors.add("country", "Use the two-letter country code, such as GB or DE.")
        return None
    return code


def clean_choice(value, field: str, choices, errors: Collector, *, blank: bool) -> str | None:
    if value in (None, "") and blank:
        return ""
    valid = _choice_values(choices)
    if value not in valid:
        errors.add(field, "Choose one of: " + ", ".join(valid) + ".")
        return None
    return value


# The values of each choices class, listed once: going through an enum costs
# more than the rest of checking an import's e-mail or phone kind.
_CHOICE_VALUES: dict[type, list[str]] = {}


def _choice_values(choices) -> list[str]:
    if not isinstance(choices, type):
        return [choice.value for choice in choices]
    if choices not in _CHOICE_VALUES:
        _CHOICE_VALUES[choices] = [choice.value for choice in choices]
    return _CHOICE_VALUES[choices]


def clean_member(org, value, field: str, errors: Collector):
    """A user who is an active member of `org`, looked up by id or instance."""
    if value in (None, ""):
        return None
    user_id = getattr(value, "pk", value)
    try:
        user_id = int(user_id)
    except (TypeError, ValueError):
        errors.add(field, "Choose a member of this organisation.")
        return None
    user = User.objects.filter(
        pk=user_id, memberships__organization=org, memberships__is_active=True
    ).first()
    if user is None:
        errors.add(field, "Choose a member of this organisation.")
    return user


def as_pk(value) -> int | None:
    """`value` as a record id, or None when it is not a whole number a database holds."""
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None


def clean_ref(model, value, field: str, errors: Collector, message: str, *,
              area: str | None = None, kept=None):
    """The organisation's `model` row with the id (or instance) `value`; `message` if none.

    With `area` (a visibility area), a row the acting member may not see is
    refused with the same `message`, so a hidden id reads like a made-up one;
    `kept`, the id the record links to already, stays whoever may see it.
    """
    if value in (None, ""):
        return None
    try:
        record = model.objects.filter(pk=int(getattr(value, "pk", value))).first()
    except (TypeError, ValueError):
        record = None
    if record is not None and area is not None and not may_link(record, area, kept=kept):
        record = None
    if record is None:
        errors.add(field, message)
    return record


def may_link(record, area: str, *, kept=None) -> bool:
    """Whether the acting member may name `record` (of a visibility area) in a link field.

    A member links only records they see; the link a record has already
    (`kept`, an id) may stay. Outside a request or job acting for a member
    (the command line, an inbound e-mail) every record may be linked.
    """
    member = acting_member()
    return member is None or record.pk == kept or visibility.can_see(member, record, area)


def clean_company_ref(value, field: str, errors: Collector, *, kept=None) -> Company | None:
    return clean_ref(Company, value, field, errors, "Choose an existing company.",
                     area="companies", kept=kept)


def clean_date(value, field: str, errors: Collector) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    parsed = None
    if isinstance(value, str):
        try:
            parsed = parse_date(value.strip())
        except ValueError:
            parsed = None
    if parsed is None:
        errors.add(field, "Enter a date as YYYY-MM-DD.")
    return parsed


def clean_emails(value, errors: Collector) -> list[dict] | None:
    if value is None:
        return []
    if not isinstance(value, list):
        errors.add("emails", "Give a list of e-mail addresses.")
        return None
    cleaned, seen = [], set()
    for index, item in enumerate(value):
        item = {"address": item} if isinstance(item, str) else item
        if not isinstance(item, dict):
            errors.add(f"emails.{index}", "Give each e-mail as an object with an address.")
            continue
        address = clean_email(item.get("address"), f"emails.{index}.address", errors)
        if not address:
            if address == "":
                errors.add(f"emails.{index}.address", "Enter an e-mail address.", "required")
            continue
        kind = clean_choice(item.get("kind", EmailKind.WORK), f"emails.{index}.kind",
                            EmailKind, errors, blank=False)
        label = clean_text(item.get("label", ""), f"emails.{index}.label", errors)
        if address.lower() in seen:
            continue
        seen.add(address.lower())
        cleaned.append({"address": address, "kind": kind, "label": label or "",
                        "is_primary": bool(item.get("is_primary"))})
    return _one_primary(cleaned)


def clean_phones(value, country: str, errors: Collector) -> list[dict] | None:
    if value is None:
        return []
    if not isinstance(value, list):
        errors.add("phones", "Give a list of phone numbers.")
        return None
    cleaned = []
    for index, item in enumerate(value):
        item = {"number": item} if isinstance(item, str) else item
        if not isinstance(item, dict):
            errors.add(f"phones.{index}", "Give each phone as an object with a number.")
            continue
        raw = item.get("number") or item.get("raw") or ""
        if not isinstance(raw, str) or not raw.strip():
            errors.add(f"phones.{index}.number", "Enter a phone number.", "required")
            continue
        try:
            phone = parse_phone(raw, country, field=f"phones.{index}.number")
        except InvalidInput as exc:
            errors.absorb(exc)
            continue
        kind = clean_choice(item.get("kind", PhoneKind.MOBILE), f"phones.{index}.kind",
                            PhoneKind, errors, blank=False)
        label = clean_text(item.get("label", ""), f"phones.{index}.label", errors)
        cleaned.append({"raw": phone.raw, "number": phone.e164, "extension": phone.extension,
                        "kind": kind, "label": label or "",
                        "is_primary": bool(item.get("is_primary"))})
    return _one_primary(cleaned)


def _one_primary(items: list[dict]) -> list[dict]:
    if items and not any(item["is_primary"] for item in items):
        items[0]["is_primary"] = True
    first = True
    for item in items:
        if item["is_primary"]:
            item["is_primary"], first = first, False
    items.sort(key=lambda item: not item["is_primary"])
    return items


def clean_tags(value, errors: Collector) -> list[str] | None:
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        errors.add("tags", "Give tags as a list of names.")
        return None
    names = []
    for tag in value:
        name = unicodedata.normalize("NFC", tag.strip())
        if len(name) > 60:
            errors.add("tags", "Keep each tag under 60 characters.")
            return None
        if name and name.lower() not in {existing.lower() for existing in names}:
            names.append(name)
    return names


def clean_contact(org, data: dict, *, current=None) -> dict:
    """Validate contact input; only keys present in `data` are returned.

    With `current` (an existing contact) the input is a partial update and
    custom fields merge into the stored ones. Raises InvalidInput naming
    every bad field.
    """
    errors = Collector()
    out: dict = {}
    for field in CONTACT_TEXT + ["street", "city", "region", "postal_code"]:
        if field in data:
            out[field] = clean_text(data[field], field, errors)
    if "country" in data:
        out["country"] = clean_country(data["country"], errors)
    country = out.get("country", getattr(current, "country", "")) or ""
    if "lifecycle_stage" in data:
        out["lifecycle_stage"] = clean_choice(
            data["lifecycle_stage"], "lifecycle_stage", LifecycleStage, errors, blank=False
        )
    if "owner" in data:
        out["owner"] = clean_member(org, data["owner"], "owner_id", errors)
    if "company" in data:
        out["company"] = clean_company_ref(data["company"], "company_id", errors,
                                           kept=getattr(current, "company_id", None))
    if "birthday" in data:
        out["birthday"] = clean_date(data["birthday"], "birthday", errors)
        if _may_be_future(out["birthday"]) and out["birthday"] > timezone.localdate():
            errors.add("birthday", "A birthday cannot be in the future.")
    if "time_zone" in data:
        out["time_zone"] = _clean_time_zone(data["time_zone"], errors)
    if "do_not_contact" in data:
        out["do_not_contact"] = bool(data["do_not_contact"])
    if "tags" in data:
        out["tags"] = clean_tags(data["tags"], errors)
    _clean_contact_channels(data, out, country, current, errors)
    if "custom_fields" in data:
        try:
            out["custom_fields"] = custom_fields.clean_values(
                custom_fields.active_fields(Entity.CONTACT), data["custom_fields"] or {},
                getattr(current, "custom_fields", None), partial=current is not None,
            )
        except InvalidInput as exc:
            errors.absorb(exc)
    elif current is None:
        try:
            out["custom_fields"] = custom_fields.clean_values(
                custom_fields.active_fields(Entity.CONTACT), {}, None, partial=False
            )
        except InvalidInput as exc:
            errors.absorb(exc)
    errors.raise_if_any()

    first = out.get("first_name", getattr(current, "first_name", ""))
    last = out.get("last_name", getattr(current, "last_name", ""))
    primary_email = out.get("email", getattr(current, "email", ""))
    if not (first or last or primary_email):
        errors.add("first_name", "Give the contact a name or an e-mail address.", "required")
    errors.raise_if_any()
    return out


def _may_be_future(day: dt.date | None) -> bool:
    """Whether `day` may come after today somewhere: the local date anywhere is at most a
    day before the date in UTC, so an older day needs no time zone looked up (an import
    checks a birthday per row)."""
    return day is not None and day >= dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)


def _clean_contact_channels(data, out, country, current, errors: Collector) -> None:
    """E-mails and phones: the primary `email`/`phone` and the typed lists agree."""
    if "emails" in data:
        out["emails"] = clean_emails(data["emails"], errors)
        if out["emails"] is not None:
            out["email"] = out["emails"][0]["address"] if out["emails"] else ""
    elif "email" in data:
        email = clean_email(data["email"], "email", errors)
        if email is not None:
            out["email"] = email
            out["primary_email"] = email
    if "phones" in data:
        out["phones"] = clean_phones(data["phones"], country, errors)
        if out["phones"] is not None:
            out["phone"] = _phone_display(out["phones"][0]) if out["phones"] else ""
    elif "phone" in data:
        if data["phone"] in (None, ""):
            out["phone"] = ""
            out["primary_phone"] = None
        else:
            try:
                phone = parse_phone(str(data["phone"]), country, field="phone")
            except InvalidInput as exc:
                errors.absorb(exc)
            else:
                out["primary_phone"] = {"raw": phone.raw, "number": phone.e164,
                                        "extension": phone.extension}
                out["phone"] = _phone_display(out["primary_phone"])


def _phone_display(phone: dict) -> str:
    return phone["number"] or phone["raw"]


def _clean_time_zone(value, errors: Collector) -> str | None:
    if value in (None, ""):
        return ""
    if value not in zoneinfo.available_timezones():
        errors.add("time_zone", "Choose a time zone such as Europe/Berlin.")
        return None
    return value


def clean_company(org, data: dict, *, current=None) -> dict:
    """Validate company input; only keys present in `data` are returned."""
    errors = Collector()
    out: dict = {}
    for field in COMPANY_TEXT + ["street", "city", "region", "postal_code"]:
        if field in data:
            out[field] = clean_text(data[field], field, errors)
    if current is None and not out.get("name") or "name" in out and out["name"] == "":
        errors.add("name", "Give the company a name.", "required")
    if "country" in data:
        out["country"] = clean_country(data["country"], errors)
    if "domain" in data:
        out["domain"] = _clean_domain(data["domain"], errors)
    if "website" in data:
        out["website"] = _clean_website(data["website"], errors)
        if out["website"] and not data.get("domain") and not getattr(current, "domain", ""):
            out["domain"] = _domain_of(out["website"])
    if "size" in data:
        out["size"] = clean_choice(data["size"], "size", CompanySize, errors, blank=True)
    if "employees" in data:
        out["employees"] = _clean_int(data["employees"], "employees", errors)
    if "annual_revenue" in data:
        out["annual_revenue"] = _clean_money(data["annual_revenue"], "annual_revenue", errors)
    if "currency" in data:
        currency = (data["currency"] or "").strip().upper()
        if currency and not is_currency(currency):
            errors.add("currency", "Use a three-letter currency code, such as EUR.")
        out["currency"] = currency
    if "phone" in data:
        if data["phone"] in (None, ""):
            out["phone"] = ""
        else:
            try:
                phone = parse_phone(str(data["phone"]),
                                    out.get("country") or getattr(current, "country", ""))
                out["phone"] = phone.e164 or phone.raw
            except InvalidInput as exc:
                errors.absorb(exc)
    if "owner" in data:
        out["owner"] = clean_member(org, data["owner"], "owner_id", errors)
    if "parent" in data:
        out["parent"] = clean_company_ref(data["parent"], "parent_id", errors,
                                          kept=getattr(current, "parent_id", None))
        if current is not None and _is_descendant(out["parent"], current):
            errors.add("parent_id", "A company cannot be its own parent or its subsidiary's "
                                    "subsidiary.")
    if "tags" in data:
        out["tags"] = clean_tags(data["tags"], errors)
    if "custom_fields" in data or current is None:
        try:
            out["custom_fields"] = custom_fields.clean_values(
                custom_fields.active_fields(Entity.COMPANY), data.get("custom_fields") or {},
                getattr(current, "custom_fields", None), partial=current is not None,
            )
        except InvalidInput as exc:
            errors.absorb(exc)
    if "annual_revenue" in out and out["annual_revenue"] is not None and not (
        out.get("currency") or getattr(current, "currency", "") or data.get("currency")
    ):
        out["currency"] = org.base_currency
    errors.raise_if_any()
    return out


def _is_descendant(candidate: Company | None, company: Company) -> bool:
    """Whether `candidate` is `company` itself or sits anywhere below it."""
    seen = set()
    while candidate is not None and candidate.pk not in seen:
        if candidate.pk == company.pk:
            return True
        seen.add(candidate.pk)
        candidate = Company.objects.filter(pk=candidate.parent_id).first()
    return False


def _clean_domain(value, errors: Collector) -> str | None:
    if value in (None, ""):
        return ""
    text = str(value).strip().lower()
    if "://" in text:
        text = _domain_of(text)
    text = text.removeprefix("www.").rstrip("/")
    try:
        _url_validator(f"https://{text}")
    except ValidationError:
        errors.add("domain", "Enter a domain such as example.com.")
        return None
    return text


def _clean_website(value, errors: Collector) -> str | None:
    if value in (None, ""):
        return ""
    text = str(value).strip()
    if "://" not in text:
        text = f"https://{text}"
    try:
        _url_validator(text)
    except ValidationError:
        errors.add("website", "Enter a web address such as https://example.com.")
        return None
    return text


def _domain_of(url: str) -> str:
    host = url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0].lower()
    return host.removeprefix("www.")


def _clean_int(value, field: str, errors: Collector) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        errors.add(field, "Enter a whole number.")
        return None
    if number < 0:
        errors.add(field, "Enter a number of zero or more.")
        return None
    return number


def _clean_money(value, field: str, errors: Collector) -> decimal.Decimal | None:
    if value in (None, ""):
        return None
    if isinstance(value, float):
        value = repr(value)
    try:
        amount = decimal.Decimal(str(value).strip())
    except decimal.InvalidOperation:
        errors.add(field, "Enter an amount, such as 1250.00.")
        return None
    if not amount.is_finite() or amount.as_tuple().exponent < -2 or abs(amount) >= 10**16:
        errors.add(field, "Enter an amount with at most two decimal places.")
        return None
    return amount


def consent_time_problem(moment: dt.datetime, now: dt.datetime) -> str:
    """Why `moment` (aware) cannot be when a consent was given; empty when it can."""
    if moment > now + CONSENT_CLOCK_SKEW:
        return gettext("Consent cannot be recorded in the future.")
    if moment < CONSENT_EARLIEST:
        return gettext("Consent cannot be recorded before 1990; check the date.")
    return ""
