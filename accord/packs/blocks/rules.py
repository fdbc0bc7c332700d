"""Workflow rules, made by the automation service; a pack's rules start switched off
unless the pack says `is_active: true`.

A rule's stage (`settings.stage` of a `stage_moved` rule, the `stage` of a
`create_deal` action) is an id in the organisation, so a pack names it
instead: `{"pipeline": "Buyers", "stage": "Viewing done"}`. The sequence of
an `enrol_in_sequence` or `remove_from_sequence` action is named too
(`"sequence": "Abandoned basket"`). Both are found when the pack is applied,
after the pack's pipelines and sequences.
"""

from accord.automation import services as automation
from accord.automation.models import Rule
from accord.errors import InvalidInput
from accord.marketing.sequence_models import Sequence
from accord.sales.models import Stage

from . import Block, register

SEQUENCE_ACTIONS = ("enrol_in_sequence", "remove_from_sequence")


def _check_stage(stage, path: str, problems) -> None:
    if problems.mapping(stage, path):
        problems.only(stage, path, {"pipeline", "stage"})
        problems.text(stage, "pipeline", path, limit=120)
        problems.text(stage, "stage", path, limit=120)


def _stage(named: dict, field: str) -> int:
    stage = Stage.objects.filter(pipeline__name__iexact=named["pipeline"].strip(),
                                 name__iexact=named["stage"].strip()).first()
    if stage is None:
        raise InvalidInput({field: f"No stage {named['stage']!r} in a pipeline "
                                   f"named {named['pipeline']!r}."})
    return stage.pk


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
            if stage is not None:
                _check_stage(stage, f"{path}.settings.stage", problems)
        problems.mapping(item.get("conditions", {"all": []}), f"{path}.conditions")
        if not isinstance(item.get("actions"), list) or not item["actions"]:
            problems.add(f"{path}.actions", "must list at least one action")
            return
        for index, action in enumerate(item["actions"]):
            where = f"{path}.actions[{index}]"
            if not problems.mapping(action, where):
                continue
            if action.get("type") == "create_deal":
                _check_stage(action.get("stage"), f"{where}.stage", problems)
            if action.get("type") in SEQUENCE_ACTIONS:
                problems.text(action, "sequence", where, limit=120)

    def key(self, item):
        return str(item.get("name", "")).strip().lower()

    def existing(self, ctx, item):
        return Rule.objects.filter(name__iexact=item["name"].strip()).first()

    def create(self, ctx, item):
        return automation.create_rule(ctx.org, ctx.actor, data={
            "name": item["name"], "trigger": item["trigger"],
            "settings": self._settings(item.get("settings", {})),
            "conditions": item.get("conditions", {"all": []}),
            "actions": [self._action(index, action)
                        for index, action in enumerate(item["actions"])],
            "is_active": item.get("is_active", False)})

    @staticmethod
    def _settings(settings: dict) -> dict:
        named = settings.get("stage")
        if named is None:
            return settings
        return {**settings, "stage": _stage(named, "settings.stage")}

    @staticmethod
    def _action(index: int, action: dict) -> dict:
        where = f"actions[{index}]"
        if action.get("type") == "create_deal":
            return {**action, "stage": _stage(action["stage"], f"{where}.stage")}
        if action.get("type") in SEQUENCE_ACTIONS:
            sequence = Sequence.objects.filter(name__iexact=action["sequence"].strip()).first()
            if sequence is None:
                raise InvalidInput({f"{where}.sequence":
                                    f"No sequence named {action['sequence']!r}."})
            return {**action, "sequence": sequence.pk}
        return action

    def find(self, ctx, key, object_id):
        return Rule.objects.filter(pk=object_id).first()

    def delete(self, ctx, obj, *, delete_data, changed):
        automation.delete_rule(ctx.org, ctx.actor, obj)
        return ""


register(Rules())
