"""Tags for contacts and companies."""

from accord.audit import services as audit
from accord.audit.models import Action
from accord.customers.models import CompanyTag, ContactTag, Tag

from . import Block, register

COLOUR_LENGTH = 7  # "#rrggbb"


class Tags(Block):
    section = "tags"
    label = "Tags"
    order = 20

    def check(self, item, path, problems):
        problems.only(item, path, {"name", "color"})
        problems.text(item, "name", path, limit=60)
        color = item.get("color", "#64748b")
        if not (isinstance(color, str) and len(color) == COLOUR_LENGTH and color[0] == "#"):
            problems.add(f"{path}.color", "must be a colour such as #0f766e")

    def key(self, item):
        return str(item.get("name", "")).strip().lower()

    def describe(self, item):
        return item.get("name", "")

    def existing(self, ctx, item):
        return Tag.objects.filter(name__iexact=item["name"].strip()).first()

    def create(self, ctx, item):
        # Tags have no service of their own: contacts create them as they are
        # used. A pack's tag gets its colour here and an audit entry.
        tag = Tag.objects.create(organization=ctx.org, name=item["name"].strip(),
                                 color=item.get("color", "#64748b"))
        audit.record(ctx.org, ctx.actor, Action.CREATE, tag, entity="tag",
                     changes={"name": [None, tag.name]})
        return tag

    def find(self, ctx, key, object_id):
        return Tag.objects.filter(pk=object_id).first()

    def holds_data(self, ctx, obj):
        count = (ContactTag.objects.filter(tag=obj).count()
                 + CompanyTag.objects.filter(tag=obj).count())
        return f"{count} record(s) carry it" if count else ""

    def delete(self, ctx, obj, *, delete_data, changed):
        audit.record(ctx.org, ctx.actor, Action.PURGE, obj, entity="tag",
                     changes={"name": [obj.name, None]})
        obj.delete()
        return ""


register(Tags())
