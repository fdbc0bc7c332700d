"""Settings → Webhooks: subscriptions, their delivery log and replays."""

from django.contrib import messages
from django.db.models import F
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accord.errors import InvalidInput, NotFound, StaleVersion
from accord.identity.permissions import permission_required
from accord.identity.views import add_service_errors, form_status
from accord.pagination import Ordering, paginate

from . import webhooks
from .webhook_forms import EditWebhookForm, NewWebhookForm
from .webhook_models import Webhook, WebhookDelivery

NEWEST_FIRST = Ordering("id", F("id"), descending=True)
PAGE = 50


@permission_required("webhooks.manage")
def webhook_list(request):
    form = NewWebhookForm(request.POST or None)
    created = secret = None
    if request.method == "POST" and form.is_valid():
        try:
            created, secret = webhooks.create_webhook(request.organization, request.user,
                                                      data=form.cleaned_data)
        except InvalidInput as exc:
            add_service_errors(form, exc)
        else:
            form = NewWebhookForm()
    context = {"form": form, "created": created, "secret": secret,
               "webhooks": Webhook.objects.order_by("id")}
    # The secret is rendered into this one response only, like a new API token.
    return render(request, "integrations/webhook_list.html", context, status=form_status(form))


@permission_required("webhooks.manage")
def webhook_detail(request, pk: int):
    webhook = webhooks.get_webhook(pk)
    initial = {"url": webhook.url, "events": webhook.events,
               "description": webhook.description, "is_active": webhook.is_active,
               "version": webhook.version}
    form = EditWebhookForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        version = data.pop("version")
        try:
            webhooks.update_webhook(request.organization, request.user, webhook, data=data,
                                    expected_version=version)
        except InvalidInput as exc:
            add_service_errors(form, exc)
        except StaleVersion as exc:
            form.add_error(None, exc.detail)
        else:
            messages.success(request, _("The webhook is saved."))
            return redirect("integrations:webhook_detail", pk=webhook.pk)
    deliveries, next_cursor = paginate(
        WebhookDelivery.objects.filter(webhook=webhook), NEWEST_FIRST,
        cursor=request.GET.get("cursor"), limit=PAGE)
    context = {"webhook": webhook, "form": form, "deliveries": deliveries,
               "next_cursor": next_cursor}
    return render(request, "integrations/webhook_detail.html", context,
                  status=form_status(form))


def _delivery(webhook, delivery_id) -> WebhookDelivery:
    delivery = (WebhookDelivery.objects.select_related("webhook")
                .filter(webhook=webhook, pk=delivery_id).first())
    if delivery is None:
        raise NotFound(_("No delivery with this id."))
    return delivery


@permission_required("webhooks.manage")
def delivery_detail(request, pk: int, delivery_id: int):
    webhook = webhooks.get_webhook(pk)
    delivery = _delivery(webhook, delivery_id)
    context = {"webhook": webhook, "delivery": delivery,
               "attempts": delivery.attempt_log.all(),
               "body": webhooks.payload(delivery.event).decode()}
    return render(request, "integrations/webhook_delivery.html", context)


@require_POST
@permission_required("webhooks.manage")
def delivery_replay(request, pk: int, delivery_id: int):
    webhook = webhooks.get_webhook(pk)
    delivery = _delivery(webhook, delivery_id)
    try:
        webhooks.replay_delivery(request.organization, request.user, delivery)
    except InvalidInput as exc:
        messages.error(request, exc.errors[0]["message"])
    else:
        messages.success(request, _("The delivery is queued to be sent again."))
    return redirect("integrations:webhook_detail", pk=webhook.pk)


@permission_required("webhooks.manage")
def webhook_delete(request, pk: int):
    webhook = webhooks.get_webhook(pk)
    if request.method == "POST":
        webhooks.delete_webhook(request.organization, request.user, webhook)
        messages.success(request, _("The webhook is deleted."))
        return redirect("integrations:webhook_list")
    return render(request, "integrations/webhook_confirm_delete.html", {"webhook": webhook})
