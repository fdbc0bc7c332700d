"""A contact's scores under `/api/v1/contacts/{id}/scores`: RFM, loyalty, churn risk and
suggested products."""

import datetime as dt

from django.http import HttpRequest
from ninja import Router, Schema

from accord.customers import services as customers
from accord.identity.api_auth import allow
from accord.identity.permissions import has_permission
from accord.identity.visibility import require_visible

from .churn import top_reasons
from .models import ChurnScore, LoyaltyStatus, RfmScore
from .rfm import reasons_for
from .scoring import suggestions_for

router = Router(tags=["scores"])


class RfmOut(Schema):
    recency_days: int
    frequency: int
    monetary: str
    currency: str
    r: int
    f: int
    m: int
    segment: str
    reasons: list[str]
    computed_at: dt.datetime


class ChurnReasonOut(Schema):
    factor: str
    band: str
    weight: float
    text: str


class ChurnOut(Schema):
    risk: int
    health: int
    level: str
    top_reasons: list[ChurnReasonOut]
    reasons: list[ChurnReasonOut]
    computed_at: dt.datetime


class SuggestionOut(Schema):
    sku: str
    name: str
    because: str
    because_name: str
    together: int


class LoyaltyOut(Schema):
    points: int
    tier: str
    next_tier: str
    points_to_next: int
    computed_at: dt.datetime


class ScoresOut(Schema):
    rfm: RfmOut | None
    loyalty: LoyaltyOut | None
    churn: ChurnOut | None
    suggestions: list[SuggestionOut]


@router.get("/contacts/{contact_id}/scores", response=ScoresOut,
            summary="A contact's RFM score, churn risk and suggested products, with reasons")
def contact_scores(request: HttpRequest, contact_id: int):
    """Scores are made of orders and subscriptions, so they need `orders.view` besides
    seeing the contact; each is null (or empty) until the worker has computed it."""
    allow(request, "contacts.view")
    allow(request, "orders.view")
    contact = require_visible(request.membership, customers.get_contact(contact_id), "contacts")
    rfm = RfmScore.objects.filter(contact=contact).first()
    risk = ChurnScore.objects.filter(contact=contact).first()
    return {
        "loyalty": LoyaltyStatus.objects.filter(contact=contact).first(),
        "rfm": None if rfm is None else {
            "recency_days": rfm.recency_days, "frequency": rfm.frequency,
            "monetary": str(rfm.monetary), "currency": rfm.currency, "r": rfm.r, "f": rfm.f,
            "m": rfm.m, "segment": rfm.segment, "reasons": [str(r) for r in reasons_for(rfm)],
            "computed_at": rfm.computed_at},
        "churn": None if risk is None else {
            "risk": risk.risk, "health": risk.health, "level": risk.level,
            "top_reasons": top_reasons(risk.reasons), "reasons": risk.reasons,
            "computed_at": risk.computed_at},
        "suggestions": (suggestions_for(contact)
                        if has_permission(request.membership, "products.view") else []),
    }
