"""Forecast, quotas, exchange rates and pipeline reports: thin views over the services."""

import csv
import datetime as dt
import io
from decimal import Decimal
from urllib.parse import urlencode

from django.contrib import messages
from django.db.models import Count, Max, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _

from accord.errors import InvalidInput
from accord.identity.models import Membership, Role
from accord.identity.permissions import permission_required
from accord.identity.views import add_service_errors, form_status
from accord.integrations.writers import escape_cell
from accord.pagination import paginate, parse_ordering

from . import charts, services
from .forecast import GROUPINGS, build_forecast, period_containing, today_for
from .insights_forms import ExchangeRateForm, QuotaGridForm, QuotaYearForm, ReportRangeForm
from .models import ExchangeRate, Period, Pipeline, Quota
from .reports import build_pipeline_report

# The deals list, routed with the board and deal pages, reads these filters:
# owner, pipeline, status, close_from and close_to.
DEALS_LIST_URL = "/deals/"
WHEN = {"previous": -1, "this": 0, "next": 1}
RATES_PAGE = 50
REPORT_DAYS = 90  # a quarter back is the range most reviews start from


def _percent(ratio) -> str:
    return number_format(ratio * 100, 1) + " %"


# Forecast


def _forecast_choice(request):
    kind = request.GET.get("period")
    kind = kind if kind in Period.values else Period.MONTH
    when = request.GET.get("when")
    when = when if when in WHEN else "this"
    group_by = request.GET.get("group_by")
    group_by = group_by if group_by in GROUPINGS else "owner"
    period = period_containing(kind, today_for(request.organization)).shifted(WHEN[when])
    return period, when, group_by


def _deals_link(filters: dict | None, status: str, period) -> str:
    if filters is None:
        return ""
    query = {**filters, "status": status, "close_from": period.starts_on.isoformat(),
             "close_to": period.ends_on.isoformat()}
    return DEALS_LIST_URL + "?" + urlencode(query)


def _period_label(period) -> str:
    if period.kind == Period.QUARTER:
        return _("Quarter %(number)d of %(year)d") % {
            "number": (period.starts_on.month + 2) // 3, "year": period.starts_on.year}
    return date_format(period.starts_on, "YEAR_MONTH_FORMAT")


@permission_required("forecast.view")
def forecast(request):
    period, when, group_by = _forecast_choice(request)
    result = build_forecast(request.membership, period=period, group_by=group_by)

    currency = result.currency
    rows = [{
        "group": group, "figures": group.figures.rounded(currency),
        "won_url": _deals_link(group.filters, "won", period),
        "open_url": _deals_link(group.filters, "open", period),
    } for group in result.groups]
    chart = charts.attainment_chart(_("Quota attainment"), [
        (row["group"].label, row["figures"].attainment, _percent(row["figures"].attainment))
        for row in rows if row["figures"].attainment is not None
    ])
    context = {
        "forecast": result, "rows": rows, "totals": result.totals.rounded(currency),
        "chart": chart if chart.bars else None, "when": when, "group_by": group_by,
        "periods": Period.choices, "whens": [
            ("previous", _("Previous")), ("this", _("This")), ("next", _("Next"))],
        "groupings": [("owner", _("Owner")), ("team", _("Team")),
                      ("pipeline", _("Pipeline"))],
        "period_label": _period_label(period),
        "export_query": urlencode({"period": period.kind, "when": when,
                                   "group_by": group_by}),
    }
    if request.htmx:
        return render(request, "sales/insights/forecast.html#forecast-result", context)
    return render(request, "sales/insights/forecast.html", context)


@permission_required("forecast.view")
def forecast_export(request):
    period, _when, group_by = _forecast_choice(request)
    result = build_forecast(request.membership, period=period, group_by=group_by)

    header = [_("Group"), _("Won"), _("Commit"), _("Best case"), _("Pipeline"),
              _("Weighted"), _("Quota"), _("Attainment (%)"), _("Deals not converted"),
              _("Currency")]
    lines = [header]
    for label, figures in [*((group.label, group.figures) for group in result.groups),
                           (_("Total"), result.totals)]:
        shown = figures.rounded(result.currency)
        attainment = shown.attainment
        lines.append([
            escape_cell(str(label)), shown.won, shown.commit, shown.best_case, shown.pipeline,
            shown.weighted, "" if shown.quota is None else shown.quota,
            "" if attainment is None else (attainment * 100).quantize(Decimal("0.01")),
            figures.not_converted_count, result.currency,
        ])
    name = f"forecast-{period.kind}-{period.starts_on:%Y-%m-%d}-{group_by}.csv"
    return _csv_response(lines, name)


def _csv_response(lines: list[list], filename: str) -> HttpResponse:
    buffer = io.StringIO()
    # A byte-order mark first, so spreadsheet programs read the file as UTF-8.
    buffer.write("\ufeff")
    csv.writer(buffer).writerows(lines)
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# Quotas


def _quota_starts(year: int, period: str) -> list[dt.date]:
    months = range(1, 13) if period == Period.MONTH else (1, 4, 7, 10)
    return [dt.date(year, month, 1) for month in months]


@permission_required("quotas.manage")
def quotas(request):
    today = today_for(request.organization)
    choice = QuotaYearForm({"year": today.year, "period": Period.MONTH, **request.GET.dict()})
    year, period = today.year, Period.MONTH
    if choice.is_valid():
        year, period = choice.cleaned_data["year"], choice.cleaned_data["period"]
    starts = _quota_starts(year, period)
    current = {(quota.user_id, quota.starts_on): quota.amount for quota in
               Quota.objects.filter(period=period, starts_on__in=starts)}
    # Those who sell, and anyone else who already has a quota in this year.
    sellers = Q(role__in=[Role.ADMIN, Role.MANAGER, Role.SALES]) | Q(
        user_id__in={user_id for user_id, _starts_on in current})
    people = [membership.user for membership in (
        Membership.objects.filter(sellers, is_active=True).select_related("user")
        .order_by("user__full_name", "user__email"))]
    form = QuotaGridForm(request.POST or None, people=people, starts=starts, period=period,
                         current=current)

    if request.method == "POST" and form.is_valid():
        changed = form.save(request.organization, request.user)
        if not form.errors:
            messages.success(request, _("Quotas saved: %(count)d changed.") % {"count": changed})
            return redirect(reverse("sales_insights:quotas") + "?"
                            + urlencode({"year": year, "period": period}))
    context = {"form": form, "choice": choice, "year": year, "period": period,
               "starts": starts, "currency": request.organization.base_currency}
    return render(request, "sales/insights/quota_grid.html", context, status=form_status(form))


# Exchange rates


@permission_required("rates.manage")
def exchange_rates(request):
    form = ExchangeRateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            rate = services.set_exchange_rate(request.organization, request.user,
                                              **form.cleaned_data)
        except InvalidInput as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Rate of %(currency)s on %(day)s saved.") % {
                "currency": rate.currency, "day": rate.valid_on.isoformat()})
            return redirect("sales_insights:exchange_rates")

    currency = request.GET.get("currency", "").strip().upper()
    rates = ExchangeRate.objects.all()
    if currency:
        rates = rates.filter(currency=currency)
    ordering = parse_ordering(None, {"valid_on": "valid_on"}, "-valid_on")
    page, next_cursor = paginate(rates, ordering, cursor=request.GET.get("cursor"),
                                 limit=RATES_PAGE)
    currencies = (ExchangeRate.objects.values("currency")
                  .annotate(latest=Max("valid_on"), count=Count("id")).order_by("currency"))
    context = {
        "form": form, "rates": page, "currencies": currencies, "currency": currency,
        "base_currency": request.organization.base_currency,
        "next_query": urlencode({"currency": currency, "cursor": next_cursor})
        if next_cursor else "",
        "first_query": urlencode({"currency": currency}),
        "is_later_page": bool(request.GET.get("cursor")),
    }
    return render(request, "sales/insights/exchangerate_list.html", context,
                  status=form_status(form))


# Pipeline reports


@permission_required("pipelines.view")
def pipeline_report_index(request):
    pipeline = services.default_pipeline() or Pipeline.objects.first()
    if pipeline is None:
        return render(request, "sales/insights/pipeline_report.html", {"pipelines": []})
    return redirect("sales_insights:pipeline_report", pk=pipeline.pk)


def _report_range(request):
    today = today_for(request.organization)
    data = request.GET if "date_from" in request.GET or "date_to" in request.GET else {
        "date_from": today - dt.timedelta(days=REPORT_DAYS), "date_to": today}
    return ReportRangeForm(data)


@permission_required("pipelines.view")
def pipeline_report(request, pk: int):
    pipeline = get_object_or_404(Pipeline.objects, pk=pk)
    form = _report_range(request)
    report = None
    if form.is_valid():
        report = build_pipeline_report(request.membership, pipeline, **form.cleaned_data)

    context = {"pipeline": pipeline, "pipelines": Pipeline.objects.all(), "form": form,
               "report": report}
    if report is not None:
        context.update(_report_charts(report))
        context["export_query"] = urlencode({
            "date_from": report.date_from.isoformat(), "date_to": report.date_to.isoformat()})
    return render(request, "sales/insights/pipeline_report.html", context,
                  status=form_status(form))


def _report_charts(report) -> dict:
    def reasons(title, items):
        return charts.bar_chart(title, [(item.text, item.count, str(item.count))
                                        for item in items])

    return {
        "funnel_chart": charts.bar_chart(_("Deals reaching each stage"), [
            (step.label, step.reached, str(step.reached)) for step in report.steps
        ], centred=True),
        "time_chart": charts.bar_chart(_("Average days in stage"), [
            (step.label, step.average_days,
             "—" if step.average_days is None else number_format(step.average_days, 1))
            for step in report.steps[:-1]
        ]),
        "outcome_chart": charts.bar_chart(_("Closed deals"), [
            (_("Won"), report.won, str(report.won)), (_("Lost"), report.lost, str(report.lost)),
        ]),
        "won_reasons_chart": reasons(_("Why deals were won"), report.won_reasons),
        "lost_reasons_chart": reasons(_("Why deals were lost"), report.lost_reasons),
    }


@permission_required("pipelines.view")
def pipeline_report_export(request, pk: int):
    pipeline = get_object_or_404(Pipeline.objects, pk=pk)
    form = _report_range(request)
    if not form.is_valid():
        return redirect("sales_insights:pipeline_report", pk=pipeline.pk)
    report = build_pipeline_report(request.membership, pipeline, **form.cleaned_data)

    lines = [[_("Section"), _("Item"), _("Value")]]
    for step in report.steps:
        lines.append([_("Deals reaching stage"), escape_cell(step.label), step.reached])
        if step.conversion is not None:
            lines.append([_("Conversion to next stage (%)"), escape_cell(step.label),
                          step.conversion])
        if step.average_days is not None:
            lines.append([_("Average days in stage"), escape_cell(step.label),
                          step.average_days])
    lines += [
        [_("Closed deals"), _("Won"), report.won],
        [_("Closed deals"), _("Lost"), report.lost],
        [_("Win rate (%)"), "", _blank(report.win_rate)],
        [_("Average won deal size"), report.currency, _blank(report.average_won)],
        [_("Sales cycle average (days)"), "", _blank(report.cycle_average_days)],
        [_("Sales cycle median (days)"), "", _blank(report.cycle_median_days)],
    ]
    lines += [[_("Won reason"), escape_cell(item.text), item.count]
              for item in report.won_reasons]
    lines += [[_("Lost reason"), escape_cell(item.text), item.count]
              for item in report.lost_reasons]
    lines += [[_("Deals not converted"), item.currency, item.count]
              for item in report.not_converted.values()]
    name = f"pipeline-{pipeline.pk}-{report.date_from:%Y-%m-%d}-{report.date_to:%Y-%m-%d}.csv"
    return _csv_response(lines, name)


def _blank(value):
    return "" if value is None else value
