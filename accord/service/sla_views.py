"""Settings → Business hours and SLA policies, for those who may manage service."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accord.errors import InvalidInput, NotFound, StaleVersion
from accord.identity.permissions import permission_required
from accord.web import save_form

from . import sla_settings
from .models import BusinessCalendar, SlaPolicy, Ticket
from .sla_forms import CalendarForm, ConfirmDeleteForm, PolicyForm


def _found(getter, pk):
    try:
        return getter(pk)
    except NotFound as exc:
        raise Http404(exc.detail) from exc


def _saved(request, message: str):
    messages.success(request, message)
    return redirect("service:sla_settings")


def duration_text(minutes: int | None) -> str:
    """Minutes as people read a target: "4 h", "1 h 30 min", "45 min"."""
    if not minutes:
        return ""
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": rest}
    if hours:
        return _("%(hours)d h") % {"hours": hours}
    return _("%(minutes)d min") % {"minutes": rest}


@permission_required("service.manage")
def sla_overview(request):
    policies = list(SlaPolicy.objects.select_related("queue", "calendar"))
    for policy in policies:
        policy.first_response_text = duration_text(policy.first_response_minutes)
        policy.resolution_text = duration_text(policy.resolution_minutes)
    return render(request, "service/sla/sla_settings.html", {
        "calendars": BusinessCalendar.objects.all(), "policies": policies,
    })


@permission_required("service.manage")
def calendar_create(request):
    form = CalendarForm(request.POST or None, initial={
        "time_zone": request.organization.time_zone,
        **{f"hours_{day}": "09:00–17:00" for day in range(5)}})

    def save(form):
        calendar = sla_settings.create_calendar(request.organization, request.user,
                                                data=form.to_data())
        return _saved(request, _("Business hours “%(name)s” added.") % {"name": calendar})

    return save_form(request, form=form, template="service/sla/calendar_form.html",
                     context={"calendar": None}, save=save)


@permission_required("service.manage")
def calendar_edit(request, pk: int):
    calendar = _found(sla_settings.get_calendar, pk)
    form = CalendarForm(request.POST or None, initial=CalendarForm.initial_for(calendar))

    def save(form):
        sla_settings.update_calendar(request.organization, request.user, calendar,
                                     data=form.to_data(),
                                     expected_version=form.cleaned_data["version"])
        return _saved(request, _("Business hours saved; due times of open tickets follow."))

    return save_form(request, form=form, template="service/sla/calendar_form.html",
                     context={"calendar": calendar}, save=save)


@permission_required("service.manage")
def policy_create(request):
    form = PolicyForm(request.POST or None)

    def save(form):
        policy = sla_settings.create_policy(request.organization, request.user,
                                            data=form.to_data())
        return _saved(request, _("SLA policy “%(name)s” added.") % {"name": policy})

    return save_form(request, form=form, template="service/sla/policy_form.html",
                     context={"policy": None}, save=save)


@permission_required("service.manage")
def policy_edit(request, pk: int):
    policy = _found(sla_settings.get_policy, pk)
    form = PolicyForm(request.POST or None, initial=PolicyForm.initial_for(policy))

    def save(form):
        sla_settings.update_policy(request.organization, request.user, policy,
                                   data=form.to_data(),
                                   expected_version=form.cleaned_data["version"])
        return _saved(request, _("SLA policy saved; due times of open tickets follow."))

    return save_form(request, form=form, template="service/sla/policy_form.html",
                     context={"policy": policy,
                              "ticket_count": Ticket.objects.filter(sla_policy=policy).count()},
                     save=save)


def _confirm_delete(request, record, *, delete, what: str, consequence: str):
    form = ConfirmDeleteForm(request.POST or None, initial={"version": record.version})
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            delete(record, expected_version=form.cleaned_data["version"])
        except StaleVersion as exc:
            form.add_error(None, exc.detail)
            status = 409
        except InvalidInput as exc:
            form.add_error(None, exc.errors[0]["message"])
            status = 422
        else:
            return _saved(request, _("“%(name)s” deleted.") % {"name": record})
    return render(request, "service/sla/confirm_delete.html", {
        "record": record, "form": form, "what": what, "consequence": consequence,
    }, status=status)


@permission_required("service.manage")
def calendar_delete(request, pk: int):
    calendar = _found(sla_settings.get_calendar, pk)
    return _confirm_delete(
        request, calendar, what=_("business hours"),
        consequence=_("Policies that use these hours will count round the clock."),
        delete=lambda record, **kw: sla_settings.delete_calendar(
            request.organization, request.user, record, **kw))


@permission_required("service.manage")
def policy_delete(request, pk: int):
    policy = _found(sla_settings.get_policy, pk)
    return _confirm_delete(
        request, policy, what=_("SLA policy"),
        consequence=_("Its open tickets move to the next policy that fits them, or to none."),
        delete=lambda record, **kw: sla_settings.delete_policy(
            request.organization, request.user, record, **kw))
