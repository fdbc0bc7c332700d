from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accord.core.models import TenantModel

# The scale a customer rates on: 1 is very dissatisfied, 5 very satisfied.
RATING_CHOICES = [
    (1, _("1 – Very dissatisfied")),
    (2, _("2 – Dissatisfied")),
    (3, _("3 – Neither")),
    (4, _("4 – Satisfied")),
    (5, _("5 – Very satisfied")),
]


class SatisfactionSurvey(TenantModel):
    """The question "how did we do?" about one solve of a ticket, and the answer.

    One row per ticket and `solved_at`, written before the e-mail so that a
    solve is asked about once. The link carries a random token of which only
    its SHA-256 hash is kept. The agent and queue are those at the solve, so
    the report stays right after the ticket moves on.
    """

    ticket = models.ForeignKey("service.Ticket", on_delete=models.CASCADE,
                               related_name="surveys")
    solved_at = models.DateTimeField()
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+",
                              verbose_name=_("agent"))
    queue = models.ForeignKey("service.Queue", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", verbose_name=_("queue"))
    email = models.EmailField(_("sent to"))
    token_hash = models.CharField(max_length=64, unique=True)
    rating = models.PositiveSmallIntegerField(_("rating"), null=True, blank=True,
                                              choices=RATING_CHOICES)
    comment = models.TextField(_("comment"), blank=True)
    rated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["organization", "ticket", "solved_at"],
                                    name="survey_once_per_solve"),
        ]
        indexes = [
            models.Index(fields=["organization", "solved_at"], name="survey_solved"),
        ]

    def __str__(self) -> str:
        return f"survey of ticket {self.ticket_id}"
