"""Domain exceptions shared by services, views and the API.

Services raise these; the API renders them as RFC 9457 problem documents and
views turn them into form errors. Messages never echo the input back.
"""

import json
from contextlib import contextmanager

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _

PROBLEM_TYPE = "https://accord.invalid/problems/"


def problem_response(status: int, code: str, title: str, detail: str, *,
                     errors: list | None = None) -> HttpResponse:
    """An RFC 9457 problem document for answers made outside the API's own handlers
    (public form endpoints, errors Django answers before any API handler)."""
    body = {"type": PROBLEM_TYPE + code, "title": str(title), "status": status,
            "detail": str(detail)}
    if errors is not None:
        body["errors"] = errors
    return HttpResponse(json.dumps(body, cls=DjangoJSONEncoder), status=status,
                        content_type="application/problem+json")


class DomainError(Exception):
    code = "error"
    title = _("Request failed")
    status = 400

    def __init__(self, detail: str | None = None, *, errors: list[dict] | None = None):
        self.detail = str(detail) if detail is not None else str(self.title)
        self.errors = errors or []
        super().__init__(self.detail)


class NotFound(DomainError):
    code = "not-found"
    title = _("Not found")
    status = 404


class NotPermitted(DomainError):
    code = "not-permitted"
    title = _("Not permitted")
    status = 403


class StaleVersion(DomainError):
    code = "stale-version"
    title = _("Record changed by someone else")
    status = 409

    def __init__(self, detail: str | None = None, *, current_version: int | None = None):
        super().__init__(
            detail
            or _(
                "This record was changed by someone else since you opened it. "
                "Reload it to see their changes, then apply yours again."
            )
        )
        self.current_version = current_version


class Conflict(DomainError):
    code = "conflict"
    title = _("Conflict")
    status = 409


class InvalidInput(DomainError):
    """Raised with one entry per bad field: {"field", "code", "message"}."""

    code = "invalid-input"
    title = _("Invalid input")
    status = 422

    def __init__(self, errors: list[dict] | dict, detail: str | None = None):
        if isinstance(errors, dict):
            errors = [
                {"field": field, "code": "invalid", "message": str(message)}
                for field, message in errors.items()
            ]
        for error in errors:
            error.setdefault("code", "invalid")
            error["message"] = str(error["message"])
        super().__init__(detail or _("Some fields are not valid."), errors=errors)

    def as_dict(self) -> dict[str, str]:
        return {error["field"]: error["message"] for error in self.errors}


@contextmanager
def input_names(names: dict[str, str]):
    """Inside the block, InvalidInput names its fields as the API's input does.

    Services name a link after the model field (`segment`) where the API takes
    its id (`segment_id`); `names` maps the one to the other.
    """
    try:
        yield
    except InvalidInput as exc:
        for error in exc.errors:
            error["field"] = names.get(error["field"], error["field"])
        raise
