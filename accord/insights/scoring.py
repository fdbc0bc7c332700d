"""Churn risk and product suggestions computed from the organisation's records.

`compute_churn` learns the organisation's scorecard from its subscription
history and scores every customer with a live subscription;
`compute_similar_products` counts which products the same customers bought;
`suggestions_for` reads those counts for one contact. The arithmetic lives in
`churn` and `recommend`; this module only gathers the inputs and stores the
results. Call everything inside the organisation's scope.
"""

import datetime as dt
import logging
from collections import defaultdict

from django.db import transaction
from django.utils import timezone

from accord.commerce.models import (
    BehaviourEvent,
    OrderKind,
    OrderLine,
    OrderStatus,
    Product,
    Subscription,
    SubscriptionStatus,
)
from accord.commerce.models.subscription import LIVE_STATUSES
from accord.service.models import SatisfactionSurvey, Ticket

from . import churn, recommend
from .models import ChurnModel, ChurnScore, SimilarProduct

logger = logging.getLogger(__name__)

BATCH = 1000  # rows per upsert statement, well under SQLite's variable limit
POOR_RATING = 2  # of 5: dissatisfied or very dissatisfied
# Behaviour event types that mean a payment did not go through; every other
# type counts as the customer using the product.
PAYMENT_FAILED = ("payment.failed", "payment_failed")


def _customers(org) -> dict[int, dict]:
    """Per contact with a subscription: when to look from, and whether they left.

    A contact with a live subscription is looked at as of now; one whose
    every subscription is cancelled left, and is looked at as of their last
    cancellation, so that the factors describe them before they went.
    Trialing-only contacts are left out: they have not decided yet.
    """
    now = timezone.now()
    found: dict[int, dict] = {}
    rows = (Subscription.objects.filter(contact__isnull=False)
            .values_list("contact_id", "status", "started_at", "renews_on", "cancelled_at",
                         "plan_name", "mrr")
            .order_by("contact_id", "started_at", "id"))
    for contact_id, status, started, renews, cancelled, plan, mrr in rows.iterator():
        customer = found.setdefault(contact_id, {"live": [], "cancelled": [], "first": started})
        customer["first"] = min(customer["first"], started)
        if status in LIVE_STATUSES:
            customer["live"].append((renews, plan, mrr))
        elif status == SubscriptionStatus.CANCELLED:
            customer["cancelled"].append((cancelled or now, renews, plan, mrr))
    out = {}
    for contact_id, customer in found.items():
        if customer["live"]:
            renewals = [renews for renews, _plan, _mrr in customer["live"] if renews]
            out[contact_id] = {
                "left": False, "as_of": now, "first": customer["first"],
                "renews_on": min(renewals) if renewals else None,
                "plan": customer["live"][-1][1],
                "mrr": sum(mrr for _renews, _plan, mrr in customer["live"]),
            }
        elif customer["cancelled"]:
            when, renews, plan, mrr = max(customer["cancelled"], key=lambda entry: entry[0])
            out[contact_id] = {"left": True, "as_of": when, "first": customer["first"],
                               "renews_on": renews, "plan": plan, "mrr": mrr}
    return out


def _dated(rows, customers: dict) -> dict[int, list]:
    by_contact = defaultdict(list)
    for contact_id, when, *rest in rows.iterator():
        if contact_id in customers:
            by_contact[contact_id].append((when, *rest))
    return by_contact


def _count_within(times, as_of: dt.datetime, days: int) -> int:
    """How many of `times` fall in the `days` before `as_of`."""
    since = as_of - dt.timedelta(days=days)
    return sum(1 for when in times if when is not None and since <= when <= as_of)


def churn_factors(org, customers: dict) -> dict[int, dict]:
    """The raw factor values of each customer, as of their `as_of` moment."""
    tickets = _dated(Ticket.objects.filter(contact__isnull=False)
                     .values_list("contact_id", "created_at").order_by(), customers)
    ratings = _dated(SatisfactionSurvey.objects.filter(ticket__contact__isnull=False,
                                                       rating__isnull=False)
                     .values_list("ticket__contact_id", "rated_at", "rating").order_by(),
                     customers)
    events = _dated(BehaviourEvent.objects.values_list("contact_id", "occurred_at", "type")
                    .order_by(), customers)
    factors = {}
    for contact_id, customer in customers.items():
        as_of = customer["as_of"]
        as_of_day = timezone.localdate(as_of)
        used = [when for when, kind in events.get(contact_id, ())
                if kind not in PAYMENT_FAILED and when <= as_of]
        failed = [when for when, kind in events.get(contact_id, ()) if kind in PAYMENT_FAILED]
        poor = [when for when, rating in ratings.get(contact_id, ()) if rating <= POOR_RATING]
        opened = [when for (when,) in tickets.get(contact_id, ())]
        renews = customer["renews_on"]
        factors[contact_id] = {
            "tenure_months": max(0, (as_of_day - customer["first"]).days) // 30,
            "plan": customer["plan"],
            "mrr": float(customer["mrr"]),
            "days_to_renewal": max(0, (renews - as_of_day).days) if renews else None,
            "tickets_90d": _count_within(opened, as_of, 90),
            "poor_ratings": _count_within(poor, as_of, 365),
            "days_since_use": (as_of - max(used)).days if used else None,
            "failed_payments_90d": _count_within(failed, as_of, 90),
        }
    return factors


def compute_churn(org) -> dict:
    """Learn the organisation's churn scorecard and score its live customers.

    Safe to run twice. With too little history (see churn.MIN_EACH_OUTCOME)
    the stored model is emptied and every churn score removed, so no one
    reads a risk that was never learnt.
    """
    customers = _customers(org)
    factors = churn_factors(org, customers)
    ids = list(customers)
    now = timezone.now()
    try:
        model = churn.train([factors[pk] for pk in ids], [customers[pk]["left"] for pk in ids])
    except churn.NotEnoughHistory as short:
        with transaction.atomic():
            ChurnModel.objects.update_or_create(organization=org, defaults={
                "base": 0, "weights": {}, "left": short.left, "stayed": short.stayed,
                "trained_at": now})
            removed, _ = ChurnScore.objects.all().delete()
        logger.info("insights.churn_not_enough_history",
                    extra={"organization_id": org.id, "left": short.left,
                           "stayed": short.stayed})
        return {"scored": 0, "removed": removed, "left": short.left, "stayed": short.stayed}

    scores = []
    for pk in ids:
        if customers[pk]["left"]:
            continue
        risk, parts = churn.score(model, factors[pk])
        scores.append(ChurnScore(organization=org, contact_id=pk, risk=risk,
                                 level=churn.band_of_risk(risk), reasons=parts,
                                 computed_at=now))
    with transaction.atomic():
        ChurnModel.objects.update_or_create(organization=org, defaults={
            "base": model.base, "weights": model.weights, "left": model.left,
            "stayed": model.stayed, "trained_at": now})
        ChurnScore.objects.bulk_create(
            scores, batch_size=BATCH, update_conflicts=True,
            unique_fields=["organization", "contact"],
            update_fields=["risk", "level", "reasons", "computed_at"])
        removed, _ = ChurnScore.objects.filter(computed_at__lt=now).delete()
    logger.info("insights.churn_computed", extra={"organization_id": org.id,
                                                  "count": len(scores), "removed": removed})
    return {"scored": len(scores), "removed": removed, "left": model.left,
            "stayed": model.stayed}


def _baskets(org) -> tuple[dict[int, set[str]], dict[str, str]]:
    """Per contact, the SKUs they bought in orders not cancelled; and each SKU's name.

    The name is the catalogue product's when one has the SKU, otherwise the
    description of the SKU's latest order line.
    """
    rows = (OrderLine.objects.filter(order__contact__isnull=False, order__kind=OrderKind.ORDER)
            .exclude(order__status=OrderStatus.CANCELLED).exclude(sku="")
            .values_list("order__contact_id", "sku", "description")
            .order_by("order__placed_at", "id"))
    baskets: dict[int, set[str]] = defaultdict(set)
    names: dict[str, str] = {}
    for contact_id, sku, description in rows.iterator():
        baskets[contact_id].add(sku)
        if description:
            names[sku] = description
    names.update(Product.objects.filter(sku__in=list(names)).values_list("sku", "name"))
    return baskets, names


def compute_similar_products(org) -> dict:
    """Recount which products the same customers bought; replaces the last count."""
    baskets, names = _baskets(org)
    similar = recommend.similar_products(baskets.values())
    now = timezone.now()
    rows = [SimilarProduct(organization=org, sku=sku, other_sku=other,
                           other_name=names.get(other, "")[:300], score=score,
                           together=together, computed_at=now)
            for sku, others in similar.items() for other, score, together in others]
    with transaction.atomic():
        SimilarProduct.objects.bulk_create(
            rows, batch_size=BATCH, update_conflicts=True,
            unique_fields=["organization", "sku", "other_sku"],
            update_fields=["other_name", "score", "together", "computed_at"])
        removed, _ = SimilarProduct.objects.filter(computed_at__lt=now).delete()
    logger.info("insights.similar_products_computed",
                extra={"organization_id": org.id, "count": len(rows), "removed": removed})
    return {"pairs": len(rows), "removed": removed}


def suggestions_for(contact, limit: int = 5) -> list[dict]:
    """Products to suggest to `contact`, best first: `{"sku", "name", "because",
    "because_name", "together"}`.

    Empty for a contact who bought nothing, or when no one else bought what
    they did. A SKU whose catalogue product is switched off is not suggested.
    """
    bought = set(OrderLine.objects.filter(order__contact=contact, order__kind=OrderKind.ORDER)
                 .exclude(order__status=OrderStatus.CANCELLED).exclude(sku="")
                 .values_list("sku", flat=True))
    if not bought:
        return []
    similar: dict[str, list] = defaultdict(list)
    pairs: dict[tuple[str, str], tuple[str, int]] = {}
    for sku, other, name, score, together in (
            SimilarProduct.objects.filter(sku__in=bought)
            .values_list("sku", "other_sku", "other_name", "score", "together")):
        similar[sku].append((other, score, together))
        pairs[(sku, other)] = (name, together)
    ranked = recommend.recommend(bought, similar, limit=limit * 2)
    retired = set(Product.objects.filter(sku__in=[sku for sku, _s, _b in ranked],
                                         is_active=False).values_list("sku", flat=True))
    names = dict(Product.objects.filter(sku__in=bought).values_list("sku", "name"))
    out = []
    for sku, _score, because in ranked:
        if sku in retired:
            continue
        name, together = pairs[(because, sku)]
        out.append({"sku": sku, "name": name or sku, "because": because,
                    "because_name": names.get(because) or _bought_name(contact, because),
                    "together": together})
        if len(out) == limit:
            break
    return out


def _bought_name(contact, sku: str) -> str:
    description = (OrderLine.objects.filter(order__contact=contact, sku=sku)
                   .exclude(description="").values_list("description", flat=True).first())
    return description or sku
