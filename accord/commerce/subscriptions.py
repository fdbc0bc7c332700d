"""Every write to subscriptions, as verbs, and the purchase summary of a customer.

Cancelling is a change of status that also stamps when and why; a
cancelled subscription keeps its MRR as it was, but no longer counts in
the customer's live MRR.
"""

import datetime as dt
import logging
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Max, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accord import events
from accord.activities import services as timeline
from accord.audit import services as audit
from accord.audit.models import Action
from accord.customers.validation import Collector
from accord.errors import NotFound, StaleVersion
from accord.money import is_currency, quantize
from accord.sales.validation import clean_decimal

from .models import OrderKind, OrderStatus, Product, Subscription, SubscriptionStatus
from .models.subscription import LIVE_STATUSES
from .validation import clean_choice, clean_moment, find_company, find_contact, to_pk

logger = logging.getLogger(__name__)

SUBSCRIPTION_FIELDS = ["contact", "company", "product", "plan_name", "status", "mrr",
                       "currency", "started_at", "renews_on", "cancelled_at", "cancel_reason"]
MAX_MRR = Decimal("9999999999")


def get_subscription(subscription_id) -> Subscription:
    found = (Subscription.objects.filter(pk=to_pk(subscription_id)).first()
             if to_pk(subscription_id) else None)
    if found is None:
        raise NotFound(_("No subscription with this id."))
    return found


def _clean_date(value, field: str, errors: Collector) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        errors.add(field, _("Enter a date such as 2025-03-01."))
        return None


def clean_subscription(org, data: dict, *, current: Subscription | None = None) -> dict:
    """Validated values for the fields present in `data`; InvalidInput names each bad one.

    A new subscription needs a plan name and an MRR; it belongs to a contact
    or a company (the contact's company when only the contact is given).
    """
    is_new = current is None
    errors = Collector()
    values: dict = {}
    if "plan_name" in data or is_new:
        plan = str(data.get("plan_name") or "").strip()
        if not plan:
            errors.add("plan_name", _("Name the plan."))
        elif len(plan) > 200:
            errors.add("plan_name", _("Use at most 200 characters."))
        values["plan_name"] = plan
    if "status" in data or is_new:
        values["status"] = clean_choice(data.get("status") or SubscriptionStatus.ACTIVE,
                                   SubscriptionStatus, "status", errors)
    if "mrr" in data or is_new:
        field_errors: dict = {}
        mrr = clean_decimal(data.get("mrr"), "mrr", field_errors, minimum=Decimal(0),
                            maximum=MAX_MRR)
        if mrr is None and not field_errors:
            field_errors["mrr"] = _("Enter the monthly recurring revenue.")
        for field, message in field_errors.items():
            errors.add(field, message)
        values["mrr"] = mrr
    if "currency" in data or is_new:
        code = str(data.get("currency") or org.base_currency).strip().upper()
        if not is_currency(code):
            errors.add("currency", _("Use a three-letter ISO 4217 code such as EUR."))
        values["currency"] = code
    if "started_at" in data or is_new:
        values["started_at"] = (_clean_date(data.get("started_at"), "started_at", errors)
                                or timezone.localdate())
    if "renews_on" in data:
        values["renews_on"] = _clean_date(data.get("renews_on"), "renews_on", errors)
    if "cancelled_at" in data:
        values["cancelled_at"] = (clean_moment(data["cancelled_at"], "cancelled_at", errors)
                                  if data["cancelled_at"] else None)
    if "cancel_reason" in data:
        reason = str(data.get("cancel_reason") or "").strip()
        if len(reason) > 200:
            errors.add("cancel_reason", _("Use at most 200 characters."))
        values["cancel_reason"] = reason
    if "contact" in data:
        values["contact"] = find_contact(data["contact"], errors,
                                         kept=getattr(current, "contact_id", None))
    if "company" in data:
        values["company"] = find_company(data["company"], errors,
                                         kept=getattr(current, "company_id", None))
    if "product" in data:
        product = None
        if data["product"] not in (None, ""):
            product = Product.objects.filter(pk=to_pk(data["product"])).first()
            if product is None:
                errors.add("product", _("No product with this id."))
        values["product"] = product
    errors.raise_if_any()
    if values.get("contact") and not values.get("company"):
        values["company"] = values["contact"].company
    contact = values.get("contact", getattr(current, "contact", None))
    company = values.get("company", getattr(current, "company", None))
    if contact is None and company is None:
        errors.add("contact", _("Choose the contact or company who subscribes."))
    started = values.get("started_at", getattr(current, "started_at", None))
    renews = values.get("renews_on", getattr(current, "renews_on", None))
    if started and renews and renews < started:
        errors.add("renews_on", _("The renewal date cannot be before the start."))
    errors.raise_if_any()
    return values


def _event_data(subscription: Subscription) -> dict:
    return {"id": subscription.pk, "plan_name": subscription.plan_name,
            "status": subscription.status, "mrr": str(subscription.mrr),
            "currency": subscription.currency, "contact_id": subscription.contact_id,
            "company_id": subscription.company_id, "renews_on": subscription.renews_on}


def _log(org, actor, subscription: Subscription, event: str) -> None:
    timeline.log_event(org, actor, event, contact=subscription.contact,
                       company=subscription.company,
                       data={"subscription_id": subscription.pk,
                             "plan_name": subscription.plan_name,
                             "mrr": str(subscription.mrr), "currency": subscription.currency})


@transaction.atomic
def create_subscription(org, actor, *, data: dict) -> Subscription:
    """A new subscription; InvalidInput names each bad field."""
    values = clean_subscription(org, data)
    if values["status"] == SubscriptionStatus.CANCELLED and not values.get("cancelled_at"):
        values["cancelled_at"] = timezone.now()

    subscription = Subscription.objects.create(organization=org, **values)

    audit.record(org, actor, Action.CREATE, subscription, changes=audit.diff(
        {}, audit.snapshot(subscription, SUBSCRIPTION_FIELDS)))
    events.emit(org, actor, "subscription.created", subscription,
                data=_event_data(subscription))
    _log(org, actor, subscription, "subscription.started")
    logger.info("subscription.created", extra={"organization_id": org.id,
                                               "subscription_id": subscription.pk})
    return subscription


@transaction.atomic
def update_subscription(org, actor, subscription: Subscription, *, data: dict,
                        expected_version: int | None = None) -> Subscription:
    """Change a subscription; setting status "cancelled" stamps `cancelled_at` if unset.

    StaleVersion when someone saved since `expected_version`; InvalidInput.
    """
    subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
    if expected_version is not None and expected_version != subscription.version:
        raise StaleVersion(current_version=subscription.version)
    values = clean_subscription(org, data, current=subscription)
    cancelling = (values.get("status") == SubscriptionStatus.CANCELLED
                  and subscription.status != SubscriptionStatus.CANCELLED)
    if cancelling and not values.get("cancelled_at") and not subscription.cancelled_at:
        values["cancelled_at"] = timezone.now()

    before = audit.snapshot(subscription, SUBSCRIPTION_FIELDS)
    for field, value in values.items():
        setattr(subscription, field, value)
    changes = audit.diff(before, audit.snapshot(subscription, SUBSCRIPTION_FIELDS))
    if not changes:
        return subscription
    subscription.save_new_version()
    audit.record(org, actor, Action.UPDATE, subscription, changes=changes)
    events.emit(org, actor, "subscription.updated", subscription,
                data={**_event_data(subscription), "changed": sorted(changes)})
    if cancelling:
        events.emit(org, actor, "subscription.cancelled", subscription,
                    data=_event_data(subscription))
        _log(org, actor, subscription, "subscription.cancelled")
    return subscription


def cancel_subscription(org, actor, subscription: Subscription, *, reason: str = "",
                        expected_version: int | None = None) -> Subscription:
    """Cancel now, with the customer's reason."""
    return update_subscription(org, actor, subscription, data={
        "status": SubscriptionStatus.CANCELLED, "cancel_reason": reason},
        expected_version=expected_version)


@transaction.atomic
def delete_subscription(org, actor, subscription: Subscription, *,
                        expected_version: int | None = None) -> None:
    """Delete a subscription entered by mistake; cancel one that ended instead."""
    subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
    if expected_version is not None and expected_version != subscription.version:
        raise StaleVersion(current_version=subscription.version)

    data = _event_data(subscription)
    audit.record(org, actor, Action.PURGE, subscription)
    events.emit(org, actor, "subscription.deleted", subscription, data=data)
    subscription.delete()


def purchase_summary(org, *, orders, subscriptions) -> dict:
    """Orders count, net spent, last order and live subscriptions, over the querysets given.

    The caller passes one customer's orders and subscriptions, narrowed to
    what the member may see. Amounts are in the organisation's base
    currency, converted with its exchange rates on each order's day, with
    returns taken off; orders in a currency without a rate are left out of
    the total and their days counted in `unconverted`.
    """
    from accord.sales.services import MissingRate, to_base

    orders = orders.exclude(status=OrderStatus.CANCELLED)
    counts = orders.aggregate(
        count=Count("id", filter=Q(kind=OrderKind.ORDER)), last=Max("placed_at"))
    spent = Decimal(0)
    unconverted = 0
    rows = orders.values("currency", "placed_at__date").annotate(sum=Sum("total"))
    for row in rows.order_by():
        try:
            spent += to_base(org, row["sum"], row["currency"], row["placed_at__date"])
        except MissingRate:
            unconverted += 1
    subscriptions = subscriptions.filter(status__in=LIVE_STATUSES)
    mrr = Decimal(0)
    live = 0
    mrr_unconverted = 0
    today = timezone.localdate()
    for row in (subscriptions.values("currency").annotate(sum=Sum("mrr"), n=Count("id"))
                .order_by()):
        live += row["n"]
        try:
            mrr += to_base(org, row["sum"], row["currency"], today)
        except MissingRate:
            mrr_unconverted += row["n"]
    currency = org.base_currency
    return {"orders": counts["count"], "spent": quantize(spent, currency),
            "last_order_at": counts["last"], "unconverted": unconverted,
            "subscriptions": live, "mrr": quantize(mrr, currency),
            "mrr_unconverted": mrr_unconverted, "currency": currency}
