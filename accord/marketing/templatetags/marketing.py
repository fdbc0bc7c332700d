"""Template tags of the marketing pages shown on other apps' pages."""

from django import template

from accord.identity.permissions import has_permission

from .. import texting
from ..models import TextMessage
from ..sequence_models import Enrolment, Sequence

register = template.Library()

BOX_LIMIT = 10  # enrolments shown on a contact page, newest first


@register.inclusion_tag("marketing/_sequences_box.html", takes_context=True)
def sequences_box(context, *, contact):
    """The contact's enrolments in sequences, and enrolling it in one more."""
    membership = getattr(context["request"], "membership", None)
    if not has_permission(membership, "campaigns.view"):
        return {"visible": False}
    can_enrol = has_permission(membership, "campaigns.manage")
    return {
        "visible": True, "contact": contact, "can_enrol": can_enrol,
        "enrolments": list(Enrolment.objects.filter(contact=contact).select_related("sequence")
                           .order_by("-enrolled_at", "-id")[:BOX_LIMIT]),
        "sequences": list(Sequence.objects.order_by("name")) if can_enrol else [],
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("marketing/_texts_box.html", takes_context=True)
def texts_box(context, *, contact):
    """The texts sent to the contact, and a form to send one."""
    membership = getattr(context["request"], "membership", None)
    if not has_permission(membership, "contacts.view"):
        return {"visible": False}
    can_send = has_permission(membership, "activities.add")
    return {
        "visible": True, "contact": contact, "can_send": can_send,
        "can_market": has_permission(membership, "campaigns.manage"),
        "number": texting.number_of(contact),
        "refusal": texting.why_not(contact, marketing=False),
        "texts": list(TextMessage.objects.filter(contact=contact)[:BOX_LIMIT]),
        "limit": texting.MAX_BODY, "csrf_token": context.get("csrf_token"),
    }
