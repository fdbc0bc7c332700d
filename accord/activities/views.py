"""The timeline composer, task toggles, activity pages and "My tasks"."""


from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accord.audit.history import field_history
from accord.customers import services as customers
from accord.errors import InvalidInput, NotFound, StaleVersion
from accord.identity.permissions import has_permission, permission_required, require
from accord.identity.visibility import require_visible
from accord.records import services as records
from accord.sales import services as sales

from . import services
from .forms import ActivityForm, initial_for
from .models import USER_KINDS, Kind
from .services import TASK_GROUP_LIMIT
from .timeline import build_timeline, describe_event

RECORD_TYPES = ("contact", "company", "deal", "custom_record")


def _record_from(params, membership) -> tuple[str, object]:
    """The contact, company, deal or custom record named in `params`; NotFound when none is
    one of ours or the member may not see it."""
    if params.get("contact"):
        return "contact", require_visible(membership, customers.get_contact(params["contact"]),
                                          "contacts")
    if params.get("company"):
        return "company", require_visible(membership, customers.get_company(params["company"]),
                                          "companies")
    if params.get("deal"):
        return "deal", require_visible(membership, sales.get_deal(params["deal"]), "deals")
    if params.get("custom_record"):
        return "custom_record", require_visible(
            membership, records.find_record(params["custom_record"]), "records")
    raise NotFound("No contact, company, deal or record given.")


def _timeline_for(request, entity: str, record, **kwargs):
    return build_timeline(request, **{entity: record}, **kwargs)


@permission_required()
@require_http_methods(["GET", "POST"])
def create(request):
    """The composer: GET shows it for one kind, POST adds the entry to the record's timeline."""
    require(request.membership, "activities.add")
    params = request.POST if request.method == "POST" else request.GET
    entity, record = _record_from(params, request.membership)
    kind = params.get("kind") or params.get("compose")
    if kind not in USER_KINDS:
        kind = Kind.NOTE

    if request.method == "GET":
        timeline = _timeline_for(request, entity, record, kind=kind, with_entries=False)
        if request.htmx:
            return render(request, "activities/_timeline.html#composer", {"timeline": timeline})
        return render(request, "activities/activity_create.html",
                      {"timeline": timeline, "standalone": True})

    form = ActivityForm(request.POST, kind=kind, org=request.organization)
    status = 200
    if form.is_valid():
        try:
            services.log_activity(request.organization, request.user,
                                  data={**form.to_data(), entity: record})
        except InvalidInput as exc:
            form.add_service_errors(exc.errors)
    if form.errors:
        status = 422
    else:
        form = None
        if not request.htmx:
            messages.success(request, _("Added to the timeline."))
            return redirect(record.get_absolute_url())

    if request.htmx:
        timeline = _timeline_for(request, entity, record, kind=kind, form=form)
        return render(request, "activities/_timeline.html#timeline", {"timeline": timeline},
                      status=status)
    timeline = _timeline_for(request, entity, record, kind=kind, form=form, with_entries=False)
    return render(request, "activities/activity_create.html",
                  {"timeline": timeline, "standalone": True}, status=status)


@permission_required()
@require_GET
def timeline(request, entity: str, pk: int):
    """A record's whole timeline, page by page; htmx asks here for older entries."""
    require(request.membership, "activities.view")
    if entity not in RECORD_TYPES:
        raise Http404
    _, record = _record_from({entity: pk}, request.membership)
    cursor = request.GET.get("cursor") or None
    try:
        timeline = _timeline_for(request, entity, record, kind=request.GET.get("compose"),
                                 cursor=cursor)
    except InvalidInput:
        messages.error(request, _("That page of the timeline no longer exists; "
                                  "here are the newest entries."))
        return redirect(reverse("activities:timeline", args=[entity, pk]))
    if request.htmx and cursor:
        return render(request, "activities/activity_timeline.html#timeline-more",
                      {"timeline": timeline})
    return render(request, "activities/activity_timeline.html",
                  {"timeline": timeline, "record": record, "cursor": cursor})


@permission_required()
@require_GET
def detail(request, pk: int):
    """One entry with its details, task actions and field history."""
    require(request.membership, "activities.view")
    activity = services.get_activity(pk, request.membership)
    if activity.kind == Kind.SYSTEM:
        activity.event_text = describe_event(activity, request.membership)
    services.mark_records_seen([activity], request.membership)
    return render(request, "activities/activity_detail.html", {
        "activity": activity,
        "history": field_history("activity", activity.pk, viewer=request.membership),
    })


@permission_required()
@require_http_methods(["GET", "POST"])
def edit(request, pk: int):
    """Edit an entry; a save over someone else's newer change answers 409."""
    require(request.membership, "activities.change")
    activity = services.get_activity(pk, request.membership)
    if activity.kind == Kind.SYSTEM:
        raise PermissionDenied(_("System events cannot be edited."))
    status = 200
    if request.method == "POST":
        form = ActivityForm(request.POST, kind=activity.kind, org=request.organization,
                            editing=True)
        version = request.POST.get("version")
        if form.is_valid():
            try:
                services.update_activity(request.organization, request.user, activity,
                                         data=form.to_data(), expected_version=version,
                                         viewer=request.membership)
            except InvalidInput as exc:
                form.add_service_errors(exc.errors)
            except StaleVersion as exc:
                form.add_error(None, exc.detail)
                status = 409
            else:
                messages.success(request, _("Changes saved."))
                return redirect(activity.get_absolute_url())
        if status == 200:
            status = 422
    else:
        form = ActivityForm(initial=initial_for(activity), kind=activity.kind,
                            org=request.organization, editing=True)
        version = activity.version
    return render(request, "activities/activity_form.html",
                  {"activity": activity, "form": form, "version": version}, status=status)


@permission_required()
@require_POST
def delete(request, pk: int):
    require(request.membership, "activities.delete")
    activity = services.get_activity(pk, request.membership)
    record = activity.record
    try:
        services.delete_activity(request.organization, request.user, activity)
    except InvalidInput as exc:
        messages.error(request, exc.errors[0]["message"])
        return redirect(activity.get_absolute_url())
    messages.success(request, _("Deleted from the timeline."))
    return redirect(record.get_absolute_url() if record else reverse("activities:my_tasks"))


@permission_required()
@require_POST
def task_done(request, pk: int):
    """Mark a task done (done=1) or not done (done=0)."""
    require(request.membership, "tasks.change")
    task = services.get_activity(pk, request.membership)
    if task.kind != Kind.TASK:
        raise Http404
    done = request.POST.get("done") == "1"
    task = services.set_task_done(request.organization, request.user, task, done=done)

    shown_on = request.POST.get("shown_on")
    if request.htmx and shown_on == "tasks":
        return _render_my_tasks(request, "activities/task_list.html#my-tasks")
    if request.htmx:
        task = services.get_activity(task.pk)
        return render(request, "activities/_timeline.html#timeline-entry", {
            "entry": task,
            "timeline": {"entity": shown_on, "can_change_tasks": True},
        })
    messages.success(request, _("Task marked done.") if done else _("Task marked not done."))
    next_url = request.POST.get("next", "")
    if next_url and url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return HttpResponseRedirect(next_url)
    record = task.record
    if record is None:
        return redirect("activities:my_tasks")
    return HttpResponseRedirect(f"{record.get_absolute_url()}#activity-{task.pk}")


@permission_required()
@require_GET
def my_tasks(request):
    """The signed-in user's tasks: overdue, due today, upcoming and recently done."""
    require(request.membership, "tasks.view")
    template = "activities/task_list.html"
    if request.htmx:
        template += "#my-tasks"
    return _render_my_tasks(request, template)


def _render_my_tasks(request, template: str):
    groups = services.tasks_for_user(request.user, now=timezone.now())
    services.mark_records_seen([task for tasks in groups.values()
                                for task in tasks[:TASK_GROUP_LIMIT]], request.membership)
    sections = [
        ("overdue", _("Overdue"), _("Nothing overdue.")),
        ("today", _("Due today"), _("Nothing else due today.")),
        ("upcoming", _("Upcoming"), _("Nothing planned after today.")),
        ("done", _("Done in the last 7 days"), _("Nothing done in the last 7 days.")),
    ]
    return render(request, template, {
        "sections": [
            {
                "key": key,
                "title": title,
                "empty": empty,
                "tasks": groups[key][:TASK_GROUP_LIMIT],
                "more": len(groups[key]) > TASK_GROUP_LIMIT,
            }
            for key, title, empty in sections
        ],
        "limit": TASK_GROUP_LIMIT,
        "open_count": sum(len(groups[key]) for key in ("overdue", "today", "upcoming")),
        "can_change_tasks": has_permission(request.membership, "tasks.change"),
    })
