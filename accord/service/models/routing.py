from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accord.core.models import VersionedModel


class AssignMode(models.TextChoices):
    NOBODY = "", _("Nobody")
    AGENT = "agent", _("One agent")
    ROUND_ROBIN = "round_robin", _("Next agent of the team in turn")
    LEAST_LOADED = "least_loaded", _("Team agent with the fewest open tickets")


class RoutingRule(VersionedModel):
    """What happens to a new ticket that fits: its queue, priority and agent.

    Rules are tried by `position`; the first whose conditions all hold
    applies, and an empty condition holds for every ticket. Fields a person
    set when opening the ticket are kept. A round-robin rule keeps the agent
    it chose last and is locked while it chooses the next, so two tickets
    arriving together go to two agents.
    """

    name = models.CharField(_("name"), max_length=120)
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    keywords = models.CharField(
        _("words in the subject or message"), max_length=500, blank=True,
        help_text=_("Separate with commas; any one of them is enough."))
    sender_domains = models.CharField(
        _("sender domains"), max_length=500, blank=True,
        help_text=_("Separate with commas, such as bigclient.example."))
    channels = models.JSONField(_("channels"), default=list, blank=True)
    customer_tier = models.CharField(
        _("customer tier"), max_length=60, blank=True,
        help_text=_("A tag the contact or its company carries, such as VIP."))
    set_queue = models.ForeignKey("service.Queue", null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+",
                                  verbose_name=_("move to queue"))
    set_priority = models.CharField(_("set priority"), max_length=8, blank=True)
    assign = models.CharField(_("assign to"), max_length=12, choices=AssignMode.choices,
                              default=AssignMode.NOBODY, blank=True)
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+",
                              verbose_name=_("agent"))
    team = models.ForeignKey("identity.Team", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+", verbose_name=_("team"),
                             help_text=_("For round robin and fewest open tickets; the "
                                         "queue's team when empty."))
    last_assigned = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                      on_delete=models.SET_NULL, related_name="+")

    class Meta(VersionedModel.Meta):
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"],
                                    name="routingrule_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name
