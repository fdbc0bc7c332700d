"""Scheduled reports by e-mail: which period is due, and the message for one member.

The message is HTML with the result as a table and a plain-text part with
the same rows. The chart goes along as an SVG attachment rather than inline:
many mail clients do not show inline SVG, and no library to draw a PNG is
installed, so the table carries the figures and the SVG is there to open.
"""

import datetime as dt
import logging

from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accord.activities.services import site_url
from accord.errors import InvalidInput, NotPermitted
from accord.identity.models import Membership
from accord.timezones import zone_named

from . import engine
from .display import present
from .models import Frequency, ReportDelivery, SavedReport

logger = logging.getLogger(__name__)


def period_key(frequency: str, today: dt.date) -> str:
    """The period `today` falls in for a report sent `frequency`: one e-mail each.

    The first run in a period sends it: just after midnight on the day, on
    Monday or on the 1st; a period whose first day was missed (the scheduler
    was down) is caught up on the next run.
    """
    if frequency == Frequency.DAILY:
        return today.isoformat()
    if frequency == Frequency.WEEKLY:
        year, week, _day = today.isocalendar()
        return f"{year}-W{week:02d}"
    return today.strftime("%Y-%m")


def report_message(report: SavedReport, membership: Membership) -> EmailMultiAlternatives:
    """The e-mail of `report` as `membership` sees it."""
    user = membership.user
    with translation.override(None), timezone.override(zone_named(user.time_zone)):
        try:
            shown = present(engine.run(report.definition, membership), report.name,
                            absolute=site_url())
            errors = []
        except (InvalidInput, NotPermitted) as exc:
            shown = None
            errors = [error["message"] for error in getattr(exc, "errors", [])] or [
                str(exc.detail)]
        context = {"report": report, "shown": shown, "errors": errors,
                   "link": site_url() + report.get_absolute_url()}
        subject = _("Report: %(name)s") % {"name": report.name}
        message = EmailMultiAlternatives(
            subject=" ".join(subject.split()),
            body=render_to_string("reports/email/report.txt", context),
            to=[user.email])
        message.attach_alternative(render_to_string("reports/email/report.html", context),
                                   "text/html")
        if shown is not None and shown.chart is not None:
            svg = render_to_string("reports/_chart.html", {"shown": shown})
            message.attach("chart.svg", svg, "image/svg+xml")
    return message


def send_report(org, report: SavedReport, membership: Membership, period: str) -> bool:
    """Send the report to one member for `period`, once: True when it went out now.

    A ReportDelivery row is written first; a second run finds it and sends
    nothing. When the mail server refuses, the row is removed so that the next
    run tries again.
    """
    try:
        with transaction.atomic():
            delivery = ReportDelivery.objects.create(
                organization=org, report=report, recipient=membership.user, period=period)
    except IntegrityError:
        return False

    try:
        report_message(report, membership).send()
    except OSError:
        ReportDelivery.objects.filter(pk=delivery.pk).delete()
        logger.warning("reports.send_failed", extra={
            "organization_id": org.id, "report_id": report.pk,
            "user_id": membership.user_id})
        return False

    ReportDelivery.objects.filter(pk=delivery.pk).update(sent_at=timezone.now())
    logger.info("reports.sent", extra={"organization_id": org.id, "report_id": report.pk,
                                       "user_id": membership.user_id})
    return True
