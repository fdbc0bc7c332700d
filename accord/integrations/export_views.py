"""Export pages: start a job from a list or for the whole organisation, follow it, download."""

from django.contrib import messages
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accord.errors import Conflict, InvalidInput
from accord.identity.permissions import has_permission, permission_required, require
from accord.identity.visibility import require_all_records, sees_all_records
from accord.records.services import active_types

from . import exports
from .models import ExportEntity, ExportFormat

PAGE_SIZE = 100  # the most recent jobs; older ones stay in the API and the audit log
ORGANISATION_FORMATS = [(value, label) for value, label in ExportFormat.choices
                        if value != ExportFormat.VCF]


@permission_required("data.export")
@require_http_methods(["GET", "POST"])
def export_list(request):
    """The member's export jobs (everyone's for admins); POST starts a new one."""
    errors = []
    if request.method == "POST":
        entity = request.POST.get("entity", "")
        if entity.startswith("record:"):
            require(request.membership, "records.export")
            require_all_records(request.membership, "records")
        else:
            require_all_records(request.membership, entity)
        try:
            job = exports.start_export(
                request.organization, request.user,
                entity=entity, format=request.POST.get("format", ""),
                query=request.POST.get("query", ""),
            )
        except InvalidInput as exc:
            errors = [error["message"] for error in exc.errors] or [exc.detail]
        else:
            return redirect(job.get_absolute_url())
    jobs = list(exports.visible_exports(request.membership).order_by("-created_at", "-id")
                [:PAGE_SIZE])
    context = {
        "jobs": jobs,
        "errors": errors,
        "formats": ORGANISATION_FORMATS,
        "sees_everyone": has_permission(request.membership, "data.export_any"),
        "organisation": ExportEntity.ORGANISATION,
        # Offered only to those the POST above lets through.
        "can_export_organisation": sees_all_records(request.membership,
                                                    ExportEntity.ORGANISATION),
        "record_types": ([(f"record:{kind.key}", kind.plural) for kind in active_types()]
                         if has_permission(request.membership, "records.export")
                         and sees_all_records(request.membership, "records") else []),
    }
    return render(request, "integrations/exportjob_list.html", context,
                  status=422 if errors else 200)


@permission_required("data.export")
def export_detail(request, export_id: int):
    job = exports.get_export(request.membership, export_id)
    template = "integrations/exportjob_detail.html"
    if request.htmx and not request.htmx.boosted:
        template += "#export-status"
    return render(request, template, {"job": job})


@permission_required("data.export")
def export_download(request, export_id: int):
    job = exports.get_export(request.membership, export_id)
    try:
        handle = exports.open_download(job)
    except Conflict as exc:
        messages.error(request, exc.detail)
        return redirect(reverse("integrations:export_detail", args=[job.pk]))
    return FileResponse(handle, as_attachment=True, filename=job.filename)

