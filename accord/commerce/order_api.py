"""Orders and subscriptions under `/api/v1/orders` and `/api/v1/subscriptions`.

Lists read the same query parameters as the list pages (`queries`), so a
filter means the same in both; a member sees the orders and subscriptions
of the contacts they may see, and guest orders.
"""

from django.http import HttpRequest
from ninja import Query, Router, Status

from accord import bulk
from accord.bulk import RecordsBulkIn, RecordsBulkOut
from accord.errors import NotFound
from accord.identity.api_auth import allow
from accord.identity.visibility import through_contact
from accord.pagination import clamp_limit, paginate, parse_ordering

from . import orders as order_services
from . import subscriptions as subscription_services
from .models import Order, Subscription
from .order_schemas import (
    OrderFilters,
    OrderIn,
    OrderOut,
    OrderPage,
    OrderPatch,
    SubscriptionFilters,
    SubscriptionIn,
    SubscriptionOut,
    SubscriptionPage,
    SubscriptionPatch,
)
from .queries import order_filters, subscription_filters

orders = Router(tags=["orders"])
subscriptions = Router(tags=["subscriptions"])

ORDER_ORDERINGS = {"placed_at": "placed_at", "total": "total", "updated_at": "updated_at",
                   "number": "number"}
SUBSCRIPTION_ORDERINGS = {"started_at": "started_at", "renews_on": "renews_on",
                          "mrr": "mrr", "updated_at": "updated_at"}


def _order(request, order_id) -> Order:
    """The order, 404 also when its contact is hidden from the member."""
    order = order_services.get_order(order_id)
    visible = through_contact(Order.objects.filter(pk=order.pk),
                                            request.membership)
    found = visible.prefetch_related("lines__order").first()
    if found is None:
        raise NotFound("No order with this id.")
    return found


def _subscription(request, subscription_id) -> Subscription:
    subscription = subscription_services.get_subscription(subscription_id)
    if not through_contact(Subscription.objects.filter(pk=subscription.pk),
                                         request.membership).exists():
        raise NotFound("No subscription with this id.")
    return subscription


def _data(payload, *, drop=("version",)) -> dict:
    data = payload.model_dump(exclude_unset=True, exclude=set(drop))
    if data.get("lines") is not None:
        data["lines"] = [{key: value for key, value in line.items() if value is not None}
                         for line in data["lines"]]
    return data


@orders.get("", response=OrderPage, summary="List orders and returns")
def list_orders(request: HttpRequest, filters: Query[OrderFilters]):
    allow(request, "orders.view")
    ordering = parse_ordering(filters.ordering, ORDER_ORDERINGS, "-placed_at")
    queryset = order_filters(through_contact(
        Order.objects.prefetch_related("lines__order"), request.membership), request.GET,
        request.membership)
    items, next_cursor = paginate(queryset, ordering, cursor=filters.cursor,
                                  limit=clamp_limit(filters.limit))
    return {"items": items, "next": next_cursor}


@orders.post("", response={201: OrderOut}, summary="Create an order or return with its lines")
def create_order(request: HttpRequest, payload: OrderIn):
    allow(request, "orders.add")
    order = order_services.create_order(request.organization, request.user,
                                        data=_data(payload))
    return Status(201, _order(request, order.pk))


# Orders written in bulk go through the same schemas, checks and services as one by one.
ORDERS = bulk.Kind("order", OrderIn, OrderPatch, order_services.create_order,
                   order_services.update_order, _order, "orders.add", "orders.change", _data)


@orders.post("/bulk", response=RecordsBulkOut,
             summary="Create or change up to 1,000 orders and returns, with a result for each")
def bulk_orders(request: HttpRequest, payload: RecordsBulkIn):
    return bulk.run_bulk(request, ORDERS, payload.items)


@orders.get("/{order_id}", response=OrderOut, summary="Read an order")
def read_order(request: HttpRequest, order_id: int):
    allow(request, "orders.view")
    return _order(request, order_id)


@orders.patch("/{order_id}", response=OrderOut, summary="Change an order")
def update_order(request: HttpRequest, order_id: int, payload: OrderPatch):
    allow(request, "orders.change")
    order = _order(request, order_id)
    order_services.update_order(request.organization, request.user, order,
                                data=_data(payload), expected_version=payload.version)
    return _order(request, order_id)


@orders.delete("/{order_id}", response={204: None}, summary="Delete an order")
def delete_order(request: HttpRequest, order_id: int, version: int | None = None):
    allow(request, "orders.delete")
    order = _order(request, order_id)
    order_services.delete_order(request.organization, request.user, order,
                                expected_version=version)
    return Status(204, None)


@subscriptions.get("", response=SubscriptionPage, summary="List subscriptions")
def list_subscriptions(request: HttpRequest, filters: Query[SubscriptionFilters]):
    allow(request, "orders.view")
    ordering = parse_ordering(filters.ordering, SUBSCRIPTION_ORDERINGS, "-started_at")
    queryset = subscription_filters(through_contact(
        Subscription.objects.all(), request.membership), request.GET, request.membership)
    items, next_cursor = paginate(queryset, ordering, cursor=filters.cursor,
                                  limit=clamp_limit(filters.limit))
    return {"items": items, "next": next_cursor}


@subscriptions.post("", response={201: SubscriptionOut}, summary="Start a subscription")
def create_subscription(request: HttpRequest, payload: SubscriptionIn):
    allow(request, "orders.add")
    subscription = subscription_services.create_subscription(
        request.organization, request.user, data=_data(payload))
    return Status(201, subscription)


@subscriptions.get("/{subscription_id}", response=SubscriptionOut,
                   summary="Read a subscription")
def read_subscription(request: HttpRequest, subscription_id: int):
    allow(request, "orders.view")
    return _subscription(request, subscription_id)


@subscriptions.patch("/{subscription_id}", response=SubscriptionOut,
                     summary="Change or cancel a subscription")
def update_subscription(request: HttpRequest, subscription_id: int,
                        payload: SubscriptionPatch):
    allow(request, "orders.change")
    subscription = _subscription(request, subscription_id)
    return subscription_services.update_subscription(
        request.organization, request.user, subscription, data=_data(payload),
        expected_version=payload.version)


@subscriptions.delete("/{subscription_id}", response={204: None},
                      summary="Delete a subscription entered by mistake")
def delete_subscription(request: HttpRequest, subscription_id: int,
                        version: int | None = None):
    allow(request, "orders.delete")
    subscription = _subscription(request, subscription_id)
    subscription_services.delete_subscription(request.organization, request.user,
                                              subscription, expected_version=version)
    return Status(204, None)
