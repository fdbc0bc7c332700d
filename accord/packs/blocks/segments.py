"""Segments over contacts in the segment condition language, made by the marketing service."""

from accord.marketing import services as marketing
from accord.marketing.models import Campaign, Segment

from . import Block, register


def _campaigns(segment: Segment) -> int:
    return Campaign.objects.filter(segment=segment).count()


class Segments(Block):
    section = "segments"
    label = "Segments"
    order = 45

    def check(self, item, path, problems):
        problems.only(item, path, {"name", "description", "kind", "conditions"})
        problems.text(item, "name", path, limit=120)
        problems.text(item, "description", path, limit=500, required=False)
        if item.get("kind", "dynamic") not in ("dynamic", "frozen"):
            problems.add(f"{path}.kind", "must be dynamic or frozen")
        # The tree itself is checked by the condition language when the pack
        # is applied: it may name custom fields and tags the pack adds.
        problems.mapping(item.get("conditions"), f"{path}.conditions")

    def key(self, item):
        return str(item.get("name", "")).strip().lower()

    def describe(self, item):
        return ": ".join(part for part in (item.get("name"), item.get("description")) if part)

    def existing(self, ctx, item):
        return Segment.objects.filter(name__iexact=item["name"].strip()).first()

    def create(self, ctx, item):
        return marketing.create_segment(ctx.org, ctx.actor, viewer=ctx.membership, data={
            "name": item["name"], "description": item.get("description", ""),
            "kind": item.get("kind", "dynamic"), "conditions": item["conditions"]})

    def find(self, ctx, key, object_id):
        return Segment.objects.filter(pk=object_id).first()

    def holds_data(self, ctx, obj):
        count = _campaigns(obj)
        return f"{count} campaign(s) use it" if count else ""

    def blocked(self, ctx, obj):
        # A campaign's report needs its segment; campaigns are not a pack's to delete.
        return "campaigns use it; delete them first" if _campaigns(obj) else ""

    def delete(self, ctx, obj, *, delete_data, changed):
        marketing.delete_segment(ctx.org, ctx.actor, obj)
        return ""


register(Segments())
