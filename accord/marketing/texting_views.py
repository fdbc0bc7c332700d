"""Sending a text message from the contact page."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accord.customers import services as customer_services
from accord.errors import InvalidInput, NotFound
from accord.identity.models import Area
from accord.identity.permissions import has_permission, permission_required
from accord.identity.visibility import can_see

from . import texting


@require_POST
@permission_required("activities.add")
def contact_text(request, contact_pk: int):
    """Send the text written on the contact page, and say how it went."""
    try:
        contact = customer_services.get_contact(contact_pk)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    if not can_see(request.membership, contact, Area.CONTACTS):
        raise Http404(_("No contact with this id."))
    marketing = request.POST.get("marketing") == "on"
    if marketing and not has_permission(request.membership, "campaigns.manage"):
        raise PermissionDenied(_("Only those who run campaigns send marketing texts."))
    try:
        message = texting.send_text(request.organization, request.user, contact,
                                    request.POST.get("body", ""), marketing=marketing)
    except InvalidInput as exc:
        messages.error(request, exc.errors[0]["message"] if exc.errors else exc.detail)
    except texting.NotSendable as exc:
        messages.error(request, exc.detail)
    else:
        if message.status == "sent":
            messages.success(request, _("Text sent to %(to)s.") % {"to": message.to})
        else:
            messages.warning(request, message.error)
    return redirect(contact.get_absolute_url())
