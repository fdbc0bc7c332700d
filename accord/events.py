"""Domain events: what happened, recorded with the change and announced after commit.

A service calls `emit` inside its transaction. The event is stored as a
`DomainEvent` row (the outbox later readers such as webhooks and automation
work from), and every subscriber of its type is called once the transaction
commits, never for a change that was rolled back.
"""

import logging
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import transaction
from django.utils import timezone

from accord.audit.services import json_safe
from accord.core.models import DomainEvent

logger = logging.getLogger(__name__)

_subscribers: dict[str, list[Callable[[DomainEvent], None]]] = defaultdict(list)

# How many workflow-rule runs led to the change being made: 0 for a person's
# or a system's own change, 1 inside a rule set off by it, and so on. Events
# carry it as `chain_depth` so that rules can refuse to chain without end.
_chain_depth: ContextVar[int] = ContextVar("chain_depth", default=0)

# Every event type a service emits, with what it means; webhooks and rules
# offer exactly these. A new event type is added here with its emitter.
EVENT_TYPES = {
    "contact.created": "A contact was created",
    "contact.updated": "A contact was changed",
    "contact.deleted": "A contact was moved to the trash",
    "contact.merged": "Contacts were merged into this one",
    "company.created": "A company was created",
    "company.updated": "A company was changed",
    "company.deleted": "A company was moved to the trash",
    "company.merged": "Companies were merged into this one",
    "deal.created": "A deal was created",
    "deal.updated": "A deal was changed",
    "deal.deleted": "A deal was moved to the trash",
    "deal.stage_changed": "A deal moved to another stage",
    "deal.won": "A deal was won",
    "deal.lost": "A deal was lost",
    "lead.created": "A lead came in",
    "lead.updated": "A lead was changed",
    "lead.deleted": "A lead was moved to the trash",
    "lead.new": "A lead was reopened as new",
    "lead.working": "A lead is being worked on",
    "lead.qualified": "A lead was qualified",
    "lead.disqualified": "A lead was disqualified",
    "lead.event_recorded": "Something a lead did was recorded",
    "lead.converted": "A lead became a contact (and a deal)",
    "product.created": "A product was added to the catalogue",
    "product.updated": "A product was changed",
    "order.created": "An order or return was placed",
    "order.updated": "An order or return was changed",
    "order.deleted": "An order or return was deleted",
    "subscription.created": "A subscription was started",
    "subscription.updated": "A subscription was changed",
    "subscription.cancelled": "A subscription was cancelled",
    "subscription.deleted": "A subscription was deleted",
    "ticket.created": "A ticket was opened",
    "ticket.updated": "A ticket was changed",
    "ticket.deleted": "A ticket was moved to the trash",
    "ticket.message_added": "A message, reply or note was added to a ticket",
    "ticket.solved": "A ticket was solved",
    "ticket.sla_breached": "A ticket passed an SLA target unmet and was escalated",
    "article.created": "A knowledge-base article was written",
    "article.published": "A knowledge-base article's text was published",
    "article.unpublished": "A knowledge-base article was taken back to draft",
    "article.deleted": "A knowledge-base article was deleted",
    "segment.created": "A segment was saved",
    "segment.updated": "A segment's name, conditions or kind changed, or it was refrozen",
    "segment.deleted": "A segment was deleted",
    "form.submitted": "Someone sent a web form",
    "campaign.created": "A campaign was saved as a draft or scheduled",
    "campaign.started": "A campaign's recipients were chosen and sending began",
    "campaign.sent": "A campaign finished sending",
    "campaign.cancelled": "A campaign was stopped before it finished",
    "campaign.deleted": "A campaign that had sent nothing was deleted",
    "record.created": "A record of a custom record type was created",
    "record.updated": "A record of a custom record type was changed",
    "record.deleted": "A record of a custom record type was moved to the trash",
}


def subscribe(event_type: str, handler: Callable[[DomainEvent], None]) -> None:
    """Call `handler(event)` after each committed event of `event_type` ("*" for all)."""
    if handler not in _subscribers[event_type]:
        _subscribers[event_type].append(handler)


def unsubscribe(event_type: str, handler: Callable[[DomainEvent], None]) -> None:
    if handler in _subscribers[event_type]:
        _subscribers[event_type].remove(handler)


@contextmanager
def chained(depth: int) -> Iterator[None]:
    """Mark every event emitted inside the block as made by a rule run `depth` links deep."""
    token = _chain_depth.set(depth)
    try:
        yield
    finally:
        _chain_depth.reset(token)


def chain_depth(event: DomainEvent) -> int:
    """How many rule runs led to `event`; 0 when a person or a system made the change."""
    depth = event.data.get("chain_depth", 0) if isinstance(event.data, dict) else 0
    return depth if isinstance(depth, int) and depth > 0 else 0


def emit(org, actor, event_type: str, record, *, data: dict | None = None,
         entity: str | None = None) -> DomainEvent:
    """Record `event_type` for `record` and announce it when the transaction commits."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"Unknown event type {event_type!r}; add it to EVENT_TYPES.")
    depth = _chain_depth.get()
    if depth:
        data = {**(data or {}), "chain_depth": depth}
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
