from django.db import models
from django.utils.translation import gettext_lazy as _

from accord.core.models import VersionedModel


class CannedReply(VersionedModel):
    """A prepared answer agents insert into a reply, with merge fields such as
    {{ contact.first_name|default:"there" }} filled in from the ticket."""

    name = models.CharField(_("name"), max_length=120)
    body = models.TextField(_("text"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta(VersionedModel.Meta):
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="canned_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name
