"""Record type settings, and the list, record page and forms of each active type."""

import csv
import dataclasses
import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db.models import F, Prefetch
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accord.activities.timeline import timeline_context
from accord.audit.history import field_history
from accord.customers.views.columns import custom_cell, plain
from accord.errors import Conflict, InvalidInput
from accord.identity.permissions import permission_required
from accord.identity.views import add_service_errors, form_status
from accord.identity.visibility import can_see, require_visible, visible
from accord.integrations.writers import escape_cell, iso_utc
from accord.pagination import Ordering, paginate
from accord.pagination import ordered as in_order
from accord.web import apply_errors, can, list_page, pager, query_string, save_form

from . import conflicts, queries, services
from .forms import RecordFieldForm, RecordForm, RecordTypeForm
from .models import Record, RecordLink, RecordType

PAGE_SIZE = 50
EXPORT_BATCH = 500  # rows read per query while streaming a CSV
FIXED_PARAMS = {"q", "owner_id", "ordering", "cursor"}
TRASH_ORDER = Ordering("deleted_at", F("deleted_at"), True)


# Settings


@permission_required("record_types.manage")
def type_list(request):
    types = list(RecordType.objects.prefetch_related("fields").order_by("position", "id"))
    return render(request, "records/recordtype_list.html", {"types": types})


@permission_required("record_types.manage")
def type_create(request):
    form = RecordTypeForm(request.POST or None, initial={"active": True})
    if request.method == "POST" and form.is_valid():
        if RecordType.objects.filter(key=form.cleaned_data["key"].strip().lower()).exists():
            form.add_error("key", _("Another record type uses this key already."))
        else:
            try:
                record_type = services.save_type(request.organization, request.user,
                                                 form.spec())
            except InvalidInput as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("The record type %(name)s is added; now give it "
                                            "fields.") % {"name": record_type.plural})
                return redirect("records:type_edit", record_type.pk)
    return render(request, "records/recordtype_form.html",
                  {"form": form, "record_type": None}, status=form_status(form))


@permission_required("record_types.manage")
def type_edit(request, pk: int):
    record_type = services.get_type_by_id(pk)
    initial = {"singular": record_type.singular, "plural": record_type.plural,
               "description": record_type.description, "title_field": record_type.title_field,
               "position": record_type.position, "active": record_type.is_active,
               "confidential": record_type.is_confidential,
               "party_fields": record_type.party_fields}
    form = RecordTypeForm(request.POST or None, initial=initial, record_type=record_type)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_type(request.organization, request.user,
                               {**form.spec(), "key": record_type.key})
        except InvalidInput as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("records:type_edit", record_type.pk)
    return render(request, "records/recordtype_form.html", {
        "form": form, "record_type": record_type,
        "fields": services.fields_of(record_type, active=False),
    }, status=form_status(form))


@permission_required("record_types.manage")
def type_delete(request, pk: int):
    record_type = services.get_type_by_id(pk)
    count = Record.with_deleted.filter(record_type=record_type).count()
    status = 200
    if request.method == "POST":
        try:
            services.delete_type(request.organization, request.user, record_type,
                                 delete_records=request.POST.get("delete_records") == "on")
        except Conflict as exc:
            messages.error(request, exc.detail)
            status = 409
        else:
            messages.success(request, _("The record type %(name)s is deleted.")
                             % {"name": record_type.plural})
            return redirect("records:type_list")
    return render(request, "records/recordtype_confirm_delete.html",
                  {"record_type": record_type, "count": count}, status=status)


@permission_required("record_types.manage")
def field_create(request, pk: int):
    record_type = services.get_type_by_id(pk)
    form = RecordFieldForm(request.POST or None, record_type=record_type)
    if request.method == "POST" and form.is_valid():
        try:
            field = services.save_field(request.organization, request.user, record_type,
                                        form.spec())
        except InvalidInput as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The field %(label)s is added.") % {"label": field.label})
            return redirect("records:type_edit", record_type.pk)
    return render(request, "records/recordfield_form.html",
                  {"form": form, "record_type": record_type, "field": None},
                  status=form_status(form))


@permission_required("record_types.manage")
def field_edit(request, pk: int, field_pk: int):
    record_type = services.get_type_by_id(pk)
    field = services.get_field(record_type, field_pk)
    initial = {"label": field.label, "choices": "\n".join(field.choices),
               "currency": field.currency, "required": field.required,
               "help_text": field.help_text, "hidden_from_roles": field.hidden_from_roles,
               "encrypted": field.encrypted}
    form = RecordFieldForm(request.POST or None, initial=initial, record_type=record_type,
                           field=field)
    if request.method == "POST" and form.is_valid():
        was_encrypted = field.encrypted
        try:
            services.save_field(request.organization, request.user, record_type,
                                {**form.spec(), "key": field.key}, field=field)
        except InvalidInput as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The field %(label)s is saved.") % {"label": field.label})
            if field.encrypted != was_encrypted:
                messages.info(request, _("Its stored values are being encrypted in the "
                                         "background.") if field.encrypted else
                              _("Its stored values are being decrypted in the background."))
            return redirect("records:type_edit", record_type.pk)
    return render(request, "records/recordfield_form.html",
                  {"form": form, "record_type": record_type, "field": field},
                  status=form_status(form))


@permission_required("record_types.manage")
@require_POST
def field_move(request, pk: int, field_pk: int):
    record_type = services.get_type_by_id(pk)
    field = services.get_field(record_type, field_pk)
    services.move_field(request.organization, request.user, field,
                        up=request.POST.get("direction") == "up")
    return redirect(reverse("records:type_edit", args=[record_type.pk]) + "#fields")


@permission_required("record_types.manage")
@require_POST
def field_active(request, pk: int, field_pk: int):
    record_type = services.get_type_by_id(pk)
    field = services.get_field(record_type, field_pk)
    active = request.POST.get("active") == "true"
    try:
        services.set_field_active(request.organization, request.user, field, active=active)
    except InvalidInput as exc:
        messages.error(request, exc.errors[0]["message"])
    else:
        messages.success(request, (_("The field %(label)s is active again.") if active
                                   else _("The field %(label)s is deactivated."))
                         % {"label": field.label})
    return redirect(reverse("records:type_edit", args=[record_type.pk]) + "#fields")


# Records


def _columns(fields) -> list:
    """The list's columns: the title, then each plain field the member may see."""
    return [field for field in fields if not field.is_relation][:8]


def _rows(record_type: RecordType):
    return (Record.objects.filter(record_type=record_type).select_related("owner")
            .prefetch_related(Prefetch("links", RecordLink.objects.order_by("position", "id"))))


def _filtered(request, record_type: RecordType, fields):
    def rows():
        records = visible(_rows(record_type), request.membership, "records")
        return queries.filter_records(records, request.GET, fields, fixed=FIXED_PARAMS,
                                      viewer=request.membership)
    return rows


def _headers(request, record_type, columns) -> list[dict]:
    current = request.GET.get("ordering") or "title"
    headers = []
    for key, label in [("title", record_type.singular),
                       *((f"cf.{field.key}", field.label) for field in columns)]:
        sortable = key == "title" or any(
            f"cf.{field.key}" == key and field.field_type != "multi_choice"
            and not field.encrypted for field in columns)
        sort = ("ascending" if current == key else "descending" if current == f"-{key}"
                else None)
        flipped = f"-{key}" if current == key else key
        headers.append({"label": label, "sort": sort,
                        "query": query_string(request.GET, ordering=flipped, drop=("cursor",))
                        if sortable else ""})
    return headers


@permission_required("records.view")
def record_list(request, type_key: str):
    record_type = services.get_type(type_key)
    fields = services.fields_of(record_type, request.membership)
    columns = _columns(fields)
    try:
        queries.refuse_encrypted(request.GET.get("ordering"), fields)
    except InvalidInput as exc:
        records, next_cursor, errors = [], None, [exc.errors[0]["message"]]
    else:
        records, next_cursor, errors = list_page(
            request.GET, _filtered(request, record_type, fields),
            orderings=queries.orderings(fields), default="title", limit=PAGE_SIZE)
    rows = [(record, [custom_cell(field, record.values.get(field.key)) for field in columns])
            for record in records]
    filters = [{"field": field, "name": f"cf.{field.key}",
                "value": request.GET.get(f"cf.{field.key}", ""),
                "choices": ([("true", _("Yes")), ("false", _("No"))]
                            if field.field_type == "boolean"
                            else [(choice, choice) for choice in field.choices])}
               for field in queries.choice_filters(fields)]
    context = {
        "record_type": record_type, "rows": rows, "headers": _headers(request, record_type,
                                                                      columns),
        "errors": errors, "filters": filters, "q": request.GET.get("q", ""),
        "is_filtered": any(request.GET.get(name) for name in request.GET
                           if name not in ("cursor", "ordering")),
        "can_add": can(request, "records.add"), "can_export": can(request, "records.export"),
        "export_query": query_string(request.GET, drop=("cursor",)),
        **pager(request.GET, next_cursor),
    }
    template = "records/record_list.html"
    if request.htmx and request.htmx.target == "record-rows":
        template += "#record-rows"
    return render(request, template, context)


@permission_required("records.export")
def record_export(request, type_key: str):
    """The list's rows as CSV, with its filters and order, every page of them."""
    record_type = services.get_type(type_key)
    fields = services.fields_of(record_type, request.membership)
    try:
        ordering = queries.ordering_of(request.GET.get("ordering"), fields)
        rows = in_order(_filtered(request, record_type, fields)(), ordering)
    except InvalidInput as exc:
        messages.error(request, exc.errors[0]["message"])
        return redirect("records:list", record_type.key)

    def lines():
        writer = csv.writer(_Echo())
        yield writer.writerow(["id", record_type.singular, *(field.label for field in fields),
                               _("Owner"), _("Created"), _("Updated")])
        for record in rows.iterator(chunk_size=EXPORT_BATCH):
            links = services.link_values(record, fields)
            cells = []
            for field in fields:
                if field.is_relation:
                    linked = links.get(field.key)
                    cells.append("; ".join(map(str, linked)) if isinstance(linked, list)
                                 else linked or "")
                else:
                    cells.append(plain(custom_cell(field, record.values.get(field.key))))
            yield writer.writerow([escape_cell(cell) for cell in (
                record.pk, record.title, *cells, record.owner.email if record.owner_id else "",
                iso_utc(record.created_at), iso_utc(record.updated_at))])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{record_type.key}.csv"'
    return response


class _Echo:
    def write(self, value):
        return value


def _visible_record(request, record_type: RecordType, pk) -> Record:
    """The record, when the member may see it; a hidden one is not found."""
    return require_visible(request.membership, services.get_record(record_type, pk), "records")


# The visibility area of each kind of row a link points to.
AREAS = {model: services.LINK_AREAS[kind]
         for kind, (model, _attribute, _message) in services.RELATION_MODELS.items()}


def _links_shown(record: Record, fields, viewer) -> list[tuple]:
    """(field, linked records) for each relation field the member may see."""
    by_field: dict[int, list] = {}
    for link in record.links.select_related("contact", "company", "deal",
                                            "target__record_type"):
        linked = link.linked
        if linked is not None and getattr(linked, "deleted_at", None) is None:
            by_field.setdefault(link.field_id, []).append(linked)
    hidden: set[tuple[type, int]] = set()
    for items in by_field.values():
        for linked in items:
            if (type(linked), linked.pk) not in hidden and not can_see(
                    viewer, linked, AREAS[type(linked)]):
                hidden.add((type(linked), linked.pk))
    by_field = {key: [linked for linked in items if (type(linked), linked.pk) not in hidden]
                for key, items in by_field.items()}
    return [(field, by_field.get(field.pk, [])) for field in fields if field.is_relation]


def _history(record: Record, viewer, fields) -> list:
    """Field history with the type's labels and linked records' names, without the fields
    hidden from the member."""
    hidden = services.hidden_keys(record.record_type, viewer)
    defined = {field.key: field for field in record.record_type.fields.all()}
    rows = []
    for row in field_history("record", record.pk, viewer=viewer):
        if row.field == "conflict_check":
            continue  # the timeline shows the check with its hits
        if row.field == "shared_with":
            rows.append(dataclasses.replace(row, label=_("Shared with"),
                                            old=_member_names(row.old),
                                            new=_member_names(row.new)))
            continue
        key = row.field.removeprefix("custom_fields.")
        if not row.field.startswith("custom_fields.") or key not in defined:
            rows.append(row)
            continue
        if key in hidden:
            continue
        field = defined[key]
        row = dataclasses.replace(row, label=field.label)
        if field.is_relation:
            row = dataclasses.replace(row, old=_linked_names(field, row.old, viewer),
                                      new=_linked_names(field, row.new, viewer))
        rows.append(row)
    return rows


def _linked_names(field, ids_text: str, viewer) -> str:
    """The names of the records a history value lists by id ("3, 4"); "#id" for one that is
    gone."""
    ids = [int(part) for part in ids_text.split(", ") if part.isdigit()]
    if not ids:
        return ids_text
    model = services.RELATION_MODELS[field.field_type][0]
    found = visible(model.objects.all(), viewer, services.LINK_AREAS[field.field_type]
                    ).in_bulk(ids)
    return ", ".join(str(found[pk]) if pk in found else f"#{pk}" for pk in ids)


def _member_names(ids_text: str) -> str:
    """The names of the members a history value lists by id ("3, 4")."""
    ids = [int(part) for part in ids_text.split(", ") if part.isdigit()]
    if not ids:
        return ids_text
    found = get_user_model().objects.in_bulk(ids)
    return ", ".join(str(found[pk]) if pk in found else f"#{pk}" for pk in ids)


@permission_required("records.view")
def record_detail(request, type_key: str, pk: int):
    record_type = services.get_type(type_key)
    record = _visible_record(request, record_type, pk)
    fields = services.fields_of(record_type, request.membership)
    context = {
        "record_type": record_type, "record": record,
        "values": [(field, custom_cell(field, record.values.get(field.key)))
                   for field in fields if not field.is_relation],
        "links": _links_shown(record, fields, request.membership),
        "shared_with": (record.shares.select_related("user").order_by("id")
                        if record_type.is_confidential else []),
        "incoming": services.linking_records(request.membership, target=record),
        "can_change": can(request, "records.change"),
        "can_delete": can(request, "records.delete"),
        "history": _history(record, request.membership, fields),
    }
    context.update(timeline_context(request, custom_record=record))
    return render(request, "records/record_detail.html", context)


@permission_required("records.add")
def record_create(request, type_key: str):
    """The new-record form; for a type with party fields, "Check for conflicts" shows the
    hits first, and the record is opened once the member confirms there is no conflict."""
    record_type = services.get_type(type_key)
    fields = services.fields_of(record_type, request.membership)
    form = RecordForm(request.POST or None, org=request.organization, fields=fields,
                      initial={"owner": request.user.pk}, record_type=record_type,
                      viewer=request.membership)
    context = {"record_type": record_type, "record": None}
    if request.method == "POST" and request.POST.get("action") == "check":
        context["check"] = _conflict_check(request, record_type, form)
        context["form"] = form
        return render(request, "records/record_form.html", context,
                      status=422 if form.errors else 200)

    def save(form):
        record = services.create_record(request.organization, request.user, record_type,
                                        data=form.to_data(), viewer=request.membership)
        messages.success(request, _("%(type)s “%(name)s” created.")
                         % {"type": record_type.singular, "name": record})
        return redirect(record)

    return save_form(request, form=form, template="records/record_form.html",
                     context=context, save=save)


def _conflict_check(request, record_type: RecordType, form) -> dict | None:
    """The conflict check of the form's values, or None with the problems on the form."""
    if not form.is_valid():
        return None
    try:
        return conflicts.run(record_type, request.membership,
                             values=form.to_data()["values"])
    except InvalidInput as exc:
        apply_errors(form, exc, form.field_for_error)
        return None


@permission_required("records.change")
def record_edit(request, type_key: str, pk: int):
    record_type = services.get_type(type_key)
    record = _visible_record(request, record_type, pk)
    fields = services.fields_of(record_type, request.membership)
    form = RecordForm(request.POST or None, org=request.organization, fields=fields,
                      instance=record, links=services.link_values(record, fields),
                      record_type=record_type, viewer=request.membership,
                      may_share=services.may_share(request.membership, record))

    def save(form):
        services.update_record(request.organization, request.user, record,
                               data=form.to_data(), expected_version=form.expected_version(),
                               viewer=request.membership)
        messages.success(request, _("Changes saved."))
        return redirect(record)

    return save_form(request, form=form, template="records/record_form.html",
                     context={"record_type": record_type, "record": record}, save=save)


@permission_required("records.delete")
def record_delete(request, type_key: str, pk: int):
    record_type = services.get_type(type_key)
    record = _visible_record(request, record_type, pk)
    if request.method == "POST":
        services.delete_record(request.organization, request.user, record)
        messages.success(request, _("“%(name)s” moved to the trash.") % {"name": record})
        return redirect("records:list", record_type.key)
    return render(request, "records/record_confirm_delete.html",
                  {"record_type": record_type, "record": record})


@permission_required("trash.view")
def record_trash(request, type_key: str):
    """The type's records in the trash, newest deletion first, restorable until purged."""
    record_type = services.get_type(type_key)
    deleted = visible(Record.with_deleted.filter(record_type=record_type,
                                                 deleted_at__isnull=False),
                      request.membership, "records")
    error = ""
    try:
        records, next_cursor = paginate(deleted, TRASH_ORDER,
                                        cursor=request.GET.get("cursor") or None,
                                        limit=PAGE_SIZE)
    except InvalidInput as exc:
        records, next_cursor, error = [], None, exc.errors[0]["message"]
    retention = dt.timedelta(days=settings.TRASH_RETENTION_DAYS)
    return render(request, "records/record_trash.html", {
        "record_type": record_type, "error": error,
        "rows": [(record, record.deleted_at + retention) for record in records],
        "can_restore": can(request, "trash.restore"), **pager(request.GET, next_cursor),
    })


@require_POST
@permission_required("trash.restore")
def record_restore(request, type_key: str, pk: int):
    record_type = services.get_type(type_key)
    record = require_visible(request.membership,
                             services.get_record(record_type, pk, with_deleted=True), "records")
    record = services.restore_record(request.organization, request.user, record)
    messages.success(request, _("“%(name)s” restored.") % {"name": record})
    return redirect(record)
