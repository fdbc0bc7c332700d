"""Workflow rules, made by the automation service; a pack's rules start switched off
unless the pack says `is_active: true`."""

from accord.automation import services as automation
from accord.automation.models import Rule

from . import Block, register


class Rules(Block):
    section = "rules"
    label = "Workflow rules"
    order = 60

    def check(self, item, path, problems):
        problems.only(item, path, {"name", "trigger", "settings", "conditions", "actions",
                                   "is_active"})
        problems.text(item, "name", path, limit=200)
        problems.text(item, "trigger", path, limit=32)
        problems.mapping(item.get("settings", {}), f"{path}.settings")
        problems.mapping(item.get("conditions", {"all": []}), f"{path}.conditions")
        if not isinstance(item.get("actions"), list) or not item["actions"]:
            problems.add(f"{path}.actions", "must list at least one action")

    def key(self, item):
        return str(item.get("name", "")).strip().lower()

    def existing(self, ctx, item):
        return Rule.objects.filter(name__iexact=item["name"].strip()).first()

    def create(self, ctx, item):
        return automation.create_rule(ctx.org, ctx.actor, data={
            "name": item["name"], "trigger": item["trigger"],
            "settings": item.get("settings", {}),
            "conditions": item.get("conditions", {"all": []}), "actions": item["actions"],
            "is_active": item.get("is_active", False)})

    def find(self, ctx, key, object_id):
        return Rule.objects.filter(pk=object_id).first()

    def delete(self, ctx, obj, *, delete_data, changed):
        automation.delete_rule(ctx.org, ctx.actor, obj)
        return ""


register(Rules())
