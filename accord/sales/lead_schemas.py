"""What the API reads and writes for leads, their rules and their events.

Input schemas check shapes and types only; what a value means (a member of
this organisation, a country code) is decided by the lead services, so the
API, the pages and the public web form refuse the same things.
"""

import datetime as dt

from ninja import Field, Schema
from pydantic import ConfigDict

from accord.customers.schemas import ListParams

SERVICE_KEYS = {"owner_id": "owner", "team_id": "team", "pipeline_id": "pipeline"}
# Errors the services raise name the service keys; the API names its own inputs.
API_NAMES = {service: name for name, service in SERVICE_KEYS.items()}


def to_service_data(payload: Schema, *, drop: tuple[str, ...] = ("version",)) -> dict:
    """The fields the client sent, keyed as the lead services expect them."""
    data = payload.model_dump(exclude_unset=True, exclude=set(drop))
    return {SERVICE_KEYS.get(key, key): value for key, value in data.items()}


class InputSchema(Schema):
    model_config = ConfigDict(extra="forbid")


class ScoreReasonOut(Schema):
    rule_id: int | None
    rule: str
    points: int
    reason: str


class LeadOut(Schema):
    id: int
    first_name: str
    last_name: str
    email: str
    phone: str
    title: str
    company_name: str
    website: str
    domain: str
    industry: str
    company_size: str
    country: str
    source: str
    status: str
    disqualify_reason: str
    owner_id: int | None
    description: str
    custom_fields: dict
    score: int
    score_reasons: list[ScoreReasonOut] = Field(
        description="The field rules that hold now; the rest of the score is behaviour.")
    behaviour_points: int
    converted_contact_id: int | None = Field(
        description="Empty while the contact it became is hidden from the caller; so for "
                    "the company and the deal.")
    converted_company_id: int | None
    converted_deal_id: int | None
    converted_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


    @staticmethod
    def resolve_converted_contact_id(obj, context) -> int | None:
        return _converted_id(obj, context, "contact")

    @staticmethod
    def resolve_converted_company_id(obj, context) -> int | None:
        return _converted_id(obj, context, "company")

    @staticmethod
    def resolve_converted_deal_id(obj, context) -> int | None:
        return _converted_id(obj, context, "deal")


def _converted_id(lead, context, relation: str) -> int | None:
    """The id of the record the lead became, when the caller sees it. A list marks its
    page's leads beforehand (`seen_conversions`); a single lead is looked up here."""
    from .leads import seen_conversions

    record_id = getattr(lead, f"converted_{relation}_id")
    if record_id is None:
        return None
    seen = getattr(lead, "seen_conversions", None)
    if seen is None:
        seen = lead.seen_conversions = seen_conversions(
            getattr(context["request"], "membership", None), [lead])[lead.pk]
    return record_id if relation in seen else None


class LeadPage(Schema):
    items: list[LeadOut]
    next: str | None


class LeadIn(InputSchema):
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    title: str | None = None
    company_name: str | None = None
    website: str | None = None
    domain: str | None = Field(None, description="Taken from the website or a work e-mail "
                                                 "address when not given.")
    industry: str | None = None
    company_size: str | None = None
    country: str | None = Field(None, description="Two-letter ISO code.")
    source: str | None = None
    owner_id: int | None = Field(None, description="Left out, the assignment rules choose.")
    description: str | None = None
    custom_fields: dict | None = None


class LeadPatch(LeadIn):
    version: int = Field(description="The version the change is based on.")


class LeadFilters(ListParams):
    status: list[str] = Field(default_factory=list, description="new, working, qualified, "
                                                                "disqualified or converted.")
    owner: str | None = Field(None, description="Owner's user id; `none` for unowned.")
    source: str | None = None
    score_min: int | None = None
    score_max: int | None = None


class VersionIn(InputSchema):
    version: int | None = None


class DisqualifyIn(VersionIn):
    reason: str


class ConversionDealIn(InputSchema):
    name: str | None = None
    amount: str | None = Field(None, description="A decimal string.")
    currency: str | None = None
    pipeline_id: int | None = None


class ConvertIn(VersionIn):
    deal: ConversionDealIn | None = Field(
        None, description="Also open a deal for the new customer.")


class LeadEventIn(InputSchema):
    type: str = Field(description="Dotted lower case, such as email.opened or page.visited.")
    data: dict | None = None


class LeadEventOut(Schema):
    id: int
    type: str = Field(alias="event")
    data: dict
    occurred_at: dt.datetime
    score: int


class ScoreChangeOut(Schema):
    id: int
    rule_id: int | None
    points: int
    score: int
    reason: str
    at: dt.datetime


class ScoreChangePage(Schema):
    items: list[ScoreChangeOut]
    next: str | None


class AssignmentRuleOut(Schema):
    id: int
    name: str
    position: int
    match: str
    field: str
    operator: str
    value: str
    owner_id: int | None
    team_id: int | None
    is_active: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class AssignmentRulePage(Schema):
    items: list[AssignmentRuleOut]
    next: str | None


class AssignmentRuleIn(InputSchema):
    name: str | None = None
    position: int | None = None
    match: str | None = Field(None, description="always, country, source or field.")
    field: str | None = None
    operator: str | None = Field(None, description="equals, contains or is_set.")
    value: str | None = Field(None, description="For country: codes separated by commas.")
    owner_id: int | None = None
    team_id: int | None = Field(None, description="Round robin among the team's members.")
    is_active: bool | None = None


class AssignmentRulePatch(AssignmentRuleIn):
    version: int = Field(description="The version the change is based on.")


class ScoringRuleOut(Schema):
    id: int
    name: str
    field: str
    operator: str
    value: str
    event_type: str
    points: int
    is_active: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class ScoringRulePage(Schema):
    items: list[ScoringRuleOut]
    next: str | None


class ScoringRuleIn(InputSchema):
    name: str | None = None
    field: str | None = None
    operator: str | None = None
    value: str | None = None
    event_type: str | None = None
    points: int | None = None
    is_active: bool | None = None


class ScoringRulePatch(ScoringRuleIn):
    version: int = Field(description="The version the change is based on.")
