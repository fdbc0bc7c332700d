"""Sending a campaign: each e-mail at most once, every waiting one eventually.

The recipient rows are the ledger. Before an e-mail is handed to the mail
server its row is switched from `pending` to `sending` by a conditional
UPDATE that is committed at once, so two jobs never both take a row; after
the server accepts it, the row becomes `sent` (in the same commit that takes
the next row). A worker that dies between the two leaves one row in
`sending`: that e-mail may or may not have gone, and it is not sent again.
Every `pending` row is sent by whichever job runs next, so a killed job
that is started again finishes the campaign without a duplicate.

Temporary refusals (4xx) put the row back to `pending` with a later attempt
time; permanent ones (5xx) mark it failed, and a refused recipient address
is put on the suppression list as bounced.
"""

import datetime as dt
import logging
import smtplib
import time
from email.utils import formataddr, make_msgid

from django.conf import settings
from django.core.mail import get_connection
from django.db import connection, transaction
from django.db.models import Count, Min
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from accord import events
from accord.activities.services import site_url
from accord.core.models import RateCounter
from accord.errors import InvalidInput
from accord.identity.models import Membership, Organization

from . import campaigns, emails, subject_test, tracking
from .models import (
    Campaign,
    CampaignRecipient,
    CampaignStatus,
    RecipientStatus,
    SuppressionReason,
)

logger = logging.getLogger(__name__)

BATCH = 200  # e-mails per SMTP connection; a batch takes a few seconds at most
MAX_ATTEMPTS = 5  # temporary refusals before a recipient is given up
RETRY_DELAYS = [60, 300, 900, 3600]  # seconds before the 2nd, 3rd, ... attempt


def send_campaign(org, campaign: Campaign) -> int:
    """Send every waiting recipient of a campaign that is sending; return how many went.

    Safe to run twice at once or again after a crash. The campaign becomes
    `sent` when no recipient waits any more; when some wait for a retry, the
    job is queued again for then.
    """
    sent = 0
    links = tracking.Links(site_url(), org.pk, campaign.links.count())
    while True:
        campaign.refresh_from_db(fields=["status", "winner"])
        if campaign.status != CampaignStatus.SENDING:
            return sent
        now = timezone.now()
        batch = list(_due(campaign, now).values_list("pk", flat=True)[:BATCH])
        if batch:
            sent += _send_batch(org, campaign, batch, links)
            Campaign.objects.filter(pk=campaign.pk).update(heartbeat_at=timezone.now())
        elif not (subject_test.waiting_for_winner(campaign)
                  and subject_test.choose_winner(org, campaign)):
            break

    later = CampaignRecipient.objects.filter(
        campaign=campaign, status=RecipientStatus.PENDING).aggregate(at=Min("next_attempt_at"))
    wake = [moment for moment in (
        later["at"],
        campaign.test_ends_at if subject_test.waiting_for_winner(campaign) else None,
    ) if moment is not None]
    if wake:
        at = min(wake)
        wait = max((at - timezone.now()).total_seconds(), 1)
        # The heartbeat moves to the retry time (or the end of the subject
        # test), so the scheduler does not take the wait for a dead worker
        # and queue another job meanwhile.
        Campaign.objects.filter(pk=campaign.pk).update(heartbeat_at=at)
        campaigns.queue_sending(org.pk, campaign.pk, countdown=wait)
        return sent
    _finish(org, campaign)
    return sent


def _due(campaign: Campaign, now):
    waiting = CampaignRecipient.objects.filter(campaign=campaign, status=RecipientStatus.PENDING)
    return (waiting.filter(next_attempt_at__isnull=True)
            | waiting.filter(next_attempt_at__lte=now)).order_by("pk")


def _send_batch(org, campaign: Campaign, ids: list[int], links: tracking.Links) -> int:
    """Send the rows `ids` that are still waiting over one SMTP connection."""
    texts = {"a": emails.Compiled(campaign.subject, campaign.html, campaign.text)}
    if subject_test.is_test(campaign):
        texts["b"] = emails.Compiled(campaign.subject_b, campaign.html, campaign.text)
    # Merge fields show what the person who made the campaign may see, no more.
    writer = Membership.objects.filter(user_id=campaign.created_by_id).first()
    rows = {row.pk: row for row in CampaignRecipient.objects.filter(pk__in=ids)
            .select_related("contact__company", "contact__owner")}
    sender = formataddr((campaign.from_name, campaign.from_email))
    mail = get_connection()
    mail.open()
    sent, previous = 0, None
    try:
        for recipient_id in ids:
            recipient = rows[recipient_id]
            _pace(org)
            message_id = make_msgid(domain=campaign.from_email.rpartition("@")[2] or None)
            taken = _take(recipient_id, message_id, previous)
            previous = None
            if not taken:
                continue  # another job took it
            try:
                message = _message(org, texts[subject_test.variant_of(campaign, recipient)],
                                   recipient, writer, sender, message_id, links)
                mail.send_messages([message])
            except smtplib.SMTPRecipientsRefused as exc:
                code, text = next(iter(exc.recipients.values()))
                _refused(org, campaign, recipient, code, text, address_refused=True)
                continue
            except (smtplib.SMTPResponseException, smtplib.SMTPSenderRefused) as exc:
                _refused(org, campaign, recipient, exc.smtp_code, exc.smtp_error)
                if exc.smtp_code == 421:  # the server is closing the connection
                    mail = _reopen(mail)
                continue
            except (smtplib.SMTPException, OSError) as exc:
                # The connection broke while this e-mail was on its way: it
                # may have arrived, so it is not sent again.
                _fail(recipient_id, str(exc) or exc.__class__.__name__)
                mail = _reopen(mail)
                continue
            except InvalidInput as exc:
                _fail(recipient_id, exc.errors[0]["message"] if exc.errors else exc.detail)
                continue
            previous = recipient_id
            sent += 1
    finally:
        if previous is not None:
            _mark_sent([previous])
        mail.close()
    return sent


def _take(recipient_id: int, message_id: str, previous: int | None) -> bool:
    """Mark the last e-mail sent and claim the next, in one commit; False when the next
    is not waiting any more."""
    with transaction.atomic():
        if previous is not None:
            _mark_sent([previous])
        return bool(CampaignRecipient.objects.filter(
            pk=recipient_id, status=RecipientStatus.PENDING,
        ).update(status=RecipientStatus.SENDING, message_id=message_id, error=""))


def _mark_sent(ids: list[int]) -> None:
    CampaignRecipient.objects.filter(pk__in=ids, status=RecipientStatus.SENDING).update(
        status=RecipientStatus.SENT, sent_at=timezone.now())


def _reopen(mail):
    mail.close()
    mail = get_connection()
    mail.open()
    return mail


def _message(org, texts: emails.Compiled, recipient, writer, sender, message_id,
             links: tracking.Links):
    values = emails.person_values(recipient.contact, org, writer)
    values["tracking"] = links.values(recipient.pk)
    subject, html_body, text_body = texts.render(values)
    return emails.marketing_message(subject, html_body, text_body, sender=sender,
                                    to=recipient.address, message_id=message_id,
                                    unsubscribe=values["tracking"]["unsubscribe"])


def _refused(org, campaign, recipient, code: int, text, *, address_refused=False) -> None:
    reason = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
    error = f"{code} {reason}"[:300]
    if 400 <= code < 500 and recipient.attempts + 1 < MAX_ATTEMPTS:
        delay = RETRY_DELAYS[min(recipient.attempts, len(RETRY_DELAYS) - 1)]
        CampaignRecipient.objects.filter(pk=recipient.pk).update(
            status=RecipientStatus.PENDING, attempts=recipient.attempts + 1, error=error,
            next_attempt_at=timezone.now() + dt.timedelta(seconds=delay))
        logger.warning("marketing.send_deferred", extra={
            "organization_id": org.id, "campaign_id": campaign.pk,
            "recipient_id": recipient.pk, "smtp_code": code})
        return
    bounced = address_refused and code >= 500
    CampaignRecipient.objects.filter(pk=recipient.pk).update(
        status=RecipientStatus.BOUNCED if bounced else RecipientStatus.FAILED,
        attempts=recipient.attempts + 1, error=error)
    if bounced:
        campaigns.suppress_address(org, None, recipient.address,
                                   reason=SuppressionReason.BOUNCED, campaign=campaign,
                                   note=error)
    logger.warning("marketing.send_failed", extra={
        "organization_id": org.id, "campaign_id": campaign.pk, "recipient_id": recipient.pk,
        "smtp_code": code})


def _fail(recipient_id: int, error: str) -> None:
    CampaignRecipient.objects.filter(pk=recipient_id).update(
        status=RecipientStatus.FAILED, error=error[:300])


def _pace(org) -> None:
    """Wait until the organisation may send one more e-mail this second.

    The count lives in the database, so every worker of a deployment shares
    it: CAMPAIGN_SEND_RATE e-mails a second per organisation, 0 for no limit.
    """
    limit = settings.CAMPAIGN_SEND_RATE
    if not limit:
        return
    while True:
        now = time.time()
        if _count_send(org.pk, int(now)) <= limit:
            return
        time.sleep(1 - now % 1)


def _count_send(org_id: int, second: int) -> int:
    table = connection.ops.quote_name(RateCounter._meta.db_table)
    window = connection.ops.quote_name("window")
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (key, {window}, count) VALUES (%s, %s, 1) "  # noqa: S608 - names from the model, values bound
            f"ON CONFLICT (key, {window}) DO UPDATE SET count = {table}.count + 1 "
            "RETURNING count",
            [f"campaign-send:{org_id}", second],
        )
        count = cursor.fetchone()[0]
        if count == 1:
            RateCounter.objects.filter(key=f"campaign-send:{org_id}",
                                       window__lt=second).delete()
    return count


@transaction.atomic
def _finish(org, campaign: Campaign) -> None:
    updated = Campaign.objects.filter(pk=campaign.pk, status=CampaignStatus.SENDING).update(
        status=CampaignStatus.SENT, finished_at=timezone.now())
    if not updated:
        return
    campaign.refresh_from_db()
    counts = status_counts(campaign)
    events.emit(org, None, "campaign.sent", campaign,
                data={"name": campaign.name, "status": campaign.status, "recipients": counts})
    logger.info("marketing.campaign_sent", extra={
        "organization_id": org.id, "campaign_id": campaign.pk, **counts})


def status_counts(campaign: Campaign) -> dict:
    """How many recipients of the campaign are in each status (every status named)."""
    rows = (CampaignRecipient.objects.filter(campaign=campaign).values("status")
            .annotate(n=Count("id")).values_list("status", "n"))
    return dict.fromkeys(RecipientStatus.values, 0) | dict(rows)


def resume_stalled(now=None) -> int:
    """Queue the sending of campaigns whose job stopped beating; how many were queued."""
    now = now or timezone.now()
    stall = dt.timedelta(seconds=settings.CAMPAIGN_STALL_SECONDS)
    with scopes_disabled():
        stalled = list(Campaign.unscoped.filter(status=CampaignStatus.SENDING,
                                                heartbeat_at__lt=now - stall)
                       .values_list("organization_id", "pk"))
    for org_id, campaign_id in stalled:
        org = Organization.objects.get(pk=org_id)
        with scope(organization=org):
            Campaign.objects.filter(pk=campaign_id).update(heartbeat_at=now)
        campaigns.queue_sending(org_id, campaign_id)
        logger.info("marketing.campaign_resumed", extra={
            "organization_id": org_id, "campaign_id": campaign_id})
    return len(stalled)
