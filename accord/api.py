"""The one NinjaAPI: `/api/v1/`, its auth, and errors as RFC 9457 problem documents."""

import logging

from django.http import Http404, HttpRequest
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from accord.errors import DomainError
from accord.identity.api_auth import AUTH

logger = logging.getLogger(__name__)

PROBLEM_TYPE = "https://accord.invalid/problems/"

api = NinjaAPI(
    title="Accord API",
    version="1",
    description=(
        "The Accord CRM API. Authenticate with `Authorization: Bearer <token>`; "
        "create a token under Settings → API tokens or with `accord createtoken`."
    ),
    auth=AUTH,
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)


def problem(request: HttpRequest, *, status: int, code: str, title: str, detail: str,
            errors: list[dict] | None = None, extra: dict | None = None):
    body = {"type": PROBLEM_TYPE + code, "title": str(title), "status": status,
            "detail": str(detail)}
    if errors is not None:
        body["errors"] = errors
    if extra:
        body.update(extra)
    response = api.create_response(request, body, status=status)
    response["Content-Type"] = "application/problem+json"
    return response


@api.exception_handler(DomainError)
def domain_error(request, exc: DomainError):
    extra = None
    if getattr(exc, "current_version", None) is not None:
        extra = {"current_version": exc.current_version}
    return problem(request, status=exc.status, code=exc.code, title=exc.title, detail=exc.detail,
                   errors=exc.errors or ([] if exc.status == 422 else None), extra=extra)


@api.exception_handler(NinjaValidationError)
def validation_error(request, exc: NinjaValidationError):
    errors = []
    for error in exc.errors:
        location = [str(part) for part in error.get("loc", ()) if part not in ("body", "payload")]
        if location and location[0] in ("query", "path"):
            location = location[1:]
        errors.append({
            "field": ".".join(location) or "body",
            "code": error.get("type", "invalid"),
            "message": _plain_message(error),
        })
    return problem(request, status=422, code="invalid-input", title="Invalid input",
                   detail="Some fields are not valid.", errors=errors)


def _plain_message(error: dict) -> str:
    message = str(error.get("msg", "Invalid value."))
    if error.get("type") == "missing":
        return "This field is required."
    if error.get("type") == "extra_forbidden":
        return "This field is not accepted here."
    return message[0].upper() + message[1:] + ("" if message.endswith(".") else ".")


@api.exception_handler(AuthenticationError)
def authentication_error(request, exc):
    response = problem(request, status=401, code="unauthenticated", title="Not signed in",
                       detail="Send a valid API token as `Authorization: Bearer <token>`.")
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(Http404)
def not_found(request, exc):
    return problem(request, status=404, code="not-found", title="Not found",
                   detail="No such record.")


@api.exception_handler(HttpError)
def http_error(request, exc: HttpError):
    return problem(request, status=exc.status_code, code="error", title="Request failed",
                   detail=str(exc))


def register_routers() -> None:
    from accord.activities.api import router as activities
    from accord.audit.api import router as audit_log
    from accord.customers.api import companies, contacts, custom_fields, tags
    from accord.identity.api import router as identity

    api.add_router("/contacts", contacts)
    api.add_router("/companies", companies)
    api.add_router("/activities", activities)
    api.add_router("/custom-fields", custom_fields)
    api.add_router("/tags", tags)
    api.add_router("/audit-log", audit_log)
    api.add_router("/", identity)


register_routers()
