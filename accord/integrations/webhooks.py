"""Outgoing webhooks: subscribing, signing, delivering with back-off, pausing, replaying.

Every committed domain event is matched against the organisation's webhooks
and becomes one `WebhookDelivery` per matching webhook (unique, so an event
announced twice is delivered once). A delivery is sent by a Celery task and,
when the receiver fails, again after 1, 2, 4, 8... minutes (at most six hours
apart) until a day has passed; then it is given up, the webhook is paused and
the organisation's admins are told. Each request is signed:

    Accord-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">

so a receiver can check where it came from and refuse old replays.
"""

import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
import time

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accord import events
from accord.activities.services import site_url
from accord.audit import services as audit
from accord.audit.models import Action
from accord.core.models import DomainEvent
from accord.errors import InvalidInput, NotFound, StaleVersion
from accord.identity.models import Membership, Role

from . import outbound
from .webhook_models import DeliveryStatus, Webhook, WebhookAttempt, WebhookDelivery

logger = logging.getLogger(__name__)

RETRY_FOR = dt.timedelta(days=1)
LONGEST_WAIT = dt.timedelta(hours=6)
CLAIM_FOR = dt.timedelta(seconds=60)  # far above one request's time limits
SECRET_BYTES = 32
USER_AGENT = "Accord-Webhooks/1"
WEBHOOK_FIELDS = ["url", "events", "description", "is_active"]


def generate_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(SECRET_BYTES)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The `Accord-Signature` header value for `body` sent at `timestamp`."""
    message = str(timestamp).encode() + b"." + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def payload(event: DomainEvent) -> bytes:
    """The JSON body of a delivery: the same bytes on every attempt at one event."""
    document = {
        "id": event.pk,
        "type": event.type,
        "occurred_at": event.occurred_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "data": event.data,
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def backoff(attempts: int) -> dt.timedelta:
    """How long to wait after the `attempts`-th failed attempt."""
    return min(dt.timedelta(minutes=2 ** max(attempts - 1, 0)), LONGEST_WAIT)


# Subscriptions


def _clean(data: dict, errors: list, *, partial: bool) -> dict:
    values = {}
    if "url" in data or not partial:
        url = str(data.get("url") or "").strip()
        if not url:
            errors.append({"field": "url", "message": "Give the receiver's address."})
        elif len(url) > 2000:
            errors.append({"field": "url", "message": "Use an address of at most 2000 "
                                                      "characters."})
        else:
            try:
                host, port, _, _ = outbound.check_url(url)
                outbound.resolve(host, port)
            except outbound.Refused as exc:
                errors.append({"field": "url", "message": str(exc)})
        values["url"] = url
    if "events" in data or not partial:
        chosen = data.get("events")
        if not isinstance(chosen, list) or not chosen:
            errors.append({"field": "events", "message": "Choose at least one event."})
        else:
            unknown = sorted({str(name) for name in chosen} - set(events.EVENT_TYPES))
            if unknown:
                errors.append({"field": "events", "message": "Unknown event type(s): "
                                                             + ", ".join(unknown[:5]) + "."})
            values["events"] = sorted({str(name) for name in chosen})
    if "description" in data:
        description = str(data.get("description") or "").strip()
        if len(description) > 200:
            errors.append({"field": "description", "message": "Use at most 200 characters."})
        values["description"] = description
    if "is_active" in data:
        values["is_active"] = bool(data["is_active"])
    return values


@transaction.atomic
def create_webhook(org, actor, *, data: dict) -> tuple[Webhook, str]:
    """A new webhook and its secret (the given one, else a generated one), shown once."""
    errors: list[dict] = []
    values = _clean(data, errors, partial=False)
    secret = str(data.get("secret") or "").strip()
    if secret and not 16 <= len(secret) <= 128:
        errors.append({"field": "secret", "message": "Use a secret of 16 to 128 characters."})
    if errors:
        raise InvalidInput(errors)

    webhook = Webhook.objects.create(organization=org, secret=secret or generate_secret(),
                                     created_by=actor if getattr(actor, "pk", None) else None,
                                     **values)
    audit.record(org, actor, Action.CREATE, webhook, entity="webhook",
                 changes=audit.diff({}, audit.snapshot(webhook, WEBHOOK_FIELDS)))
    logger.info("webhook.created", extra={"organization_id": org.id, "webhook_id": webhook.pk})
    return webhook, webhook.secret


def get_webhook(webhook_id) -> Webhook:
    try:
        webhook = Webhook.objects.filter(pk=int(webhook_id)).first()
    except (TypeError, ValueError):
        webhook = None
    if webhook is None:
        raise NotFound("No webhook with this id.")
    return webhook


@transaction.atomic
def update_webhook(org, actor, webhook: Webhook, *, data: dict,
                   expected_version: int | None = None) -> Webhook:
    """Change a webhook; switching it on again also lifts a pause."""
    webhook = Webhook.objects.select_for_update().get(pk=webhook.pk)
    if expected_version is not None and int(expected_version) != webhook.version:
        raise StaleVersion(current_version=webhook.version)
    errors: list[dict] = []
    values = _clean(data, errors, partial=True)
    if errors:
        raise InvalidInput(errors)
    before = audit.snapshot(webhook, WEBHOOK_FIELDS + ["paused_at"])
    for field, value in values.items():
        setattr(webhook, field, value)
    if values.get("is_active"):
        webhook.paused_at = None
        webhook.pause_reason = ""
    changes = audit.diff(before, audit.snapshot(webhook, WEBHOOK_FIELDS + ["paused_at"]))
    if changes:
        webhook.save_new_version()
        audit.record(org, actor, Action.UPDATE, webhook, entity="webhook", changes=changes)
    return webhook


@transaction.atomic
def delete_webhook(org, actor, webhook: Webhook) -> None:
    audit.record(org, actor, Action.PURGE, webhook, entity="webhook",
                 changes={"url": [webhook.url, None]})
    webhook.delete()


@transaction.atomic
def replay_delivery(org, actor, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again (delivered or given up), with the same id and body."""
    if not delivery.webhook.is_sending:
        raise InvalidInput({"webhook": "Switch the webhook on before replaying deliveries."})
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.PENDING, next_attempt_at=timezone.now(), claimed_until=None,
        created_at=timezone.now())
    audit.record(org, actor, Action.UPDATE, delivery.webhook, entity="webhook",
                 changes={"replayed_delivery": [None, delivery.pk]})
    transaction.on_commit(lambda: _enqueue([delivery.pk]))
    delivery.refresh_from_db()
    return delivery


# Matching events to webhooks


def queue_deliveries(event: DomainEvent) -> list[int]:
    """One pending delivery per sending webhook that wants `event`; returns the new ids."""
    webhooks = Webhook.unscoped.filter(organization_id=event.organization_id, is_active=True,
                                       paused_at__isnull=True)
    created = []
    for webhook in webhooks:
        if event.type not in webhook.events:
            continue
        delivery, made = WebhookDelivery.unscoped.get_or_create(
            organization_id=event.organization_id, webhook=webhook, event=event,
            defaults={"type": event.type, "next_attempt_at": timezone.now()},
        )
        if made:
            created.append(delivery.pk)
    return created


def _on_event(event: DomainEvent) -> None:
    created = queue_deliveries(event)
    if created:
        _enqueue(created)


def _enqueue(delivery_ids: list[int]) -> None:
    from .tasks import deliver_webhook

    for delivery_id in delivery_ids:
        deliver_webhook.delay(delivery_id)


events.subscribe("*", _on_event)


# Sending


def _claim(delivery_id: int, now: dt.datetime) -> bool:
    """Take the delivery for one attempt; False when it is not due or someone holds it."""
    return bool(WebhookDelivery.unscoped.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
        pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now,
    ).update(claimed_until=now + CLAIM_FOR))


def attempt_delivery(delivery_id: int, *, now: dt.datetime | None = None) -> str | None:
    """Try to send one due delivery once; returns its new status, None when not taken.

    The request runs outside any transaction and the delivery is claimed
    first, so a slow receiver holds no lock and two workers never send the
    same delivery at the same time.
    """
    now = now or timezone.now()
    if not _claim(delivery_id, now):
        return None
    delivery = WebhookDelivery.unscoped.select_related("webhook", "event").get(pk=delivery_id)
    webhook = delivery.webhook
    if not webhook.is_sending:
        WebhookDelivery.unscoped.filter(pk=delivery_id).update(claimed_until=None)
        return None

    body = payload(delivery.event)
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Accord-Signature": sign(webhook.secret, timestamp, body),
        "Accord-Event": delivery.type,
        "Accord-Delivery": str(delivery.pk),
    }
    status_code, error, excerpt = None, "", ""
    started = time.monotonic()
    try:
        reply = outbound.post(webhook.url, body, headers)
        status_code, excerpt = reply.status, reply.body[:2000]
        if not 200 <= reply.status < 300:
            error = f"The receiver answered {reply.status}."
    except outbound.Refused as exc:
        error = str(exc)
    except OSError as exc:
        error = _network_error(exc)
    # Measured here rather than by the sender, so a timeout shows its full wait.
    duration = int((time.monotonic() - started) * 1000)
    return _record(delivery, now, status_code=status_code, error=error, excerpt=excerpt,
                   duration=duration)


def _network_error(exc: OSError) -> str:
    if isinstance(exc, TimeoutError):
        return "The receiver did not answer in time."
    if isinstance(exc, ConnectionRefusedError):
        return "The receiver refused the connection."
    return (str(exc) or type(exc).__name__)[:300]


@transaction.atomic
def _record(delivery: WebhookDelivery, now: dt.datetime, *, status_code, error: str,
            excerpt: str, duration: int) -> str:
    WebhookAttempt.unscoped.create(
        organization_id=delivery.organization_id, delivery=delivery, started_at=now,
        duration_ms=duration, status_code=status_code, error=error[:300],
        response_excerpt=excerpt)
    attempts = delivery.attempts + 1
    changes = {"attempts": F("attempts") + 1, "claimed_until": None,
               "last_status_code": status_code, "last_error": error[:300]}
    if not error:
        changes.update(status=DeliveryStatus.DELIVERED, delivered_at=now, next_attempt_at=None)
        status = DeliveryStatus.DELIVERED
    elif now - delivery.created_at >= RETRY_FOR:
        changes.update(status=DeliveryStatus.FAILED, next_attempt_at=None)
        status = DeliveryStatus.FAILED
    else:
        changes.update(next_attempt_at=now + backoff(attempts))
        status = DeliveryStatus.PENDING
    WebhookDelivery.unscoped.filter(pk=delivery.pk).update(**changes)
    logger.info("webhook.attempted", extra={
        "organization_id": delivery.organization_id, "webhook_id": delivery.webhook_id,
        "delivery_id": delivery.pk, "status": status, "status_code": status_code})
    if status == DeliveryStatus.FAILED:
        _pause(delivery.webhook, now)
    return status


def _pause(webhook: Webhook, now: dt.datetime) -> None:
    """Stop sending to a receiver that failed for a day, and tell the admins once."""
    paused = Webhook.unscoped.filter(pk=webhook.pk, paused_at__isnull=True).update(
        paused_at=now, pause_reason="Deliveries failed for a day.", version=F("version") + 1)
    if not paused:
        return
    org = webhook.organization
    audit.record(org, None, Action.UPDATE, webhook, entity="webhook",
                 changes={"paused_at": [None, audit.json_safe(now)]})
    admins = list(Membership.unscoped.filter(organization=org, role=Role.ADMIN,
                                             is_active=True)
                  .values_list("user__email", flat=True))
    logger.warning("webhook.paused", extra={"organization_id": org.id,
                                            "webhook_id": webhook.pk})
    if admins:
        transaction.on_commit(lambda: send_mail(
            subject=f"Accord: a webhook of {org.name} was paused",
            message=(
                f"Accord could not deliver events to {webhook.url} for a day, so it has "
                "paused this webhook and keeps no further events for it.\n\n"
                "Check the receiver, then switch the webhook on again and replay the "
                f"deliveries that failed:\n{site_url()}/settings/webhooks/{webhook.pk}/\n"
            ),
            from_email=settings.DEFAULT_FROM_EMAIL, recipient_list=admins,
            fail_silently=True,
        ))


def due_deliveries(now: dt.datetime, limit: int) -> list[int]:
    """Pending deliveries whose time has come, oldest first, across organisations."""
    return list(
        WebhookDelivery.unscoped.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("next_attempt_at", "id").values_list("pk", flat=True)[:limit]
    )
