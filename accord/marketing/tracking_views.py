"""The links inside campaign and sequence e-mails: no sign-in, a signed token in the path.

Unsubscribing answers a GET with a page to confirm and unsubscribes on POST;
a POST needs no CSRF token, because mail programs make the RFC 8058
one-click POST themselves and the token in the URL is what authorises it.
"""

import base64
import contextlib
from collections.abc import Callable
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Mail:
    """Where the e-mail behind a token is kept, and what its links do to it."""

    kind: str  # token kinds are "<kind>unsubscribe", "<kind>open" and "<kind>click"
    find: Callable
    unsubscribe: Callable
    record_open: Callable
    record_click: Callable


CAMPAIGN = Mail("", tracking.recipient_for, tracking.unsubscribe, tracking.record_open,
                tracking.record_click)
SEQUENCE = Mail("sequence_", sequence_tracking.message_for, sequence_tracking.unsubscribe,
                sequence_tracking.record_open, sequence_tracking.record_click)


def _unsubscribe(request, token: str, mail: Mail):
    try:
        org, (sent_id,) = tracking.read_token(f"{mail.kind}unsubscribe", token)
    except (NotFound, ValueError):
        return render(request, "marketing/unsubscribe.html", {"invalid": True}, status=404)
    with scope(organization=org):
        try:
            sent = mail.find(sent_id)
        except NotFound:
            return render(request, "marketing/unsubscribe.html", {"invalid": True}, status=404)
        if request.method == "POST":
            mail.unsubscribe(org, sent)
            return render(request, "marketing/unsubscribe.html", {"done": True, "org": org})
        return render(request, "marketing/unsubscribe.html", {
            "org": org, "address": sent.address, "done": sent.unsubscribed_at is not None})


def _open(token: str, mail: Mail):
    try:
        org, (sent_id,) = tracking.read_token(f"{mail.kind}open", token)
    except (NotFound, ValueError):
        # A broken pixel must not show a broken image in the e-mail.
        return HttpResponse(PIXEL, content_type="image/gif")
    with scope(organization=org), contextlib.suppress(NotFound):
        mail.record_open(org, mail.find(sent_id))
    return HttpResponse(PIXEL, content_type="image/gif")


def _click(token: str, mail: Mail):
    try:
        org, (sent_id, position) = tracking.read_token(f"{mail.kind}click", token)
    except (NotFound, ValueError) as exc:
        raise Http404("This link is not valid.") from exc
    with scope(organization=org):
        try:
            url = mail.record_click(org, mail.find(sent_id), position)
        except NotFound as exc:
            raise Http404(exc.detail) from exc
    return HttpResponseRedirect(url)


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    return _unsubscribe(request, token, CAMPAIGN)


@never_cache
@require_GET
def track_open(request, token: str):
    return _open(token, CAMPAIGN)


@never_cache
@require_GET
def track_click(request, token: str):
    return _click(token, CAMPAIGN)


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def sequence_unsubscribe(request, token: str):
    return _unsubscribe(request, token, SEQUENCE)


@never_cache
@require_GET
def sequence_open(request, token: str):
    return _open(token, SEQUENCE)


@never_cache
@require_GET
def sequence_click(request, token: str):
    return _click(token, SEQUENCE)
