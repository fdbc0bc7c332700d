"""Behaviour events from shops, apps and websites, taken in batches and stored once.

A batch holds up to 1,000 events, each with the sender's own `id`. An event
whose id was seen before (in this batch or an earlier one) is counted as a
duplicate and not stored again, so a sender may safely resend a batch it is
unsure about. Each event names its customer by `contact_id`, or by `email`:
an address no contact has yet becomes a new contact, so that no behaviour is
lost for a customer who has not been entered yet.
"""

import datetime as dt
import json
import re
import uuid
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models.functions import Lower
from django.dispatch import Signal
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accord import events as domain_events
from accord.customers import bulk
from accord.customers.models import Contact, ContactEmail
from accord.customers.services import contact_event_data
from accord.customers.validation import clean_contact
from accord.errors import InvalidInput
from accord.identity.context import acting_member
from accord.identity.visibility import visible

from .models import BehaviourEvent

MAX_BATCH = 1000
MAX_PROPERTIES = 16 * 1024  # bytes of JSON per event; a page view's details fit easily
FUTURE_SLACK = dt.timedelta(hours=1)  # senders' clocks drift; a day ahead is a bug
EARLIEST = dt.datetime(1990, 1, 1, tzinfo=dt.UTC)  # before the web shops that send these
TYPE = re.compile(r"^[A-Za-z0-9_.:\-]{1,100}$")
SOURCE = "Events API"

# Sent once a batch of events is committed, with `organization_id` and `batch`
# (the uuid on every row the batch stored), for whoever acts on behaviour.
behaviour_stored = Signal()


@dataclass
class Ingested:
    accepted: int = 0
    duplicates: int = 0
    errors: list[dict] = field(default_factory=list)
    contacts_created: int = 0

    @property
    def rejected(self) -> int:
        return len({error["index"] for error in self.errors})


@dataclass
class _Event:
    index: int
    external_id: str
    type: str
    occurred_at: dt.datetime
    properties: dict
    contact_id: int | None
    email: str | None


def _check(index: int, raw, now: dt.datetime, errors: list[dict]) -> _Event | None:
    def error(name: str, message: str) -> None:
        errors.append({"index": index, "field": name, "message": message})

    if not isinstance(raw, dict):
        error("event", "Give each event as an object.")
        return None
    before = len(errors)
    external_id = raw.get("id")
    if isinstance(external_id, int) and not isinstance(external_id, bool):
        external_id = str(external_id)
    if not isinstance(external_id, str) or not external_id.strip() or len(external_id) > 200:
        error("id", "Give the event an id of 1 to 200 characters.")
    event_type = raw.get("type")
    if not isinstance(event_type, str) or not TYPE.match(event_type):
        error("type", "Give a type of up to 100 letters, digits and . _ : - such as "
                      "product.viewed.")
    email, contact_id = raw.get("email"), raw.get("contact_id")
    if (email in (None, "")) == (contact_id in (None, "")):
        error("email", "Name the customer by either email or contact_id.")
    elif contact_id not in (None, ""):
        if isinstance(contact_id, bool) or not isinstance(contact_id, int | str):
            error("contact_id", "Give a contact id as a number.")
        else:
            try:
                contact_id = int(contact_id)
            except ValueError:
                error("contact_id", "Give a contact id as a number.")
    elif not isinstance(email, str) or "@" not in email or len(email) > 254:
        error("email", "Give a valid e-mail address.")
    occurred_at = raw.get("occurred_at")
    moment = parse_datetime(occurred_at) if isinstance(occurred_at, str) else None
    if moment is None:
        error("occurred_at", "Give the time as ISO 8601, such as 2026-05-01T09:30:00Z.")
    elif timezone.is_naive(moment):
        error("occurred_at", "Include the time zone, such as Z or +02:00.")
        moment = None
    elif moment > now + FUTURE_SLACK:
        error("occurred_at", "The time is in the future.")
    elif moment < EARLIEST:
        error("occurred_at", "The time is before 1990; check the date.")
    properties = raw.get("properties", {})
    if properties is None:
        properties = {}
    if not isinstance(properties, dict):
        error("properties", "Give properties as an object.")
    elif len(json.dumps(properties)) > MAX_PROPERTIES:
        error("properties", f"Keep properties under {MAX_PROPERTIES // 1024} KiB of JSON.")
    if len(errors) > before:
        return None
    return _Event(index=index, external_id=external_id.strip(), type=event_type,
                  occurred_at=moment, properties=properties,
                  contact_id=contact_id if isinstance(contact_id, int) else None,
                  email=email.strip().lower() if isinstance(email, str) and email else None)


def _unseen(contact_ids: set[int]) -> set[int]:
    """Those of `contact_ids` the member sending the events may not see."""
    member = acting_member()
    if member is None or not contact_ids:
        return set()
    seen = visible(Contact.objects.filter(pk__in=contact_ids), member, "contacts")
    return contact_ids - set(seen.values_list("pk", flat=True))


def _contacts_by_email(org, actor, addresses: set[str], result: Ingested,
                       errors: list[dict], events: list[_Event]) -> dict[str, int]:
    found: dict[str, int] = {}
    rows = (ContactEmail.objects.annotate(lower=Lower("address"))
            .filter(lower__in=addresses, contact__deleted_at__isnull=True,
                    contact__merged_into__isnull=True)
            .order_by("-is_primary", "id").values_list("lower", "contact_id"))
    for address, contact_id in rows:
        found.setdefault(address, contact_id)
    unseen = _unseen(set(found.values()))
    for event in events:
        if event.email in found and found[event.email] in unseen:
            errors.append({"index": event.index, "field": "email",
                           "message": "This address belongs to a contact you may not see."})
    missing = sorted(addresses - set(found))
    new_rows, new_addresses = [], []
    for address in missing:
        try:
            new_rows.append(clean_contact(org, {"email": address, "source": SOURCE}))
            new_addresses.append(address)
        except InvalidInput as exc:
            for event in events:
                if event.email == address:
                    errors.append({"index": event.index, "field": "email",
                                   "message": exc.errors[0]["message"]})
    if new_rows:
        created = bulk.create_contacts(org, actor, new_rows)
        for contact in created:
            domain_events.emit(org, actor, "contact.created", contact,
                               data=contact_event_data(contact))
        found.update({address: contact.pk
                      for address, contact in zip(new_addresses, created, strict=True)})
        result.contacts_created = len(created)
    return found


@transaction.atomic
def ingest_events(org, actor, raw_events) -> Ingested:
    """Store a batch of events once each; InvalidInput when the batch itself is unusable.

    Events with bad fields are left out and reported by their index; the
    others are stored.
    """
    if not isinstance(raw_events, list) or not raw_events:
        raise InvalidInput({"events": "Send a list of at least one event."})
    if len(raw_events) > MAX_BATCH:
        raise InvalidInput({"events": f"Send at most {MAX_BATCH} events per request."})

    now = timezone.now()
    result = Ingested()
    errors: list[dict] = []
    events, seen = [], set()
    for index, raw in enumerate(raw_events):
        event = _check(index, raw, now, errors)
        if event is None:
            continue
        if event.external_id in seen:
            result.duplicates += 1
            continue
        seen.add(event.external_id)
        events.append(event)

    known = set(BehaviourEvent.objects.filter(external_id__in=seen)
                .values_list("external_id", flat=True))
    result.duplicates += sum(1 for event in events if event.external_id in known)
    events = [event for event in events if event.external_id not in known]

    ids = {event.contact_id for event in events if event.contact_id is not None}
    live = set(Contact.objects.filter(pk__in=ids).values_list("pk", flat=True))
    # A contact the sending member may not see is, to them, no contact at all.
    live -= _unseen(live)
    for event in events:
        if event.contact_id is not None and event.contact_id not in live:
            errors.append({"index": event.index, "field": "contact_id",
                           "message": "No contact with this id."})
    by_email = _contacts_by_email(org, actor, {e.email for e in events if e.email}, result,
                                  errors, events)
    rejected = {error["index"] for error in errors}

    batch = uuid.uuid4()
    rows = [
        BehaviourEvent(organization=org, external_id=event.external_id, type=event.type,
                       contact_id=event.contact_id or by_email[event.email],
                       occurred_at=event.occurred_at, properties=event.properties,
                       batch=batch)
        for event in events if event.index not in rejected
    ]
    # A batch sent twice at the same moment races here; the unique rule
    # keeps one copy and the other is counted as a duplicate below.
    BehaviourEvent.objects.bulk_create(rows, ignore_conflicts=True, batch_size=200)
    result.accepted = BehaviourEvent.objects.filter(batch=batch).count()
    if result.accepted:
        transaction.on_commit(lambda: behaviour_stored.send(
            sender=BehaviourEvent, organization_id=org.pk, batch=batch))
    result.duplicates += len(rows) - result.accepted
    result.errors = sorted(errors, key=lambda error: error["index"])
    return result
