"""Lead pages: the list, the record, its forms and conversion; lead settings; the web form."""

import csv
import json

from django.contrib import messages
from django.db.models.functions import Lower
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django_scopes import scope

from accord.audit.history import field_history
from accord.customers.forms import members_of
from accord.errors import Conflict, InvalidInput, StaleVersion, problem_response
from accord.identity.permissions import permission_required
from accord.identity.visibility import require_visible, sees, visible
from accord.integrations.writers import text_cell
from accord.pagination import paginate, parse_ordering
from accord.web import apply_errors, can, pager

from . import assignment, leads, scoring
from .forms_leads import (
    AssignmentRuleForm,
    CaptureFormForm,
    ConvertForm,
    DisqualifyForm,
    LeadForm,
    LeadSettingsForm,
    NoteForm,
    ScoringRuleForm,
)
from .models import AssignmentRule, CaptureForm, Lead, LeadStatus, ScoringRule

PAGE_SIZE = 50
ORDERINGS = {
    "created_at": "created_at", "score": "score", "name": Lower("last_name"),
    "company": Lower("company_name"), "status": "status",
}
SORTABLE = [("name", gettext_lazy("Name")), ("company", gettext_lazy("Company")),
            ("status", gettext_lazy("Status")), ("score", gettext_lazy("Score")),
            ("created_at", gettext_lazy("Created"))]
MAX_FORM_BODY = 16 * 1024  # a filled-in contact form is well under 2 KB
RULES_PERMISSION = "pipelines.manage"
CSV_COLUMNS = ["id", "first_name", "last_name", "email", "phone", "title", "company_name",
               "domain", "country", "source", "status", "score", "owner", "created_at"]


def _render_form_error(request, form, exc: InvalidInput | StaleVersion | Conflict,
                       template: str, context: dict):
    status = 422
    if isinstance(exc, InvalidInput):
        apply_errors(form, exc, form.field_for_error)
    else:
        form.add_error(None, exc.detail)
        status = 409
    return render(request, template, {**context, "form": form}, status=status)


def _visible_leads(request):
    return visible(Lead.objects.select_related("owner"), request.membership, "leads")


def _lead(request, pk) -> Lead:
    """The lead, when the member may see it; a hidden one is not found."""
    return require_visible(request.membership, leads.get_lead(pk), "leads")


# The list


@permission_required("leads.view")
def lead_list(request):
    errors = []
    try:
        ordering = parse_ordering(request.GET.get("ordering"), ORDERINGS, "-created_at")
        rows = leads.lead_filters(_visible_leads(request), request.GET)
        page, next_cursor = paginate(rows, ordering, cursor=request.GET.get("cursor"),
                                     limit=PAGE_SIZE)
    except InvalidInput as exc:
        errors = [error["message"] for error in exc.errors]
        ordering = parse_ordering(None, ORDERINGS, "-created_at")
        page, next_cursor = [], None
    query = request.GET.copy()
    query.pop("cursor", None)
    headers = []
    for key, label in SORTABLE:
        sort = None
        if ordering.key == key:
            sort = "descending" if ordering.descending else "ascending"
        query["ordering"] = key if sort == "descending" else f"-{key}"
        headers.append({"label": label, "query": query.urlencode(), "sort": sort})
    context = {
        "leads": page, "errors": errors, "headers": headers, "filters": request.GET,
        "statuses": LeadStatus.choices, "members": members_of(request.organization),
        "can_add": can(request, "leads.add"), "can_export": can(request, "leads.export"),
        "export_query": request.GET.urlencode(),
        **pager(request.GET, next_cursor),
    }
    template = "sales/leads/lead_list.html"
    if request.htmx:
        template += "#lead-rows"
    return render(request, template, context, status=422 if errors else 200)


@permission_required("leads.export")
def lead_export(request):
    try:
        rows = leads.lead_filters(_visible_leads(request), request.GET)
        ordering = parse_ordering(request.GET.get("ordering"), ORDERINGS, "-created_at")
    except InvalidInput as exc:
        messages.error(request, exc.errors[0]["message"])
        return redirect(reverse("leads:list"))
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y-%m-%d")
    response["Content-Disposition"] = f'attachment; filename="leads-{stamp}.csv"'
    # A byte-order mark first, so spreadsheet programs read the file as UTF-8.
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    rows = rows.order_by(
        ordering.expression.desc() if ordering.descending else ordering.expression.asc(), "id")
    for lead in rows.iterator(chunk_size=500):
        values = {name: getattr(lead, name) for name in CSV_COLUMNS}
        values["owner"] = lead.owner.email if lead.owner_id else ""
        values["created_at"] = lead.created_at.isoformat()
        writer.writerow([text_cell(values[name]) for name in CSV_COLUMNS])
    return response


# The record


def _converted_into(request, lead: Lead) -> list[dict]:
    """The records a converted lead became, each naming whether the member sees it: one
    now hidden from them (given to another owner, say) is named by its kind alone."""
    parts = [
        (_("Contact"), lead.converted_contact, _("A contact you cannot see")),
        (_("Company"), lead.converted_company, _("A company you cannot see")),
        (_("Deal"), lead.converted_deal, _("A deal you cannot see")),
    ]
    return [
        {"label": label, "record": record, "hidden": hidden_label,
         "seen": sees(request.membership, record)}
        for label, record, hidden_label in parts if record is not None
    ]


def _render_lead(request, lead: Lead, *, note_form=None, disqualify_form=None, status=200):
    context = {
        "lead": lead,
        "converted_into": _converted_into(request, lead) if lead.is_converted else [],
        "entries": list(lead.activities.select_related("author")[:100]),
        "score_changes": list(lead.score_changes.select_related("rule")[:50]),
        "note_form": note_form or NoteForm(),
        "disqualify_form": disqualify_form or DisqualifyForm(initial={"version": lead.version}),
        "can_change": can(request, "leads.change") and not lead.is_converted,
        "can_convert": can(request, "leads.convert") and not lead.is_converted,
        "can_delete": can(request, "leads.delete"),
        "history": field_history("lead", lead.pk, viewer=request.membership),
    }
    return render(request, "sales/leads/lead_detail.html", context, status=status)


@permission_required("leads.view")
def lead_detail(request, pk: int):
    return _render_lead(request, _lead(request, pk))


@permission_required("leads.add")
def lead_create(request):
    form = LeadForm(request.POST or None, org=request.organization)
    context = {"lead": None}
    if request.method == "POST" and form.is_valid():
        try:
            lead = leads.create_lead(request.organization, request.user, data=form.to_data())
        except InvalidInput as exc:
            return _render_form_error(request, form, exc, "sales/leads/lead_form.html", context)
        messages.success(request, _("Lead “%(name)s” created.") % {"name": lead})
        return redirect(lead)
    status = 422 if request.method == "POST" else 200
    return render(request, "sales/leads/lead_form.html", {**context, "form": form},
                  status=status)


@permission_required("leads.change")
def lead_edit(request, pk: int):
    lead = _lead(request, pk)
    form = LeadForm(request.POST or None, org=request.organization, instance=lead)
    context = {"lead": lead}
    if request.method == "POST" and form.is_valid():
        try:
            leads.update_lead(request.organization, request.user, lead, data=form.to_data(),
                              expected_version=form.cleaned_data["version"])
        except (InvalidInput, StaleVersion, Conflict) as exc:
            return _render_form_error(request, form, exc, "sales/leads/lead_form.html", context)
        messages.success(request, _("Lead saved."))
        return redirect(lead)
    status = 422 if request.method == "POST" else 200
    return render(request, "sales/leads/lead_form.html", {**context, "form": form},
                  status=status)


@require_POST
@permission_required("leads.delete")
def lead_delete(request, pk: int):
    lead = _lead(request, pk)
    leads.delete_lead(request.organization, request.user, lead)
    messages.success(request, _("Lead moved to the trash."))
    return redirect(reverse("leads:list"))


@require_POST
@permission_required("leads.change")
def lead_note(request, pk: int):
    lead = _lead(request, pk)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            leads.add_note(request.organization, request.user, lead,
                           body=form.cleaned_data["body"])
        except (InvalidInput, Conflict) as exc:
            form.add_error("body", exc.errors[0]["message"] if exc.errors else exc.detail)
        else:
            return redirect(lead)
    return _render_lead(request, lead, note_form=form, status=422)


@require_POST
@permission_required("leads.change")
def lead_qualify(request, pk: int):
    lead = _lead(request, pk)
    try:
        leads.qualify_lead(request.organization, request.user, lead)
    except Conflict as exc:
        messages.error(request, exc.detail)
    return redirect(lead)


@require_POST
@permission_required("leads.change")
def lead_reopen(request, pk: int):
    lead = _lead(request, pk)
    try:
        leads.reopen_lead(request.organization, request.user, lead)
    except Conflict as exc:
        messages.error(request, exc.detail)
    return redirect(lead)


@require_POST
@permission_required("leads.change")
def lead_disqualify(request, pk: int):
    lead = _lead(request, pk)
    form = DisqualifyForm(request.POST)
    if form.is_valid():
        try:
            leads.disqualify_lead(request.organization, request.user, lead,
                                  reason=form.cleaned_data["reason"],
                                  expected_version=form.cleaned_data["version"])
        except (InvalidInput, StaleVersion, Conflict) as exc:
            if isinstance(exc, InvalidInput):
                apply_errors(form, exc, form.field_for_error)
            else:
                form.add_error(None, exc.detail)
        else:
            return redirect(lead)
    return _render_lead(request, lead, disqualify_form=form, status=422)


@permission_required("leads.convert")
def lead_convert(request, pk: int):
    lead = _lead(request, pk)
    if lead.is_converted:
        messages.error(request, _("This lead was converted already."))
        return redirect(lead)
    form = ConvertForm(request.POST or None,
                       initial={"version": lead.version, "name": lead.company_name or str(lead)})
    context = {"lead": lead, "company": leads.matching_company(lead, request.membership),
               "contact": leads.matching_contact(lead, request.membership)}
    if request.method == "POST" and form.is_valid():
        deal = form.deal()
        try:
            if deal is not None and not can(request, "deals.add"):
                raise InvalidInput({"create_deal": _("Your role may not open deals.")})
            leads.convert_lead(request.organization, request.user, lead, deal=deal,
                               expected_version=form.cleaned_data["version"],
                               viewer=request.membership)
        except (InvalidInput, StaleVersion, Conflict) as exc:
            return _render_form_error(request, form, exc, "sales/leads/lead_convert.html",
                                      context)
        lead.refresh_from_db()
        messages.success(request, _("Lead converted."))
        return redirect(lead.converted_contact)
    status = 422 if request.method == "POST" else 200
    return render(request, "sales/leads/lead_convert.html", {**context, "form": form},
                  status=status)


# Settings


def _render_settings(request, *, rule_form=None, scoring_form=None, settings_form=None,
                     capture_form=None, status=200):
    org = request.organization
    current = assignment.lead_settings(org)
    context = {
        "rules": AssignmentRule.objects.select_related("owner", "team").order_by("position",
                                                                                 "id"),
        "scoring_rules": ScoringRule.objects.order_by("id"),
        "capture_forms": CaptureForm.objects.order_by("name", "id"),
        "rule_form": rule_form or AssignmentRuleForm(org=org),
        "scoring_form": scoring_form or ScoringRuleForm(),
        "settings_form": settings_form or LeadSettingsForm(org=org, initial={
            "fallback_owner": current.fallback_owner_id, "decay_mode": current.decay_mode,
            "decay_points": current.decay_points,
            "decay_every_days": current.decay_every_days}),
        "capture_form": capture_form or CaptureFormForm(),
        "honeypot": leads.HONEYPOT,
        "form_fields": leads.FORM_FIELDS,
    }
    return render(request, "sales/leads/lead_settings.html", context, status=status)


@permission_required(RULES_PERMISSION)
def lead_settings(request):
    return _render_settings(request)


@require_POST
@permission_required(RULES_PERMISSION)
def lead_settings_save(request):
    form = LeadSettingsForm(request.POST, org=request.organization)
    if form.is_valid():
        data = form.cleaned_data
        try:
            assignment.set_fallback_owner(request.organization, request.user,
                                          owner=data["fallback_owner"])
            scoring.set_decay(request.organization, request.user, mode=data["decay_mode"],
                              points=data["decay_points"], every_days=data["decay_every_days"])
        except InvalidInput as exc:
            apply_errors(form, exc, form.field_for_error)
        else:
            messages.success(request, _("Lead settings saved."))
            return redirect(reverse("leads:settings"))
    return _render_settings(request, settings_form=form, status=422)


@require_POST
@permission_required(RULES_PERMISSION)
def assignment_rule_create(request):
    form = AssignmentRuleForm(request.POST, org=request.organization)
    if form.is_valid():
        try:
            assignment.create_rule(request.organization, request.user, data=form.to_data())
        except InvalidInput as exc:
            apply_errors(form, exc, form.field_for_error)
        else:
            messages.success(request, _("Assignment rule added."))
            return redirect(reverse("leads:settings"))
    return _render_settings(request, rule_form=form, status=422)


@require_POST
@permission_required(RULES_PERMISSION)
def assignment_rule_delete(request, pk: int):
    assignment.delete_rule(request.organization, request.user, assignment.get_rule(pk))
    messages.success(request, _("Assignment rule deleted."))
    return redirect(reverse("leads:settings"))


@require_POST
@permission_required(RULES_PERMISSION)
def scoring_rule_create(request):
    form = ScoringRuleForm(request.POST)
    if form.is_valid():
        try:
            scoring.create_rule(request.organization, request.user, data=form.to_data())
        except InvalidInput as exc:
            apply_errors(form, exc, form.field_for_error)
        else:
            messages.success(request, _("Scoring rule added."))
            return redirect(reverse("leads:settings"))
    return _render_settings(request, scoring_form=form, status=422)


@require_POST
@permission_required(RULES_PERMISSION)
def scoring_rule_delete(request, pk: int):
    scoring.delete_rule(request.organization, request.user, scoring.get_rule(pk))
    messages.success(request, _("Scoring rule deleted."))
    return redirect(reverse("leads:settings"))


@require_POST
@permission_required(RULES_PERMISSION)
def capture_form_create(request):
    form = CaptureFormForm(request.POST)
    if form.is_valid():
        try:
            leads.create_capture_form(request.organization, request.user,
                                      name=form.cleaned_data["name"],
                                      thank_you=form.cleaned_data["thank_you"])
        except InvalidInput as exc:
            apply_errors(form, exc, lambda name: name)
        else:
            messages.success(request, _("Capture form added."))
            return redirect(reverse("leads:settings"))
    return _render_settings(request, capture_form=form, status=422)


@require_POST
@permission_required(RULES_PERMISSION)
def capture_form_toggle(request, pk: int):
    form = leads.get_capture_form(pk)
    leads.set_capture_form_active(request.organization, request.user, form,
                                  active=not form.is_active)
    return redirect(reverse("leads:settings"))


# The public web form


def _wants_json(request) -> bool:
    return (request.content_type == "application/json"
            or "application/json" in request.headers.get("Accept", ""))


def _public_error(request, status: int, title: str, detail: str, errors=None):
    if _wants_json(request):
        return problem_response(status, title.lower().replace(" ", "-"), title, detail,
                                errors=errors)
    return render(request, "sales/leads/web_form_result.html",
                  {"ok": False, "detail": detail, "errors": errors or []}, status=status)


@csrf_exempt
@require_POST
def web_form_submit(request, token: str):
    """Take a lead from a form on another site; no session, no CSRF token, no cookies.

    The token in the address finds the form and its organisation. Answers 201
    JSON to a JSON post and a thank-you page to a form post.
    """
    form = leads.find_capture_form(token)
    if form is None:
        return _public_error(request, 404, "Not found", _("This form does not exist."))
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = MAX_FORM_BODY + 1
    if length > MAX_FORM_BODY or len(request.body) > MAX_FORM_BODY:
        return _public_error(request, 413, "Request too large",
                             _("The form sent more than %(size)d KB.") % {
                                 "size": MAX_FORM_BODY // 1024})
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            data = None
        if not isinstance(data, dict):
            return _public_error(request, 400, "Bad request", _("Send a JSON object."))
    else:
        data = request.POST.dict()

    with scope(organization=form.organization):
        try:
            leads.submit_capture_form(form, data, ip=request.META.get("REMOTE_ADDR", ""))
        except leads.Throttled as exc:
            response = _public_error(request, 429, "Too many requests", exc.detail)
            response["Retry-After"] = str(int(leads.FORM_WINDOW.total_seconds()))
            return response
        except InvalidInput as exc:
            return _public_error(request, 422, "Invalid input", exc.detail, exc.errors)
    message = form.thank_you or _("Thank you, we will be in touch soon.")
    if _wants_json(request):
        return JsonResponse({"status": "received", "message": message}, status=201)
    return render(request, "sales/leads/web_form_result.html", {"ok": True, "detail": message},
                  status=201)
