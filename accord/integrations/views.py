"""The import wizard: upload → map columns → preview → run → follow, cancel, undo."""

from django.conf import settings
from django.contrib import messages
from django.db.models import F
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from accord.errors import Conflict, InvalidInput
from accord.identity.permissions import has_permission, permission_required, require
from accord.pagination import DEFAULT_LIMIT, Ordering, paginate

from . import engine, entities, services
from .api import error_file_response
from .forms import MappingForm, ReadingForm, RunForm, UploadForm
from .models import ImportStatus
from .readers import ReadError

NEWEST_FIRST = Ordering("id", F("id"), True)
FORMAT_KINDS = {"date", "decimal", "integer", "cf.date", "cf.datetime", "cf.number", "cf.money"}


@permission_required("imports.view")
def import_list(request):
    error = ""
    try:
        jobs, next_cursor = paginate(services.visible_imports(request.membership),
                                     NEWEST_FIRST, cursor=request.GET.get("cursor") or None,
                                     limit=DEFAULT_LIMIT)
    except InvalidInput as exc:
        jobs, next_cursor, error = [], None, exc.errors[0]["message"]
    for job in jobs:
        kind = entities.for_org(request.organization, job.entity)
        job.entity_label = kind.plural if kind else job.entity
    return render(request, "integrations/importjob_list.html", {
        "jobs": jobs, "next_cursor": next_cursor, "error": error,
        "can_run": has_permission(request.membership, "imports.run"),
    })


@permission_required("imports.run")
def import_create(request):
    form = UploadForm(request.POST or None, request.FILES or None, org=request.organization)
    if request.method == "POST" and form.is_valid():
        entity = entities.for_org(request.organization, form.cleaned_data["entity"])
        for permission in entity.permissions_to_import():
            require(request.membership, permission)
        try:
            job = services.create_job(request.organization, request.user, entity=entity.key,
                                      upload=form.cleaned_data["file"])
        except InvalidInput as exc:
            for error in exc.errors:
                form.add_error("file" if error["field"] == "file" else None, error["message"])
        else:
            return redirect("integrations:import_map", job.pk)
    status = 422 if form.errors else 200
    return render(request, "integrations/importjob_form.html", {"form": form}, status=status)


def _job_to_configure(request, pk):
    job = services.get_job(request.membership, pk)
    entity = entities.for_org(request.organization, job.entity)
    for permission in entity.permissions_to_import() if entity else ["records.add"]:
        require(request.membership, permission)
    return job


@permission_required("imports.run")
def import_map(request, pk):
    job = _job_to_configure(request, pk)
    if job.status != ImportStatus.UPLOADED:
        return redirect(job)
    entity = entities.for_org(request.organization, job.entity)
    targets = entity.targets()
    reading = ReadingForm(request.POST or None, job=job)
    form = MappingForm(request.POST or None, job=job, targets=targets)
    if request.method == "POST":
        result = _save_mapping(request, job, entity, reading, form)
        if result is not None:
            return result
    return render(request, "integrations/importjob_map.html", {
        "job": job, "entity": entity, "reading": reading, "form": form,
        "columns": _columns(job, form, {target.key: target for target in targets}),
    }, status=422 if form.errors or reading.errors else 200)


def _save_mapping(request, job, entity, reading, form):
    """Apply the posted settings; a response on success, None to show the form again."""
    org, user = request.organization, request.user
    if not reading.is_valid():
        return None
    if "reread" in request.POST:
        try:
            services.configure_job(org, user, job, options={
                name: value for name, value in reading.cleaned_data.items() if value})
        except (InvalidInput, ReadError) as exc:
            _form_errors(reading, exc)
            return None
        return redirect("integrations:import_map", job.pk)
    if not form.is_valid():
        return None
    try:
        services.configure_job(org, user, job, options={
            "mapping": form.mapping(), "date_order": form.cleaned_data["date_order"],
            "number_style": form.cleaned_data["number_style"]})
        if form.cleaned_data["mapping_name"]:
            services.save_mapping(org, user, entity=entity.key,
                                  name=form.cleaned_data["mapping_name"],
                                  headers=job.options.get("headers") or [],
                                  mapping=form.mapping())
            messages.success(request, _("Mapping “%(name)s” saved.") % {
                "name": form.cleaned_data["mapping_name"]})
    except (InvalidInput, Conflict) as exc:
        _form_errors(form, exc)
        return None
    return redirect("integrations:import_preview", job.pk)


def _form_errors(form, exc) -> None:
    errors = getattr(exc, "errors", None) or [{"field": "", "message": str(exc)}]
    for error in errors:
        form.add_error(None, error["message"])


def _columns(job, form, targets) -> list[dict]:
    """Each header with its samples, its select, and how its dates or numbers will be read."""
    samples = job.options.get("samples") or {}
    mapping = job.options.get("mapping") or {}
    columns = []
    for header, name in getattr(form, "columns", []):
        target = targets.get(mapping.get(header, ""))
        values = samples.get(header) or []
        reading = ""
        if target is not None and target.kind in FORMAT_KINDS and values:
            reading = engine.interpretation(job, header, values[0])
        columns.append({"header": header, "field": form[name], "samples": values,
                        "reading": reading, "sample": values[0] if values else ""})
    return columns


@permission_required("imports.run")
def import_preview(request, pk):
    job = _job_to_configure(request, pk)
    if job.status != ImportStatus.UPLOADED:
        return redirect(job)
    entity = entities.for_org(request.organization, job.entity)
    offers_policy = entity is None or entity.offers_duplicate_policy(job.options.get("mapping"))
    form = RunForm(request.POST or None, offers_policy=offers_policy, initial={
        "duplicate_policy": job.options.get("duplicate_policy") or "fill",
        "create_missing_links": job.options.get("create_missing_links", True)})
    if request.method == "POST" and form.is_valid():
        try:
            services.configure_job(request.organization, request.user, job,
                                   options=dict(form.cleaned_data))
            if "recheck" in request.POST:
                # The choices change which rows the run takes: show them again.
                return redirect("integrations:import_preview", job.pk)
            job = services.queue_job(request.organization, request.user, job)
        except (InvalidInput, Conflict) as exc:
            _form_errors(form, exc)
        else:
            return redirect(job)
    try:
        shown = engine.preview(request.organization, request.user, job)
    except ReadError as exc:
        shown, form_error = None, str(exc)
    else:
        form_error = ""
    mapping = job.options.get("mapping") or {}
    return render(request, "integrations/importjob_preview.html", {
        "job": job, "form": form, "preview": shown, "read_error": form_error,
        "summary": _preview_summary(shown["counts"]) if shown else "",
        "empty": bool(shown) and not shown["counts"]["checked"],
        "empty_reason": services.EMPTY_FILE,
        "entity": entity, "offers_policy": offers_policy,
        "headers": [(header, header in mapping) for header in (shown or {}).get("headers", [])],
    }, status=422 if form.errors else 200)


def _preview_summary(counts: dict) -> str:
    """The preview's counts as a sentence, each number with its own singular or plural."""
    parts = [
        ngettext("%(count)d looks new", "%(count)d look new", counts["new"]),
        ngettext("%(count)d matches an existing record or an earlier row",
                 "%(count)d match an existing record or an earlier row", counts["match"]),
        ngettext("%(count)d is invalid", "%(count)d are invalid", counts["invalid"]),
    ]
    numbers = (counts["new"], counts["match"], counts["invalid"])
    checked = counts["checked"]
    return _("%(checked)s: %(parts)s.") % {
        "checked": ngettext("Of the first %(count)d row", "Of the first %(count)d rows",
                            checked) % {"count": checked},
        "parts": ", ".join(part % {"count": number}
                           for part, number in zip(parts, numbers, strict=True)),
    }


@permission_required("imports.view")
def import_detail(request, pk):
    job = services.get_job(request.membership, pk)
    finished = job.status in services.FINISHED
    context = {
        "job": job, "entity": entities.for_org(request.organization, job.entity),
        "errors": services.first_errors(job, 20),
        "unmapped": services.unmapped_columns(job) if job.status != "uploaded" else [],
        "undo": job.options.get("undo"),
        "records": services.imported_records(request.membership, job) if finished else [],
        "records_shown": services.RECORDS_SHOWN,
        "touched": (services.records_touched(job)
                    if finished and not job.options.get("dry_run") else None),
        "listed": services.imported_list(request.membership, job) if finished else None,
        "can_run": has_permission(request.membership, "imports.run"),
        "can_undo": (has_permission(request.membership, "imports.undo")
                     and finished and not job.options.get("dry_run")),
    }
    template = "integrations/importjob_detail.html"
    if request.htmx:
        template += "#import-progress"
    return render(request, template, context)


@require_POST
@permission_required("imports.run")
def import_cancel(request, pk):
    job = services.get_job(request.membership, pk)
    try:
        services.cancel_job(request.organization, request.user, job)
    except Conflict as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, _("The import stops after the rows in progress. What was "
                                    "imported so far stays and can be undone."))
    return redirect(job)


@permission_required("imports.undo")
def import_undo(request, pk):
    job = services.get_job(request.membership, pk)
    if request.method == "POST":
        try:
            report = services.undo_job(request.organization, request.user, job)
        except Conflict as exc:
            messages.error(request, exc.detail)
        else:
            messages.success(request, _(
                "Import undone: %(removed)d records moved to the trash, %(reverted)d changes "
                "reverted.") % {"removed": report["removed"], "reverted": report["reverted"]})
        return redirect(job)
    return render(request, "integrations/importjob_confirm_undo.html", {
        "job": job, "retention_days": settings.TRASH_RETENTION_DAYS,
        "records": services.records_touched(job)})


@permission_required("imports.view")
def import_errors(request, pk):
    return error_file_response(request.organization, services.get_job(request.membership, pk))
