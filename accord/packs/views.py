"""Settings → Industry packs: the catalogue, a pack's preview, applying and removing it."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accord.errors import Conflict, InvalidInput, NotFound
from accord.identity.permissions import permission_required

from . import document, services
from .models import Installation


def _pack(name: str) -> document.Pack:
    try:
        return document.load(name)
    except NotFound as exc:
        raise Http404(str(exc)) from exc


@permission_required("packs.manage")
def pack_list(request):
    return render(request, "packs/pack_list.html", {"packs": services.catalogue()})


@permission_required("packs.manage")
def pack_detail(request, name: str):
    return _render_detail(request, _pack(name))


def _render_detail(request, pack, *, summary=None, errors=None, status=200):
    installation = Installation.objects.filter(name=pack.name).first()
    removable = installation is not None and (installation.removed_at is None
                                              or installation.objects_created.exists())
    removal = None
    if removable:
        removal = services.remove_pack(request.organization, request.user, pack.name,
                                       dry_run=True)
    return render(request, "packs/pack_detail.html", {
        "pack": pack, "installation": installation,
        "plan": services.plan(request.organization, request.user, pack.name),
        "removal": removal, "summary": summary, "errors": errors or [],
    }, status=status)


@permission_required("packs.manage")
@require_POST
def pack_apply(request, name: str):
    pack = _pack(name)
    try:
        summary = services.apply_pack(request.organization, request.user, pack.name)
    except InvalidInput as exc:
        return _render_detail(request, pack, errors=exc.errors, status=422)
    except Conflict as exc:
        return _render_detail(request, pack, errors=[{"field": "version",
                                                      "message": exc.detail}], status=409)
    messages.success(request, _("“%(title)s” applied: %(added)s added, %(kept)s kept.") % {
        "title": pack.title, "added": summary.count(services.ADDED),
        "kept": summary.count(services.KEPT)})
    return _render_detail(request, pack, summary=summary)


@permission_required("packs.manage")
@require_POST
def pack_remove(request, name: str):
    pack = _pack(name)
    delete_data = request.POST.get("delete_data") == "on"
    try:
        summary = services.remove_pack(request.organization, request.user, pack.name,
                                       delete_data=delete_data)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    messages.success(request, _("“%(title)s” removed: %(removed)s removed, %(kept)s kept.") % {
        "title": pack.title, "removed": summary.count(services.REMOVED),
        "kept": summary.count(services.KEPT)})
    return _render_detail(request, pack, summary=summary)
