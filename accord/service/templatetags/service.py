"""The "Tickets" box that company and contact pages show on their right."""

from django import template

from accord.identity.permissions import has_permission

from ..models import UNRESOLVED, Ticket
from ..queries import visible_tickets

register = template.Library()

BOX_OPEN = 10  # unresolved tickets listed; the ticket list filtered by customer has them all
BOX_DONE = 5  # most recently solved or closed tickets listed


@register.inclusion_tag("service/_tickets_box.html", takes_context=True)
def tickets_box(context, *, company=None, contact=None):
    """Unresolved and recently solved tickets of a company or a contact."""
    request = context["request"]
    membership = getattr(request, "membership", None)
    if not has_permission(membership, "tickets.view"):
        return {"visible": False}
    tickets = visible_tickets(Ticket.objects.order_by("-id"), membership)
    if company is not None:
        tickets = tickets.filter(company=company)
        list_query = f"view=all&company_id={company.pk}"
        new_query = ""
    else:
        tickets = tickets.filter(contact=contact)
        list_query = f"view=all&contact_id={contact.pk}"
        new_query = f"contact={contact.pk}"
    return {
        "visible": True,
        "open_tickets": list(tickets.filter(status__in=UNRESOLVED)[:BOX_OPEN]),
        "done_tickets": list(tickets.exclude(status__in=UNRESOLVED)[:BOX_DONE]),
        "list_query": list_query, "new_query": new_query,
        "can_add": has_permission(membership, "tickets.add") and contact is not None,
    }
