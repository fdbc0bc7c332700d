"""Marketing sequences, made by the sequences service.

Templates and segments are ids in the organisation, so a pack names them: an
e-mail step gives its template by name (`{"type": "email", "template":
"Your basket is waiting"}`), a segment branch and the goal segment give the
segment by name; they are found when the pack is applied, after the pack's
own templates and segments. A sequence is applied as a draft unless the pack
says `status: active`, and sends from the address of the member who applies
the pack unless it names `from_email`.
"""

from accord.automation.models import Rule
from accord.errors import InvalidInput
from accord.marketing import sequences
from accord.marketing.models import EmailTemplate, Segment
from accord.marketing.sequence_models import Enrolment, Sequence, SequenceStatus

from . import Block, register

ENROLMENT_ACTIONS = ("enrol_in_sequence", "remove_from_sequence")


def _enrolments(sequence: Sequence) -> int:
    return Enrolment.objects.filter(sequence=sequence).count()


def _rules(sequence: Sequence) -> int:
    return sum(1 for actions in Rule.objects.values_list("actions", flat=True)
               if any(action.get("type") in ENROLMENT_ACTIONS
                      and str(action.get("sequence")) == str(sequence.pk)
                      for action in actions or [] if isinstance(action, dict)))


def _by_name(model, name: str, field: str, what: str) -> int:
    found = model.objects.filter(name__iexact=str(name).strip()).first()
    if found is None:
        raise InvalidInput({field: f"No {what} named {name!r}."})
    return found.pk


class Sequences(Block):
    section = "sequences"
    label = "Sequences"
    order = 55

    def check(self, item, path, problems):
        problems.only(item, path, {"name", "description", "from_email", "from_name", "status",
                                   "exit", "steps"})
        problems.text(item, "name", path, limit=120)
        problems.text(item, "description", path, limit=500, required=False)
        problems.text(item, "from_email", path, limit=254, required=False)
        problems.text(item, "from_name", path, limit=120, required=False)
        if item.get("status", "draft") not in SequenceStatus.values:
            problems.add(f"{path}.status", "must be draft, active or paused")
        if "exit" in item and problems.mapping(item["exit"], f"{path}.exit"):
            goal = item["exit"].get("goal_segment")
            if goal is not None and not isinstance(goal, str):
                problems.add(f"{path}.exit.goal_segment", "must name a segment")
        steps = item.get("steps")
        if not isinstance(steps, list) or not steps:
            problems.add(f"{path}.steps", "must list at least one step")
            return
        for index, step in enumerate(steps):
            where = f"{path}.steps[{index}]"
            if not problems.mapping(step, where):
                continue
            if step.get("type") == "email":
                problems.text(step, "template", where, limit=120)
            if step.get("type") == "branch" and step.get("condition") == "segment":
                problems.text(step, "segment", where, limit=120)
        # Everything else about the steps is checked by the sequences service.

    def key(self, item):
        return str(item.get("name", "")).strip().lower()

    def describe(self, item):
        return ": ".join(part for part in (item.get("name"), item.get("description")) if part)

    def existing(self, ctx, item):
        return Sequence.objects.filter(name__iexact=item["name"].strip()).first()

    def create(self, ctx, item):
        data = {"name": item["name"], "description": item.get("description", ""),
                "from_email": item.get("from_email") or getattr(ctx.actor, "email", ""),
                "from_name": item.get("from_name") or ctx.org.name,
                "status": item.get("status", SequenceStatus.DRAFT),
                "steps": [self._step(index, step) for index, step in enumerate(item["steps"])],
                "exit": self._exit(item.get("exit", {}))}
        return sequences.save_sequence(ctx.org, ctx.actor, data)

    @staticmethod
    def _step(index: int, step: dict) -> dict:
        where = f"steps[{index}]"
        if step.get("type") == "email":
            return {**step, "template": _by_name(EmailTemplate, step["template"],
                                                 f"{where}.template", "e-mail template")}
        if step.get("type") == "branch" and step.get("condition") == "segment":
            return {**step, "segment": _by_name(Segment, step["segment"], f"{where}.segment",
                                                "segment")}
        return step

    @staticmethod
    def _exit(exit_: dict) -> dict:
        if exit_.get("goal_segment") in (None, ""):
            return exit_
        return {**exit_, "goal_segment": _by_name(Segment, exit_["goal_segment"],
                                                  "exit.goal_segment", "segment")}

    def find(self, ctx, key, object_id):
        return Sequence.objects.filter(pk=object_id).first()

    def holds_data(self, ctx, obj):
        count = _enrolments(obj)
        return f"{count} enrolment(s) in it" if count else ""

    def blocked(self, ctx, obj):
        # A rule that enrols contacts in a deleted sequence fails each time it runs.
        return "workflow rules enrol contacts in it; change them first" if _rules(obj) else ""

    def delete(self, ctx, obj, *, delete_data, changed):
        if obj.is_active:
            obj = sequences.set_status(ctx.org, ctx.actor, obj, SequenceStatus.PAUSED)
        sequences.delete_sequence(ctx.org, ctx.actor, obj)
        return ""


register(Sequences())
