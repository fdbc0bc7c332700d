from django.db import models
from django.utils.translation import gettext_lazy as _

from accord.core.models import VersionedModel


class BusinessCalendar(VersionedModel):
    """When a support team works: weekly hours in a time zone, minus holidays.

    `hours` maps a weekday ("0" is Monday) to a list of ["HH:MM", "HH:MM"]
    intervals in local wall-clock time; `holidays` is a list of ISO dates.
    """

    name = models.CharField(_("name"), max_length=120)
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")
    hours = models.JSONField(_("working hours"), default=dict, blank=True)
    holidays = models.JSONField(_("holidays"), default=list, blank=True)

    class Meta(VersionedModel.Meta):
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"],
                                    name="calendar_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class SlaPolicy(VersionedModel):
    """Response and resolution targets for the tickets it matches.

    The first active policy by `position` whose conditions all hold applies;
    an empty condition matches everything.
    """

    name = models.CharField(_("name"), max_length=120)
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    priorities = models.JSONField(_("priorities"), default=list, blank=True)
    queue = models.ForeignKey("service.Queue", null=True, blank=True, on_delete=models.CASCADE,
                              related_name="+", verbose_name=_("queue"))
    customer_tier = models.CharField(_("customer tier"), max_length=60, blank=True)
    first_response_minutes = models.PositiveIntegerField(_("first response within (minutes)"),
                                                         null=True, blank=True)
    resolution_minutes = models.PositiveIntegerField(_("resolution within (minutes)"),
                                                     null=True, blank=True)
    warn_before_minutes = models.PositiveIntegerField(_("warn before (minutes)"), default=60)
    calendar = models.ForeignKey(BusinessCalendar, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="policies",
                                 verbose_name=_("business hours"))

    class Meta(VersionedModel.Meta):
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="sla_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name
