"""The loyalty programme: points per unit spent and tiers, set by the insights service.

An organisation has one programme, so a pack switches it on with its tiers
only when it is off; a programme already running is kept as it is.
"""

from accord.insights import loyalty
from accord.insights.models import LoyaltyProgram

from . import Block, register


class Loyalty(Block):
    section = "loyalty"
    label = "Loyalty programme"
    order = 70

    def check(self, item, path, problems):
        problems.only(item, path, {"points_per_unit", "months", "tiers"})
        problems.whole(item, "months", path, low=0, high=loyalty.MAX_MONTHS, required=False)
        rate = item.get("points_per_unit", 1)
        if not isinstance(rate, int | float) or isinstance(rate, bool) or not 0 < rate <= 10000:
            problems.add(f"{path}.points_per_unit", "must be above 0 and at most 10000")
        tiers = item.get("tiers")
        if not isinstance(tiers, list) or not tiers:
            problems.add(f"{path}.tiers", "must list the tiers")
            return
        for index, tier in enumerate(tiers):
            where = f"{path}.tiers[{index}]"
            if problems.mapping(tier, where):
                problems.text(tier, "name", where, limit=60)
                problems.whole(tier, "points", where, low=0, high=10_000_000)

    def key(self, item):
        return "programme"

    def describe(self, item):
        return ", ".join(f"{tier.get('name')} from {tier.get('points')} points"
                         for tier in item.get("tiers", []))

    def existing(self, ctx, item):
        return LoyaltyProgram.objects.filter(is_active=True).first()

    def create(self, ctx, item):
        data = {"is_active": True, "tiers": item["tiers"],
                "points_per_unit": item.get("points_per_unit", 1)}
        if "months" in item:
            data["months"] = item["months"]
        return loyalty.update_program(ctx.org, ctx.actor, data=data)

    def find(self, ctx, key, object_id):
        return LoyaltyProgram.objects.filter(pk=object_id, is_active=True).first()

    def delete(self, ctx, obj, *, delete_data, changed):
        loyalty.update_program(ctx.org, ctx.actor, data={"is_active": False})
        return "switched off"


register(Loyalty())
