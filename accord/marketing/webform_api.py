"""Web forms under `/api/v1/forms`, and the submissions each one received.

Visitors do not use this API: they post to the form's public JSON endpoint,
`/f/<public key>.json`, which needs no token.
"""

from django.db.models.functions import Lower
from django.http import HttpRequest
from ninja import Query, Router, Status

from accord.errors import input_names
from accord.identity.api_auth import allow
from accord.pagination import clamp_limit, paginate, parse_ordering

from . import webforms
from .webform_models import WebForm, WebFormSubmission
from .webform_schemas import (
    SubmissionFilters,
    SubmissionPage,
    WebFormFilters,
    WebFormIn,
    WebFormOut,
    WebFormPage,
    WebFormPatch,
)

router = Router(tags=["forms"])

ORDERINGS = {"name": Lower("name"), "created_at": "created_at", "updated_at": "updated_at"}
INPUT_NAMES = {"owner": "owner_id"}


def _out(form: WebForm, viewer) -> dict:
    return {
        "fields": webforms.shown_fields(form, viewer),
        **{name: getattr(form, name) for name in (
            "id", "name", "public_key", "consent_purpose", "consent_text", "creates",
            "lifecycle_stage", "owner_id", "tags", "thank_you", "redirect_url",
            "double_opt_in", "allowed_origins", "is_active", "created_at", "updated_at",
            "version")},
        "public_url": webforms.public_url(form), "submit_url": webforms.json_url(form),
    }


def _data(payload) -> dict:
    data = payload.model_dump(exclude_unset=True, exclude={"version"})
    if "owner_id" in data:
        data["owner"] = data.pop("owner_id")
    return data


@router.get("", response=WebFormPage, summary="List web forms")
def list_forms(request: HttpRequest, filters: Query[WebFormFilters]):
    allow(request, "forms.view")
    ordering = parse_ordering(filters.ordering, ORDERINGS, "name")
    rows = WebForm.objects.all()
    for word in (filters.q or "").split():
        rows = rows.filter(name__icontains=word)
    items, next_cursor = paginate(rows, ordering, cursor=filters.cursor,
                                  limit=clamp_limit(filters.limit))
    return {"items": [_out(form, request.membership) for form in items], "next": next_cursor}


@router.post("", response={201: WebFormOut}, summary="Create a web form")
def create_form(request: HttpRequest, payload: WebFormIn):
    allow(request, "forms.manage")
    with input_names(INPUT_NAMES):
        form = webforms.create_form(request.organization, request.user, data=_data(payload))
    return Status(201, _out(form, request.membership))


@router.get("/{form_id}", response=WebFormOut, summary="Read a web form")
def read_form(request: HttpRequest, form_id: int):
    allow(request, "forms.view")
    return _out(webforms.get_form(form_id), request.membership)


@router.patch("/{form_id}", response=WebFormOut, summary="Change a web form")
def update_form(request: HttpRequest, form_id: int, payload: WebFormPatch):
    allow(request, "forms.manage")
    with input_names(INPUT_NAMES):
        form = webforms.update_form(request.organization, request.user,
                                    webforms.get_form(form_id), data=_data(payload),
                                    expected_version=payload.version)
    return _out(form, request.membership)


@router.delete("/{form_id}", response={204: None}, summary="Delete a web form")
def delete_form(request: HttpRequest, form_id: int, version: int | None = None):
    allow(request, "forms.manage")
    webforms.delete_form(request.organization, request.user, webforms.get_form(form_id),
                         expected_version=version)
    return Status(204, None)


@router.get("/{form_id}/submissions", response=SubmissionPage,
            summary="List a web form's submissions, newest first")
def list_submissions(request: HttpRequest, form_id: int, filters: Query[SubmissionFilters]):
    allow(request, "forms.view")
    form = webforms.get_form(form_id)
    ordering = parse_ordering("-created_at", {"created_at": "created_at"}, "-created_at")
    rows = webforms.visible_submissions(WebFormSubmission.objects.filter(form=form),
                                        request.membership)
    items, next_cursor = paginate(rows, ordering, cursor=filters.cursor,
                                  limit=clamp_limit(filters.limit))
    for submission in items:
        submission.data = webforms.shown_data(submission, request.membership)
    return {"items": items, "next": next_cursor}
