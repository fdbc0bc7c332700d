"""Settings → Pipelines: pipelines and their stages, for those who may manage them."""

from django.contrib import messages
from django.db.models import Count
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accord.errors import Conflict, InvalidInput, NotFound, StaleVersion
from accord.identity.permissions import permission_required

from .. import services
from ..forms import PipelineForm, StageDeleteForm, StageForm
from ..models import Deal, Pipeline
from .common import apply_errors


def _pipeline_url(pipeline: Pipeline) -> str:
    return reverse("sales:pipeline_edit", args=[pipeline.pk])


@permission_required("pipelines.manage")
def pipeline_list(request):
    form = PipelineForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                pipeline = services.create_pipeline(request.organization, request.user,
                                                    name=form.cleaned_data["name"])
            except InvalidInput as exc:
                apply_errors(form, exc, lambda name: name)
            else:
                messages.success(request, _("Pipeline “%(name)s” created with the usual "
                                            "stages.") % {"name": pipeline})
                return redirect(_pipeline_url(pipeline))
    pipelines = Pipeline.objects.annotate(stage_count=Count("stages")).order_by(
        "-is_active", "position", "id")
    return render(request, "sales/pipeline_list.html",
                  {"pipelines": pipelines, "form": form}, status=status)


@permission_required("pipelines.manage")
def pipeline_edit(request, pk: int):
    pipeline = services.get_pipeline(pk)
    form = PipelineForm(request.POST or None, initial={"name": pipeline.name,
                                                       "version": pipeline.version})
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                services.update_pipeline(request.organization, request.user, pipeline,
                                         data={"name": form.cleaned_data["name"]},
                                         expected_version=form.cleaned_data["version"])
            except StaleVersion as exc:
                form.add_error(None, exc.detail)
                status = 409
            except InvalidInput as exc:
                apply_errors(form, exc, lambda name: name)
            else:
                messages.success(request, _("Changes saved."))
                return redirect(_pipeline_url(pipeline))
    return _render_pipeline(request, pipeline, form=form, status=status)


def _render_pipeline(request, pipeline, *, form=None, stage_form=None, status=200):
    stages = list(pipeline.stages.annotate(deal_count=Count("deals")).order_by("position",
                                                                                  "id"))
    return render(request, "sales/pipeline_detail.html", {
        "pipeline": pipeline,
        "form": form or PipelineForm(initial={"name": pipeline.name,
                                              "version": pipeline.version}),
        "stages": stages,
        "stage_form": stage_form or StageForm(),
    }, status=status)


@require_POST
@permission_required("pipelines.manage")
def pipeline_state(request, pk: int):
    """Make a pipeline the default, or deactivate or reactivate it."""
    pipeline = services.get_pipeline(pk)
    action = request.POST.get("action")
    data = {"default": {"is_default": True}, "deactivate": {"is_active": False},
            "activate": {"is_active": True}}.get(action)
    if data is None:
        messages.error(request, _("Choose an action."))
        return redirect(_pipeline_url(pipeline))
    try:
        services.update_pipeline(request.organization, request.user, pipeline, data=data)
    except InvalidInput as exc:
        messages.error(request, exc.errors[0]["message"])
    else:
        messages.success(request, _("Changes saved."))
    return redirect(_pipeline_url(pipeline))


@require_POST
@permission_required("pipelines.manage")
def stage_add(request, pk: int):
    pipeline = services.get_pipeline(pk)
    form = StageForm(request.POST)
    if not form.is_valid():
        return _render_pipeline(request, pipeline, stage_form=form, status=422)
    try:
        stage = services.add_stage(request.organization, request.user, pipeline,
                                   data=form.to_data())
    except InvalidInput as exc:
        apply_errors(form, exc, lambda name: name)
        return _render_pipeline(request, pipeline, stage_form=form, status=422)
    messages.success(request, _("Stage “%(name)s” added.") % {"name": stage})
    return redirect(_pipeline_url(pipeline))


@permission_required("pipelines.manage")
def stage_edit(request, pk: int):
    stage = services.get_stage(pk)
    form = StageForm.for_stage(stage, request.POST or None)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                services.update_stage(request.organization, request.user, stage,
                                      data=form.to_data(),
                                      expected_version=form.cleaned_data["version"])
            except StaleVersion as exc:
                form.add_error(None, exc.detail)
                status = 409
            except InvalidInput as exc:
                apply_errors(form, exc, lambda name: name)
            else:
                messages.success(request, _("Changes saved."))
                return redirect(_pipeline_url(stage.pipeline))
    return render(request, "sales/stage_form.html", {"stage": stage, "form": form},
                  status=status)


@require_POST
@permission_required("pipelines.manage")
def stage_reorder(request, pk: int):
    """Move a stage one place up or down."""
    stage = services.get_stage(pk)
    pipeline = stage.pipeline
    ids = list(pipeline.stages.order_by("position", "id").values_list("pk", flat=True))
    index = ids.index(stage.pk)
    other = index - 1 if request.POST.get("direction") == "up" else index + 1
    if 0 <= other < len(ids):
        ids[index], ids[other] = ids[other], ids[index]
        services.reorder_stages(request.organization, request.user, pipeline, ids)
    return redirect(_pipeline_url(pipeline))


@permission_required("pipelines.manage")
def stage_delete(request, pk: int):
    """GET asks (and where deals sit in the stage, where to move them); POST deletes."""
    stage = services.get_stage(pk)
    form = StageDeleteForm(request.POST if request.method == "POST" else None, stage=stage)
    deal_count = Deal.with_deleted.filter(stage=stage).count()
    context = {"stage": stage, "form": form, "deal_count": deal_count}
    if request.method != "POST":
        return render(request, "sales/stage_confirm_delete.html", context)
    if not form.is_valid():
        return render(request, "sales/stage_confirm_delete.html", context, status=422)
    move_to = None
    if form.cleaned_data["move_to"]:
        move_to = stage.pipeline.stages.filter(pk=form.cleaned_data["move_to"]).first()
        if move_to is None:
            raise NotFound("No stage with this id.")
    try:
        moved = services.delete_stage(request.organization, request.user, stage,
                                      move_to=move_to)
    except Conflict as exc:
        form.add_error("move_to", exc.detail)
        return render(request, "sales/stage_confirm_delete.html", context, status=409)
    except InvalidInput as exc:
        apply_errors(form, exc, lambda name: name)
        return render(request, "sales/stage_confirm_delete.html", context, status=422)
    messages.success(request, _("Stage “%(name)s” deleted; %(count)s deal(s) moved.")
                     % {"name": stage, "count": moved})
    return redirect(_pipeline_url(stage.pipeline))
