"""Satisfaction surveys: asking the customer after each solve, recording the answer, reporting.

The scale is 1 to 5 (1 very dissatisfied, 5 very satisfied). The e-mail has
one link per rating; the link opens a page that confirms the rating and takes
an optional comment, and only posting that page records it, so a mail
scanner that follows links records nothing. Each link carries a random token
of which only the SHA-256 hash is stored. A customer who answers again
changes their answer; a solve is asked about once.
"""

import datetime as dt
import hashlib
import logging
import secrets
import smtplib

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Avg, Count, Exists, F, OuterRef, Q
from django.db.models.functions import TruncMonth
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django_scopes import scope, scopes_disabled

from accord.activities.services import site_url
from accord.audit.context import channel
from accord.customers.validation import Collector
from accord.identity.models import Organization

from . import services
from .models import (
    RATING_CHOICES,
    MessageKind,
    SatisfactionSurvey,
    Ticket,
    TicketMessage,
    TicketStatus,
    TicketStatusChange,
)

logger = logging.getLogger(__name__)

RATINGS = [value for value, _label in RATING_CHOICES]
SEND_WINDOW = dt.timedelta(days=3)  # solves older than this when first seen are not asked about
BATCH = 500  # surveys in one tick; a tick stays well under a minute
MAX_ATTEMPTS = 5  # a refused survey is tried again on the next ticks, then given up
COMMENT_LIMIT = 2000


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def survey_url(token: str, rating: int | None = None) -> str:
    url = site_url() + reverse("service:survey", args=[token])
    return f"{url}?rating={rating}" if rating else url


# Sending


def send_due_surveys(now: dt.datetime) -> int:
    """Send a survey for each recent solve not yet asked about, and retry refused ones."""
    # The only queries here that span organisations: they find the solves
    # to ask about, then everything else runs inside that tenant's scope.
    solved_then = TicketStatusChange.unscoped.filter(
        ticket=OuterRef("pk"), to_status=TicketStatus.SOLVED, at=OuterRef("solved_at"))
    asked = SatisfactionSurvey.unscoped.filter(ticket=OuterRef("pk"),
                                               solved_at=OuterRef("solved_at"))
    wrote_in = TicketMessage.unscoped.filter(
        ticket=OuterRef("pk"), kind=MessageKind.INBOUND).exclude(from_address="")
    due = (Ticket.unscoped.filter(Exists(solved_then),
                                  Q(contact__email__gt="") | Exists(wrote_in),
                                  status__in=[TicketStatus.SOLVED, TicketStatus.CLOSED],
                                  solved_at__range=(now - SEND_WINDOW, now),
                                  deleted_at__isnull=True)
           .exclude(Exists(asked)).order_by("solved_at", "id")
           .values_list("organization_id", "id")[:BATCH])
    work: dict[int, list[int]] = {}
    for org_id, ticket_id in due:
        work.setdefault(org_id, []).append(ticket_id)
    retries: dict[int, list[int]] = {}
    for org_id, survey_id in (SatisfactionSurvey.unscoped.filter(
            sent_at__isnull=True, failed_at__isnull=False, attempts__lt=MAX_ATTEMPTS)
            .order_by("failed_at", "id").values_list("organization_id", "id")[:BATCH]):
        retries.setdefault(org_id, []).append(survey_id)

    sent = 0
    for org in Organization.objects.filter(pk__in=set(work) | set(retries)):
        with scope(organization=org), channel("job"):
            for ticket_id in work.get(org.pk, []):
                sent += send_survey(org, ticket_id)
            for survey_id in retries.get(org.pk, []):
                sent += retry_survey(org, survey_id)
    if work:
        logger.info("satisfaction.tick", extra={"due": sum(map(len, work.values())),
                                                "sent": sent})
    return sent


def send_survey(org, ticket_id: int) -> bool:
    """Ask about the ticket's latest solve, once; True when the e-mail went out.

    Must run inside the organisation's scope. The survey row is written
    before the e-mail; a second run finds it and sends nothing.
    """
    ticket = (Ticket.objects.select_related("contact", "queue", "assignee")
              .filter(pk=ticket_id, solved_at__isnull=False,
                      status__in=[TicketStatus.SOLVED, TicketStatus.CLOSED]).first())
    if ticket is None:
        return False
    address = services.reply_address(ticket)
    if not address:
        return False
    token = secrets.token_urlsafe(32)

    try:
        with transaction.atomic():
            survey = SatisfactionSurvey.objects.create(
                organization=org, ticket=ticket, solved_at=ticket.solved_at,
                agent=ticket.assignee, queue=ticket.queue, email=address,
                token_hash=hash_token(token))
    except IntegrityError:
        return False
    return deliver_survey(org, survey, token)


def deliver_survey(org, survey: SatisfactionSurvey, token: str) -> bool:
    ticket = Ticket.objects.select_related("queue").get(pk=survey.ticket_id)
    try:
        _survey_message(org, ticket, survey, token).send()
    except (smtplib.SMTPException, OSError):
        SatisfactionSurvey.objects.filter(pk=survey.pk).update(
            failed_at=timezone.now(), attempts=F("attempts") + 1)
        logger.warning("satisfaction.send_failed",
                       extra={"organization_id": org.id, "survey_id": survey.pk})
        return False
    SatisfactionSurvey.objects.filter(pk=survey.pk).update(
        sent_at=timezone.now(), failed_at=None, attempts=F("attempts") + 1)
    logger.info("satisfaction.sent", extra={"organization_id": org.id, "survey_id": survey.pk,
                                            "ticket_id": ticket.pk})
    return True


def retry_survey(org, survey_id: int) -> bool:
    """Send a refused survey again with a fresh token; one run claims each retry."""
    survey = SatisfactionSurvey.objects.filter(pk=survey_id, sent_at__isnull=True,
                                               failed_at__isnull=False).first()
    if survey is None:
        return False
    token = secrets.token_urlsafe(32)
    claimed = SatisfactionSurvey.objects.filter(
        pk=survey.pk, failed_at=survey.failed_at, sent_at__isnull=True,
    ).update(failed_at=None, token_hash=hash_token(token))
    return bool(claimed) and deliver_survey(org, survey, token)


def _survey_message(org, ticket: Ticket, survey: SatisfactionSurvey,
                    token: str) -> EmailMessage:
    context = {
        "org": org, "ticket": ticket,
        "links": [(value, label, survey_url(token, value)) for value, label in RATING_CHOICES],
    }
    with translation.override(settings.LANGUAGE_CODE):
        subject = render_to_string("service/satisfaction/email/survey_subject.txt", context)
        body = render_to_string("service/satisfaction/email/survey.txt", context)
    return EmailMessage(subject=" ".join(subject.split()), body=body,
                        from_email=services.sender_address(ticket), to=[survey.email],
                        headers={"Auto-Submitted": "auto-generated"})


# Answering


def find_survey(token: str) -> SatisfactionSurvey | None:
    """The survey a link's token opens, in any organisation; None for an unknown token."""
    if not token or len(token) > 100:
        return None
    # The token is the only key a customer has; the organisation comes from it.
    with scopes_disabled():
        return (SatisfactionSurvey.unscoped.select_related("organization", "ticket")
                .filter(token_hash=hash_token(token)).first())


def clean_answer(data: dict) -> tuple[int, str]:
    """The rating (1 to 5) and comment from `data`; InvalidInput naming each bad field."""
    errors = Collector()
    try:
        rating = int(data.get("rating"))
    except (TypeError, ValueError):
        rating = None
    if rating not in RATINGS:
        errors.add("rating", "Choose a rating from 1 to 5.", "required")
    comment = data.get("comment") or ""
    if not isinstance(comment, str):
        errors.add("comment", "Enter text.")
        comment = ""
    comment = comment.strip().replace("\x00", "")
    if len(comment) > COMMENT_LIMIT:
        errors.add("comment", f"Keep the comment under {COMMENT_LIMIT} characters.")
    errors.raise_if_any()
    return rating, comment


def record_answer(survey: SatisfactionSurvey, data: dict) -> SatisfactionSurvey:
    """Store the customer's rating and comment; a later answer replaces an earlier one.

    Raises InvalidInput for a rating outside 1 to 5 or an overlong comment.
    """
    rating, comment = clean_answer(data)
    with scope(organization=survey.organization), transaction.atomic():
        SatisfactionSurvey.objects.filter(pk=survey.pk).update(
            rating=rating, comment=comment, rated_at=timezone.now())
        survey.refresh_from_db()
    logger.info("satisfaction.rated", extra={"organization_id": survey.organization_id,
                                             "survey_id": survey.pk, "rating": rating})
    return survey


# Reporting


def report(*, start: dt.date | None = None, end: dt.date | None = None,
           zone=None) -> dict:
    """Average rating and count of answers by agent, by queue and by month of the solve.

    `start` and `end` (inclusive) are local dates in `zone`. Must run inside
    the organisation's scope.
    """
    zone = zone or timezone.get_current_timezone()
    answers = SatisfactionSurvey.objects.filter(rating__isnull=False)
    if start:
        answers = answers.filter(solved_at__gte=dt.datetime.combine(start, dt.time(), zone))
    if end:
        answers = answers.filter(
            solved_at__lt=dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), zone))
    measures = {"average": Avg("rating"), "count": Count("id")}
    overall = answers.aggregate(**measures)
    by_agent = (answers.values("agent_id", "agent__full_name", "agent__email")
                .annotate(**measures).order_by("-count", "agent__email"))
    by_queue = (answers.values("queue_id", "queue__name").annotate(**measures)
                .order_by("-count", "queue__name"))
    by_month = (answers.annotate(month=TruncMonth("solved_at", tzinfo=zone)).values("month")
                .annotate(**measures).order_by("month"))
    return {
        "overall": overall,
        "agents": [{"name": row["agent__full_name"] or row["agent__email"],
                    "average": row["average"], "count": row["count"]} for row in by_agent],
        "queues": [{"name": row["queue__name"], "average": row["average"],
                    "count": row["count"]} for row in by_queue],
        "months": [{"month": row["month"], "average": row["average"], "count": row["count"]}
                   for row in by_month],
    }
