"""The "Orders" box that contact, company and ticket pages show on their right."""

from django import template

from accord.identity.permissions import has_permission
from accord.identity.visibility import can_see, through_contact
from accord.insights.churn import top_reasons
from accord.insights.models import ChurnScore, LoyaltyStatus, RfmScore
from accord.insights.rfm import reasons_for
from accord.insights.scoring import suggestions_for

from ..models import Order, Subscription
from ..models.subscription import LIVE_STATUSES
from ..subscriptions import purchase_summary

register = template.Library()

BOX_ORDERS = 5  # latest orders listed; the order list filtered by customer has them all


@register.inclusion_tag("commerce/_orders_box.html", takes_context=True)
def orders_box(context, *, company=None, contact=None):
    """A customer's purchase summary, latest orders and live subscriptions.

    Given a contact (and perhaps their company, as on a ticket) the box is
    about the contact; given only a company, about every order of it.
    """
    request = context["request"]
    membership = getattr(request, "membership", None)
    if not has_permission(membership, "orders.view") or (contact is None and company is None):
        return {"visible": False}
    if contact is not None:
        where = {"contact": contact}
        list_query = f"contact_id={contact.pk}"
        new_query = f"contact={contact.pk}"
    else:
        where = {"company": company}
        list_query = f"company_id={company.pk}"
        new_query = f"company={company.pk}"
    rfm = churn = loyalty = None
    suggestions = []
    # Orders follow their contact's visibility, so the scores, made of them, do too.
    if contact is not None and can_see(membership, contact, "contacts"):
        score = RfmScore.objects.filter(contact=contact).first()
        if score is not None:
            rfm = {"score": score, "reasons": reasons_for(score)}
        loyalty = LoyaltyStatus.objects.filter(contact=contact).first()
        risk = ChurnScore.objects.filter(contact=contact).first()
        if risk is not None:
            churn = {"score": risk, "reasons": top_reasons(risk.reasons)}
        if has_permission(membership, "products.view"):
            suggestions = suggestions_for(contact)
    orders = through_contact(Order.objects.filter(**where), membership)
    subscriptions = through_contact(Subscription.objects.filter(**where), membership)
    return {
        "visible": True,
        "summary": purchase_summary(request.organization, orders=orders,
                                    subscriptions=subscriptions),
        "orders": list(orders.order_by("-placed_at", "-id")[:BOX_ORDERS]),
        "subscriptions": list(subscriptions.filter(status__in=LIVE_STATUSES)
                              .order_by("-started_at", "-id")),
        "list_query": list_query, "new_query": new_query,
        "can_add": has_permission(membership, "orders.add"),
        "rfm": rfm, "churn": churn, "loyalty": loyalty, "suggestions": suggestions,
    }
