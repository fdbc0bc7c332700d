"""The preference centre page, reached by the signed link in e-mails; no sign-in."""

from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from django_scopes import scope

from accord.customers.models import ConsentChannel
from accord.errors import NotFound

from . import preferences


# Exempt from CSRF: the visitor has no session here, and the signed token in
# the address is the only authority a post carries, so a forged post could do
# no more than the link's holder.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def preference_centre(request, token: str) -> HttpResponse:
    """Each channel and purpose with a checkbox; saving records only what changed."""
    try:
        contact = preferences.contact_for_token(token)
    except NotFound as exc:
        return render(request, "marketing/preference_invalid.html", {"detail": exc.detail},
                      status=404)
    org = contact.organization
    saved = None
    with scope(organization=org):
        if request.method == "POST":
            ip = request.META.get("REMOTE_ADDR", "")
            if request.POST.get("action") == "unsubscribe":
                preferences.unsubscribe_from_all(org, contact, ip=ip)
                saved = _("You are unsubscribed from everything. You can opt in again here "
                          "at any time.")
            else:
                wanted = {tuple(value.split(":", 1)) for value in request.POST.getlist("consent")
                          if ":" in value}
                preferences.save_preferences(org, contact, wanted, ip=ip)
                saved = _("Your preferences are saved.")
        state = preferences.current_state(contact)
        offered = preferences.purposes_offered(org)
    rows = [{"purpose": label,
             "cells": [{"value": f"{channel}:{purpose}", "channel": channel_label,
                        "checked": state[(channel, purpose)]}
                       for channel, channel_label in ConsentChannel.choices]}
            for purpose, label in offered]
    return render(request, "marketing/preference_centre.html", {
        "org": org, "contact": contact, "rows": rows, "channels": ConsentChannel.labels,
        "saved": saved})
