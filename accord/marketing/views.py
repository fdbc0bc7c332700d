"""Segment pages: the list, the builder, a segment with its members, CSV, freeze, refresh,
delete. Members shown are always the contacts the signed-in member may see."""

import csv
import logging

from django.contrib import messages
from django.db.models.functions import Lower
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_scopes import scope

from accord.customers.queries import contact_orderings
from accord.errors import InvalidInput, NotFound, StaleVersion
from accord.identity.permissions import permission_required
from accord.identity.visibility import with_seen
from accord.integrations.writers import escape_cell
from accord.pagination import paginate, parse_ordering
from accord.web import apply_errors, can, confirm_delete, list_page, pager, posted_version

from . import builder, services
from .conditions import Conditions
from .forms import SegmentForm
from .models import Segment, SegmentKind

logger = logging.getLogger(__name__)

PAGE_SIZE = 50
EXPORT_CHUNK = 500  # rows per query while streaming an export
ORDERINGS = {"name": Lower("name"), "updated_at": "updated_at", "created_at": "created_at"}
CSV_COLUMNS = ["id", "first_name", "last_name", "email", "phone", "company", "lifecycle_stage",
               "city", "country"]


def _segment(pk) -> Segment:
    try:
        return services.get_segment(pk)
    except NotFound as exc:
        raise Http404(str(exc)) from exc


def _count(org, segment, membership) -> int | None:
    """The members the member sees, or None when the conditions no longer fit."""
    try:
        return services.members(org, segment, membership).count()
    except InvalidInput:
        return None


@permission_required("segments.view")
def segment_list(request):
    params = request.GET
    rows = services.visible_segments()
    for word in params.get("q", "").split():
        rows = rows.filter(name__icontains=word)
    if params.get("kind") in SegmentKind.values:
        rows = rows.filter(kind=params["kind"])
    page, next_cursor, errors = list_page(params, lambda: rows, orderings=ORDERINGS,
                                          default="name", limit=PAGE_SIZE)
    conditions = Conditions(request.organization)
    # One COUNT per segment on the page: counts are live, never stored, so a
    # dynamic segment's number is right whenever the list is opened.
    segments = [{"segment": segment, "summary": conditions.describe(segment.conditions),
                 "count": _count(request.organization, segment, request.membership)}
                for segment in page]
    return render(request, "marketing/segment_list.html", {
        "segments": segments, "errors": errors, "filters": params,
        "kinds": SegmentKind.choices, "can_manage": can(request, "segments.manage"),
        **pager(params, next_cursor),
    }, status=422 if errors else 200)


@permission_required("segments.manage")
def segment_create(request):
    return _builder_page(request, None)


@permission_required("segments.manage")
def segment_edit(request, pk: int):
    return _builder_page(request, _segment(pk))


def _builder_page(request, segment: Segment | None):
    """The builder, on a full page or, for htmx, as the builder or the count alone.

    A post without `action=save` only redraws: it adds or removes rows and
    counts the contacts the rows select, so the page works without script.
    """
    org = request.organization
    conditions = Conditions(org, request.membership)
    context = {"segment": segment, "stale": False}
    status = 200
    if request.method == "POST":
        form = SegmentForm(request.POST)
        rows = builder.read(request.POST)
        action = request.POST.get("action", "")
        builder.apply(rows, action)
    else:
        initial = {"kind": SegmentKind.DYNAMIC}
        if segment is not None:
            initial = {"name": segment.name, "description": segment.description,
                       "kind": segment.kind, "version": segment.version}
        form = SegmentForm(initial=initial)
        rows = builder.from_tree(segment.conditions if segment else {}, conditions)
        action = ""

    tree, paths = builder.to_tree(rows, conditions)
    tree_errors: list[dict] = []
    count = None
    try:
        count = services.preview_count(org, request.membership, tree)
    except InvalidInput as exc:
        tree_errors = exc.errors

    if action == "save":
        status = 422
        if form.is_valid() and not tree_errors:
            try:
                saved = _save(request, segment, form, tree)
            except StaleVersion as exc:
                form.add_error(None, exc.detail)
                context["stale"] = True
                status = 409
            except InvalidInput as exc:
                tree_errors = [e for e in exc.errors if e["field"] not in form.fields]
                apply_errors(form, InvalidInput([e for e in exc.errors
                                                 if e["field"] in form.fields]),
                             form.field_for_error)
            else:
                return redirect(saved.get_absolute_url())

    errors_by_row, general = builder.row_errors(tree_errors, paths)
    context.update({
        "form": form, "root": builder.layout(rows, conditions, errors_by_row),
        "subject_options": builder.subject_options(conditions),
        "tree_errors": general, "count": count,
        "summary": conditions.describe(tree) if not tree_errors else "",
    })
    template = "marketing/segment_form.html"
    if request.htmx and request.GET.get("part") == "count":
        template += "#segment-count"
    elif request.htmx and action != "save":
        template += "#segment-builder"
    return render(request, template, context, status=status)


def _save(request, segment: Segment | None, form: SegmentForm, tree: dict) -> Segment:
    data = {**form.service_data(), "conditions": tree}
    if segment is None:
        saved = services.create_segment(request.organization, request.user, data=data,
                                        viewer=request.membership)
        messages.success(request, _("Segment saved."))
        return saved
    saved = services.update_segment(request.organization, request.user, segment, data=data,
                                    expected_version=form.cleaned_data.get("version"),
                                    viewer=request.membership)
    messages.success(request, _("Segment saved."))
    return saved


@permission_required("segments.view")
def segment_detail(request, pk: int):
    segment = _segment(pk)
    params = request.GET
    org = request.organization
    errors, page, next_cursor = [], [], None
    can_see_contacts = can(request, "contacts.view")
    if can_see_contacts:
        try:
            ordering = parse_ordering(params.get("ordering"),
                                      contact_orderings(request.membership), "name")
            members = with_seen(services.members(org, segment, request.membership)
                                .select_related("company"), request.membership, "company",
                                "companies")
            page, next_cursor = paginate(members, ordering, cursor=params.get("cursor"),
                                         limit=PAGE_SIZE)
        except InvalidInput as exc:
            errors = [error["message"] for error in exc.errors]
    context = {
        "segment": segment, "summary": Conditions(org).describe(segment.conditions),
        "count": _count(org, segment, request.membership) if not errors else None,
        "members": page, "errors": errors, "can_see_contacts": can_see_contacts,
        "can_manage": can(request, "segments.manage"),
        "can_export": can(request, "contacts.export") and can_see_contacts,
        **pager(params, next_cursor),
    }
    template = "marketing/segment_detail.html"
    if request.htmx and params.get("rows"):
        template += "#segment-members"
    return render(request, template, context, status=422 if errors else 200)


@permission_required("contacts.export")
def segment_export(request, pk: int):
    """The segment's members that the member sees, as CSV, in name order."""
    segment = _segment(pk)
    org, membership = request.organization, request.membership
    try:
        services.members(org, segment, membership)
    except InvalidInput as exc:
        messages.error(request, exc.errors[0]["message"])
        return redirect(segment.get_absolute_url())
    writer = csv.writer(_Echo())
    lines = (writer.writerow(row) for row in _export_rows(org, segment, membership))
    response = StreamingHttpResponse(_with_bom(lines), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y-%m-%d")
    response["Content-Disposition"] = f'attachment; filename="segment-{segment.pk}-{stamp}.csv"'
    return response


class _Echo:
    def write(self, value):
        return value


def _with_bom(lines):
    # A byte-order mark first, so spreadsheet programs read the file as UTF-8.
    yield "\ufeff"
    yield from lines


def _company_name(contact) -> str:
    if not contact.company_id:
        return ""
    return contact.company.name if contact.company_seen else _("A company you cannot see")


def _export_rows(org, segment: Segment, membership):
    # The response streams after the request's scope has closed, so the
    # generator opens its own.
    with scope(organization=org):
        yield CSV_COLUMNS
        ordering = parse_ordering("name", contact_orderings(membership), "name")
        members = with_seen(services.members(org, segment, membership).select_related("company"),
                            membership, "company", "companies")
        cursor, count = None, 0
        while True:
            rows, cursor = paginate(members, ordering, cursor=cursor, limit=EXPORT_CHUNK)
            for contact in rows:
                count += 1
                yield [escape_cell(value) for value in (
                    contact.pk, contact.first_name, contact.last_name, contact.email,
                    contact.phone, _company_name(contact),
                    contact.lifecycle_stage, contact.city, contact.country)]
            if cursor is None:
                break
        logger.info("marketing.segment_exported", extra={
            "organization_id": org.id, "segment_id": segment.pk, "rows": count})


@require_POST
@permission_required("segments.manage")
def segment_freeze(request, pk: int):
    segment = _segment(pk)
    try:
        services.update_segment(request.organization, request.user, segment,
                                data={"kind": SegmentKind.FROZEN},
                                expected_version=posted_version(request),
                                viewer=request.membership)
    except (StaleVersion, InvalidInput) as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(request, _("Segment frozen: its members are kept as they are now."))
    return redirect(segment.get_absolute_url())


@require_POST
@permission_required("segments.manage")
def segment_refresh(request, pk: int):
    segment = _segment(pk)
    try:
        services.refresh_segment(request.organization, request.user, segment,
                                 expected_version=posted_version(request),
                                 viewer=request.membership)
    except (StaleVersion, InvalidInput) as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(request, _("Members refreshed from the conditions."))
    return redirect(segment.get_absolute_url())


@permission_required("segments.manage")
def segment_delete(request, pk: int):
    return confirm_delete(request, _segment(pk), delete=services.delete_segment,
                          name="segment", template="marketing/segment_delete.html",
                          done=_("Segment deleted."), then="marketing:segment_list")


def _message(exc) -> str:
    if isinstance(exc, InvalidInput) and exc.errors:
        return exc.errors[0]["message"]
    return exc.detail
