"""Workflow rules, made by the automation service; a pack's rules start switched off
unless the pack says `is_active: true`.

A rule's stage (`settings.stage` of a `stage_moved` rule) is an id in the
organisation, so a pack names it instead: `{"pipeline": "Buyers", "stage":
"Viewing done"}`, found when the pack is applied.
"""

from accord.automation import services as automation
from accord.automation.models import Rule
from accord.errors import InvalidInput
from accord.sales.models import Stage

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
        if problems.mapping(item.get("settings", {}), f"{path}.settings"):
            stage = item.get("settings", {}).get("stage")
            if stage is not None and problems.mapping(stage, f"{path}.settings.stage"):
                problems.only(stage, f"{path}.settings.stage", {"pipeline", "stage"})
                problems.text(stage, "pipeline", f"{path}.settings.stage", limit=120)
                problems.text(stage, "stage", f"{path}.settings.stage", limit=120)
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
            "settings": self._settings(item.get("settings", {})),
            "conditions": item.get("conditions", {"all": []}), "actions": item["actions"],
            "is_active": item.get("is_active", False)})

    @staticmethod
    def _settings(settings: dict) -> dict:
        named = settings.get("stage")
        if named is None:
            return settings
        stage = Stage.objects.filter(pipeline__name__iexact=named["pipeline"].strip(),
                                     name__iexact=named["stage"].strip()).first()
        if stage is None:
            raise InvalidInput({"settings.stage": f"No stage {named['stage']!r} in a pipeline "
                                                  f"named {named['pipeline']!r}."})
        return {**settings, "stage": stage.pk}

    def find(self, ctx, key, object_id):
        return Rule.objects.filter(pk=object_id).first()

    def delete(self, ctx, obj, *, delete_data, changed):
        automation.delete_rule(ctx.org, ctx.actor, obj)
        return ""


register(Rules())
