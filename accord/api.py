"""The one NinjaAPI: `/api/v1/`, its auth, and errors as RFC 9457 problem documents."""

import datetime as dt
import logging
from collections.abc import Callable

from django.core.exceptions import RequestDataTooBig
from django.db import DataError
from django.http import Http404, HttpRequest
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.renderers import JSONRenderer
from ninja.responses import NinjaJSONEncoder

from accord.errors import PROBLEM_TYPE, DomainError
from accord.identity.api_auth import AUTH
from accord.identity.visibility import require_seen

logger = logging.getLogger(__name__)

HTTP_PROBLEMS = {  # status: (code, title) for errors Ninja raises itself
    400: ("bad-request", "Bad request"),
    403: ("not-permitted", "Not permitted"),
    413: ("too-large", "Request too large"),
}


# How to find the record a path parameter names; filled in by register_routers.
PATH_RECORDS: dict[str, Callable[[str], object]] = {}


class UtcJSONEncoder(NinjaJSONEncoder):
    """Writes every aware datetime in UTC, whatever zone the request is working in."""

    def default(self, o):
        if isinstance(o, dt.datetime) and o.tzinfo is not None:
            o = o.astimezone(dt.UTC)
        return super().default(o)


class UtcJSONRenderer(JSONRenderer):
    encoder_class = UtcJSONEncoder


api = NinjaAPI(
    title="Accord API",
    version="1",
    description=(
        "The Accord CRM API. Authenticate with `Authorization: Bearer <token>`; "
        "create a token under Settings → API tokens or with `accord createtoken`. "
        "A token's scopes (`contacts:read`, `deals:write`, ..., or `*`) name the areas it "
        "may read or change, and its user's role still applies: a call outside the scopes "
        "answers 403 naming the `missing_scope`, and an expired token answers 401. "
        "Collections answer `{\"items\": [...], \"next\": <cursor or null>}` and take "
        "`limit` (default 50, at most 500), `cursor`, `q` and `ordering` (a field name, "
        "`-` in front for descending). A `PATCH` carries the `version` it was based on "
        "and answers 409 when the record changed since. A `POST` sent with an "
        "`Idempotency-Key` header is carried out once: a retry with the same key and body "
        "within a day gets the first answer again. Errors are RFC 9457 "
        "`application/problem+json` documents."
    ),
    auth=AUTH,
    renderer=UtcJSONRenderer(),
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)


def problem(request: HttpRequest, *, status: int, code: str, title: str, detail: str,
            errors: list[dict] | None = None, extra: dict | None = None):
    """An RFC 9457 problem document with the given status, as `application/problem+json`."""
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
    if getattr(exc, "scope", None) is not None:
        extra = {"missing_scope": exc.scope}
    return problem(request, status=exc.status, code=exc.code, title=exc.title, detail=exc.detail,
                   errors=exc.errors or ([] if exc.status == 422 else None), extra=extra)


@api.exception_handler(NinjaValidationError)
def validation_error(request, exc: NinjaValidationError):
    # Ninja reads the body before the handler looks the record up; a record
    # outside the organisation must still answer 404, whatever the body says.
    missing = _missing_path_record(request)
    if missing is not None:
        return domain_error(request, missing)
    return problem(request, status=422, code="invalid-input", title="Invalid input",
                   detail="Some fields are not valid.", errors=field_errors(exc.errors))


def field_errors(errors, *, whole: str = "body") -> list[dict]:
    """Pydantic's errors as `{"field", "code", "message"}`, the field named by its path
    within the body (or `whole` when the error is about all of it)."""
    out = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ()) if part not in ("body", "payload")]
        if location and location[0] in ("query", "path"):
            location = location[1:]
        out.append({
            "field": ".".join(location) or whole,
            "code": error.get("type", "invalid"),
            "message": _plain_message(error),
        })
    return out


def _missing_path_record(request) -> DomainError | None:
    membership = getattr(request, "membership", None)
    match = getattr(request, "resolver_match", None)
    for name, value in (match.kwargs if match else {}).items():
        lookup = PATH_RECORDS.get(name)
        if lookup is None:
            continue
        try:
            record = lookup(value)
            if membership is not None:
                require_seen(membership, record)
        except DomainError as exc:
            return exc
    return None


def _plain_message(error: dict) -> str:
    message = str(error.get("msg", "Invalid value."))
    if error.get("type") == "missing":
        return "This field is required."
    if error.get("type") == "extra_forbidden":
        return "This field is not accepted here."
    message = message.removeprefix("Value error, ")
    return message[0].upper() + message[1:] + ("" if message.endswith(".") else ".")


@api.exception_handler(AuthenticationError)
def authentication_error(request, exc):
    return _unauthenticated(request)


def _unauthenticated(request):
    expired_at = getattr(request, "bearer_expired_at", None)
    if expired_at is not None:
        response = problem(
            request, status=401, code="token-expired", title="Token expired",
            detail=f"This API token expired at {expired_at.astimezone(dt.UTC).isoformat()}. "
                   "Create a new one under Settings → API tokens.",
        )
    else:
        response = problem(
            request, status=401, code="unauthenticated", title="Not signed in",
            detail="Send a valid API token as `Authorization: Bearer <token>`.",
        )
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(Http404)
def not_found(request, exc):
    return problem(request, status=404, code="not-found", title="Not found",
                   detail="No such record.")


@api.exception_handler(HttpError)
def http_error(request, exc: HttpError):
    if exc.status_code == 403 and "csrf" in str(exc).lower():
        return problem(request, status=403, code="csrf-failed", title="CSRF check failed",
                       detail="A session call that changes data must send the CSRF token "
                              "in the X-CSRFToken header.")
    code, title = HTTP_PROBLEMS.get(exc.status_code, ("error", "Request failed"))
    return problem(request, status=exc.status_code, code=code, title=title, detail=str(exc))


# The largest id any table can hold (a signed 64-bit integer).
MAX_ID = 2**63 - 1


def _path_number_too_large(request) -> bool:
    match = getattr(request, "resolver_match", None)
    for value in (match.kwargs if match else {}).values():
        try:
            if abs(int(value)) > MAX_ID:
                return True
        except (TypeError, ValueError):
            continue
    return False


@api.exception_handler(OverflowError)
@api.exception_handler(DataError)
def number_out_of_range(request, exc: Exception):
    # SQLite raises OverflowError and PostgreSQL "integer out of range" when a
    # number in the request is wider than a column: an id no record can have.
    if _path_number_too_large(request):
        return problem(request, status=404, code="not-found", title="Not found",
                       detail="No record with this id.")
    return problem(request, status=422, code="invalid-input", title="Invalid input",
                   detail="A number in the request is too large.",
                   errors=[{"field": "body", "code": "out_of_range",
                            "message": "A number in the request is too large."}])


@api.exception_handler(RequestDataTooBig)
def too_large(request, exc: Exception):
    return problem(request, status=413, code="too-large", title="Request too large",
                   detail="The request body is larger than this server accepts.")


@api.exception_handler(UnicodeError)
def unstorable_text(request, exc: Exception):
    # JSON may carry lone surrogates (\ud800) that no database can store.
    return problem(request, status=422, code="invalid-input", title="Invalid input",
                   detail="The request holds text that is not valid Unicode.",
                   errors=[{"field": "body", "code": "invalid_unicode",
                            "message": "The request holds text that is not valid Unicode."}])


@api.exception_handler(Exception)
def unexpected_error(request, exc: Exception):
    # Absorbed on purpose: a client gets a problem document rather than an
    # HTML page, and the traceback goes to the log, never into the answer.
    logger.error(
        "api.unexpected_error", exc_info=exc,
        extra={"organization_id": getattr(getattr(request, "organization", None), "id", None),
               "path": request.path},
    )
    return problem(request, status=500, code="server-error", title="Server error",
                   detail="Something went wrong on our side.")


def register_routers() -> None:
    from accord.activities import services as activity_services
    from accord.activities.api import router as activities
    from accord.audit.api import router as audit_log
    from accord.automation import services as automation_services
    from accord.automation.api import router as rules
    from accord.commerce import feeds as feed_services
    from accord.commerce import orders as order_services
    from accord.commerce import services as commerce_services
    from accord.commerce import subscriptions as subscription_services
    from accord.commerce.api import products
    from accord.commerce.events_api import router as behaviour_events
    from accord.commerce.feed_api import product_feeds
    from accord.commerce.order_api import orders, subscriptions
    from accord.customers import duplicates
    from accord.customers import services as customer_services
    from accord.customers.api import companies, contacts, custom_fields, tags
    from accord.customers.merge import RecordMerged
    from accord.customers.merge_api import merged_record, merges
    from accord.customers.merge_api import router as duplicate_pairs
    from accord.identity.api import router as identity
    from accord.insights.api import router as scores
    from accord.integrations import exports, webhooks
    from accord.integrations import services as import_services
    from accord.integrations.api import router as imports
    from accord.integrations.export_api import router as export_jobs
    from accord.integrations.webhook_api import router as webhook_router
    from accord.marketing import campaigns as campaign_services
    from accord.marketing import sequences as sequence_services
    from accord.marketing import services as marketing_services
    from accord.marketing import webforms
    from accord.marketing.api import segments
    from accord.marketing.campaign_api import campaigns, suppressions, templates
    from accord.marketing.sequence_api import router as sequences
    from accord.marketing.texting_api import router as texts
    from accord.marketing.webform_api import router as web_forms
    from accord.packs.api import router as packs
    from accord.privacy import retention as retention_services
    from accord.privacy import services as privacy_services
    from accord.privacy.api import requests_router as privacy_requests
    from accord.privacy.api import rules_router as retention_rules
    from accord.records import services as record_services
    from accord.records.api import record_types, records
    from accord.relationships import services as relationship_services
    from accord.relationships.api import router as relationships
    from accord.reports import services as report_services
    from accord.reports.api import router as reports
    from accord.sales import assignment, leads, scoring
    from accord.sales import services as sales_services
    from accord.sales.api import deals, exchange_rates, pipelines, quotas
    from accord.sales.insights_api import forecasts, sales_reports
    from accord.sales.lead_api import assignment_rules, scoring_rules
    from accord.sales.lead_api import router as lead_router
    from accord.service import knowledge as knowledge_services
    from accord.service import services as service_services
    from accord.service import sla_settings
    from accord.service.api import queue_router, tickets
    from accord.service.knowledge_api import articles
    from accord.service.sla_api import business_calendars, sla_policies

    PATH_RECORDS.update({
        "contact_id": customer_services.get_contact,
        "company_id": customer_services.get_company,
        "field_id": customer_services.get_custom_field,
        "activity_id": activity_services.get_activity,
        "pair_id": duplicates.get_pair,
        "export_id": exports.find_export,
        "import_id": import_services.get_job,
        "webhook_id": webhooks.get_webhook,
        "pipeline_id": sales_services.get_pipeline,
        "stage_id": sales_services.get_stage,
        "deal_id": sales_services.get_deal,
        "product_id": commerce_services.get_product,
        "feed_id": feed_services.get_feed,
        "order_id": order_services.get_order,
        "subscription_id": subscription_services.get_subscription,
        "lead_id": leads.get_lead,
        "assignment_rule_id": assignment.get_rule,
        "scoring_rule_id": scoring.get_rule,
        "ticket_id": service_services.get_ticket,
        "queue_id": service_services.get_queue,
        "policy_id": sla_settings.get_policy,
        "calendar_id": sla_settings.get_calendar,
        "article_id": knowledge_services.get_article,
        "segment_id": marketing_services.get_segment,
        "form_id": webforms.get_form,
        "report_id": report_services.find_report,
        "rule_id": automation_services.get_rule,
        "template_id": campaign_services.get_template,
        "campaign_id": campaign_services.get_campaign,
        "suppression_id": campaign_services.get_suppression,
        "request_id": privacy_services.get_request,
        "retention_rule_id": retention_services.get_rule,
        "sequence_id": sequence_services.get_sequence,
        "relationship_id": relationship_services.find_relationship,
        "type_key": lambda key: record_services.get_type(key, active_only=False),
        "record_id": record_services.find_record,
    })
    api.add_exception_handler(RecordMerged, merged_record)
    api.add_router("/contacts", contacts)
    api.add_router("/companies", companies)
    api.add_router("/activities", activities)
    api.add_router("/custom-fields", custom_fields)
    api.add_router("/tags", tags)
    api.add_router("/audit-log", audit_log)
    api.add_router("/duplicates", duplicate_pairs)
    api.add_router("/", merges)
    api.add_router("/", scores)
    api.add_router("/", texts)
    api.add_router("/exports", export_jobs)
    api.add_router("/imports", imports)
    api.add_router("/webhooks", webhook_router)
    api.add_router("/rules", rules)
    api.add_router("/events", behaviour_events)
    api.add_router("/", identity)
    api.add_router("/forecasts", forecasts)
    api.add_router("/sales-reports", sales_reports)
    api.add_router("/pipelines", pipelines)
    api.add_router("/deals", deals)
    api.add_router("/exchange-rates", exchange_rates)
    api.add_router("/quotas", quotas)
    api.add_router("/products", products)
    api.add_router("/product-feeds", product_feeds)
    api.add_router("/orders", orders)
    api.add_router("/subscriptions", subscriptions)
    api.add_router("/leads", lead_router)
    api.add_router("/lead-assignment-rules", assignment_rules)
    api.add_router("/lead-scoring-rules", scoring_rules)
    api.add_router("/tickets", tickets)
    api.add_router("/queues", queue_router)
    api.add_router("/sla-policies", sla_policies)
    api.add_router("/business-calendars", business_calendars)
    api.add_router("/articles", articles)
    api.add_router("/segments", segments)
    api.add_router("/forms", web_forms)
    api.add_router("/reports", reports)
    api.add_router("/templates", templates)
    api.add_router("/campaigns", campaigns)
    api.add_router("/suppressions", suppressions)
    api.add_router("/privacy", privacy_requests)
    api.add_router("/retention-rules", retention_rules)
    api.add_router("/sequences", sequences)
    api.add_router("/packs", packs)
    api.add_router("/", relationships)
    api.add_router("/record-types", record_types)
    api.add_router("/records", records)


register_routers()
