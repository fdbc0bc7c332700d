"""The deals table: search, filters, sorting, pages by cursor and the CSV of the filtered list."""

import csv
import logging

from django.contrib import messages
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_scopes import scope

from accord.customers.queries import search_with_company
from accord.errors import InvalidInput
from accord.identity.permissions import permission_required
from accord.identity.visibility import visible, with_seen
from accord.integrations.writers import escape_cell
from accord.pagination import DEFAULT_LIMIT, Nullable, paginate, parse_ordering

from ..forms import BoardFilterForm
from ..models import Deal, Pipeline, Stage
from .board import filter_deals
from .common import can, query_string

logger = logging.getLogger(__name__)

EXPORT_CHUNK = 500  # rows per query while streaming an export
ORDERINGS = {
    "name": "name", "amount": Nullable("amount"),
    "expected_close_date": Nullable("expected_close_date"), "created_at": "created_at",
    "updated_at": "updated_at", "stage": "stage__position",
}
DEFAULT_ORDERING = "-created_at"
LINK_FILTERS = {"pipeline": gettext_lazy("Choose a pipeline from the list."),
                "stage": gettext_lazy("Choose a stage from the list.")}
COLUMNS = [  # (ordering key or None, header)
    ("name", gettext_lazy("Name")), (None, gettext_lazy("Company")),
    ("stage", gettext_lazy("Stage")), (None, gettext_lazy("Status")),
    ("amount", gettext_lazy("Amount")),
    ("expected_close_date", gettext_lazy("Expected close")), (None, gettext_lazy("Owner")),
]


class DealList:
    """The list as the request asks for it: search, filters and sort, resolved once."""

    def __init__(self, request):
        self.request = request
        params = request.GET
        self.params = params
        self.filter_form = BoardFilterForm(params or None, org=request.organization, teams=[])
        del self.filter_form.fields["team"]
        self.filters = self.filter_form.values() if params else {}
        self.pipelines = list(Pipeline.objects.order_by("position", "id"))
        self.stages = list(Stage.objects.select_related("pipeline")
                           .order_by("pipeline__position", "pipeline_id", "position"))
        self.ordering_value = params.get("ordering") or DEFAULT_ORDERING

    def filtered(self):
        """The filtered queryset and its ordering; InvalidInput for a bad parameter."""
        ordering = parse_ordering(self.ordering_value, ORDERINGS, DEFAULT_ORDERING)
        membership = self.request.membership
        deals = with_seen(visible(Deal.objects.select_related("company", "owner", "stage",
                                                              "pipeline"), membership, "deals"),
                          membership, "company", "companies")
        deals = filter_deals(deals, self.filters)
        for name, message in LINK_FILTERS.items():
            value = self.params.get(name, "")
            if value and not value.isdigit():
                raise InvalidInput({name: message})
            if value:
                deals = deals.filter(**{f"{name}_id": int(value)})
        query = self.params.get("q", "").strip()
        if query:
            deals = search_with_company(deals, query, self.request.membership)
        return deals, ordering

    def headers(self) -> list[dict]:
        """Each column's header: clicking a sortable one sorts by it, again reverses."""
        current = self.ordering_value.lstrip("-")
        descending = self.ordering_value.startswith("-")
        headers = []
        for key, label in COLUMNS:
            header = {"label": label, "query": "", "sort": ""}
            if key is not None:
                active = key == current
                wanted = f"-{key}" if active and not descending else key
                header["query"] = query_string(self.params, drop=("cursor",), ordering=wanted)
                if active:
                    header["sort"] = "descending" if descending else "ascending"
            headers.append(header)
        return headers


@permission_required("deals.view")
def deal_list(request):
    state = DealList(request)
    rows, next_cursor, errors = [], None, []
    cursor = request.GET.get("cursor") or None
    try:
        deals, ordering = state.filtered()
        rows, next_cursor = paginate(deals, ordering, cursor=cursor, limit=DEFAULT_LIMIT)
    except InvalidInput as exc:
        errors = [error["message"] for error in exc.errors] or [exc.detail]
    context = {
        "rows": rows,
        "errors": errors,
        "headers": state.headers(),
        "filter_form": state.filter_form,
        "pipelines": state.pipelines,
        "stages": state.stages,
        "q": request.GET.get("q", ""),
        "selected_pipeline": request.GET.get("pipeline", ""),
        "selected_stage": request.GET.get("stage", ""),
        "next_query": query_string(request.GET, cursor=next_cursor) if next_cursor else "",
        "first_query": query_string(request.GET, drop=("cursor",)),
        "is_later_page": bool(cursor),
        "export_query": query_string(request.GET, drop=("cursor",)),
        "can_add": can(request, "deals.add"),
        "can_export": can(request, "deals.export"),
    }
    return render(request, "sales/deal_list.html", context, status=422 if errors else 200)


class _Echo:
    def write(self, value):
        return value


EXPORT_HEADERS = [
    gettext_lazy("Name"), gettext_lazy("Company"), gettext_lazy("Pipeline"),
    gettext_lazy("Stage"), gettext_lazy("Status"), gettext_lazy("Amount"),
    gettext_lazy("Currency"), gettext_lazy("Expected close"), gettext_lazy("Owner"),
    gettext_lazy("Source"), gettext_lazy("Next step"), gettext_lazy("Created"),
]


def _company_name(deal: Deal) -> str:
    if not deal.company_id:
        return ""
    return deal.company.name if deal.company_seen else _("A company you cannot see")


def _export_row(deal: Deal) -> list:
    return [
        deal.name, _company_name(deal), deal.pipeline.name,
        deal.stage.name, deal.get_status_display(),
        "" if deal.amount is None else f"{deal.amount.normalize():f}", deal.currency,
        deal.expected_close_date.isoformat() if deal.expected_close_date else "",
        deal.owner.email if deal.owner_id else "", deal.source, deal.next_step,
        deal.created_at.isoformat(),
    ]


def export_rows(org, state: DealList):
    """Every row of the filtered list, in its order, page by page inside the tenant scope."""
    # The response streams after the request's scope has closed, so the
    # generator opens its own.
    with scope(organization=org):
        deals, ordering = state.filtered()
        yield [escape_cell(str(header)) for header in EXPORT_HEADERS]
        cursor, count = None, 0
        while True:
            rows, cursor = paginate(deals, ordering, cursor=cursor, limit=EXPORT_CHUNK)
            for deal in rows:
                count += 1
                yield [escape_cell(value) for value in _export_row(deal)]
            if cursor is None:
                break
        logger.info("deals.exported", extra={"organization_id": org.id, "rows": count})


def _with_bom(lines):
    # A byte-order mark first, so spreadsheet programs read the file as UTF-8.
    yield "\ufeff"
    yield from lines


@permission_required("deals.export")
def deal_export(request):
    state = DealList(request)
    try:
        state.filtered()
    except InvalidInput as exc:
        messages.error(request, exc.errors[0]["message"] if exc.errors else exc.detail)
        return redirect(reverse("sales:deal_list") + "?" + request.GET.urlencode())
    writer = csv.writer(_Echo())
    lines = (writer.writerow(row) for row in export_rows(request.organization, state))
    response = StreamingHttpResponse(_with_bom(lines), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y-%m-%d")
    response["Content-Disposition"] = f'attachment; filename="deals-{stamp}.csv"'
    return response
