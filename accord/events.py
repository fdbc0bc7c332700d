"""Domain events: what happened, recorded with the change and announced after commit.

A service calls `emit` inside its transaction. The event is stored as a
`DomainEvent` row (the outbox later readers such as webhooks and automation
work from), and every subscriber of its type is called once the transaction
commits, never for a change that was rolled back.
"""

import logging
from collections import defaultdict
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from accord.audit.services import json_safe
from accord.core.models import DomainEvent

logger = logging.getLogger(__name__)

_subscribers: dict[str, list[Callable[[DomainEvent], None]]] = defaultdict(list)


def subscribe(event_type: str, handler: Callable[[DomainEvent], None]) -> None:
    """Call `handler(event)` after each committed event of `event_type` ("*" for all)."""
    if handler not in _subscribers[event_type]:
        _subscribers[event_type].append(handler)


def unsubscribe(event_type: str, handler: Callable[[DomainEvent], None]) -> None:
    if handler in _subscribers[event_type]:
        _subscribers[event_type].remove(handler)


def emit(org, actor, event_type: str, record, *, data: dict | None = None,
         entity: str | None = None) -> DomainEvent:
    """Record `event_type` for `record` and announce it when the transaction commits."""
    event = DomainEvent.unscoped.create(
        organization=org,
        type=event_type,
        entity=entity or record._meta.model_name,
        object_id=record.pk,
        data=json_safe(data or {}),
        actor=actor if getattr(actor, "pk", None) else None,
        occurred_at=timezone.now(),
    )
    transaction.on_commit(lambda: _announce(event))
    return event


def _announce(event: DomainEvent) -> None:
    for handler in [*_subscribers.get(event.type, []), *_subscribers.get("*", [])]:
        try:
            handler(event)
        except Exception:
            # One broken subscriber must not stop the others or fail a change
            # that is already committed; the outbox row stays for a re-read.
            logger.exception(
                "event.subscriber_failed",
                extra={"organization_id": event.organization_id, "event_id": event.pk,
                       "event_type": event.type},
            )
