"""Text messages (SMS) to contacts, through the provider the setting SMS_URL names.

A provider has one method, `send(to, body, sender)`, which returns the
provider's id for the message or raises `Undelivered`. Two come with Accord:

- `outbox://` (the default): the message is kept in Accord only, listed on
  the contact's timeline and in the API, and nothing leaves the machine. It
  is the provider for trying Accord out and for tests.
- an `http://` or `https://` URL: a gateway that takes one JSON POST per
  message, `{"to": "+4930...", "from": "...", "body": "..."}`, and answers
  2xx with `{"id": "..."}`. The address is checked like a webhook's (no
  private or loopback targets unless listed in WEBHOOK_ALLOWED_HOSTS, no
  redirects, short time limits). A bridge to a commercial SMS service is a
  few lines behind such a URL.

Sending records the message as `sending` and commits it before the provider
is called, and marks it `sent` or `failed` after. When the provider's answer
does not come (a time-out, a broken connection), the message may have gone:
it stays `sending`, the reason is noted, and it is never sent again, by the
person or by a rule's retry. Only a clear refusal (no connection, an error
status) marks it `failed`.
"""

import json
import logging
import socket
import uuid

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accord.activities import services as timeline
from accord.audit import services as audit
from accord.audit.models import Action
from accord.customers.models import (
    Consent,
    ConsentChannel,
    ConsentPurpose,
    ConsentStatus,
    ContactPhone,
    PhoneKind,
    consents_in_effect,
)
from accord.errors import DomainError, InvalidInput
from accord.integrations import outbound

from .models import TextMessage, TextStatus

logger = logging.getLogger(__name__)

MAX_BODY = 1600  # ten SMS segments; longer is a letter, not a text


class Undelivered(Exception):
    """The provider did not take the message; the text says why."""


class Unconfirmed(Exception):
    """The provider's answer did not come: the message may or may not have gone."""


class NotSendable(DomainError):
    code = "not-sendable"
    title = gettext_lazy("The text message cannot be sent")
    status = 422


class OutboxProvider:
    """Keeps messages in Accord: sending always succeeds and nothing leaves the machine."""

    def send(self, to: str, body: str, sender: str) -> str:
        return f"outbox-{uuid.uuid4().hex}"


class GatewayProvider:
    """Posts each message as JSON to a gateway URL and takes the id from its answer."""

    def __init__(self, url: str):
        self.url = url

    def send(self, to: str, body: str, sender: str) -> str:
        payload = json.dumps({"to": to, "from": sender, "body": body}).encode()
        try:
            reply = outbound.post(self.url, payload, {"Content-Type": "application/json",
                                                      "User-Agent": "Accord-SMS/1"})
        except outbound.Refused as exc:
            raise Undelivered(str(exc)) from None
        except (ConnectionRefusedError, socket.gaierror) as exc:
            raise Undelivered(_("The SMS gateway could not be reached: %(error)s") % {
                "error": (str(exc) or type(exc).__name__)[:200]}) from None
        except OSError as exc:
            raise Unconfirmed(_("The SMS gateway did not answer (%(error)s); the message "
                                "may have been sent, so it is not sent again.") % {
                "error": (str(exc) or type(exc).__name__)[:200]}) from None
        if not 200 <= reply.status < 300:
            raise Undelivered(_("The SMS gateway answered %(status)s.") % {
                "status": reply.status})
        try:
            return str(json.loads(reply.body)["id"])[:100]
        except (ValueError, KeyError, TypeError):
            # It said yes; only its id for the message is missing.
            return ""


def provider():
    url = settings.SMS_URL or "outbox://"
    if url.startswith(("http://", "https://")):
        return GatewayProvider(url)
    return OutboxProvider()


def number_of(contact) -> str:
    """The contact's number for texts: a mobile one first, then the primary; E.164 or ""."""
    phones = ContactPhone.objects.filter(contact=contact).exclude(number="")
    mobile = phones.filter(kind=PhoneKind.MOBILE).order_by("-is_primary", "id").first()
    chosen = mobile or phones.order_by("-is_primary", "id").first()
    return chosen.number if chosen else ""


def why_not(contact, *, marketing: bool) -> str:
    """Why the contact must not get a text; empty when it may.

    A marketing text needs the contact's SMS marketing consent; a text one
    person writes to another (a reminder, a reply) needs only a number and no
    "do not contact" mark.
    """
    if contact.do_not_contact:
        return _("The contact is marked “do not contact”.")
    if not number_of(contact):
        return _("The contact has no phone number in international form.")
    if marketing:
        latest = (consents_in_effect(Consent.objects.filter(
                      contact=contact, channel=ConsentChannel.SMS,
                      purpose=ConsentPurpose.MARKETING))
                  .order_by("-recorded_at", "-id").values_list("status", flat=True).first())
        if latest != ConsentStatus.GRANTED:
            return _("The contact has not agreed to marketing by SMS.")
    return ""


def clean_body(body) -> str:
    body = body.strip() if isinstance(body, str) else ""
    if not body:
        raise InvalidInput({"body": _("Write the message.")})
    if "\x00" in body:
        raise InvalidInput({"body": _("The message holds a NUL character; remove it.")})
    if len(body) > MAX_BODY:
        raise InvalidInput({"body": _("Keep the message under %(limit)s characters.") % {
            "limit": MAX_BODY}})
    return body


def send_text(org, actor, contact, body: str, *, marketing: bool = False) -> TextMessage:
    """Send `body` to the contact's number and put it on the timeline.

    NotSendable says why the contact may not get it; a provider's refusal
    leaves the message `failed` with the reason and raises NotSendable too.
    When the provider's answer does not come, the message is returned still
    `sending`, with the reason in `error`: it may have gone and is not retried.
    """
    body = clean_body(body)
    reason = why_not(contact, marketing=marketing)
    if reason:
        raise NotSendable(reason)
    # Committed here unless the caller holds a transaction (a rule's run), in
    # which case the row commits with the run.
    with transaction.atomic():
        message = TextMessage.objects.create(
            organization=org, contact=contact, to=number_of(contact), body=body,
            sent_by=actor if getattr(actor, "pk", None) else None)
        audit.record(org, actor, Action.CREATE, message, entity="text_message",
                     object_repr=f"Text to {contact}"[:200])
    try:
        provider_id = provider().send(message.to, body, settings.SMS_FROM)
    except Undelivered as exc:
        TextMessage.objects.filter(pk=message.pk).update(status=TextStatus.FAILED,
                                                         error=str(exc)[:300])
        logger.warning("marketing.text_failed", extra={
            "organization_id": org.id, "text_id": message.pk})
        raise NotSendable(str(exc)) from None
    except Unconfirmed as exc:
        TextMessage.objects.filter(pk=message.pk).update(error=str(exc)[:300])
        message.error = str(exc)[:300]
        timeline.log_event(org, actor, "sms.unconfirmed", contact=contact,
                           data={"to": message.to, "body": body[:300]})
        logger.warning("marketing.text_unconfirmed", extra={
            "organization_id": org.id, "text_id": message.pk})
        return message
    now = timezone.now()
    TextMessage.objects.filter(pk=message.pk).update(status=TextStatus.SENT,
                                                     provider_id=provider_id, sent_at=now)
    message.status, message.provider_id, message.sent_at = TextStatus.SENT, provider_id, now
    timeline.log_event(org, actor, "sms.sent", contact=contact,
                       data={"to": message.to, "body": body[:300]})
    logger.info("marketing.text_sent", extra={"organization_id": org.id,
                                               "text_id": message.pk})
    return message
