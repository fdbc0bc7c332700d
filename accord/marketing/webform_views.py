"""Web form pages: designing forms and reading submissions (signed in), and the public
form, its JSON endpoint and the double opt-in confirmation (no sign-in)."""

import json

from django.contrib import messages
from django.db.models import Count, Max
from django.db.models.functions import Lower
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST
from django_scopes import scope

from accord.errors import InvalidInput, NotFound, StaleVersion, problem_response
from accord.identity.permissions import permission_required
from accord.web import can, list_page, pager, save_form

from . import webforms
from .webform_forms import WebFormForm, initial_for
from .webform_models import WebForm, WebFormSubmission

PAGE_SIZE = 50
ORDERINGS = {"name": Lower("name"), "updated_at": "updated_at", "created_at": "created_at"}
SUBMISSION_ORDERINGS = {"created_at": "created_at"}
CORS_MAX_AGE = "600"  # seconds a browser may keep a preflight answer


def _form(pk) -> WebForm:
    try:
        return webforms.get_form(pk)
    except NotFound as exc:
        raise Http404(str(exc)) from exc


@permission_required("forms.view")
def webform_list(request):
    params = request.GET

    def rows():
        forms = WebForm.objects.annotate(submission_count=Count("submissions"),
                                         last_submission=Max("submissions__created_at"))
        for word in params.get("q", "").split():
            forms = forms.filter(name__icontains=word)
        return forms

    page, next_cursor, errors = list_page(params, rows, orderings=ORDERINGS, default="name",
                                          limit=PAGE_SIZE)
    return render(request, "marketing/webform_list.html", {
        "forms": page, "errors": errors, "filters": params,
        "can_manage": can(request, "forms.manage"), **pager(params, next_cursor),
    }, status=422 if errors else 200)


@permission_required("forms.manage")
def webform_create(request):
    org = request.organization
    form = WebFormForm(request.POST or None, org=org)

    def save(bound):
        created = webforms.create_form(org, request.user, data=bound.service_data())
        messages.success(request, _("Form saved. Copy its link or snippet below."))
        return redirect(created.get_absolute_url())

    return save_form(request, form=form, template="marketing/webform_form.html",
                     context={"web_form": None}, save=save)


@permission_required("forms.manage")
def webform_edit(request, pk: int):
    org = request.organization
    web_form = _form(pk)
    form = WebFormForm(request.POST or None, org=org, form=web_form,
                       initial=initial_for(web_form))

    def save(bound):
        webforms.update_form(org, request.user, web_form, data=bound.service_data(),
                             expected_version=bound.cleaned_data.get("version"))
        messages.success(request, _("Form saved."))
        return redirect(web_form.get_absolute_url())

    return save_form(request, form=form, template="marketing/webform_form.html",
                     context={"web_form": web_form}, save=save)


@permission_required("forms.view")
def webform_detail(request, pk: int):
    web_form = _form(pk)
    params = request.GET
    submissions = webforms.visible_submissions(
        WebFormSubmission.objects.filter(form=web_form), request.membership)
    page, next_cursor, errors = list_page(
        params, lambda: submissions.select_related("contact", "lead"),
        orderings=SUBMISSION_ORDERINGS, default="-created_at", limit=PAGE_SIZE)
    for submission in page:
        submission.data = webforms.shown_data(submission, request.membership)
    context = {
        "web_form": web_form, "submissions": page, "errors": errors,
        "count": submissions.count(),
        "public_url": webforms.public_url(web_form), "json_url": webforms.json_url(web_form),
        "snippet": snippet(web_form),
        "can_manage": can(request, "forms.manage"), **pager(params, next_cursor),
    }
    template = "marketing/webform_detail.html"
    if request.htmx and params.get("rows"):
        template += "#webform-submissions"
    return render(request, template, context, status=422 if errors else 200)


@require_POST
@permission_required("forms.manage")
def webform_delete(request, pk: int):
    web_form = _form(pk)
    version = request.POST.get("version", "")
    try:
        webforms.delete_form(request.organization, request.user, web_form,
                             expected_version=int(version) if version.isdigit() else None)
    except StaleVersion as exc:
        messages.error(request, exc.detail)
        return redirect(web_form.get_absolute_url())
    messages.success(request, _("Form deleted; the contacts and leads it made stay."))
    return redirect("marketing:webform_list")


# The public side. Visitors are not signed in and post from other sites, so
# their posts cannot carry Django's CSRF token; the views are exempt. No
# session or cookie gives these requests any authority: the form's public key
# only lets anyone do what the form is for, as any visitor could.


def _public_form(key: str) -> WebForm:
    form = webforms.find_form(key)
    if form is None:
        raise Http404(_("This form does not exist or no longer takes submissions."))
    return form


def _too_large(request) -> bool:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return True
    return length > webforms.MAX_BODY or len(request.body) > webforms.MAX_BODY


def _ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


@csrf_exempt
@require_http_methods(["GET", "POST"])
def webform_public(request, key: str):
    """The form on its own page; works without script. A post answers the thank-you
    page, the form's redirect, or the form again with the errors beside the fields."""
    form = _public_form(key)
    with scope(organization=form.organization):
        inputs = webforms.inputs(form)
        context = {"web_form": form, "inputs": _rows(inputs, {}, {}), "errors": {},
                   "honeypot": webforms.HONEYPOT, "consent_field": webforms.CONSENT_FIELD,
                   "hidden": {**{key: request.GET.get(key, "") for key in webforms.UTM_KEYS},
                              "page_url": request.build_absolute_uri(),
                              "referrer": request.headers.get("Referer", "")}}
        if request.method == "GET":
            return render(request, "marketing/webform_public.html", context)
        if _too_large(request):
            return render(request, "marketing/webform_result.html", {
                "ok": False, "detail": _("The form sent more than we accept.")}, status=413)
        data = _posted(request)
        try:
            webforms.submit(form, data, ip=_ip(request),
                            page_url=request.headers.get("Referer", ""))
        except webforms.Throttled as exc:
            response = render(request, "marketing/webform_result.html",
                              {"ok": False, "detail": exc.detail}, status=429)
            response["Retry-After"] = "60"
            return response
        except InvalidInput as exc:
            errors = {error["field"]: error["message"] for error in exc.errors}
            asked = {item["name"] for item in inputs}
            context.update({
                "inputs": _rows(inputs, data, errors), "errors": errors,
                # Errors of fields the form does not ask, such as a custom
                # field every contact must have, are shown above the form.
                "other_errors": [message for field, message in errors.items()
                                 if field not in asked],
                "consent_checked": bool(data.get(webforms.CONSENT_FIELD)),
                "hidden": {name: data.get(name, "") for name in context["hidden"]}})
            return render(request, "marketing/webform_public.html", context, status=422)
    if form.redirect_url:
        return redirect(form.redirect_url)
    return render(request, "marketing/webform_result.html", {
        "ok": True, "detail": _thank_you(form)})


def _posted(request) -> dict:
    """The posted fields; a name sent several times (ticked boxes of one field) as a list."""
    return {name: values[0] if len(values) == 1 else values
            for name, values in request.POST.lists()}


def _rows(inputs: list[dict], values: dict, errors: dict) -> list[dict]:
    """The form's inputs with what the visitor typed and the error beside each."""
    rows = []
    for item in inputs:
        value = values.get(item["name"], "")
        if item["kind"] == "checkboxes":
            value = [value] if isinstance(value, str) else value
        rows.append({**item, "value": value, "error": errors.get(item["name"])})
    return rows


def snippet(form: WebForm) -> str:
    """The script-free HTML an admin pastes into another site to embed the form."""
    return render_to_string("marketing/webform_snippet.html", {
        "web_form": form, "public_url": webforms.public_url(form),
        "inputs": _rows(webforms.inputs(form), {}, {}), "honeypot": webforms.HONEYPOT,
        "consent_field": webforms.CONSENT_FIELD,
        "hidden": dict.fromkeys(webforms.UTM_KEYS, "")})


def _thank_you(form: WebForm) -> str:
    if form.thank_you:
        return form.thank_you
    if form.double_opt_in and form.consent_purpose:
        return _("Thank you. If you ticked the consent box, confirm it with the link we "
                 "are e-mailing you.")
    return _("Thank you, we will be in touch soon.")


def _problem(status: int, code: str, title: str, detail: str, errors=None) -> HttpResponse:
    return problem_response(status, code, title, detail, errors=errors)


def _with_cors(request, form: WebForm | None, response: HttpResponse) -> HttpResponse:
    # Only origins the form lists may read the answer from a browser; other
    # sites' script posts still arrive (browsers send simple posts anyway) but
    # learn nothing from the reply.
    origin = request.headers.get("Origin", "")
    if form is not None and origin and origin.lower() in form.allowed_origins:
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        response["Access-Control-Allow-Headers"] = "Content-Type"
        response["Access-Control-Max-Age"] = CORS_MAX_AGE
    response["Vary"] = "Origin"
    return response


@csrf_exempt
@require_http_methods(["POST", "OPTIONS"])
def webform_json(request, key: str):
    """Take a submission as JSON (or form fields) and answer 201 JSON; errors are
    problem documents. OPTIONS answers the browser's CORS preflight."""
    form = webforms.find_form(key)
    if form is None:
        return _with_cors(request, None, _problem(
            404, "not-found", "Not found", _("This form does not exist.")))
    if request.method == "OPTIONS":
        return _with_cors(request, form, HttpResponse(status=204))
    return _with_cors(request, form, _take_json(request, form))


def _take_json(request, form: WebForm) -> HttpResponse:
    if _too_large(request):
        return _problem(413, "too-large", "Request too large",
                        _("The form sent more than we accept."))
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            data = None
        if not isinstance(data, dict):
            return _problem(400, "bad-request", "Bad request", _("Send a JSON object."))
    else:
        data = _posted(request)
    with scope(organization=form.organization):
        try:
            webforms.submit(form, data, ip=_ip(request),
                            page_url=request.headers.get("Referer", ""))
        except webforms.Throttled as exc:
            response = _problem(429, "too-many-requests", "Too many requests", exc.detail)
            response["Retry-After"] = "60"
            return response
        except InvalidInput as exc:
            return _problem(422, "invalid-input", "Invalid input", exc.detail, exc.errors)
    return JsonResponse({"status": "received", "message": _thank_you(form),
                         "redirect_url": form.redirect_url or None}, status=201)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def webform_confirm(request, token: str):
    """The double opt-in link. A GET shows a button and changes nothing, so that a
    mail scanner opening the link does not confirm for the visitor; the signed
    token, not a session, is what the POST rests on."""
    try:
        submission = webforms.submission_for_token(token)
    except (webforms.LinkExpired, NotFound) as exc:
        return render(request, "marketing/webform_result.html", {
            "ok": False, "title": _("This link does not work"), "detail": exc.detail},
            status=exc.status)
    if request.method == "GET":
        return render(request, "marketing/webform_confirm.html", {
            "submission": submission, "done": submission.confirmed_at is not None})
    with scope(organization=submission.organization):
        webforms.confirm_submission(submission.organization, submission, ip=_ip(request))
    return render(request, "marketing/webform_confirm.html", {
        "submission": submission, "done": True})
