"""`{% linking_records_box contact=... %}`: the custom records that link to a record, by type."""

from django import template

from accord.identity.permissions import has_permission
from accord.records import services

register = template.Library()


@register.inclusion_tag("records/_linking_records.html", takes_context=True)
def linking_records_box(context, **target):
    """One panel per record type whose records link to the contact, company or deal given."""
    membership = getattr(context["request"], "membership", None)
    if not has_permission(membership, "records.view"):
        return {"groups": []}
    return {"groups": services.linking_records(membership, **target)}
