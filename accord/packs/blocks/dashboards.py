"""Dashboards of saved reports; a dashboard belongs to the member who applies the pack."""

from accord.errors import InvalidInput
from accord.reports import services as reports
from accord.reports.models import Dashboard, SavedReport

from . import Block, register


class Dashboards(Block):
    section = "dashboards"
    label = "Dashboards"
    order = 100

    def check(self, item, path, problems):
        problems.only(item, path, {"name", "reports"})
        problems.text(item, "name", path, limit=120)
        names = item.get("reports")
        if not isinstance(names, list) or not names or not all(
                isinstance(name, str) for name in names):
            problems.add(f"{path}.reports", "must list the names of reports")

    def key(self, item):
        return str(item.get("name", "")).strip().lower()

    def describe(self, item):
        return f"{item.get('name')}: " + ", ".join(item.get("reports", []))

    def existing(self, ctx, item):
        return Dashboard.objects.filter(owner=ctx.actor,
                                        name__iexact=item["name"].strip()).first()

    def create(self, ctx, item):
        dashboard = reports.create_dashboard(ctx.org, ctx.actor, name=item["name"])
        for index, name in enumerate(item["reports"]):
            report = ctx.lookup("reports", name.strip().lower()) or SavedReport.objects.filter(
                is_shared=True, name__iexact=name.strip()).first()
            if report is None:
                raise InvalidInput({f"reports[{index}]": f"No report named {name!r}."})
            reports.add_tile(ctx.org, ctx.actor, ctx.membership, dashboard, report.pk)
        dashboard.refresh_from_db()
        return dashboard

    def find(self, ctx, key, object_id):
        return Dashboard.objects.filter(pk=object_id).first()

    def delete(self, ctx, obj, *, delete_data, changed):
        reports.delete_dashboard(ctx.org, ctx.actor, obj)
        return ""


register(Dashboards())
