"""Settings → Product feeds: the feeds, one feed's settings and its runs, "Run now"."""

import json

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accord.errors import InvalidInput
from accord.identity.permissions import permission_required
from accord.integrations.services import parse_json_object
from accord.web import MapsServiceErrors, save_form

from . import feeds
from .models import FeedFormat, FeedSchedule, ProductFeed, ProductFeedRun

RUNS_SHOWN = 20


class FeedForm(MapsServiceErrors, forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=120)
    url = forms.CharField(label=gettext_lazy("Address of the file"), max_length=1000,
                          help_text=gettext_lazy("An http:// or https:// address that answers "
                                                 "with the catalogue as CSV or JSON."))
    format = forms.ChoiceField(label=gettext_lazy("Format"), choices=FeedFormat.choices)
    schedule = forms.ChoiceField(label=gettext_lazy("Read it"), choices=FeedSchedule.choices)
    mapping = forms.CharField(
        label=gettext_lazy("Column mapping (JSON)"), required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("Such as {\"Item code\": \"sku\", \"Title\": \"name\"}. Left "
                               "empty, columns are matched by their names."))
    deactivate_missing = forms.BooleanField(
        label=gettext_lazy("Switch off products the feed no longer lists"), required=False)
    is_active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)

    def clean_mapping(self):
        text = self.cleaned_data["mapping"].strip()
        if not text:
            return {}
        try:
            return parse_json_object(text, "mapping")
        except InvalidInput as exc:
            raise forms.ValidationError(exc.errors[0]["message"]) from None


@permission_required("products.manage")
def feed_list(request):
    return render(request, "commerce/feed_list.html", {
        "feeds": ProductFeed.objects.order_by("name", "id")})


@permission_required("products.manage")
def feed_create(request):
    form = FeedForm(request.POST or None, initial={"format": "csv", "schedule": "daily",
                                                   "is_active": True})

    def save(form):
        data = dict(form.cleaned_data)
        data.pop("version")
        feed = feeds.create_feed(request.organization, request.user, data=data)
        messages.success(request, _("Feed added. Use “Run now” to read it at once."))
        return redirect("commerce:feed_edit", pk=feed.pk)

    return save_form(request, form=form, template="commerce/feed_form.html",
                     context={"feed": None}, save=save)


@permission_required("products.manage")
def feed_edit(request, pk: int):
    feed = feeds.get_feed(pk)
    form = FeedForm(request.POST or None, initial={
        "version": feed.version, "name": feed.name, "url": feed.url, "format": feed.format,
        "schedule": feed.schedule, "deactivate_missing": feed.deactivate_missing,
        "is_active": feed.is_active,
        "mapping": json.dumps(feed.mapping, ensure_ascii=False) if feed.mapping else ""})

    def save(form):
        data = dict(form.cleaned_data)
        version = data.pop("version")
        feeds.update_feed(request.organization, request.user, feed, data=data,
                          expected_version=version)
        messages.success(request, _("Feed saved."))
        return redirect("commerce:feed_edit", pk=feed.pk)

    runs = ProductFeedRun.objects.filter(feed=feed).select_related("import_job")[:RUNS_SHOWN]
    return save_form(request, form=form, template="commerce/feed_form.html",
                     context={"feed": feed, "runs": runs}, save=save)


@require_POST
@permission_required("products.manage")
def feed_run(request, pk: int):
    feed = feeds.get_feed(pk)
    if feeds.queue_run(feed):
        messages.success(request, _("The feed is being read; its run appears below when "
                                    "it is done."))
    else:
        messages.error(request, _("This feed is being read now; wait for that run to finish."))
    return redirect("commerce:feed_edit", pk=feed.pk)


@require_POST
@permission_required("products.manage")
def feed_delete(request, pk: int):
    feed = feeds.get_feed(pk)
    feeds.delete_feed(request.organization, request.user, feed)
    messages.success(request, _("Feed deleted; the products it brought stay."))
    return redirect("commerce:feed_list")
