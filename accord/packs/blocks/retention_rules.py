"""Retention rules, made by the privacy service; a pack's rules always arrive switched off.

How long records may be kept is the organisation's decision, not the pack's:
the pack proposes a rule (such as deleting appointments eight years after
the appointment) and an admin switches it on under Settings → Privacy →
Retention after checking its dry run. A rule on custom records names its
type by key, so it applies after the pack's record types.
"""

from accord.privacy import services as privacy
from accord.privacy.models import RetentionRule

from . import Block, register

SETTINGS = {"name", "entity", "condition", "age_days", "action", "record_type", "date_field"}


class RetentionRules(Block):
    section = "retention_rules"
    label = "Retention rules"
    order = 70

    def check(self, item, path, problems):
        # The entity, condition, action and type are checked by the privacy
        # service as the pack is applied: a record type may come from the pack.
        problems.only(item, path, SETTINGS)
        problems.text(item, "name", path, limit=120)
        problems.text(item, "entity", path, limit=20)
        problems.whole(item, "age_days", path, low=1, high=36_500)

    def key(self, item):
        return str(item.get("name", "")).strip().lower()

    def describe(self, item):
        return f"{item.get('name')} (switched off)"

    def existing(self, ctx, item):
        return RetentionRule.objects.filter(name__iexact=item["name"].strip()).first()

    def create(self, ctx, item):
        return privacy.save_retention_rule(ctx.org, ctx.actor, {**item, "is_active": False})

    def find(self, ctx, key, object_id):
        return RetentionRule.objects.filter(pk=object_id).first()

    def delete(self, ctx, obj, *, delete_data, changed):
        privacy.delete_retention_rule(ctx.org, ctx.actor, obj)
        return ""


register(RetentionRules())
