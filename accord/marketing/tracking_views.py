"""The links inside campaign e-mails: no sign-in, a signed token in the path.

Unsubscribing answers a GET with a page to confirm and unsubscribes on POST;
a POST needs no CSRF token, because mail programs make the RFC 8058
one-click POST themselves and the token in the URL is what authorises it.
"""

import base64
import contextlib

from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods
from django_scopes import scope

from accord.errors import NotFound

from . import sequence_tracking, tracking

# The smallest transparent GIF: 1x1 pixel.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    try:
        org, (recipient_id,) = tracking.read_token("unsubscribe", token)
    except (NotFound, ValueError):
        return render(request, "marketing/unsubscribe.html", {"invalid": True}, status=404)
    with scope(organization=org):
        try:
            recipient = tracking.recipient_for(recipient_id)
        except NotFound:
            return render(request, "marketing/unsubscribe.html", {"invalid": True}, status=404)
        if request.method == "POST":
            tracking.unsubscribe(org, recipient)
            return render(request, "marketing/unsubscribe.html", {"done": True, "org": org})
        return render(request, "marketing/unsubscribe.html", {
            "org": org, "address": recipient.address,
            "done": recipient.unsubscribed_at is not None})


@never_cache
@require_GET
def track_open(request, token: str):
    try:
        org, (recipient_id,) = tracking.read_token("open", token)
    except (NotFound, ValueError):
        # A broken pixel must not show a broken image in the e-mail.
        return HttpResponse(PIXEL, content_type="image/gif")
    with scope(organization=org), contextlib.suppress(NotFound):
        tracking.record_open(org, tracking.recipient_for(recipient_id))
    return HttpResponse(PIXEL, content_type="image/gif")


@never_cache
@require_GET
def track_click(request, token: str):
    try:
        org, (recipient_id, position) = tracking.read_token("click", token)
    except (NotFound, ValueError) as exc:
        raise Http404("This link is not valid.") from exc
    with scope(organization=org):
        try:
            url = tracking.record_click(org, tracking.recipient_for(recipient_id), position)
        except NotFound as exc:
            raise Http404(exc.detail) from exc
    return HttpResponseRedirect(url)


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def sequence_unsubscribe(request, token: str):
    try:
        org, (message_id,) = tracking.read_token("sequence_unsubscribe", token)
    except (NotFound, ValueError):
        return render(request, "marketing/unsubscribe.html", {"invalid": True}, status=404)
    with scope(organization=org):
        try:
            message = sequence_tracking.message_for(message_id)
        except NotFound:
            return render(request, "marketing/unsubscribe.html", {"invalid": True}, status=404)
        if request.method == "POST":
            sequence_tracking.unsubscribe(org, message)
            return render(request, "marketing/unsubscribe.html", {"done": True, "org": org})
        return render(request, "marketing/unsubscribe.html", {
            "org": org, "address": message.address,
            "done": message.unsubscribed_at is not None})


@never_cache
@require_GET
def sequence_open(request, token: str):
    try:
        org, (message_id,) = tracking.read_token("sequence_open", token)
    except (NotFound, ValueError):
        return HttpResponse(PIXEL, content_type="image/gif")
    with scope(organization=org), contextlib.suppress(NotFound):
        sequence_tracking.record_open(org, sequence_tracking.message_for(message_id))
    return HttpResponse(PIXEL, content_type="image/gif")


@never_cache
@require_GET
def sequence_click(request, token: str):
    try:
        org, (message_id, position) = tracking.read_token("sequence_click", token)
    except (NotFound, ValueError) as exc:
        raise Http404("This link is not valid.") from exc
    with scope(organization=org):
        try:
            url = sequence_tracking.record_click(org, sequence_tracking.message_for(message_id),
                                                 position)
        except NotFound as exc:
            raise Http404(exc.detail) from exc
    return HttpResponseRedirect(url)
