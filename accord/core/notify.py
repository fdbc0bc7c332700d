"""E-mailing a member once that a job they asked for is done (an export, a data request)."""

import datetime as dt
import logging
import smtplib

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import timezone, translation

logger = logging.getLogger(__name__)


def mail_once(job, user, *, templates: str, context: dict, failure_log: str,
              log_extra: dict) -> bool:
    """E-mail `user` about `job` once, from `<templates>_subject.txt` and `<templates>.txt`.

    `job` is a row with a `notified_at` column. It is claimed by setting
    `notified_at` before sending; when the mail server refuses, the claim is
    undone so that a re-run can try again. True when the e-mail went.
    """
    if user is None or not user.is_active or not user.email:
        return False
    rows = type(job).objects.filter(pk=job.pk)
    if not rows.filter(notified_at__isnull=True).update(notified_at=timezone.now()):
        return False
    with timezone.override(dt.UTC), translation.override(settings.LANGUAGE_CODE):
        subject = render_to_string(f"{templates}_subject.txt", context)
        body = render_to_string(f"{templates}.txt", context)
    try:
        EmailMessage(subject=" ".join(subject.split()), body=body, to=[user.email]).send()
    except (smtplib.SMTPException, OSError):
        rows.update(notified_at=None)
        logger.warning(failure_log, extra=log_extra)
        return False
    return True
