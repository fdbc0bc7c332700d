"""Background work for tickets: sending replies, SLA warnings and breaches."""

import logging
import smtplib

from celery import shared_task
from django.core.files.storage import default_storage
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone
from django_scopes import scope

from accord.audit.context import channel
from accord.identity.models import Organization

from . import portal
from .models import PortalSignInRequest, TicketMessage

logger = logging.getLogger(__name__)


@shared_task(name="accord.service.tasks.send_ticket_reply", bind=True, max_retries=8,
             acks_late=True)
def send_ticket_reply(self, org_id: int, message_id: int) -> bool:
    """Mail one stored reply to the customer; True once it has been handed to SMTP.

    A reply already sent is not sent again. A worker lost between handing
    the mail over and noting it may send it twice; the repeat carries the
    same Message-ID, so the customer's mail program shows it once.
    """
    org = Organization.objects.get(pk=org_id)
    with scope(organization=org), channel("job"):
        message = (TicketMessage.objects.select_related("ticket", "ticket__queue")
                   .filter(pk=message_id).first())
        if message is None or message.sent_at is not None:
            return False
        mail = reply_mail(message)
        try:
            mail.send()
        except (smtplib.SMTPException, OSError) as exc:
            TicketMessage.objects.filter(pk=message.pk).update(delivery_error=str(exc)[:300])
            logger.warning("ticket_reply.failed", extra={"organization_id": org_id,
                                                         "message_id": message_id})
            raise self.retry(exc=exc, countdown=min(60 * 2 ** self.request.retries,
                                                  3600)) from exc
        with transaction.atomic():
            TicketMessage.objects.filter(pk=message.pk).update(sent_at=timezone.now(),
                                                               delivery_error="")
    return True


def reply_mail(message: TicketMessage) -> EmailMultiAlternatives:
    """The e-mail for a stored reply, with the threading headers mail programs read."""
    headers = {"Message-ID": f"<{message.message_id}>", "Auto-Submitted": "no"}
    if message.in_reply_to:
        headers["In-Reply-To"] = f"<{message.in_reply_to}>"
    if message.references:
        headers["References"] = message.references
    mail = EmailMultiAlternatives(
        subject=message.subject, body=message.body, from_email=message.from_address,
        to=message.to, cc=message.cc, headers=headers,
    )
    for attachment in message.attachments.all():
        with default_storage.open(attachment.file.name, "rb") as handle:
            mail.attach(attachment.filename, handle.read(), attachment.content_type)
    return mail


@shared_task(name="accord.service.tasks.forget_portal_sign_in_requests")
def forget_portal_sign_in_requests() -> int:
    """Delete portal sign-in requests once their link has expired and the throttle no
    longer counts them, so addresses' hashes and IP addresses are not kept.

    Safe to run twice: a second run finds nothing that old.
    """
    now = timezone.now()
    cutoff = now - max(portal.LINK_LIFETIME, portal.THROTTLE_WINDOW)
    deleted, _ = PortalSignInRequest.unscoped.filter(created_at__lt=cutoff,
                                                     expires_at__lt=now).delete()
    return deleted


@shared_task(name="accord.service.tasks.poll_mailboxes")
def poll_mailboxes() -> int:
    """Read new mail from every queue's IMAP mailbox; return how many messages were taken."""
    from .imap import poll_all

    return poll_all()


@shared_task(name="accord.service.tasks.send_outreach", acks_late=True)
def send_outreach(org_id: int, outreach_id: int) -> int:
    """Send an outreach's e-mails that have not gone yet; return how many went now."""
    from .models import Outreach
    from .outreach import send_pending

    org = Organization.objects.get(pk=org_id)
    with scope(organization=org), channel("job"):
        outreach = Outreach.objects.filter(pk=outreach_id).first()
        if outreach is None:
            return 0
        return send_pending(org, outreach)
