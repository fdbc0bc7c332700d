"""Saved reports, shared with the organisation, made by the reports service.

Pipelines are ids in a report's filters, so a pack names them instead
(`"filters": {"pipeline": ["Buyers"]}`), found when the pack is applied.
"""

from django.db.models import Q

from accord.errors import InvalidInput
from accord.reports import services as reports
from accord.reports.models import SavedReport
from accord.sales.models import Pipeline

from . import Block, register


class Reports(Block):
    section = "reports"
    label = "Reports"
    order = 90

    def check(self, item, path, problems):
        problems.only(item, path, {"name", "definition"})
        problems.text(item, "name", path, limit=120)
        # The definition is checked by the report engine when the pack is
        # applied: it may group by custom fields the pack adds.
        problems.mapping(item.get("definition"), f"{path}.definition")

    def key(self, item):
        return str(item.get("name", "")).strip().lower()

    def existing(self, ctx, item):
        return SavedReport.objects.filter(
            Q(is_shared=True) | Q(owner=ctx.actor), name__iexact=item["name"].strip()).first()

    def create(self, ctx, item):
        return reports.create_report(ctx.org, ctx.actor, ctx.membership, data={
            "name": item["name"], "definition": self._definition(item["definition"]),
            "is_shared": True})

    @staticmethod
    def _definition(definition: dict) -> dict:
        filters = definition.get("filters")
        if not isinstance(filters, dict) or not isinstance(filters.get("pipeline"), list):
            return definition
        ids = []
        for index, name in enumerate(filters["pipeline"]):
            pipeline = (Pipeline.objects.filter(name__iexact=name.strip()).first()
                        if isinstance(name, str) else None)
            if pipeline is None:
                raise InvalidInput({f"definition.filters.pipeline[{index}]":
                                    f"No pipeline named {name!r}."})
            ids.append(pipeline.pk)
        return {**definition, "filters": {**filters, "pipeline": ids}}

    def find(self, ctx, key, object_id):
        return SavedReport.objects.filter(pk=object_id).first()

    def delete(self, ctx, obj, *, delete_data, changed):
        reports.delete_report(ctx.org, ctx.actor, ctx.membership, obj)
        return ""


register(Reports())
