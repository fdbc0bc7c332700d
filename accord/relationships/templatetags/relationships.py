from django import template

from accord.identity.permissions import has_permission

from .. import graph, services

register = template.Library()


@register.inclusion_tag("relationships/_relationships_box.html", takes_context=True)
def relationships_box(context, *, contact):
    """The contact's relationships the member may see, as a list and a small graph."""
    request = context["request"]
    membership = getattr(request, "membership", None)
    known = services.roles()
    rows = []
    for relationship in services.visible_relationships(membership, contact):
        other = services.other_side(relationship, contact)
        rows.append({"relationship": relationship, "other": other,
                     "label": services.label_for(relationship, contact, known),
                     "ended": relationship.ended_on is not None})
    current = [{"name": str(row["other"]), "label": row["label"],
                "url": row["other"].get_absolute_url(), "ended": row["ended"]}
               for row in rows if not row["ended"]]
    return {
        "contact": contact, "rows": rows, "roles": known,
        "graph": graph.layout(str(contact), current) if current else None,
        "can_change": has_permission(membership, "contacts.change"),
        "csrf_token": context.get("csrf_token"),
    }
