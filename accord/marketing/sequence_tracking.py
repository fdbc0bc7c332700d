"""The tracking links of sequence e-mails: unsubscribe, open pixel and click redirect.

They work as those of campaigns (accord.marketing.tracking), with tokens of
their own kinds that name a SequenceMessage row. A click redirects only to
a link stored on that row when the e-mail was written.
"""

import logging

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accord.activities import services as timeline
from accord.errors import NotFound

from . import tracking
from .sequence_models import EnrolmentStatus, SequenceMessage

logger = logging.getLogger(__name__)

ROUTES = {"sequence_unsubscribe": "sequence_unsubscribe", "sequence_open": "sequence_open",
          "sequence_click": "sequence_click"}


def values(base_url: str, org_id: int, message_id: int, link_count: int) -> dict:
    """The `tracking` merge values of one sequence e-mail."""

    def url(kind: str, link: int | None = None) -> str:
        token = tracking.make_token(kind, org_id, message_id, link)
        return base_url + reverse(f"marketing:{ROUTES[kind]}", args=[token])

    return {"links": [url("sequence_click", n) for n in range(link_count)],
            "unsubscribe": url("sequence_unsubscribe"), "open": url("sequence_open")}


def message_for(message_id: int) -> SequenceMessage:
    message = (SequenceMessage.objects.select_related("sequence", "contact", "enrolment")
               .filter(pk=message_id).first())
    if message is None:
        raise NotFound("This link is not valid.")
    return message


def record_open(org, message: SequenceMessage) -> None:
    """Count an open; the first one is timed and goes on the contact's timeline."""
    if not tracking.count_open(message):
        return
    timeline.log_event(org, None, "sequence.opened", contact=message.contact,
                       data={"sequence": message.sequence.name,
                             "sequence_id": message.sequence_id, "step": message.step_key})


def record_click(org, message: SequenceMessage, position: int) -> str:
    """Count a click on the e-mail's link at `position` and return its URL; NotFound when
    the e-mail has no such link. A click also counts as an open."""
    if not 0 <= position < len(message.links):
        raise NotFound("This link is not valid.")
    url = message.links[position]
    now = timezone.now()
    with transaction.atomic():
        if tracking.count_click(message, now):
            timeline.log_event(org, None, "sequence.clicked", contact=message.contact,
                               data={"sequence": message.sequence.name,
                                     "sequence_id": message.sequence_id, "url": url})
    return url


@transaction.atomic
def unsubscribe(org, message: SequenceMessage) -> bool:
    """Withdraw the contact's e-mail marketing consent, suppress the address and take the
    contact out of the sequence at once. False when this e-mail's link was used before."""
    sequence = message.sequence
    if not tracking.withdraw_consent(
            org, message, f"Unsubscribe link in sequence “{sequence.name}” (#{sequence.pk})"):
        return False
    enrolment = message.enrolment
    if enrolment.status == EnrolmentStatus.ACTIVE:
        from .sequence_runner import finish

        finish(org, enrolment, EnrolmentStatus.EXITED, "unsubscribed", timezone.now())
    timeline.log_event(org, None, "sequence.unsubscribed", contact=message.contact,
                       data={"sequence": sequence.name, "sequence_id": sequence.pk})
    logger.info("marketing.sequence_unsubscribed", extra={
        "organization_id": org.id, "sequence_id": sequence.pk, "message_id": message.pk})
    return True


