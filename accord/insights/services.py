"""Every write to the scores: computing them for a whole organisation at once."""

import datetime as dt
import logging
from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Max, Q, Sum
from django.utils import timezone

from accord.commerce.models import Order, OrderKind, OrderStatus
from accord.money import quantize

from .models import RfmScore
from .rfm import quintile_scores, segment_for

logger = logging.getLogger(__name__)

BATCH = 1000  # rows per upsert statement, well under SQLite's variable limit


def customer_totals(org, since: dt.datetime | None = None) -> dict[int, dict]:
    """Orders, last order day and net spent in the base currency, per contact who bought
    (since `since` when given).

    One query groups the organisation's orders by contact, currency and day;
    each group is converted at that day's rate, as the purchase summary on
    the contact page does. Groups in a currency without a rate are left out
    of the amount, as they are there.
    """
    from accord.sales.services import MissingRate, rate_on

    orders = Order.objects.filter(contact__isnull=False)
    if since is not None:
        orders = orders.filter(placed_at__gte=since)
    rows = (orders.exclude(status=OrderStatus.CANCELLED)
            .values("contact_id", "currency", "placed_at__date")
            .annotate(orders=Count("id", filter=Q(kind=OrderKind.ORDER)),
                      last=Max("placed_at", filter=Q(kind=OrderKind.ORDER)),
                      amount=Sum("total"))
            .order_by())
    rates: dict[tuple[str, dt.date], Decimal | None] = {}
    totals: dict[int, dict] = defaultdict(lambda: {"orders": 0, "last": None,
                                                   "spent": Decimal(0)})
    for row in rows:
        key = (row["currency"], row["placed_at__date"])
        if key not in rates:
            try:
                rates[key] = rate_on(org, *key)
            except MissingRate:
                rates[key] = None
        customer = totals[row["contact_id"]]
        customer["orders"] += row["orders"]
        if row["last"] is not None and (customer["last"] is None
                                        or row["last"] > customer["last"]):
            customer["last"] = row["last"]
        if rates[key] is not None and row["amount"] is not None:
            customer["spent"] += row["amount"] * rates[key]
    # A contact with only returns, or only cancelled orders, bought nothing.
    return {contact_id: customer for contact_id, customer in totals.items()
            if customer["orders"]}


def compute_rfm(org, today: dt.date | None = None) -> dict:
    """Recompute every RFM score of the organisation; returns counts of what it wrote.

    Must run inside the organisation's scope. Safe to run twice: each run
    writes one row per contact who bought, replacing the last run's, and
    removes the rows of contacts who no longer have a purchase.
    """
    today = today or timezone.localdate()
    currency = org.base_currency
    totals = customer_totals(org)

    contact_ids = list(totals)
    recency = [max(0, (today - timezone.localdate(totals[pk]["last"])).days)
               for pk in contact_ids]
    frequency = [totals[pk]["orders"] for pk in contact_ids]
    monetary = [quantize(totals[pk]["spent"], currency) for pk in contact_ids]
    r_scores = quintile_scores(recency, higher_is_better=False)
    f_scores = quintile_scores(frequency)
    m_scores = quintile_scores(monetary)

    now = timezone.now()
    scores = [
        RfmScore(organization=org, contact_id=pk, recency_days=recency[i],
                 frequency=frequency[i], monetary=monetary[i], currency=currency,
                 r=r_scores[i], f=f_scores[i], m=m_scores[i],
                 segment=segment_for(r_scores[i], f_scores[i], m_scores[i]),
                 computed_at=now)
        for i, pk in enumerate(contact_ids)
    ]
    with transaction.atomic():
        RfmScore.objects.bulk_create(
            scores, batch_size=BATCH, update_conflicts=True,
            unique_fields=["organization", "contact"],
            update_fields=["recency_days", "frequency", "monetary", "currency", "r", "f", "m",
                           "segment", "computed_at"])
        removed, _ = RfmScore.objects.filter(computed_at__lt=now).delete()

    logger.info("insights.rfm_computed", extra={"organization_id": org.id,
                                                "count": len(scores), "removed": removed})
    return {"organization": org.slug, "scored": len(scores), "removed": removed}
