"""Commerce data: the product catalogue, behaviour events, orders and subscriptions."""

from .catalogue import BehaviourEvent, Product, ProductPrice
from .order import Channel, Order, OrderKind, OrderLine, OrderStatus
from .subscription import Subscription, SubscriptionStatus

__all__ = [
    "BehaviourEvent", "Channel", "Order", "OrderKind", "OrderLine", "OrderStatus", "Product",
    "ProductPrice", "Subscription", "SubscriptionStatus",
]
