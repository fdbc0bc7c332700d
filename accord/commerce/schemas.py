"""What the API reads and writes for the product catalogue.

Prices are decimal strings with their currency beside them: `unit_price` in
the product's own `currency`, and `prices` for the other currencies it is
sold in. Unknown fields are refused, so a body never sets `organization_id`
or `version`.
"""

import datetime as dt

from ninja import Field, Schema
from pydantic import ConfigDict, field_validator

from accord.sales.schemas import SalesListParams, money_text


def _decimal_as_text(value):
    if value is not None and not isinstance(value, str):
        raise ValueError('Send the price as a decimal string, such as "1250.00".')
    return value


class InputSchema(Schema):
    model_config = ConfigDict(extra="forbid")


class PriceOut(Schema):
    currency: str
    unit_price: str

    @staticmethod
    def resolve_unit_price(obj) -> str:
        return money_text(obj.unit_price, obj.currency)


class ProductOut(Schema):
    id: int
    sku: str
    name: str
    description: str
    category: str
    unit_price: str = Field(description="A decimal string, in `currency`.")
    currency: str
    prices: list[PriceOut] = Field(description="The price in each other currency.")
    attributes: dict
    is_active: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int

    @staticmethod
    def resolve_unit_price(obj) -> str:
        return money_text(obj.unit_price, obj.currency)

    @staticmethod
    def resolve_prices(obj) -> list:
        return sorted(obj.prices.all(), key=lambda price: price.currency)


class ProductPage(Schema):
    items: list[ProductOut]
    next: str | None


class ProductFilters(SalesListParams):
    sku: str | None = None
    category: str | None = None
    active: bool | None = None


class PriceIn(InputSchema):
    currency: str
    unit_price: str

    _price_text = field_validator("unit_price", mode="before")(_decimal_as_text)


class ProductIn(InputSchema):
    sku: str | None = None
    name: str | None = None
    description: str | None = None
    category: str | None = None
    unit_price: str | None = None
    currency: str | None = Field(None, description="ISO 4217 code; the organisation's base "
                                                  "currency if left out.")
    prices: list[PriceIn] | None = Field(None, description="Replaces every other-currency "
                                                          "price.")
    attributes: dict | None = None
    is_active: bool = Field(None)

    _price_text = field_validator("unit_price", mode="before")(_decimal_as_text)


class ProductPatch(ProductIn):
    version: int = Field(description="The version the change is based on.")
