"""Scheduled reports, sent by the beat every hour."""

import logging

from celery import shared_task
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django_scopes import scope

from accord.audit.context import channel
from accord.identity.models import Membership, Organization
from accord.timezones import zone_named

from .mail import period_key, send_report
from .models import SavedReport

logger = logging.getLogger(__name__)


@shared_task(name="accord.reports.tasks.send_scheduled_reports")
def send_scheduled_reports(now: str | None = None) -> int:
    """Send every scheduled report not yet sent for its current period; return how many
    e-mails went out.

    Safe to run twice or concurrently: each (report, member, period) is sent
    once (see `mail.send_report`). `now` (ISO 8601) replaces the current time.
    """
    moment = parse_datetime(now) if now else timezone.now()
    if moment is None or timezone.is_naive(moment):
        raise ValueError("now must be an ISO 8601 date-time with a time zone.")

    # The only query here that spans organisations: which tenants have
    # scheduled reports. Everything else runs inside the tenant's scope.
    org_ids = set(SavedReport.unscoped.exclude(frequency="").values_list(
        "organization_id", flat=True))
    sent = 0
    for org in Organization.objects.filter(pk__in=org_ids):
        today = moment.astimezone(zone_named(org.time_zone)).date()
        with scope(organization=org), channel("job"):
            for report in SavedReport.objects.exclude(frequency="").order_by("id"):
                period = period_key(report.frequency, today)
                members = Membership.objects.filter(
                    user_id__in=report.recipients, is_active=True).select_related(
                    "user", "organization")
                for membership in members:
                    sent += send_report(org, report, membership, period)
    if sent:
        logger.info("reports.tick", extra={"sent": sent})
    return sent
