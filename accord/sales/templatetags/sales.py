"""The "Deals" box that company and contact pages show on their right."""

from django import template

from accord.identity.permissions import has_permission
from accord.identity.visibility import visible

from ..models import Deal, DealStatus

register = template.Library()

BOX_OPEN = 10  # open deals listed; the deal list filtered by company has them all
BOX_CLOSED = 5  # most recently closed deals listed


@register.inclusion_tag("sales/_deals_box.html", takes_context=True)
def deals_box(context, *, company=None, contact=None):
    """Open and recently closed deals of a company or a contact, with a pre-filled "New deal"."""
    request = context["request"]
    membership = getattr(request, "membership", None)
    if not has_permission(membership, "deals.view"):
        return {"visible": False}
    deals = visible(Deal.objects.select_related("stage"), membership, "deals").order_by("-id")
    if company is not None:
        deals = deals.filter(company=company)
        new_query = f"company={company.pk}"
    else:
        deals = deals.filter(contact_links__contact=contact)
        new_query = f"contact={contact.pk}"
        if contact.company_id:
            new_query += f"&company={contact.company_id}"
    return {
        "visible": True,
        "open_deals": list(deals.filter(status=DealStatus.OPEN)[:BOX_OPEN]),
        "closed_deals": list(deals.exclude(status=DealStatus.OPEN)
                             .order_by("-closed_on", "-id")[:BOX_CLOSED]),
        "new_query": new_query,
        "can_add": has_permission(membership, "deals.add"),
    }
