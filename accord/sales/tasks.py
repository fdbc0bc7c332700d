"""Background work for deals: reminders to owners of deals that went quiet."""

import datetime as dt
import logging
import smtplib

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django_scopes import scope

from accord.activities.services import site_url
from accord.audit.context import channel
from accord.identity.models import Membership, Organization
from accord.money import quantize
from accord.timezones import zone_named

from .models import Deal, DealStatus, RotReminder, Stage, StageKind

logger = logging.getLogger(__name__)

BATCH = 500  # one beat tick of a few hundred e-mails ends well inside the hour


@shared_task(name="accord.sales.tasks.send_rot_reminders")
def send_rot_reminders(now: str | None = None) -> int:
    """E-mail the owner of each open deal that went quiet in its stage; return how many.

    A deal is quiet when its last activity is older than its stage's
    `rot_after_days`. Its owner hears once per quiet period: a RotReminder
    row keyed by the deal and its `last_activity_at` is written before the
    e-mail, so running twice or concurrently sends nothing twice, and any new
    activity starts a new period. `now` (ISO 8601) replaces the current time.
    """
    moment = parse_datetime(now) if now else timezone.now()
    if moment is None or timezone.is_naive(moment):
        raise ValueError("now must be an ISO 8601 date-time with a time zone.")

    # The only queries here that span organisations: they find which tenants
    # have quiet deals, then everything else runs inside that tenant's scope.
    limits = set(Stage.unscoped.filter(kind=StageKind.OPEN, rot_after_days__isnull=False)
                 .values_list("rot_after_days", flat=True).distinct())
    if not limits:
        return 0
    quiet = Q()
    for days in limits:
        quiet |= Q(stage__rot_after_days=days,
                   last_activity_at__lte=moment - dt.timedelta(days=days))
    reminded = RotReminder.unscoped.filter(deal=OuterRef("pk"),
                                           quiet_since=OuterRef("last_activity_at"))
    # Owners who left are skipped here, not only when sending, so that their
    # deals never fill the batch and hold back everyone else's.
    still_member = Membership.unscoped.filter(organization=OuterRef("organization"),
                                              user=OuterRef("owner"), is_active=True)
    due = (
        Deal.unscoped.filter(quiet, Exists(still_member), status=DealStatus.OPEN,
                             deleted_at__isnull=True, owner__is_active=True)
        .exclude(Exists(reminded))
        .order_by("last_activity_at", "id")
        .values_list("organization_id", "id")[:BATCH]
    )
    by_org: dict[int, list[int]] = {}
    for organization_id, deal_id in due:
        by_org.setdefault(organization_id, []).append(deal_id)

    sent = 0
    for org in Organization.objects.filter(pk__in=by_org):
        with scope(organization=org), channel("job"):
            for deal_id in by_org[org.pk]:
                sent += send_rot_reminder(org, deal_id, now=moment)
    if by_org:
        logger.info("rot_reminders.tick", extra={"due": sum(map(len, by_org.values())),
                                                 "sent": sent})
    return sent


def send_rot_reminder(org, deal_id: int, *, now: dt.datetime) -> bool:
    """E-mail a quiet deal's owner, once for its current quiet period; True if sent.

    Must run inside the organisation's scope. When the mail server refuses
    the message the ledger row is removed so that the next run tries again.
    """
    deal = (Deal.objects.select_related("owner", "stage", "company")
            .filter(pk=deal_id, status=DealStatus.OPEN, stage__rot_after_days__isnull=False)
            .first())
    if deal is None or not _is_quiet(deal, now) or not _may_be_reminded(deal.owner):
        return False

    try:
        with transaction.atomic():
            reminder = RotReminder.objects.create(organization=org, deal=deal,
                                                  quiet_since=deal.last_activity_at)
    except IntegrityError:
        return False

    try:
        _rot_message(org, deal, now).send()
    except (smtplib.SMTPException, OSError):
        # Nothing was accepted by the server, so forgetting the attempt is safe
        # and lets the next beat tick retry.
        RotReminder.objects.filter(pk=reminder.pk).delete()
        logger.warning("rot_reminder.send_failed",
                       extra={"organization_id": org.id, "deal_id": deal.pk})
        return False
    RotReminder.objects.filter(pk=reminder.pk).update(sent_at=timezone.now())
    logger.info("rot_reminder.sent", extra={"organization_id": org.id, "deal_id": deal.pk,
                                            "recipient_id": deal.owner_id})
    return True


def _is_quiet(deal: Deal, now: dt.datetime) -> bool:
    return deal.last_activity_at <= now - dt.timedelta(days=deal.stage.rot_after_days)


def _may_be_reminded(user) -> bool:
    return (
        user is not None
        and user.is_active
        and bool(user.email)
        and Membership.objects.filter(user=user, is_active=True).exists()
    )


def _rot_message(org, deal: Deal, now: dt.datetime) -> EmailMessage:
    """The reminder e-mail, with times in the owner's own time zone."""
    user = deal.owner
    zone = zone_named(user.time_zone)
    context = {
        "org": org,
        "deal": deal,
        "user": user,
        "quiet_days": (now - deal.last_activity_at).days,
        "amount": quantize(deal.amount, deal.currency) if deal.amount is not None else None,
        "zone_name": str(zone),
        "url": site_url() + deal.get_absolute_url(),
    }
    with timezone.override(zone), translation.override(settings.LANGUAGE_CODE):
        subject = render_to_string("sales/email/deal_rotting_subject.txt", context)
        body = render_to_string("sales/email/deal_rotting.txt", context)
    return EmailMessage(subject=" ".join(subject.split()), body=body, to=[user.email])
