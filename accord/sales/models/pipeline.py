from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accord.core.models import VersionedModel


class Pipeline(VersionedModel):
    """An ordered series of stages a deal goes through (new business, renewals...)."""

    name = models.CharField(_("name"), max_length=120)
    position = models.PositiveIntegerField(_("position"), default=0)
    is_default = models.BooleanField(_("default"), default=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta(VersionedModel.Meta):
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="pipeline_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("sales:board", args=[self.pk])


class StageKind(models.TextChoices):
    OPEN = "open", _("Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class Stage(VersionedModel):
    """One step of a pipeline, with the chance that a deal in it is won."""

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(_("name"), max_length=120)
    position = models.PositiveIntegerField(_("position"), default=0)
    kind = models.CharField(_("kind"), max_length=8, choices=StageKind.choices,
                            default=StageKind.OPEN)
    probability = models.PositiveSmallIntegerField(
        _("win probability (%)"), default=0,
        help_text=_("Used to weigh the forecast: amount × probability."),
    )
    rot_after_days = models.PositiveIntegerField(
        _("rotting after (days)"), null=True, blank=True,
        help_text=_("A deal with no activity for this many days is flagged."),
    )
    reason_required = models.BooleanField(
        _("reason required"), default=False,
        help_text=_("Moving a deal here asks for a reason (always for lost stages)."),
    )

    class Meta(VersionedModel.Meta):
        ordering = ["pipeline", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "pipeline", "name"],
                                    name="stage_unique_name"),
            models.CheckConstraint(condition=models.Q(probability__lte=100),
                                   name="stage_probability_percent"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_closed(self) -> bool:
        return self.kind != StageKind.OPEN

    @property
    def needs_reason(self) -> bool:
        return self.kind == StageKind.LOST or self.reason_required
