"""What the API reads and writes for pipelines, stages, deals, exchange rates and quotas.

Input schemas check shapes and types only and refuse unknown fields, so a
body can never set `organization_id`, `status`, `version` or any other field
the services keep for themselves. Related records are named by id
(`stage_id`, `owner_id`); `to_service_data` maps them to the service keys.
Money is a decimal string with its currency beside it, never a float.
"""

import datetime as dt
from decimal import Decimal

from ninja import Field, Schema
from pydantic import ConfigDict, field_validator

from accord.customers.custom_fields import values_for_api
from accord.customers.models import Contact
from accord.identity.visibility import visible
from accord.money import quantize

from .models import DealStatus, ForecastCategory, Period, StageKind

SERVICE_KEYS = {
    "pipeline_id": "pipeline", "stage_id": "stage", "owner_id": "owner",
    "company_id": "company", "contact_id": "contact", "product_id": "product",
    "user_id": "user",
}
# Errors the services raise name the service keys; the API names its own inputs.
API_NAMES = {service: name for name, service in SERVICE_KEYS.items()}


def to_service_data(payload: Schema, *, drop: tuple[str, ...] = ("version",)) -> dict:
    """The fields the client sent, keyed as the services expect them."""
    data = payload.model_dump(exclude_unset=True, exclude=set(drop))
    return _service_keys(data)


def _service_keys(value):
    if isinstance(value, dict):
        return {SERVICE_KEYS.get(key, key): _service_keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_service_keys(item) for item in value]
    return value


def money_text(amount: Decimal | None, currency: str) -> str | None:
    """`amount` to the currency's minor unit, or with every stored place when it has more."""
    if amount is None:
        return None
    rounded = quantize(amount, currency)
    return str(rounded if rounded == amount else amount.normalize())


def _decimal_as_text(value):
    if value is not None and not isinstance(value, str):
        raise ValueError('Send the number as a decimal string, such as "1250.00".')
    return value


class InputSchema(Schema):
    model_config = ConfigDict(extra="forbid", use_enum_values=True)


class PageParams(Schema):
    limit: int | None = Field(None, description="Items per page, 1 to 500 (default 50).")
    cursor: str | None = Field(None, description="The `next` value of the previous page.")
    ordering: str | None = Field(
        None, description="A sortable field, `-` in front for descending."
    )


class SalesListParams(PageParams):
    q: str | None = Field(None, description="Search words; each must match.")


# Pipelines and stages


class StageOut(Schema):
    id: int
    pipeline_id: int
    name: str
    position: int
    kind: str
    probability: int
    rot_after_days: int | None
    reason_required: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class StagePage(Schema):
    items: list[StageOut]
    next: str | None


class PipelineOut(Schema):
    id: int
    name: str
    position: int
    is_default: bool
    is_active: bool
    stages: list[StageOut]
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int

    @staticmethod
    def resolve_stages(obj) -> list:
        return sorted(obj.stages.all(), key=lambda stage: (stage.position, stage.pk))


class PipelinePage(Schema):
    items: list[PipelineOut]
    next: str | None


class PipelineFilters(SalesListParams):
    is_active: bool | None = None


class StageIn(InputSchema):
    name: str
    kind: StageKind = StageKind.OPEN
    probability: int | None = Field(None, description="0 to 100; 100 for won, 0 for lost "
                                                     "if left out.")
    rot_after_days: int | None = Field(None, description="Days without activity after "
                                                        "which a deal is rotting.")
    reason_required: bool = False


class NewStageIn(StageIn):
    position: int | None = Field(None, description="0-based place; before the closed "
                                                  "stages if left out.")


class StagePatch(InputSchema):
    version: int = Field(description="The version the change is based on.")
    name: str | None = None
    kind: StageKind = Field(None)
    probability: int | None = None
    rot_after_days: int | None = None
    reason_required: bool = Field(None)


class StageOrderIn(InputSchema):
    stage_ids: list[int] = Field(description="Every stage of the pipeline, in the new order.")


class PipelineIn(InputSchema):
    name: str
    is_default: bool = False
    stages: list[StageIn] | None = Field(None, description="In board order; the usual six "
                                                          "stages if left out.")


class PipelinePatch(InputSchema):
    version: int = Field(description="The version the change is based on.")
    name: str | None = None
    is_default: bool = Field(None)
    is_active: bool = Field(None)


# Deals


class DealOut(Schema):
    id: int
    name: str
    pipeline_id: int
    stage_id: int
    status: str
    amount: str | None = Field(description="A decimal string, in `currency`.")
    amount_from_line_items: bool = Field(description="False when a person typed the amount.")
    currency: str
    expected_close_date: dt.date | None
    owner_id: int | None
    company_id: int | None
    source: str
    forecast_category: str
    next_step: str
    description: str
    custom_fields: dict
    stage_entered_at: dt.datetime
    last_activity_at: dt.datetime
    closed_on: dt.date | None
    close_reason: str
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int

    @staticmethod
    def resolve_custom_fields(obj, context) -> dict:
        return values_for_api("deal", obj, context)

    @staticmethod
    def resolve_amount(obj) -> str | None:
        return money_text(obj.amount, obj.currency)

    @staticmethod
    def resolve_amount_from_line_items(obj) -> bool:
        return not obj.amount_overridden


class DealPage(Schema):
    items: list[DealOut]
    next: str | None


class DealContactOut(Schema):
    contact_id: int
    name: str
    role: str


class LineItemOut(Schema):
    id: int
    product_id: int | None
    name: str
    quantity: str
    unit_price: str
    discount_percent: str
    tax_percent: str
    net: str = Field(description="Quantity × price less discount, in the deal's currency.")
    tax: str


class TotalsOut(Schema):
    net: str
    tax: str
    total: str
    currency: str


class StageTimeOut(Schema):
    stage_id: int | None
    name: str
    seconds: int


class StageHistorySummary(Schema):
    moves: int = Field(description="Stage changes since the deal was created.")
    seconds_in_current_stage: int
    seconds_by_stage: list[StageTimeOut] = Field(
        description="Time spent in each stage so far, the current one included."
    )


class DealDetailOut(DealOut):
    """A deal as `accord.sales.api` loads it, with its priced lines and stage summary."""

    contacts: list[DealContactOut]
    line_items: list[LineItemOut]
    totals: TotalsOut
    stage_history: StageHistorySummary

    @staticmethod
    def resolve_contacts(obj, context) -> list:
        """The deal's contacts the reader sees, as the deal's page lists them: a hidden
        contact is left out, with its id and role."""
        links = list(obj.contact_links.all())
        viewer = getattr(context["request"], "membership", None)
        seen = set(visible(Contact.objects.filter(pk__in=[link.contact_id for link in links]),
                           viewer, "contacts").values_list("pk", flat=True))
        return [{"contact_id": link.contact_id, "role": link.role, "name": str(link.contact)}
                for link in links if link.contact_id in seen]

    @staticmethod
    def resolve_line_items(obj) -> list[dict]:
        return [{
            "id": item.pk, "product_id": item.product_id, "name": item.name,
            "quantity": f"{item.quantity.normalize():f}",
            "unit_price": money_text(item.unit_price, obj.currency),
            "discount_percent": f"{item.discount_percent.normalize():f}",
            "tax_percent": f"{item.tax_percent.normalize():f}",
            "net": str(line.net), "tax": str(line.tax),
        } for item, line in obj.priced_lines]

    @staticmethod
    def resolve_totals(obj) -> dict:
        return {"net": str(obj.totals.net), "tax": str(obj.totals.tax),
                "total": str(obj.totals.total), "currency": obj.currency}

    @staticmethod
    def resolve_stage_history(obj) -> dict:
        return obj.stage_summary


class DealFilters(SalesListParams):
    pipeline_id: int | None = None
    stage_id: int | None = None
    owner_id: int | None = None
    company_id: int | None = None
    contact_id: int | None = None
    status: DealStatus | None = None
    expected_close_from: dt.date | None = Field(None, description="On or after this day.")
    expected_close_to: dt.date | None = Field(None, description="On or before this day.")


class DealContactIn(InputSchema):
    contact_id: int
    role: str = ""


class LineItemIn(InputSchema):
    product_id: int | None = None
    name: str | None = Field(None, description="The product's name if left out.")
    quantity: str = "1"
    unit_price: str | None = Field(None, description="The product's price if left out.")
    discount_percent: str | None = None
    tax_percent: str | None = None

    _text = field_validator("quantity", "unit_price", "discount_percent", "tax_percent",
                            mode="before")(_decimal_as_text)


class DealIn(InputSchema):
    name: str | None = None
    pipeline_id: int | None = Field(None, description="The default pipeline if left out.")
    stage_id: int | None = Field(None, description="An open stage; the pipeline's first "
                                                  "if left out.")
    amount: str | None = Field(None, description="A decimal string; the line items' total "
                                                "if left out.")
    currency: str | None = Field(None, description="ISO 4217 code; the organisation's base "
                                                  "currency if left out.")
    expected_close_date: dt.date | None = None
    owner_id: int | None = Field(None, description="You if left out.")
    company_id: int | None = None
    source: str | None = None
    forecast_category: ForecastCategory = Field(None)
    next_step: str | None = None
    description: str | None = None
    custom_fields: dict | None = None
    contacts: list[DealContactIn] | None = None
    line_items: list[LineItemIn] | None = None

    _amount_text = field_validator("amount", mode="before")(_decimal_as_text)


class DealPatch(InputSchema):
    version: int = Field(description="The version the change is based on.")
    name: str | None = None
    amount: str | None = Field(None, description="A decimal string; null to take the line "
                                                "items' total again.")
    currency: str | None = None
    expected_close_date: dt.date | None = None
    owner_id: int | None = None
    company_id: int | None = None
    source: str | None = None
    forecast_category: ForecastCategory = Field(None)
    next_step: str | None = None
    description: str | None = None
    custom_fields: dict | None = None
    contacts: list[DealContactIn] | None = Field(None, description="Replaces every contact.")

    _amount_text = field_validator("amount", mode="before")(_decimal_as_text)


class StageMoveIn(InputSchema):
    stage_id: int
    version: int | None = Field(None, description="The version the move is based on.")
    reason: str | None = Field(None, description="Needed for lost stages and stages "
                                                "that ask for one.")


class LineItemsIn(InputSchema):
    version: int | None = Field(None, description="The version the change is based on.")
    items: list[LineItemIn]


class StageChangeOut(Schema):
    id: int
    from_stage_id: int | None
    from_stage_name: str
    to_stage_id: int | None
    to_stage_name: str
    changed_at: dt.datetime
    changed_by_id: int | None
    seconds_in_from_stage: int | None = Field(description="How long the deal sat in the "
                                                          "stage it left.")
    seconds_in_to_stage: int = Field(description="How long it stayed in the stage it "
                                                 "entered, until now if it is still there.")
    amount: str | None
    currency: str
    reason: str

    @staticmethod
    def resolve_from_stage_name(obj) -> str:
        return obj.from_stage_label

    @staticmethod
    def resolve_to_stage_name(obj) -> str:
        return obj.to_stage_label

    @staticmethod
    def resolve_amount(obj) -> str | None:
        return money_text(obj.amount, obj.currency) if obj.currency else None


class StageChangePage(Schema):
    items: list[StageChangeOut]
    next: str | None


# Exchange rates and quotas


class ExchangeRateOut(Schema):
    id: int
    currency: str
    valid_on: dt.date
    rate: str = Field(description="Base-currency value of one unit of `currency`.")
    base_currency: str
    created_at: dt.datetime

    @staticmethod
    def resolve_rate(obj) -> str:
        return f"{obj.rate.normalize():f}"

    @staticmethod
    def resolve_base_currency(obj) -> str:
        return obj.organization.base_currency


class ExchangeRatePage(Schema):
    items: list[ExchangeRateOut]
    next: str | None


class ExchangeRateFilters(SalesListParams):
    currency: str | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None


class ExchangeRateIn(InputSchema):
    currency: str
    valid_on: dt.date
    rate: str

    _rate_text = field_validator("rate", mode="before")(_decimal_as_text)


class QuotaOut(Schema):
    id: int
    user_id: int
    period: str
    starts_on: dt.date
    amount: str
    currency: str = Field(description="The organisation's base currency.")
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int

    @staticmethod
    def resolve_amount(obj) -> str:
        return f"{obj.amount:.2f}"

    @staticmethod
    def resolve_currency(obj) -> str:
        return obj.organization.base_currency


class QuotaPage(Schema):
    items: list[QuotaOut]
    next: str | None


class QuotaFilters(SalesListParams):
    user_id: int | None = None
    period: Period | None = None
    starts_from: dt.date | None = None
    starts_to: dt.date | None = None


class QuotaIn(InputSchema):
    user_id: int
    period: Period
    starts_on: dt.date
    amount: str

    _amount_text = field_validator("amount", mode="before")(_decimal_as_text)
