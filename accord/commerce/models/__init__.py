"""Commerce data: the product catalogue, behaviour events, orders and subscriptions."""

from .catalogue import BehaviourEvent, Product, ProductPrice
from .feed import FeedFormat, FeedRunStatus, FeedSchedule, ProductFeed, ProductFeedRun
from .order import Channel, Order, OrderKind, OrderLine, OrderStatus
from .subscription import Subscription, SubscriptionStatus

__all__ = [
    "BehaviourEvent", "Channel", "FeedFormat", "FeedRunStatus", "FeedSchedule", "Order",
    "OrderKind", "OrderLine", "OrderStatus", "Product", "ProductFeed", "ProductFeedRun",
    "ProductPrice", "Subscription", "SubscriptionStatus",
]
