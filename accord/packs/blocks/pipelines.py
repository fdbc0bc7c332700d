"""Deal pipelines with their stages, made by the sales service."""

from accord.audit import services as audit
from accord.audit.models import Action
from accord.sales import services as sales
from accord.sales.models import Deal, Pipeline, StageKind

from . import Block, register


class Pipelines(Block):
    section = "pipelines"
    label = "Pipelines"
    order = 30

    def check(self, item, path, problems):
        problems.only(item, path, {"name", "stages"})
        problems.text(item, "name", path, limit=120)
        stages = item.get("stages")
        if not isinstance(stages, list) or not stages:
            problems.add(f"{path}.stages", "must list the stages in order")
            return
        for index, stage in enumerate(stages):
            where = f"{path}.stages[{index}]"
            if not problems.mapping(stage, where):
                continue
            problems.only(stage, where, {"name", "kind", "probability", "rot_after_days"})
            problems.text(stage, "name", where, limit=120)
            if stage.get("kind", StageKind.OPEN) not in StageKind.values:
                problems.add(f"{where}.kind", "must be one of: open, won, lost")
            problems.whole(stage, "probability", where, low=0, high=100, required=False)
            problems.whole(stage, "rot_after_days", where, low=1, high=3650, required=False)
        kinds = {stage.get("kind", StageKind.OPEN) for stage in stages
                 if isinstance(stage, dict)}
        if not {StageKind.OPEN, StageKind.WON, StageKind.LOST} <= kinds:
            problems.add(f"{path}.stages", "must hold an open, a won and a lost stage")

    def key(self, item):
        return str(item.get("name", "")).strip().lower()

    def describe(self, item):
        stages = ", ".join(f"{stage.get('name')} {stage.get('probability', '')}%".strip()
                           for stage in item.get("stages", []))
        return f"{item.get('name')}: {stages}"

    def existing(self, ctx, item):
        return Pipeline.objects.filter(name__iexact=item["name"].strip()).first()

    def create(self, ctx, item):
        return sales.create_pipeline(ctx.org, ctx.actor, name=item["name"],
                                     stages=item["stages"])

    def find(self, ctx, key, object_id):
        return Pipeline.objects.filter(pk=object_id).first()

    def holds_data(self, ctx, obj):
        count = Deal.unscoped.filter(organization=ctx.org, pipeline=obj).count()
        return f"{count} deal(s) are in it" if count else ""

    def delete(self, ctx, obj, *, delete_data, changed):
        if obj.is_default:
            successor = Pipeline.objects.filter(is_active=True).exclude(pk=obj.pk).first()
            if successor is not None:
                sales.update_pipeline(ctx.org, ctx.actor, successor, data={"is_default": True})
                obj.refresh_from_db()
        deals = Deal.unscoped.filter(organization=ctx.org, pipeline=obj)
        if deals.exists():
            # Trashed deals still point at their pipeline and stage and can be
            # restored, so the pipeline is switched off rather than deleted.
            for deal in Deal.objects.filter(pipeline=obj):
                sales.delete_deal(ctx.org, ctx.actor, deal)
            if not obj.is_default:
                sales.update_pipeline(ctx.org, ctx.actor, obj, data={"is_active": False})
            return "deals moved to the trash; pipeline switched off"
        audit.record(ctx.org, ctx.actor, Action.PURGE, obj,
                     changes={"name": [obj.name, None]})
        obj.delete()
        return ""


register(Pipelines())
