"""What the API reads and writes for contacts, companies, tags and custom fields.

Input schemas check shapes and types only; the meaning of a value (a member
of this organisation, an existing company, a valid phone number) is decided
by `validation`, so the API, the UI and imports refuse the same things.
Input names the related records by id (`company_id`, `owner_id`,
`parent_id`); `to_service_data` maps them to the keys the services take.
"""

import datetime as dt
from typing import Literal

from ninja import Field, Schema
from pydantic import ConfigDict, field_validator

from accord.customers.custom_fields import values_for_api

from .models import (
    Company,
    CompanySize,
    ConsentChannel,
    ConsentMethod,
    ConsentPurpose,
    ConsentStatus,
    EmailKind,
    Entity,
    LifecycleStage,
    PhoneKind,
)

SERVICE_KEYS = {"company_id": "company", "owner_id": "owner", "parent_id": "parent"}


def to_service_data(payload: Schema, *, drop: tuple[str, ...] = ("version",)) -> dict:
    """The fields the client sent, keyed as the services expect them."""
    data = payload.model_dump(exclude_unset=True, exclude=set(drop))
    return {SERVICE_KEYS.get(key, key): value for key, value in data.items()}


class InputSchema(Schema):
    model_config = ConfigDict(extra="forbid", use_enum_values=True)


# Shared pieces


class ListParams(Schema):
    limit: int | None = Field(None, description="Items per page, 1 to 500 (default 50).")
    cursor: str | None = Field(None, description="The `next` value of the previous page.")
    ordering: str | None = Field(
        None, description="A sortable field, `-` in front for descending."
    )
    q: str | None = Field(None, description="Search words; each must match.")


class CommonFilters(ListParams):
    owner_id: list[str] = Field(
        default_factory=list, description="Owner's user id (repeatable); `none` for unowned."
    )
    tag: list[str] = Field(default_factory=list, description="Tag name (repeatable; all must "
                                                             "match).")
    country: list[str] = Field(default_factory=list, description="ISO 3166 code (repeatable).")
    source: str | None = None
    city: str | None = None
    created_after: str | None = Field(None, description="ISO 8601 date or datetime.")
    created_before: str | None = Field(None, description="ISO 8601 date or datetime.")
    updated_after: str | None = Field(None, description="ISO 8601 date or datetime.")
    updated_before: str | None = Field(None, description="ISO 8601 date or datetime.")
    import_id: list[str] = Field(
        default_factory=list, description="An import's id (repeatable): the records it "
        "created or updated. An import you may not open matches nothing.")


class Address(Schema):
    street: str
    city: str
    region: str
    postal_code: str
    country: str


class AddressIn(InputSchema):
    street: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = Field(None, description="ISO 3166 two-letter code.")


# Contacts


class EmailOut(Schema):
    address: str
    kind: str
    label: str
    is_primary: bool


class EmailIn(InputSchema):
    address: str
    kind: EmailKind = EmailKind.WORK
    label: str = ""
    is_primary: bool = False


class PhoneOut(Schema):
    number: str = Field(description="E.164, or empty when the country is unknown.")
    raw: str = Field(description="The number as it was typed.")
    extension: str
    kind: str
    label: str
    is_primary: bool


class PhoneIn(InputSchema):
    number: str = Field(description="As typed; stored in E.164 where the country is known.")
    kind: PhoneKind = PhoneKind.MOBILE
    label: str = ""
    is_primary: bool = False


class AffiliationOut(Schema):
    company_id: int
    company_name: str
    title: str
    is_primary: bool

    @staticmethod
    def resolve_company_name(obj) -> str:
        return obj.company.name


class ContactOut(Address):
    id: int
    first_name: str
    last_name: str
    title: str
    email: str = Field(description="The primary e-mail address.")
    phone: str = Field(description="The primary phone number.")
    company_id: int | None
    lifecycle_stage: str
    owner_id: int | None
    source: str
    birthday: dt.date | None
    time_zone: str
    do_not_contact: bool
    emails: list[EmailOut]
    phones: list[PhoneOut]
    tags: list[str]
    custom_fields: dict
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int

    @staticmethod
    def resolve_custom_fields(obj, context) -> dict:
        return values_for_api("contact", obj, context)

    @staticmethod
    def resolve_tags(obj) -> list[str]:
        return sorted(link.tag.name for link in obj.tag_links.all())


class ContactDetailOut(ContactOut):
    affiliations: list[AffiliationOut]

    @staticmethod
    def resolve_affiliations(obj, context) -> list:
        """The contact's companies the reader sees, as the page's Companies panel lists
        them: a hidden company is not named, nor counted."""
        from accord.identity.visibility import visible

        affiliations = list(obj.affiliations.all())
        viewer = getattr((context or {}).get("request"), "membership", None)
        seen = set(visible(Company.objects.filter(
            pk__in=[affiliation.company_id for affiliation in affiliations]), viewer,
            "companies").values_list("pk", flat=True))
        return [affiliation for affiliation in affiliations if affiliation.company_id in seen]


class ContactPage(Schema):
    items: list[ContactOut]
    next: str | None


class ContactIn(AddressIn):
    first_name: str | None = None
    last_name: str | None = None
    title: str | None = None
    email: str | None = Field(None, description="Sets the primary address; or send `emails`.")
    phone: str | None = Field(None, description="Sets the primary number; or send `phones`.")
    emails: list[EmailIn] | None = Field(None, description="Replaces every address.")
    phones: list[PhoneIn] | None = Field(None, description="Replaces every number.")
    company_id: int | None = None
    owner_id: int | None = None
    lifecycle_stage: LifecycleStage = Field(None)
    source: str | None = None
    birthday: dt.date | None = None
    time_zone: str | None = None
    do_not_contact: bool = Field(None)
    tags: list[str] | None = Field(None, description="Replaces every tag; new names are "
                                                     "created.")
    custom_fields: dict | None = Field(None, description="Keyed by field key; on update, "
                                                         "keys not sent keep their value.")


class ContactPatch(ContactIn):
    version: int = Field(description="The version the change is based on.")


class ContactFilters(CommonFilters):
    lifecycle_stage: list[str] = Field(default_factory=list)
    company_id: list[str] = Field(default_factory=list)
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    do_not_contact: str | None = Field(None, description="true or false.")


class ConsentOut(Schema):
    id: int
    channel: str
    purpose: str
    status: str
    method: str
    recorded_at: dt.datetime
    evidence: str
    recorded_by_id: int | None


class ConsentPage(Schema):
    items: list[ConsentOut]
    next: str | None


class ConsentIn(InputSchema):
    channel: ConsentChannel
    purpose: ConsentPurpose
    status: ConsentStatus
    method: ConsentMethod = ConsentMethod.API
    recorded_at: dt.datetime | None = Field(None, description="When it was given; now if "
                                                             "left out.")
    evidence: str = Field("", max_length=300)

    @field_validator("recorded_at")
    @classmethod
    def _needs_zone(cls, value):
        if value is not None and value.tzinfo is None:
            raise ValueError("Include the time zone, such as Z or +02:00.")
        return value


# Companies


class CompanyOut(Address):
    id: int
    name: str
    domain: str
    website: str
    industry: str
    size: str
    employees: int | None
    annual_revenue: str | None = Field(description="A decimal string, in `currency`.")
    currency: str = Field(description="ISO 4217 code of `annual_revenue`.")
    phone: str
    description: str
    parent_id: int | None
    owner_id: int | None
    source: str
    tags: list[str]
    custom_fields: dict
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int

    @staticmethod
    def resolve_custom_fields(obj, context) -> dict:
        return values_for_api("company", obj, context)

    @staticmethod
    def resolve_annual_revenue(obj) -> str | None:
        if obj.annual_revenue is None:
            return None
        return f"{obj.annual_revenue:.2f}"

    @staticmethod
    def resolve_tags(obj) -> list[str]:
        return sorted(link.tag.name for link in obj.tag_links.all())


class CompanyPage(Schema):
    items: list[CompanyOut]
    next: str | None


class CompanyIn(AddressIn):
    name: str | None = None
    domain: str | None = None
    website: str | None = None
    industry: str | None = None
    size: CompanySize | Literal[""] | None = None
    employees: int | None = None
    annual_revenue: str | None = Field(None, description="A decimal string, such as "
                                                        "\"1250000.00\".")
    currency: str | None = Field(None, description="ISO 4217 code; the organisation's base "
                                                  "currency if left out.")
    phone: str | None = None
    description: str | None = None
    parent_id: int | None = None
    owner_id: int | None = None
    source: str | None = None
    tags: list[str] | None = None
    custom_fields: dict | None = None

    @field_validator("annual_revenue", mode="before")
    @classmethod
    def _money_as_text(cls, value):
        if value is not None and not isinstance(value, str):
            raise ValueError('Send the amount as a decimal string, such as "1250.00".')
        return value


class CompanyPatch(CompanyIn):
    version: int = Field(description="The version the change is based on.")


class CompanyFilters(CommonFilters):
    industry: str | None = None
    size: list[str] = Field(default_factory=list)
    domain: str | None = None
    parent_id: str | None = None


# Tags and custom fields


class TagOut(Schema):
    id: int
    name: str
    color: str
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class TagPage(Schema):
    items: list[TagOut]
    next: str | None


class CustomFieldOut(Schema):
    id: int
    entity: str
    key: str
    label: str
    field_type: str
    choices: list[str]
    currency: str
    required: bool
    help_text: str
    position: int
    is_active: bool
    hidden_from_roles: list[str]
    encrypted: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class CustomFieldPatch(InputSchema):
    """Settings to change; the key, record type and field type are fixed. Send the
    `version` last read to have a change made meanwhile refused with 409."""

    label: str | None = None
    choices: list[str] | None = None
    currency: str | None = None
    required: bool | None = None
    help_text: str | None = None
    position: int | None = None
    hidden_from_roles: list[str] | None = None
    encrypted: bool | None = None
    version: int | None = None


class CustomFieldPage(Schema):
    items: list[CustomFieldOut]
    next: str | None


class CustomFieldFilters(ListParams):
    entity: Entity | None = None
    is_active: bool | None = None


class TagFilters(ListParams):
    """Tags take only the common list parameters."""
