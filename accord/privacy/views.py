"""Privacy pages: a data request from a contact's page, the requests list and each
request, retention rules with their dry run, runs and deletion."""

from django.contrib import messages
from django.db.models import F
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accord.customers.services import get_contact
from accord.errors import Conflict, InvalidInput, NotFound
from accord.identity.permissions import permission_required
from accord.pagination import Ordering
from accord.web import apply_errors, list_page, pager, save_form

from . import retention, services
from .forms import DataRequestForm, RetentionRuleForm
from .models import DataRequest, RequestKind, RequestStatus, RetentionRule

PAGE_SIZE = 50
REQUEST_ORDERINGS = {"created_at": "created_at"}
RULE_ORDERINGS = {"name": "name", "created_at": "created_at"}
NEWEST_FIRST = Ordering("created_at", F("created_at"), descending=True)


def _found(lookup, pk):
    try:
        return lookup(pk)
    except NotFound as exc:
        raise Http404(str(exc)) from exc


@permission_required("privacy.manage")
@require_http_methods(["GET", "POST"])
def contact_data_request(request, pk: int):
    contact = _found(lambda value: get_contact(value, with_deleted=True), pk)
    form = DataRequestForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                made = services.start_request(request.organization, request.user,
                                              contact=contact, kind=form.cleaned_data["kind"])
            except InvalidInput as exc:
                apply_errors(form, exc, form.field_for_error)
            else:
                messages.success(request, _("Request %(reference)s is queued.")
                                 % {"reference": made.reference})
                return redirect(made.get_absolute_url())
    return render(request, "privacy/datarequest_form.html",
                  {"contact": contact, "form": form}, status=status)


@permission_required("privacy.manage")
def privacy_home(request):
    return redirect("privacy:request_list")


@permission_required("privacy.manage")
def request_list(request):
    params = request.GET
    kind, state = params.get("kind", ""), params.get("status", "")

    def rows():
        found = DataRequest.objects.select_related("requested_by")
        if kind in RequestKind.values:
            found = found.filter(kind=kind)
        if state in RequestStatus.values:
            found = found.filter(status=state)
        return found

    page, next_cursor, errors = list_page(params, rows, orderings=REQUEST_ORDERINGS,
                                          default="-created_at", limit=PAGE_SIZE)
    return render(request, "privacy/datarequest_list.html", {
        "requests": page, "errors": errors, "filters": params,
        "kinds": RequestKind.choices, "statuses": RequestStatus.choices,
        **pager(params, next_cursor),
    }, status=422 if errors else 200)


@permission_required("privacy.manage")
def request_detail(request, pk: int):
    made = _found(services.get_request, pk)
    template = "privacy/datarequest_detail.html"
    if request.htmx and not request.htmx.boosted:
        template += "#request-status"
    return render(request, template, {"made": made})


@permission_required("privacy.manage")
def request_archive(request, pk: int):
    made = _found(services.get_request, pk)
    try:
        handle = services.open_archive(made)
    except Conflict as exc:
        messages.error(request, exc.detail)
        return redirect(made.get_absolute_url())
    services.record_download(request.organization, request.user, made)
    return FileResponse(handle, as_attachment=True, filename=made.filename)


@permission_required("privacy.manage")
def rule_list(request):
    params = request.GET
    page, next_cursor, errors = list_page(params, RetentionRule.objects.all,
                                          orderings=RULE_ORDERINGS, default="name",
                                          limit=PAGE_SIZE)
    return render(request, "privacy/retentionrule_list.html", {
        "rules": page, "errors": errors, "filters": params,
        "entities": retention.ENTITIES, **pager(params, next_cursor),
    }, status=422 if errors else 200)


@permission_required("privacy.manage")
@require_http_methods(["GET", "POST"])
def rule_create(request):
    form = RetentionRuleForm(request.POST or None)

    def save(form):
        rule = retention.save_retention_rule(request.organization, request.user, form.spec())
        messages.success(request, _("Retention rule saved."))
        return redirect(rule.get_absolute_url())

    return save_form(request, form=form, template="privacy/retentionrule_form.html",
                     context={"rule": None, "entities": retention.ENTITIES}, save=save)


@permission_required("privacy.manage")
@require_http_methods(["GET", "POST"])
def rule_edit(request, pk: int):
    rule = _found(retention.get_rule, pk)
    initial = {name: getattr(rule, name) for name in retention.RULE_FIELDS}
    initial["record_type"] = rule.record_type.key if rule.record_type_id else ""
    form = RetentionRuleForm(request.POST or None, initial={**initial, "version": rule.version})

    def save(form):
        saved = retention.save_retention_rule(
            request.organization, request.user, form.spec(), rule=rule,
            expected_version=form.cleaned_data.get("version"))
        messages.success(request, _("Retention rule saved."))
        return redirect(saved.get_absolute_url())

    return save_form(request, form=form, template="privacy/retentionrule_form.html",
                     context={"rule": rule, "entities": retention.ENTITIES}, save=save)


@permission_required("privacy.manage")
def rule_detail(request, pk: int):
    rule = _found(retention.get_rule, pk)
    return render(request, "privacy/retentionrule_detail.html",
                  {"rule": rule, "runs": retention.recent_runs(rule)})


@permission_required("privacy.manage")
def rule_dry_run(request, pk: int):
    rule = _found(retention.get_rule, pk)
    return render(request, "privacy/retentionrule_detail.html", {
        "rule": rule, "runs": retention.recent_runs(rule), "preview": retention.dry_run(rule)})


@permission_required("privacy.manage")
@require_POST
def rule_run(request, pk: int):
    rule = _found(retention.get_rule, pk)
    run = retention.run_rule(request.organization, request.user, rule, trigger="manual")
    messages.success(request, _("The rule ran: %(count)s records removed or anonymised.")
                     % {"count": run.processed})
    return redirect(rule.get_absolute_url())


@permission_required("privacy.manage")
@require_http_methods(["GET", "POST"])
def rule_delete(request, pk: int):
    rule = _found(retention.get_rule, pk)
    if request.method == "POST":
        retention.delete_retention_rule(request.organization, request.user, rule)
        messages.success(request, _("Retention rule deleted."))
        return redirect(reverse("privacy:rule_list"))
    return render(request, "privacy/retentionrule_confirm_delete.html", {"rule": rule})
