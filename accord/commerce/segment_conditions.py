"""Purchase conditions for segments: when a customer last bought, what, how often, how much.

Registered with the condition language of accord.marketing when the app is
ready. Each compiles to a subquery over the organisation's orders correlated
with the contact, so a segment stays one query. Cancelled orders never count;
returns count against what was spent.
"""


from django.db.models import Count, DecimalField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from accord.marketing.conditions.engine import ConditionKind, register
from accord.marketing.conditions.types import Context, Operator, Shape, ValueType, exists

from .models import Order, OrderKind, OrderLine, OrderStatus


def _orders(ctx: Context):
    return Order.objects.filter(organization_id=ctx.org.pk, contact=OuterRef("pk")).exclude(
        status=OrderStatus.CANCELLED)


def _bought(ctx: Context):
    return _orders(ctx).filter(kind=OrderKind.ORDER)


def _compare(expression, op: str, value) -> Q:
    lookup = {"gt": "gt", "gte": "gte", "lt": "lt", "lte": "lte"}[op]
    return Q(expression.get_lookup(lookup)(expression, value))


class PurchaseKind(ConditionKind):
    """Whether and when the customer bought anything."""

    name = "purchase"
    label = _("Purchases")
    group = _("Purchases")
    operators = (
        Operator("in_last_days", _("bought in the last N days"), Shape.DAYS,
                 _("bought something in the last %(value)s days")),
        Operator("not_in_last_days", _("bought nothing in the last N days"), Shape.DAYS,
                 _("bought nothing in the last %(value)s days")),
        Operator("lapsed_days", _("bought before, but not in the last N days"), Shape.DAYS,
                 _("bought before, but nothing in the last %(value)s days")),
        Operator("ever", _("has bought"), Shape.NONE, _("has bought something")),
        Operator("never", _("has never bought"), Shape.NONE, _("has never bought anything")),
    )

    def compile(self, node, ctx):
        op = node["op"]
        bought = _bought(ctx)
        if op in ("ever", "never"):
            return exists(bought, negate=op == "never")
        recent = exists(bought.filter(placed_at__gte=ctx.since(node["value"])))
        if op == "in_last_days":
            return recent
        if op == "not_in_last_days":
            return ~recent
        return exists(bought) & ~recent


class ProductPurchaseKind(ConditionKind):
    """Whether the customer bought a product, named by its SKU."""

    name = "product_purchase"
    label = _("Bought product (SKU)")
    group = _("Purchases")
    value_type = ValueType.TEXT
    operators = (
        Operator("bought", _("bought"), Shape.ONE, _("bought %(value)s")),
        Operator("never_bought", _("never bought"), Shape.ONE, _("never bought %(value)s")),
    )

    def compile(self, node, ctx):
        lines = OrderLine.objects.filter(
            organization_id=ctx.org.pk, order__contact=OuterRef("pk"),
            order__kind=OrderKind.ORDER, sku__iexact=str(node["value"]).strip(),
        ).exclude(order__status=OrderStatus.CANCELLED)
        return exists(lines, negate=node["op"] == "never_bought")


class SpendKind(ConditionKind):
    """What the customer spent, returns taken off, counting orders in the base currency."""

    name = "spend"
    label = _("Spent (orders in the base currency)")
    group = _("Purchases")
    value_type = ValueType.NUMBER
    operators = (
        Operator("gte", _("at least"), Shape.ONE, _("spent at least %(value)s")),
        Operator("lt", _("less than"), Shape.ONE, _("spent less than %(value)s")),
    )

    def compile(self, node, ctx):
        spent = (_orders(ctx).filter(currency=ctx.org.base_currency).order_by()
                 .values("contact").annotate(spent=Sum("total")).values("spent"))
        amount = Coalesce(Subquery(spent), Value(0),
                          output_field=DecimalField(max_digits=16, decimal_places=4))
        return _compare(amount, node["op"], node["value"])


class OrderCountKind(ConditionKind):
    """How many orders the customer placed (returns not counted)."""

    name = "order_count"
    label = _("Number of orders")
    group = _("Purchases")
    value_type = ValueType.NUMBER
    operators = (
        Operator("gte", _("at least"), Shape.ONE, _("placed at least %(value)s orders")),
        Operator("lt", _("fewer than"), Shape.ONE, _("placed fewer than %(value)s orders")),
    )

    def compile(self, node, ctx):
        counted = (_bought(ctx).order_by().values("contact").annotate(count=Count("id"))
                   .values("count"))
        number = Coalesce(Subquery(counted), Value(0))
        return _compare(number, node["op"], node["value"])


for kind in (PurchaseKind(), ProductPurchaseKind(), SpendKind(), OrderCountKind()):
    register(kind)
