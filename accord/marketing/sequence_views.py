"""Pages of sequences: the list, the builder with its report, enrolments and their logs."""

from django.contrib import messages
from django.db.models.functions import Lower
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accord.customers import services as customer_services
from accord.customers.validation import as_pk
from accord.errors import InvalidInput, NotFound, StaleVersion
from accord.identity.models import Area
from accord.identity.permissions import permission_required
from accord.identity.visibility import can_see
from accord.web import apply_errors, can, list_page, pager, posted_version, safe_next, save_form

from . import sequences as services
from .sequence_forms import EnrolSegmentForm, SequenceForm, StepForm
from .sequence_models import (
    EnrolmentStatus,
    Sequence,
    SequenceStatus,
)

PAGE_SIZE = 50
ORDERINGS = {"name": Lower("name"), "updated_at": "updated_at", "created_at": "created_at"}
ENROLMENT_ORDERINGS = {"enrolled_at": "enrolled_at"}


def _sequence(pk) -> Sequence:
    try:
        return services.get_sequence(pk)
    except NotFound as exc:
        raise Http404(str(exc)) from exc


@permission_required("campaigns.view")
def sequence_list(request):
    params = request.GET

    def rows():
        found = Sequence.objects.all()
        for word in params.get("q", "").split():
            found = found.filter(name__icontains=word)
        if params.get("status") in SequenceStatus.values:
            found = found.filter(status=params["status"])
        return found

    page, next_cursor, errors = list_page(params, rows, orderings=ORDERINGS, default="name",
                                          limit=PAGE_SIZE)
    return render(request, "marketing/sequence_list.html", {
        "sequences": page, "errors": errors, "filters": params,
        "statuses": SequenceStatus.choices, "can_manage": can(request, "campaigns.manage"),
        **pager(params, next_cursor),
    }, status=422 if errors else 200)


@permission_required("campaigns.manage")
def sequence_create(request):
    form = SequenceForm(request.POST or None)
    saved = save_form(request, form=form, template="marketing/sequence_form.html",
                      context={"sequence": None},
                      save=lambda form: services.save_sequence(
                          request.organization, request.user, form.service_data()))
    if isinstance(saved, Sequence):
        messages.success(request, _("Sequence saved. Add its steps below."))
        return redirect(saved.get_absolute_url())
    return saved


@permission_required("campaigns.manage")
def sequence_edit(request, pk: int):
    sequence = _sequence(pk)
    exit_rules = sequence.exit or {}
    initial = {"name": sequence.name, "description": sequence.description,
               "from_name": sequence.from_name, "from_email": sequence.from_email,
               "segment": sequence.segment_id, "version": sequence.version,
               "exit_reply": exit_rules.get("reply", True),
               "exit_customer": exit_rules.get("customer", True),
               "goal_segment": exit_rules.get("goal_segment")}
    form = SequenceForm(request.POST or None, initial=initial)
    saved = save_form(request, form=form, template="marketing/sequence_form.html",
                      context={"sequence": sequence},
                      save=lambda form: services.save_sequence(
                          request.organization, request.user, form.service_data(),
                          sequence=sequence, expected_version=form.cleaned_data.get("version")))
    if isinstance(saved, Sequence):
        messages.success(request, _("Sequence saved."))
        return redirect(saved.get_absolute_url())
    return saved


def _detail(request, sequence, *, step_form=None, status=200, error=""):
    return render(request, "marketing/sequence_detail.html", {
        "sequence": sequence,
        "steps": [{**step, "description": services.describe_step(step)}
                  for step in sequence.steps],
        "report": services.step_report(sequence, request.membership),
        "step_form": step_form or StepForm(initial={"version": sequence.version}),
        "enrol_form": EnrolSegmentForm(),
        "can_manage": can(request, "campaigns.manage"), "error": error,
        "active_count": services.enrolments(sequence, request.membership,
                                            status=EnrolmentStatus.ACTIVE).count(),
    }, status=status)


@permission_required("campaigns.view")
def sequence_detail(request, pk: int):
    return _detail(request, _sequence(pk))


@require_POST
@permission_required("campaigns.manage")
def sequence_steps(request, pk: int):
    """Add a step at the end, or move one up or down, or remove one."""
    sequence = _sequence(pk)
    steps = [dict(step) for step in sequence.steps]
    action, key = request.POST.get("action", "add"), request.POST.get("key", "")
    form = StepForm(request.POST) if action == "add" else None
    if form is not None:
        if not form.is_valid():
            return _detail(request, sequence, step_form=form, status=422)
        steps.append(form.spec())
    else:
        position = sequence.position(key)
        if position is None:
            return _detail(request, sequence, status=422, error=_("That step is gone."))
        if action == "remove":
            steps.pop(position)
        elif action in ("up", "down"):
            other = position - 1 if action == "up" else position + 1
            if 0 <= other < len(steps):
                steps[position], steps[other] = steps[other], steps[position]
    try:
        services.save_sequence(request.organization, request.user, {"steps": steps},
                               sequence=sequence, expected_version=posted_version(request))
    except StaleVersion as exc:
        return _detail(request, _sequence(pk), step_form=form, status=409, error=exc.detail)
    except InvalidInput as exc:
        if form is not None:
            apply_errors(form, exc, form.field_for_error)
            return _detail(request, sequence, step_form=form, status=422)
        return _detail(request, sequence, status=422,
                       error=" ".join(error["message"] for error in exc.errors))
    return redirect(sequence.get_absolute_url())


@require_POST
@permission_required("campaigns.manage")
def sequence_status(request, pk: int):
    sequence = _sequence(pk)
    try:
        services.set_status(request.organization, request.user, sequence,
                            request.POST.get("status", ""),
                            expected_version=posted_version(request))
    except (InvalidInput, StaleVersion) as exc:
        message = (" ".join(error["message"] for error in exc.errors)
                   if isinstance(exc, InvalidInput) else exc.detail)
        return _detail(request, sequence, status=exc.status, error=message)
    return redirect(sequence.get_absolute_url())


@require_POST
@permission_required("campaigns.manage")
def sequence_delete(request, pk: int):
    sequence = _sequence(pk)
    try:
        services.delete_sequence(request.organization, request.user, sequence,
                                 expected_version=posted_version(request))
    except (InvalidInput, StaleVersion) as exc:
        message = (" ".join(error["message"] for error in exc.errors)
                   if isinstance(exc, InvalidInput) else exc.detail)
        return _detail(request, sequence, status=exc.status, error=message)
    messages.success(request, _("Sequence deleted."))
    return redirect("marketing:sequence_list")


@require_POST
@permission_required("campaigns.manage")
def enrol_segment(request, pk: int):
    sequence = _sequence(pk)
    form = EnrolSegmentForm(request.POST)
    if not form.is_valid():
        return _detail(request, sequence, status=422,
                       error=_("Choose one of your segments."))
    try:
        counts = services.enrol_segment(request.organization, request.user, sequence,
                                        form.cleaned_data["segment"], request.membership)
    except InvalidInput as exc:
        return _detail(request, sequence, status=422,
                       error=" ".join(error["message"] for error in exc.errors))
    messages.success(request, _("%(enrolled)s contacts enrolled; %(already)s were in the "
                                "sequence already.") % counts)
    return redirect("marketing:enrolment_list", pk=sequence.pk)


@permission_required("campaigns.view")
def enrolment_list(request, pk: int):
    sequence = _sequence(pk)
    params = request.GET
    status = params.get("status") if params.get("status") in EnrolmentStatus.values else None
    page, next_cursor, errors = list_page(
        params, lambda: services.enrolments(sequence, request.membership, status=status,
                                            step=params.get("step")),
        orderings=ENROLMENT_ORDERINGS, default="-enrolled_at", limit=PAGE_SIZE)
    return render(request, "marketing/enrolment_list.html", {
        "sequence": sequence, "enrolments": page, "errors": errors, "filters": params,
        "statuses": EnrolmentStatus.choices,
        "steps": [{**step, "description": services.describe_step(step)}
                  for step in sequence.steps],
        "can_manage": can(request, "campaigns.manage"), **pager(params, next_cursor),
    }, status=422 if errors else 200)


def _enrolment(request, sequence, enrolment_pk):
    try:
        return services.get_enrolment(sequence, enrolment_pk, request.membership)
    except NotFound as exc:
        raise Http404(str(exc)) from exc


@permission_required("campaigns.view")
def enrolment_detail(request, pk: int, enrolment_pk: int):
    sequence = _sequence(pk)
    enrolment = _enrolment(request, sequence, enrolment_pk)
    step = sequence.step(enrolment.step_key) if enrolment.is_active else None
    return render(request, "marketing/enrolment_detail.html", {
        "sequence": sequence, "enrolment": enrolment, "log": enrolment.log.all(),
        "current_step": services.describe_step(step) if step else "",
        "can_manage": can(request, "campaigns.manage"),
    })


@require_POST
@permission_required("campaigns.manage")
def enrolment_remove(request, pk: int, enrolment_pk: int):
    sequence = _sequence(pk)
    enrolment = _enrolment(request, sequence, enrolment_pk)
    try:
        services.remove_enrolment(request.organization, request.user, enrolment)
    except InvalidInput as exc:
        messages.error(request, exc.errors[0]["message"])
    else:
        messages.success(request, _("Taken out of the sequence."))
    return redirect(safe_next(request, enrolment.get_absolute_url()))


@require_POST
@permission_required("campaigns.manage")
def contact_enrol(request, contact_pk: int):
    """Enrol the contact of the contact page in the chosen sequence."""
    try:
        contact = customer_services.get_contact(contact_pk)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    if not can_see(request.membership, contact, Area.CONTACTS):
        raise Http404(_("No contact with this id."))
    pk = as_pk(request.POST.get("sequence"))
    sequence = Sequence.objects.filter(pk=pk).first() if pk else None
    if sequence is None:
        messages.error(request, _("Choose a sequence."))
    else:
        try:
            enrolled = services.enrol_contact(request.organization, request.user, sequence,
                                              contact)
        except InvalidInput as exc:
            messages.error(request, exc.errors[0]["message"])
        else:
            if enrolled is None:
                messages.error(request, _("The contact is in this sequence already."))
            else:
                messages.success(request, _("Enrolled in “%(name)s”.") % {"name": sequence})
    return redirect(contact.get_absolute_url())
