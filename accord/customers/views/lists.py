"""Contact and company lists: filters, sorting, columns, pages, saved views, bulk, export.

Both lists read the same query parameters as the API (accord.customers.queries),
so a saved view is just a stored query string plus its columns, and an export
is the list as shown, every page of it.
"""

import csv
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.db.models import Prefetch
from django.http import QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST
from django_scopes import scope

from accord.errors import InvalidInput, NotFound
from accord.identity.permissions import permission_required, require
from accord.identity.visibility import sees_all_records, visible, with_seen
from accord.integrations import services as imports
from accord.integrations.writers import escape_cell
from accord.pagination import DEFAULT_LIMIT, MAX_LIMIT, paginate, parse_ordering

from .. import custom_fields as custom_field_defs
from .. import queries, services
from ..forms import BulkForm, SavedViewForm, company_choices, members_of
from ..models import (
    Company,
    CompanyTag,
    Contact,
    ContactTag,
    Entity,
    FieldType,
    LifecycleStage,
    Tag,
)
from .columns import available_columns, chosen_columns, needs_phones
from .common import can, query_string, safe_next

logger = logging.getLogger(__name__)

EXPORT_CHUNK = 500  # rows per query while streaming an export
# Parameters that shape a page but are not filters; everything else is a filter.
LIST_CONTROLS = queries.LIST_CONTROLS


@dataclass(frozen=True)
class ListKind:
    """What differs between the contact list and the company list."""

    entity: str
    model: type
    perm: str
    filter: object
    orderings: Callable  # a viewer (Membership) -> {name: ordering expression}
    default_ordering: str
    tag_link: type
    tag_field: str
    template: str
    rows_partial: str
    list_url: str
    export_url: str
    bulk_url: str
    create_url: str
    plural: object
    bulk_actions: tuple

    def base_queryset(self, columns):
        related = ["owner", "company"] if self.model is Contact else ["owner", "parent"]
        queryset = self.model.objects.select_related(*related).prefetch_related(
            Prefetch("tag_links", queryset=self.tag_link.objects.select_related("tag")
                     .order_by("tag__name"))
        )
        if self.model is Contact and needs_phones(columns):
            queryset = queryset.prefetch_related("phones")
        return queryset


CONTACTS = ListKind(
    entity=Entity.CONTACT, model=Contact, perm="contacts", filter=queries.filter_contacts,
    orderings=queries.contact_orderings, default_ordering="name", tag_link=ContactTag,
    tag_field="contact", template="customers/contact_list.html",
    rows_partial="customers/contact_list.html#contact-rows",
    list_url="customers:contact_list", export_url="customers:contact_export",
    bulk_url="customers:contact_bulk", create_url="customers:contact_create",
    plural=gettext_lazy("contacts"),
    bulk_actions=(
        ("add_tag", gettext_lazy("Add tag")), ("remove_tag", gettext_lazy("Remove tag")),
        ("assign_owner", gettext_lazy("Assign owner")),
        ("set_stage", gettext_lazy("Change lifecycle stage")),
        ("trash", gettext_lazy("Move to trash")),
    ),
)
COMPANIES = ListKind(
    entity=Entity.COMPANY, model=Company, perm="companies", filter=queries.filter_companies,
    orderings=queries.company_orderings, default_ordering="name", tag_link=CompanyTag,
    tag_field="company", template="customers/company_list.html",
    rows_partial="customers/company_list.html#company-rows",
    list_url="customers:company_list", export_url="customers:company_export",
    bulk_url="customers:company_bulk", create_url="customers:company_create",
    plural=gettext_lazy("companies"),
    bulk_actions=(
        ("add_tag", gettext_lazy("Add tag")), ("remove_tag", gettext_lazy("Remove tag")),
        ("assign_owner", gettext_lazy("Assign owner")),
        ("trash", gettext_lazy("Move to trash")),
    ),
)


def _drop_hidden_fields(params: QueryDict, entity: str, viewer) -> None:
    """Take filters, sorting and columns on fields hidden from the viewer out of a
    shared view's stored query, so neither they nor their values reach the page."""
    hidden = custom_field_defs.hidden_keys(entity, viewer)
    if not hidden:
        return

    def names_hidden(name: str) -> bool:
        name = name.lstrip("-")
        return name.startswith("cf.") and name[3:].partition(".")[0] in hidden

    for name in [name for name in params if names_hidden(name)]:
        params.pop(name)
    for name in ("ordering", "sort"):
        if names_hidden(params.get(name, "")):
            params.pop(name)
    params.setlist("columns", [column for value in params.getlist("columns")
                               for column in value.split(",") if not names_hidden(column)])


class ListState:
    """The list as the user asked for it: filters, sort, columns and page, resolved once."""

    def __init__(self, request, kind: ListKind):
        self.kind = kind
        self.membership = request.membership
        self.saved_view = None
        params = request.GET
        if params.get("view"):
            self.saved_view = services.get_saved_view(request.user, params["view"])
            if set(params) <= {"view", "cursor"}:
                stored = QueryDict(self.saved_view.query, mutable=True)
                stored.setlist("columns", self.saved_view.columns)
                _drop_hidden_fields(stored, kind.entity, self.membership)
                stored["view"] = str(self.saved_view.pk)
                if params.get("cursor"):
                    stored["cursor"] = params["cursor"]
                params = stored
        self.params = params
        self.custom_fields = custom_field_defs.active_fields(kind.entity, self.membership)
        self.available = available_columns(kind.model, self.custom_fields)
        self.columns = chosen_columns(self._requested_columns(params), self.available,
                                      kind.model)
        self.allowed_orderings = {
            **kind.orderings(self.membership),
            **queries.custom_field_orderings(kind.entity, self.custom_fields),
        }
        self.ordering_value = params.get("ordering") or kind.default_ordering
        self.cursor = params.get("cursor") or None

    @staticmethod
    def _requested_columns(params) -> list[str]:
        requested = []
        for value in params.getlist("columns"):
            requested += [part for part in value.split(",") if part]
        return requested

    @property
    def column_keys(self) -> list[str]:
        return [column.key for column in self.columns]

    def filtered(self):
        """The filtered queryset and the ordering; InvalidInput for a bad parameter."""
        queries.refuse_encrypted_ordering(self.ordering_value, self.kind.entity,
                                          self.membership)
        ordering = parse_ordering(self.ordering_value, self.allowed_orderings,
                                  self.kind.default_ordering)
        filters = {name: self.params.getlist(name) for name in self.params
                   if name not in LIST_CONTROLS}
        self._check_linked_companies(filters)
        self._check_imports(filters)
        queryset = visible(self.kind.base_queryset(self.columns), self.membership,
                           self.kind.perm)
        link = "company" if self.kind.model is Contact else "parent"
        queryset = with_seen(queryset, self.membership, link, "companies")
        queryset = self.kind.filter(queryset, filters, viewer=self.membership)
        return queryset, ordering

    def _check_linked_companies(self, filters: dict) -> None:
        """A filter naming a company that is not this organisation's, or that the member
        may not see, answers 404."""
        param = "company_id" if self.kind.model is Contact else "parent_id"
        wanted = {value for value in filters.get(param, []) if value}
        if not wanted:
            return
        if not all(value.isdigit() for value in wanted) or visible(
            Company.objects.filter(pk__in=wanted), self.membership, "companies"
        ).count() != len(wanted):
            raise NotFound("No company with this id.")

    def _check_imports(self, filters: dict) -> None:
        """A filter naming an import the member may not open, or an import of another
        kind of record, answers 404 as a hidden company does."""
        try:
            wanted = set(queries.import_ids(filters))
        except InvalidInput:
            return  # the filter itself explains a bad value
        if wanted and imports.openable_imports(self.membership, wanted,
                                               self.kind.entity).count() != len(wanted):
            raise NotFound("No import with this id.")

    def import_filters(self) -> list[dict]:
        """The imports the list is narrowed to, each as {"job", "remove_query"}: the
        page's query without that import."""
        try:
            wanted = queries.import_ids(self.params)
        except InvalidInput:
            return []
        if not wanted:
            return []
        jobs = imports.openable_imports(self.membership, wanted, self.kind.entity)
        chips = []
        for job in jobs.order_by("pk"):
            query = self.base_params()
            query.setlist(queries.IMPORT_PARAM, [str(pk) for pk in wanted if pk != job.pk])
            chips.append({"job": job, "remove_query": query.urlencode()})
        return chips

    def is_filtered(self) -> bool:
        return any(value for name in self.params if name not in LIST_CONTROLS
                   for value in self.params.getlist(name))

    def base_params(self) -> QueryDict:
        """Filters, sort, columns and view: what every link on the page keeps."""
        query = self.params.copy()
        query.pop("cursor", None)
        query.setlist("columns", self.column_keys)
        return query

    def filter_query(self) -> str:
        """Filters and sort only: what a saved view stores besides its columns."""
        query = self.params.copy()
        for name in ("cursor", "view", "columns", "limit"):
            query.pop(name, None)
        return query.urlencode()

    def headers(self) -> list[dict]:
        """Each column's header: clicking a sortable one sorts by it, again reverses."""
        headers = []
        current = self.ordering_value.lstrip("-")
        descending = self.ordering_value.startswith("-")
        base = self.base_params()
        for column in self.columns:
            header = {"column": column, "query": "", "sort": ""}
            if column.sort is not None and column.sort in self.allowed_orderings:
                active = column.sort == current
                wanted = f"-{column.sort}" if active and not descending else column.sort
                header["query"] = query_string(base, ordering=wanted)
                if active:
                    header["sort"] = "descending" if descending else "ascending"
            headers.append(header)
        return headers


def _limit(request) -> int:
    try:
        limit = int(request.GET.get("limit") or DEFAULT_LIMIT)
    except ValueError:
        return DEFAULT_LIMIT
    return max(1, min(limit, MAX_LIMIT))


def render_list(request, kind: ListKind):
    state = ListState(request, kind)
    rows, next_cursor, errors = [], None, []
    try:
        queryset, ordering = state.filtered()
        rows, next_cursor = paginate(queryset, ordering, cursor=state.cursor,
                                     limit=_limit(request))
    except InvalidInput as exc:
        errors = [error["message"] for error in exc.errors] or [exc.detail]
    base = state.base_params()
    context = {
        "kind": kind,
        "state": state,
        "columns": state.columns,
        "rows": [(record, [column.read(record) for column in state.columns])
                 for record in rows],
        "errors": errors,
        "headers": state.headers(),
        "next_query": query_string(base, cursor=next_cursor) if next_cursor else "",
        "first_query": base.urlencode(),
        "is_later_page": bool(state.cursor),
        "is_filtered": state.is_filtered(),
        "export_query": query_string(base, drop=("view",)),
        "current_query": query_string(base, cursor=state.cursor),
        "saved_view": state.saved_view,
        "save_view_form": SavedViewForm(initial={
            "query": state.filter_query(), "columns": ",".join(state.column_keys),
        }),
        "can_bulk": can(request, f"{kind.perm}.bulk"),
        "can_add": can(request, f"{kind.perm}.add"),
        "can_export": can(request, f"{kind.perm}.export"),
        # Export jobs copy the whole area, so only for members who see all of it.
        "can_export_data": can(request, "data.export")
        and sees_all_records(request.membership, kind.perm),
        "export_job_query": state.filter_query(),
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, kind.rows_partial, context, status=422 if errors else 200)
    context.update(_filter_bar(request, state))
    return render(request, kind.template, context, status=422 if errors else 200)


def _filter_bar(request, state: ListState) -> dict:
    """Choices for the filter bar, bulk bar and column chooser; a handful of queries."""
    params = state.params
    members = list(members_of(request.organization))
    selected_companies = [int(v) for v in params.getlist("company_id") if v.isdigit()]
    shown = set(state.column_keys)
    return {
        "filters": {
            "q": params.get("q", ""),
            "lifecycle_stage": params.getlist("lifecycle_stage"),
            "owner_id": params.getlist("owner_id"),
            "company_id": [str(pk) for pk in selected_companies],
            "tag": params.get("tag", ""),
            "country": params.get("country", ""),
            "created_after": params.get("created_after", ""),
            "created_before": params.get("created_before", ""),
            "updated_after": params.get("updated_after", ""),
            "updated_before": params.get("updated_before", ""),
            "ordering": params.get("ordering", ""),
        },
        "import_filters": state.import_filters(),
        "stages": LifecycleStage.choices,
        "members": members,
        "companies": company_choices(selected_companies, viewer=request.membership)
        if state.kind.model is Contact else [],
        "tags": list(Tag.objects.order_by("name").values_list("name", flat=True)[:500]),
        "custom_filters": [_custom_filter(custom, params) for custom in state.custom_fields
                           if not custom.encrypted],
        "column_choices": [(column, column.key in shown) for column in state.available.values()],
    }


def _custom_filter(custom, params) -> dict:
    """How the filter bar offers one custom field: equals, or a from/to range."""
    name = f"cf.{custom.key}"
    kind = custom.field_type
    if kind in (FieldType.NUMBER, FieldType.MONEY, FieldType.DATE, FieldType.DATETIME):
        input_type = "date" if kind in (FieldType.DATE, FieldType.DATETIME) else "number"
        return {"field": custom, "name": name, "range": True, "input_type": input_type,
                "gte": params.get(f"{name}.gte", ""), "lte": params.get(f"{name}.lte", "")}
    choices = None
    if kind in (FieldType.CHOICE, FieldType.MULTI_CHOICE):
        choices = [(choice, choice) for choice in custom.choices]
    elif kind == FieldType.BOOLEAN:
        choices = [("true", _("Yes")), ("false", _("No"))]
    return {"field": custom, "name": name, "range": False, "choices": choices,
            "value": params.get(name, "")}


@permission_required("contacts.view")
def contact_list(request):
    return render_list(request, CONTACTS)


@permission_required("companies.view")
def company_list(request):
    return render_list(request, COMPANIES)


# Export


class _Echo:
    def write(self, value):
        return value


def export_rows(org, kind: ListKind, state: ListState):
    """Every row of the filtered list, in its order, page by page inside the tenant scope."""
    # The response streams after the request's scope has closed, so the
    # generator opens its own.
    with scope(organization=org):
        queryset, ordering = state.filtered()
        yield [escape_cell(header) for column in state.columns
               for header in column.export_headers()]
        cursor, count = None, 0
        while True:
            rows, cursor = paginate(queryset, ordering, cursor=cursor, limit=EXPORT_CHUNK)
            for record in rows:
                count += 1
                yield [escape_cell(value) for column in state.columns
                       for value in column.export_values(record)]
            if cursor is None:
                break
        logger.info("customers.exported", extra={
            "organization_id": org.id, "entity": kind.entity, "rows": count,
        })


def render_export(request, kind: ListKind):
    state = ListState(request, kind)
    try:
        state.filtered()
    except InvalidInput as exc:
        messages.error(request, exc.errors[0]["message"] if exc.errors else exc.detail)
        return redirect(reverse(kind.list_url) + "?" + request.GET.urlencode())
    writer = csv.writer(_Echo())
    # A byte-order mark first, so spreadsheet programs read the file as UTF-8.
    lines = (writer.writerow(row) for row in export_rows(request.organization, kind, state))
    response = StreamingHttpResponse(_with_bom(lines), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y-%m-%d")
    response["Content-Disposition"] = f'attachment; filename="{kind.plural}-{stamp}.csv"'
    return response


def _with_bom(lines):
    yield "\ufeff"
    yield from lines


@permission_required("contacts.export")
def contact_export(request):
    return render_export(request, CONTACTS)


@permission_required("companies.export")
def company_export(request):
    return render_export(request, COMPANIES)


# Bulk actions


def render_bulk(request, kind: ListKind):
    ids = request.POST.getlist("ids")
    back = safe_next(request, reverse(kind.list_url))
    if request.POST.get("action") == "trash":
        require(request.membership, f"{kind.perm}.delete")
    if not ids:
        messages.error(request, _("Select at least one row first."))
        return redirect(back)
    if not all(pk.isdigit() for pk in ids):
        raise NotFound("No record with this id.")
    records = list(visible(kind.model.objects.filter(pk__in=ids), request.membership,
                           kind.perm).order_by("pk"))
    if len(records) != len(set(ids)):
        raise NotFound("No record with this id.")

    members = list(members_of(request.organization))
    form = BulkForm(request.POST, actions=list(kind.bulk_actions), members=members)
    context = {"kind": kind, "form": form, "ids": sorted(set(ids), key=int),
               "records": records[:20], "count": len(records), "next": back}
    if not form.is_valid():
        return render(request, "customers/bulk_confirm.html", context, status=422)
    action = form.cleaned_data["action"]
    value = form.value()
    context["summary"] = _bulk_summary(kind, action, value, len(records))
    if "confirm" not in request.POST:
        return render(request, "customers/bulk_confirm.html", context)

    try:
        changed = services.bulk_change(request.organization, request.user, kind.model, ids,
                                       action=action, value=value)
    except InvalidInput as exc:
        context["errors"] = [error["message"] for error in exc.errors]
        return render(request, "customers/bulk_confirm.html", context, status=422)
    messages.success(request, _bulk_done(kind, action, changed))
    return redirect(back)


def _bulk_summary(kind: ListKind, action: str, value, count: int) -> str:
    plural = str(kind.plural) if count != 1 else str(kind.model._meta.verbose_name)
    if action == "add_tag":
        return _("Add the tag “%(tag)s” to %(count)s %(things)s?") % {
            "tag": value, "count": count, "things": plural}
    if action == "remove_tag":
        return _("Remove the tag “%(tag)s” from %(count)s %(things)s?") % {
            "tag": value, "count": count, "things": plural}
    if action == "assign_owner":
        return _("Change the owner of %(count)s %(things)s?") % {
            "count": count, "things": plural}
    if action == "set_stage":
        return _("Move %(count)s %(things)s to the stage “%(stage)s”?") % {
            "count": count, "things": plural, "stage": LifecycleStage(value).label}
    return _("Move %(count)s %(things)s to the trash?") % {"count": count, "things": plural}


def _bulk_done(kind: ListKind, action: str, count: int) -> str:
    things = str(kind.plural) if count != 1 else str(kind.model._meta.verbose_name)
    if action == "trash":
        return ngettext(
            "%(count)s %(things)s moved to the trash.",
            "%(count)s %(things)s moved to the trash.", count,
        ) % {"count": count, "things": things}
    return _("%(count)s %(things)s updated.") % {"count": count, "things": things}


@require_POST
@permission_required("contacts.bulk")
def contact_bulk(request):
    return render_bulk(request, CONTACTS)


@require_POST
@permission_required("companies.bulk")
def company_bulk(request):
    return render_bulk(request, COMPANIES)


# Saved views


def create_saved_view(request, kind: ListKind):
    form = SavedViewForm(request.POST)
    back = reverse(kind.list_url)
    if not form.is_valid():
        messages.error(request, _("Give the view a name of at most 80 characters."))
        return redirect(safe_next(request, back))
    shared = form.cleaned_data["is_shared"]
    if shared:
        require(request.membership, f"{kind.perm}.change")
    try:
        view = services.save_view(
            request.organization, request.user, entity=kind.entity,
            name=form.cleaned_data["name"], query=form.cleaned_data["query"],
            columns=[c for c in form.cleaned_data["columns"].split(",") if c],
            is_shared=shared,
        )
    except InvalidInput as exc:
        messages.error(request, exc.errors[0]["message"])
        return redirect(safe_next(request, back))
    messages.success(request, _("View “%(name)s” saved.") % {"name": view.name})
    return redirect(f"{back}?view={view.pk}")


@require_POST
@permission_required("contacts.view")
def contact_view_create(request):
    return create_saved_view(request, CONTACTS)


@require_POST
@permission_required("companies.view")
def company_view_create(request):
    return create_saved_view(request, COMPANIES)


@require_POST
@permission_required("contacts.view")
def saved_view_delete(request, pk: int):
    view = services.get_saved_view(request.user, pk)
    kind = CONTACTS if view.entity == Entity.CONTACT else COMPANIES
    require(request.membership, f"{kind.perm}.view")
    services.delete_saved_view(request.organization, request.user, view,
                               may_manage_shared=can(request, "settings.manage"))
    messages.success(request, _("View “%(name)s” deleted.") % {"name": view.name})
    return redirect(kind.list_url)
