"""The calendar feed: the member's page to make or stop its address, and the feed itself."""

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from django_scopes import scope

from accord.identity.permissions import permission_required

from . import calendar
from .models import CalendarFeed


@permission_required("tasks.view")
def calendar_settings(request):
    """GET shows whether an address exists; POST makes a new one (shown once) or stops it."""
    address = ""
    if request.method == "POST":
        if request.POST.get("action") == "stop":
            if calendar.delete_feed(request.organization, request.user):
                messages.success(request, _("Your calendar address no longer works."))
            return redirect("activities:calendar_settings")
        token = calendar.create_feed(request.organization, request.user)
        address = request.build_absolute_uri(
            reverse("activities:calendar_feed", kwargs={"token": token}))
    feed = CalendarFeed.objects.filter(user=request.user).first()
    return render(request, "activities/calendar_settings.html",
                  {"feed": feed, "address": address})


@require_GET
def calendar_feed(request, token: str):
    """The calendar of the member whose address this is; 404 for any other address."""
    feed = calendar.feed_for(token)
    if feed is None:
        raise Http404
    with scope(organization=feed.organization):
        text = calendar.read_feed(feed, host=request.get_host().partition(":")[0])
    response = HttpResponse(text, content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, max-age=300"
    return response
