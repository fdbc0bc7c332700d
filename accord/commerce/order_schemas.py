"""What the API reads and writes for orders, returns and subscriptions.

Money is a decimal string with its ISO 4217 currency beside it, never a
float: a number sent where an amount is expected is refused. Unknown fields
are refused, so a body never sets `organization_id`, totals or `version`
outside a PATCH's precondition.
"""

import datetime as dt

from ninja import Field, Schema
from pydantic import ConfigDict, field_validator

from accord.sales.schemas import SalesListParams, money_text


def _decimal_as_text(value):
    if value is not None and not isinstance(value, str):
        raise ValueError('Send the number as a decimal string, such as "12.50".')
    return value


class InputSchema(Schema):
    model_config = ConfigDict(extra="forbid")


class OrderLineOut(Schema):
    id: int
    position: int
    product_id: int | None
    sku: str
    description: str
    quantity: str
    unit_price: str
    discount_percent: str
    tax_percent: str
    line_total: str = Field(description="Net of the line after its discount, before tax.")

    @staticmethod
    def resolve_quantity(obj) -> str:
        return f"{obj.quantity.normalize():f}"

    @staticmethod
    def resolve_unit_price(obj) -> str:
        return money_text(obj.unit_price, obj.order.currency)

    @staticmethod
    def resolve_discount_percent(obj) -> str:
        return f"{obj.discount_percent.normalize():f}"

    @staticmethod
    def resolve_tax_percent(obj) -> str:
        return f"{obj.tax_percent.normalize():f}"

    @staticmethod
    def resolve_line_total(obj) -> str:
        return money_text(obj.line_total, obj.order.currency)


class OrderOut(Schema):
    id: int
    number: str
    kind: str
    original_id: int | None
    contact_id: int | None
    company_id: int | None
    status: str
    channel: str
    placed_at: dt.datetime
    currency: str
    subtotal: str
    discount_total: str
    tax_total: str
    total: str
    note: str
    lines: list[OrderLineOut]
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int

    @staticmethod
    def resolve_subtotal(obj) -> str:
        return money_text(obj.subtotal, obj.currency)

    @staticmethod
    def resolve_discount_total(obj) -> str:
        return money_text(obj.discount_total, obj.currency)

    @staticmethod
    def resolve_tax_total(obj) -> str:
        return money_text(obj.tax_total, obj.currency)

    @staticmethod
    def resolve_total(obj) -> str:
        return money_text(obj.total, obj.currency)

    @staticmethod
    def resolve_lines(obj) -> list:
        return list(obj.lines.all())


class OrderPage(Schema):
    items: list[OrderOut]
    next: str | None


class OrderFilters(SalesListParams):
    contact_id: int | None = None
    company_id: int | None = None
    status: str | None = Field(None, description="One status, or several separated by commas.")
    channel: str | None = None
    kind: str | None = None
    placed_after: str | None = Field(None, description="Placed at or after this ISO 8601 "
                                                       "time, or on or after this date.")
    placed_before: str | None = Field(None, description="Placed before this ISO 8601 time, "
                                                        "or on or before this date.")


class OrderLineIn(InputSchema):
    product: int | None = Field(None, description="A catalogue product's id (optional).")
    sku: str | None = None
    description: str | None = None
    quantity: str = Field(description="A decimal string; negative on a return.")
    unit_price: str = Field(description="A decimal string in the order's currency; 0 allowed.")
    discount_percent: str | None = None
    tax_percent: str | None = None

    _as_text = field_validator("quantity", "unit_price", "discount_percent", "tax_percent",
                               mode="before")(_decimal_as_text)


class OrderIn(InputSchema):
    number: str | None = Field(None, description="The order's number, unique in the "
                                                 "organisation, such as 536365.")
    kind: str | None = Field(None, description="order (default) or return.")
    original: int | None = Field(None, description="For a return: the order it gives back.")
    contact: int | None = Field(None, description="Left out for a guest order.")
    company: int | None = Field(None, description="The contact's company if left out.")
    status: str | None = None
    channel: str | None = None
    placed_at: dt.datetime | None = None
    currency: str | None = Field(None, description="ISO 4217; the organisation's base "
                                                   "currency if left out.")
    note: str | None = None
    lines: list[OrderLineIn] | None = Field(None, description="Replaces every line.")


class OrderPatch(OrderIn):
    version: int = Field(description="The version the change is based on.")


class SubscriptionOut(Schema):
    id: int
    contact_id: int | None
    company_id: int | None
    product_id: int | None
    plan_name: str
    status: str
    mrr: str
    currency: str
    started_at: dt.date
    renews_on: dt.date | None
    cancelled_at: dt.datetime | None
    cancel_reason: str
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int

    @staticmethod
    def resolve_mrr(obj) -> str:
        return money_text(obj.mrr, obj.currency)


class SubscriptionPage(Schema):
    items: list[SubscriptionOut]
    next: str | None


class SubscriptionFilters(SalesListParams):
    contact_id: int | None = None
    company_id: int | None = None
    status: str | None = None
    renews_after: dt.date | None = None
    renews_before: dt.date | None = None


class SubscriptionIn(InputSchema):
    contact: int | None = None
    company: int | None = None
    product: int | None = None
    plan_name: str | None = None
    status: str | None = None
    mrr: str | None = Field(None, description="Monthly recurring revenue, a decimal string.")
    currency: str | None = None
    started_at: dt.date | None = None
    renews_on: dt.date | None = None
    cancelled_at: dt.datetime | None = None
    cancel_reason: str | None = None

    _as_text = field_validator("mrr", mode="before")(_decimal_as_text)


class SubscriptionPatch(SubscriptionIn):
    version: int = Field(description="The version the change is based on.")
