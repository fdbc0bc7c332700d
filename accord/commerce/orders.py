"""Every write to orders and returns, as verbs, and the reads the pages and the API share.

A service takes the organisation and the acting user first, cleans its
input naming each bad field, writes the order with its lines, audit entry,
domain event and timeline entry in one transaction, and checks
`expected_version` where the caller saw a version. Totals are always
computed here from the lines, never taken from the caller.
"""

import logging
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accord import events
from accord.activities import services as timeline
from accord.activities.models import Activity
from accord.audit import services as audit
from accord.audit.models import Action
from accord.customers.validation import Collector
from accord.errors import InvalidInput, NotFound, StaleVersion
from accord.identity import visibility
from accord.identity.context import acting_member
from accord.money import Line, document_totals, is_currency, quantize
from accord.sales.validation import clean_decimal

from .models import Channel, Order, OrderKind, OrderLine, OrderStatus, Product
from .validation import clean_choice, clean_moment, find_company, find_contact, to_pk

logger = logging.getLogger(__name__)

ORDER_FIELDS = ["number", "kind", "original", "contact", "company", "status", "channel",
                "placed_at", "currency", "subtotal", "discount_total", "tax_total", "total",
                "note"]
MAX_LINES = 1000  # far above any real basket; keeps one request's work bounded
MAX_QUANTITY = Decimal("999999999")
MAX_PRICE = Decimal("9999999999")  # fits the column with four decimals
STORED_PLACES = Decimal("0.0001")


def get_order(order_id) -> Order:
    """The order with this id in the current organisation; NotFound otherwise."""
    order = Order.objects.filter(pk=to_pk(order_id)).first() if to_pk(order_id) else None
    if order is None:
        raise NotFound(_("No order with this id."))
    return order


def find_original(value, *, kept=None) -> Order | None:
    """The order a return names as its original, or None.

    Orders follow their contact's visibility: one the acting member may not
    see reads as missing, unless it is `kept`, the original linked already.
    Outside a request or job acting for a member every order may be named.
    """
    pk = to_pk(value)
    if not pk:
        return None
    orders = Order.objects.filter(pk=pk)
    member = acting_member()
    if member is not None and pk != kept:
        orders = visibility.through_contact(orders, member)
    return orders.first()


def clean_order(org, data: dict, *, current: Order | None = None) -> dict:
    """Validated header values for the fields present in `data`; InvalidInput names each.

    A new order needs a number, unique in the organisation; its currency
    defaults to the organisation's base currency, its placed time to now,
    and its company to the contact's company.
    """
    is_new = current is None
    errors = Collector()
    values: dict = {}
    if "number" in data or is_new:
        number = str(data.get("number") or "").strip()
        if not number:
            errors.add("number", _("Give the order its number."))
        elif len(number) > 40:
            errors.add("number", _("Use at most 40 characters."))
        else:
            taken = Order.objects.filter(number=number)
            if not is_new:
                taken = taken.exclude(pk=current.pk)
            if taken.exists():
                errors.add("number", _("Another order has this number."))
        values["number"] = number
    if "kind" in data or is_new:
        values["kind"] = clean_choice(data.get("kind") or OrderKind.ORDER, OrderKind, "kind",
                                      errors)
    kind = values.get("kind") or getattr(current, "kind", OrderKind.ORDER)
    if "status" in data or is_new:
        default = OrderStatus.RETURNED if kind == OrderKind.RETURN else OrderStatus.PLACED
        values["status"] = clean_choice(data.get("status") or default, OrderStatus, "status",
                                        errors)
    if "channel" in data or is_new:
        values["channel"] = clean_choice(data.get("channel") or Channel.WEB, Channel,
                                         "channel", errors)
    if "placed_at" in data or is_new:
        placed = data.get("placed_at")
        values["placed_at"] = (clean_moment(placed, "placed_at", errors) if placed
                               else timezone.now())
    if "currency" in data or is_new:
        code = str(data.get("currency") or org.base_currency).strip().upper()
        if not is_currency(code):
            errors.add("currency", _("Use a three-letter ISO 4217 code such as EUR."))
        values["currency"] = code
    if "note" in data:
        values["note"] = str(data.get("note") or "").strip()[:20000]
    if "contact" in data:
        values["contact"] = find_contact(data["contact"], errors,
                                         kept=getattr(current, "contact_id", None))
    if "company" in data:
        values["company"] = find_company(data["company"], errors,
                                         kept=getattr(current, "company_id", None))
    if "original" in data:
        original = None
        if data["original"] not in (None, ""):
            original = find_original(data["original"],
                                     kept=getattr(current, "original_id", None))
            if original is None:
                errors.add("original", _("No order with this id."))
            elif original.kind == OrderKind.RETURN or (current and original.pk == current.pk):
                errors.add("original", _("Link a return to the order it gives back."))
        values["original"] = original
    errors.raise_if_any()
    if values.get("contact") and not values.get("company"):
        values["company"] = values["contact"].company
    return values


def clean_lines(raw, kind: str, *, products: dict | None = None) -> list[dict]:
    """Validated lines, each naming its bad fields as `lines.<n>.<field>`.

    A return's quantities are negative; an order's may be negative too (a
    correction) but never zero. A line names a product by id, a SKU, or at
    least a description. `products` maps ids to products already loaded.
    """
    if not isinstance(raw, list):
        raise InvalidInput({"lines": _("Give the lines as a list.")})
    if len(raw) > MAX_LINES:
        raise InvalidInput({"lines": _("An order has at most %(count)d lines.")
                            % {"count": MAX_LINES}})
    wanted = {to_pk(item.get("product")) for item in raw
              if isinstance(item, dict) and item.get("product") not in (None, "")}
    known = dict(products or {})
    missing = {pk for pk in wanted if pk and pk not in known}
    if missing:
        known.update(Product.objects.in_bulk(missing))
    errors: list[dict] = []
    lines = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            errors.append({"field": f"lines.{index}", "message": _("Give each line as an "
                                                                   "object.")})
            continue
        field_errors: dict = {}
        product = None
        if item.get("product") not in (None, ""):
            product = known.get(to_pk(item.get("product")))
            if product is None:
                field_errors["product"] = _("No product with this id.")
        sku = str(item.get("sku") or (product.sku if product else "")).strip()
        description = str(item.get("description") or (product.name if product else "")).strip()
        if len(sku) > 64:
            field_errors["sku"] = _("Use at most 64 characters.")
        if len(description) > 300:
            field_errors["description"] = _("Use at most 300 characters.")
        if not sku and not description and "product" not in field_errors:
            field_errors["description"] = _("Choose a product, or give a SKU or description.")
        quantity = clean_decimal(item.get("quantity"), "quantity", field_errors,
                                 minimum=-MAX_QUANTITY, maximum=MAX_QUANTITY, places=3)
        if quantity is None and "quantity" not in field_errors:
            field_errors["quantity"] = _("Enter the quantity.")
        elif quantity is not None and kind == OrderKind.RETURN and quantity >= 0:
            field_errors["quantity"] = _("A return gives items back: use a negative quantity.")
        elif quantity == 0:
            field_errors["quantity"] = _("Enter a quantity other than zero.")
        unit_price = clean_decimal(item.get("unit_price"), "unit_price", field_errors,
                                   minimum=Decimal(0), maximum=MAX_PRICE)
        if unit_price is None and "unit_price" not in field_errors:
            field_errors["unit_price"] = _("Enter the unit price (0 is allowed).")
        discount = clean_decimal(item.get("discount_percent") or 0, "discount_percent",
                                 field_errors, minimum=0, maximum=100, places=2)
        tax = clean_decimal(item.get("tax_percent") or 0, "tax_percent", field_errors,
                            minimum=0, maximum=100, places=2)
        errors.extend({"field": f"lines.{index}.{field}", "message": message}
                      for field, message in field_errors.items())
        if not field_errors:
            lines.append({"product": product, "sku": sku, "description": description,
                          "quantity": quantity, "unit_price": unit_price,
                          "discount_percent": discount, "tax_percent": tax})
    if errors:
        raise InvalidInput(errors)
    return lines


def compute_totals(lines: list[dict], currency: str, rounding: str) -> dict:
    """Each line's total and the order's subtotal, discount, tax and total.

    The subtotal is the sum of the lines before discounts, each rounded to
    the currency's minor unit; the discount is what the discounts took off,
    so subtotal minus discount plus tax is always the total shown.
    """
    totals = document_totals(
        [Line(line["quantity"], line["unit_price"], line["discount_percent"],
              line["tax_percent"]) for line in lines], currency, rounding)
    subtotal = sum((quantize(line["quantity"] * line["unit_price"], currency)
                    for line in lines), Decimal(0))
    for line, computed in zip(lines, totals.lines, strict=True):
        line["line_total"] = _stored(computed.net)
    return {"subtotal": _stored(subtotal), "discount_total": _stored(subtotal - totals.net),
            "tax_total": _stored(totals.tax), "total": _stored(totals.total)}


def _stored(amount: Decimal) -> Decimal:
    # The columns keep four places: the value in memory then reads as the
    # stored one, so history and events show one form of each amount.
    return amount.quantize(STORED_PLACES)


def line_text(line: OrderLine) -> str:
    text = f"{line.quantity.normalize():f} × {line.sku or line.description}"
    text += f" @ {line.unit_price.normalize():f}"
    if line.discount_percent:
        text += f" −{line.discount_percent.normalize():f}%"
    if line.tax_percent:
        text += f" +{line.tax_percent.normalize():f}% tax"
    return text


def event_data(order: Order) -> dict:
    return {"id": order.pk, "number": order.number, "kind": order.kind,
            "status": order.status, "channel": order.channel, "contact_id": order.contact_id,
            "company_id": order.company_id, "currency": order.currency,
            "total": str(order.total), "placed_at": order.placed_at}


def _write_lines(org, order: Order, lines: list[dict]) -> None:
    OrderLine.objects.filter(order=order).delete()
    OrderLine.objects.bulk_create([
        OrderLine(organization=org, order=order, position=position, **line)
        for position, line in enumerate(lines)])


def _log_on_timeline(org, actor, order: Order) -> None:
    if not order.contact_id and not order.company_id:
        return
    entry = timeline.log_event(
        org, actor, "order.returned" if order.is_return else "order.placed",
        contact=order.contact, company=order.company,
        data={"order_id": order.pk, "number": order.number, "total": str(order.total),
              "currency": order.currency})
    # The timeline shows the order when it was placed, not when it was entered.
    Activity.objects.filter(pk=entry.pk).update(occurred_at=order.placed_at)


@transaction.atomic
def create_order(org, actor, *, data: dict, products: dict | None = None) -> Order:
    """A new order or return with its lines and computed totals; InvalidInput."""
    errors = Collector()
    values, lines = {}, []
    try:
        values = clean_order(org, data)
    except InvalidInput as exc:
        errors.absorb(exc)
    kind = values.get("kind") or data.get("kind") or OrderKind.ORDER
    try:
        lines = clean_lines(data.get("lines") or [], kind, products=products)
    except InvalidInput as exc:
        errors.absorb(exc)
    errors.raise_if_any()
    if not lines:
        raise InvalidInput({"lines": _("Add at least one line.")})

    values.update(compute_totals(lines, values["currency"], org.tax_rounding))
    order = Order.objects.create(organization=org, **values)
    _write_lines(org, order, lines)

    changes = audit.diff({}, audit.snapshot(order, ORDER_FIELDS))
    changes["lines"] = [None, [line_text(line) for line in order.lines.all()]]
    audit.record(org, actor, Action.CREATE, order, changes=changes)
    events.emit(org, actor, "order.created", order, data=event_data(order))
    _log_on_timeline(org, actor, order)
    logger.info("order.created", extra={"organization_id": org.id, "order_id": order.pk})
    return order


@transaction.atomic
def update_order(org, actor, order: Order, *, data: dict,
                 expected_version: int | None = None) -> Order:
    """Change an order's fields, and replace its lines when `lines` is given.

    StaleVersion when someone saved since `expected_version`; InvalidInput.
    """
    order = Order.objects.select_for_update().get(pk=order.pk)
    if expected_version is not None and expected_version != order.version:
        raise StaleVersion(current_version=order.version)
    errors = Collector()
    values, lines = {}, None
    try:
        values = clean_order(org, data, current=order)
    except InvalidInput as exc:
        errors.absorb(exc)
    kind = values.get("kind") or order.kind
    if "lines" in data:
        try:
            lines = clean_lines(data["lines"], kind)
        except InvalidInput as exc:
            errors.absorb(exc)
    errors.raise_if_any()
    if lines is not None and not lines:
        raise InvalidInput({"lines": _("Add at least one line.")})
    if lines is None and "kind" in values and values["kind"] != order.kind:
        # The lines' signs depend on the kind, so they are checked again.
        lines = clean_lines([_line_input(line) for line in order.lines.all()], kind)

    before = audit.snapshot(order, ORDER_FIELDS)
    before_lines = [line_text(line) for line in order.lines.all()]
    for field, value in values.items():
        setattr(order, field, value)
    if lines is not None:
        _write_lines(org, order, lines)
    currency = values.get("currency", order.currency)
    current_lines = [_line_input(line, with_product=False) for line in order.lines.all()]
    for field, value in compute_totals(current_lines, currency, org.tax_rounding).items():
        setattr(order, field, value)
    for stored, line in zip(order.lines.all(), current_lines, strict=True):
        if stored.line_total != line["line_total"]:
            OrderLine.objects.filter(pk=stored.pk).update(line_total=line["line_total"])
    changes = audit.diff(before, audit.snapshot(order, ORDER_FIELDS))
    after_lines = [line_text(line) for line in order.lines.all()]
    if after_lines != before_lines:
        changes["lines"] = [before_lines, after_lines]
    if not changes:
        return order
    order.save_new_version()
    audit.record(org, actor, Action.UPDATE, order, changes=changes)
    events.emit(org, actor, "order.updated", order,
                data={**event_data(order), "changed": sorted(changes)})
    return order


def _line_input(line: OrderLine, *, with_product: bool = True) -> dict:
    values = {"product": line.product_id, "sku": line.sku, "description": line.description,
              "quantity": line.quantity, "unit_price": line.unit_price,
              "discount_percent": line.discount_percent, "tax_percent": line.tax_percent}
    if not with_product:
        values.pop("product")
    return values


@transaction.atomic
def delete_order(org, actor, order: Order, *, expected_version: int | None = None) -> None:
    """Delete an order with its lines; returns that named it keep their lines."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    if expected_version is not None and expected_version != order.version:
        raise StaleVersion(current_version=order.version)

    data = event_data(order)
    audit.record(org, actor, Action.PURGE, order,
                 changes={key: [value, None] for key, value in
                          audit.snapshot(order, ORDER_FIELDS).items()
                          if value not in (None, "")})
    events.emit(org, actor, "order.deleted", order, data=data)
    order.delete()
    logger.info("order.deleted", extra={"organization_id": org.id, "order_id": data["id"]})
