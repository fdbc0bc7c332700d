"""Webhooks under `/api/v1/webhooks`: subscriptions, their delivery log and replays."""

from django.db.models import F
from django.http import HttpRequest
from ninja import Query, Router, Status

from accord import events
from accord.errors import NotFound
from accord.identity.api_auth import allow
from accord.pagination import Ordering, clamp_limit, paginate

from . import webhooks
from .webhook_models import Webhook, WebhookDelivery
from .webhook_schemas import (
    DeliveryDetail,
    DeliveryPage,
    EventType,
    WebhookCreated,
    WebhookIn,
    WebhookListParams,
    WebhookOut,
    WebhookPage,
    WebhookPatch,
)

router = Router(tags=["webhooks"])

OLDEST_FIRST = Ordering("id", F("id"), descending=False)
NEWEST_FIRST = Ordering("id", F("id"), descending=True)


@router.get("/event-types", response=list[EventType], summary="List event types")
def list_event_types(request: HttpRequest):
    allow(request, "webhooks.manage")
    return [{"type": name, "description": text} for name, text in events.EVENT_TYPES.items()]


@router.get("", response=WebhookPage, summary="List webhooks")
def list_webhooks(request: HttpRequest, params: Query[WebhookListParams]):
    allow(request, "webhooks.manage")
    items, next_cursor = paginate(Webhook.objects.all(), OLDEST_FIRST, cursor=params.cursor,
                                  limit=clamp_limit(params.limit))
    return {"items": items, "next": next_cursor}


@router.post("", response={201: WebhookCreated}, summary="Subscribe a webhook",
             description="Answers the webhook with its `secret`, shown this once. Deliveries "
                         "are JSON `{id, type, occurred_at, data}` signed in the header "
                         "`Accord-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "
                         "\"<t>.<body>\" with the secret>`.")
def create_webhook(request: HttpRequest, payload: WebhookIn):
    allow(request, "webhooks.manage")
    webhook, secret = webhooks.create_webhook(request.organization, request.user,
                                              data=payload.dict())
    webhook.secret = secret
    return Status(201, webhook)


@router.get("/{webhook_id}", response=WebhookOut, summary="Read a webhook")
def read_webhook(request: HttpRequest, webhook_id: int):
    allow(request, "webhooks.manage")
    return webhooks.get_webhook(webhook_id)


@router.patch("/{webhook_id}", response=WebhookOut, summary="Change a webhook")
def update_webhook(request: HttpRequest, webhook_id: int, payload: WebhookPatch):
    allow(request, "webhooks.manage")
    webhook = webhooks.get_webhook(webhook_id)
    data = payload.dict(exclude_unset=True)
    version = data.pop("version", None)
    return webhooks.update_webhook(request.organization, request.user, webhook, data=data,
                                   expected_version=version)


@router.delete("/{webhook_id}", response={204: None}, summary="Delete a webhook")
def delete_webhook(request: HttpRequest, webhook_id: int):
    allow(request, "webhooks.manage")
    webhooks.delete_webhook(request.organization, request.user,
                            webhooks.get_webhook(webhook_id))
    return Status(204, None)


@router.get("/{webhook_id}/deliveries", response=DeliveryPage, summary="List deliveries",
            description="Newest first, with each delivery's status and last answer.")
def list_deliveries(request: HttpRequest, webhook_id: int, params: Query[WebhookListParams]):
    allow(request, "webhooks.manage")
    webhook = webhooks.get_webhook(webhook_id)
    items, next_cursor = paginate(WebhookDelivery.objects.filter(webhook=webhook),
                                  NEWEST_FIRST, cursor=params.cursor,
                                  limit=clamp_limit(params.limit))
    return {"items": items, "next": next_cursor}


def _delivery(webhook_id: int, delivery_id: int) -> WebhookDelivery:
    webhook = webhooks.get_webhook(webhook_id)
    delivery = (WebhookDelivery.objects.select_related("webhook")
                .filter(webhook=webhook, pk=delivery_id).first())
    if delivery is None:
        raise NotFound("No delivery with this id.")
    return delivery


@router.get("/{webhook_id}/deliveries/{delivery_id}", response=DeliveryDetail,
            summary="Read a delivery with every attempt")
def read_delivery(request: HttpRequest, webhook_id: int, delivery_id: int):
    allow(request, "webhooks.manage")
    return _delivery(webhook_id, delivery_id)


@router.post("/{webhook_id}/deliveries/{delivery_id}/replay", response={202: DeliveryDetail},
             summary="Send a delivery again",
             description="Queues the same event with the same id and body for another "
                         "attempt, whatever its status.")
def replay_delivery(request: HttpRequest, webhook_id: int, delivery_id: int):
    allow(request, "webhooks.manage")
    delivery = webhooks.replay_delivery(request.organization, request.user,
                                        _delivery(webhook_id, delivery_id))
    return Status(202, delivery)
