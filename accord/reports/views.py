"""Report pages: the list, the builder, a saved report, its drill-down and exports, and
dashboards. Every figure is computed for the signed-in member's visibility."""

import io

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accord.errors import InvalidInput, NotFound, StaleVersion
from accord.identity.permissions import permission_required
from accord.integrations.writers import CsvWriter, XlsxWriter
from accord.web import can, list_page, pager

from . import builder, engine, services
from .dashboards import role_dashboard, saved_tiles
from .display import export_rows, present
from .entities import entity_for
from .forms import DashboardForm, SaveReportForm
from .models import Dashboard
from .params import definition_from_params, definition_to_params

PAGE_SIZE = 50
ORDERINGS = {"id": "id"}


def _report(request, pk):
    try:
        return services.get_report(request.membership, pk)
    except NotFound as exc:
        raise Http404(str(exc)) from exc


def _dashboard(request, pk):
    try:
        return services.get_dashboard(request.membership, pk)
    except NotFound as exc:
        raise Http404(str(exc)) from exc


@permission_required("reports.view")
def report_list(request):
    reports = services.readable_reports(request.membership).select_related("owner").order_by(
        "name", "id")
    return render(request, "reports/report_list.html", {
        "reports": list(reports),
        "dashboards": list(Dashboard.objects.filter(owner=request.user).order_by("name", "id")),
        "dashboard_form": DashboardForm(),
    })


@permission_required("reports.view")
def report_new(request):
    return _builder_page(request, None)


@permission_required("reports.view")
def report_edit(request, pk: int):
    return _builder_page(request, _report(request, pk))


def _builder_page(request, report):
    """The builder: the definition comes from the query string (or the saved report),
    the result is drawn below it, and the save form posts the same parameters."""
    params = request.GET
    if report is not None and "entity" not in params:
        params = definition_to_params(services.readable_definition(report, request.membership))
    status, errors, shown = 200, {}, None
    form = SaveReportForm(organization=request.organization, initial=_initial(report))
    if request.method == "POST":
        params = request.POST
        form = SaveReportForm(request.POST, organization=request.organization)
        saved = _save(request, report, form, params)
        if saved is not None:
            return saved
        status = 409 if getattr(form, "stale", False) else 422
        errors = form.definition_errors
    definition = definition_from_params(params)
    entity = entity_for(definition["entity"], request.membership)
    if entity is not None and not errors:
        try:
            result = engine.run(definition, request.membership)
            shown = present(result, report.name if report else _("Report"))
        except InvalidInput as exc:
            errors = builder.flat_errors(exc.errors)
            status = 422
    context = builder.controls(entity, request.membership, params, errors)
    context.update({"report": report, "shown": shown, "form": form,
                    "query": params.urlencode() if entity else "",
                    "hidden": [(name, value) for name in params
                               for value in params.getlist(name)
                               if name not in form.fields and name != "csrfmiddlewaretoken"],
                    "can_manage": can(request, "reports.manage")})
    return render(request, "reports/report_builder.html", context, status=status)


def _initial(report) -> dict:
    if report is None:
        return {}
    return {"name": report.name, "is_shared": report.is_shared, "frequency": report.frequency,
            "recipients": report.recipients, "version": report.version}


def _save(request, report, form, params):
    """Save the report and redirect to it, or leave the errors on `form` and return None."""
    form.definition_errors = {}
    if not form.is_valid():
        return None
    data = {**form.data_for_service(), "definition": definition_from_params(params)}
    try:
        if report is None:
            report = services.create_report(request.organization, request.user,
                                            request.membership, data=data)
        else:
            report = services.update_report(request.organization, request.user,
                                            request.membership, report, data=data,
                                            expected_version=form.cleaned_data["version"])
    except StaleVersion as exc:
        form.add_error(None, exc.detail)
        form.stale = True
        return None
    except InvalidInput as exc:
        for error in exc.errors:
            if error["field"].startswith("definition."):
                form.definition_errors.update(builder.flat_errors(
                    [{**error, "field": error["field"].removeprefix("definition.")}]))
            elif error["field"] in form.fields:
                form.add_error(error["field"], error["message"])
            else:
                form.add_error(None, error["message"])
        return None
    messages.success(request, _("Report saved."))
    return redirect(report)


@permission_required("reports.view")
def report_detail(request, pk: int):
    report = _report(request, pk)
    errors, shown = [], None
    try:
        shown = present(engine.run(report.definition, request.membership), report.name)
    except InvalidInput as exc:
        # The definition no longer fits: a field was removed or hidden from the role.
        errors = [error["message"] for error in exc.errors]
    return render(request, "reports/report_detail.html", {
        "report": report, "shown": shown, "errors": errors,
        "query": definition_to_params(
            services.readable_definition(report, request.membership)).urlencode(),
        "may_change": report.owner_id == request.user.pk or can(request, "reports.manage"),
        "dashboards": list(Dashboard.objects.filter(owner=request.user).order_by("name")),
    })


@require_POST
@permission_required("reports.view")
def report_delete(request, pk: int):
    report = _report(request, pk)
    services.delete_report(request.organization, request.user, request.membership, report)
    messages.success(request, _("Report deleted."))
    return redirect("reports:list")


@permission_required("reports.view")
def report_records(request):
    """The records behind one bar, slice or row: the report's filters plus its group values."""
    params = request.GET
    definition = definition_from_params(params)
    try:
        definition, entity = engine.validate(definition, request.membership)
        engine.drill_down(definition, request.membership, params.getlist("g"),
                          params.get("currency", ""))
    except InvalidInput as exc:
        return render(request, "reports/report_records.html", {
            "errors": [error["message"] for error in exc.errors], "records": []}, status=422)
    records, next_cursor, errors = list_page(
        params, lambda: engine.drill_down(definition, request.membership, params.getlist("g"),
                                          params.get("currency", "")),
        orderings=ORDERINGS, default="id", limit=PAGE_SIZE)
    return render(request, "reports/report_records.html", {
        "entity": entity, "records": records, "errors": errors,
        "values": _group_labels(definition, request.membership, params.getlist("g")),
        "back": definition_to_params(definition).urlencode(),
        **pager(params, next_cursor),
    })


def _group_labels(definition: dict, viewer, keys: list[str]) -> list[str]:
    """The words the report shows for a row's group keys ("Prospecting", not its id);
    the keys themselves when the report no longer has such a row."""
    for row in engine.run(definition, viewer).rows:
        if list(row.keys) == keys:
            return list(row.labels)
    return keys


@permission_required("reports.view")
def report_export(request, fmt: str):
    """The result as CSV or XLSX: one row per group, the measure as a number."""
    try:
        result = engine.run(definition_from_params(request.GET), request.membership)
    except InvalidInput as exc:
        return HttpResponse("\n".join(error["message"] for error in exc.errors), status=422,
                            content_type="text/plain; charset=utf-8")
    stream = io.BytesIO()
    writer = CsvWriter(stream) if fmt == "csv" else XlsxWriter(stream, title=_("Report"))
    for cells in export_rows(result):
        writer.write_row(cells)
    writer.close()
    response = HttpResponse(stream.getvalue(), content_type=writer.content_type)
    response["Content-Disposition"] = f'attachment; filename="report.{writer.extension}"'
    return response


# Dashboards


@permission_required("reports.view")
def role_home(request):
    """The dashboard of the member's role on its own page (the home page shows it too)."""
    return render(request, "reports/dashboard_role.html",
                  {"tiles": role_dashboard(request.membership)})


@require_POST
@permission_required("reports.view")
def dashboard_create(request):
    form = DashboardForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the dashboard a name."))
        return redirect("reports:list")
    dashboard = services.create_dashboard(request.organization, request.user,
                                          name=form.cleaned_data["name"])
    return redirect(dashboard)


@permission_required("reports.view")
def dashboard_detail(request, pk: int):
    dashboard = _dashboard(request, pk)
    on_board = set(dashboard.tiles.values_list("report_id", flat=True))
    return render(request, "reports/dashboard_detail.html", {
        "dashboard": dashboard, "tiles": saved_tiles(dashboard, request.membership),
        "addable": [report for report in services.readable_reports(
            request.membership).order_by("name") if report.pk not in on_board],
    })


@require_POST
@permission_required("reports.view")
def dashboard_tiles(request, pk: int):
    """Add a tile (`report`), or remove or move one (`tile` with `action`)."""
    dashboard = _dashboard(request, pk)
    action = request.POST.get("action", "add")
    try:
        if action == "add":
            services.add_tile(request.organization, request.user, request.membership,
                              dashboard, request.POST.get("report"))
        elif action == "remove":
            services.remove_tile(request.organization, request.user, dashboard,
                                 request.POST.get("tile"))
        elif action in ("up", "down"):
            services.move_tile(request.organization, request.user, dashboard,
                               request.POST.get("tile"), step=-1 if action == "up" else 1)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    return redirect(dashboard)


@require_POST
@permission_required("reports.view")
def dashboard_delete(request, pk: int):
    services.delete_dashboard(request.organization, request.user, _dashboard(request, pk))
    messages.success(request, _("Dashboard deleted."))
    return redirect("reports:list")


@require_POST
@permission_required("reports.view")
def dashboard_add(request):
    """Add the report in the form to the dashboard chosen beside it."""
    dashboard = _dashboard(request, request.POST.get("dashboard"))
    try:
        services.add_tile(request.organization, request.user, request.membership, dashboard,
                          request.POST.get("report"))
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    messages.success(request, _("Added to the dashboard."))
    return redirect(dashboard)
