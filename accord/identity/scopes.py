"""What an API token may reach: scopes per area, read or write, and the one map to them.

A scope is "<area>:read" or "<area>:write", or "*" for everything the token's
user may do. The scope an API call needs is decided here and nowhere else:
the area from the first segment of the path under `/api/v1/`, read or write
from the HTTP method. A call passes only when the token's scope and the
user's role both allow it; the role is still checked by each handler.
"""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accord.errors import NotPermitted

ALL = "*"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Area: its label, shown where a token is created.
AREAS = {
    "contacts": _("Contacts and duplicates"),
    "companies": _("Companies"),
    "activities": _("Activities and tasks"),
    "deals": _("Deals, pipelines, forecasts, quotas and exchange rates"),
    "leads": _("Leads and lead rules"),
    "products": _("Products"),
    "orders": _("Orders, returns and subscriptions"),
    "segments": _("Segments"),
    "forms": _("Web forms and their submissions"),
    "campaigns": _("E-mail templates, campaigns and the suppression list"),
    "events": _("Behaviour events"),
    "tickets": _("Tickets, queues, SLA policies and business hours"),
    "knowledge": _("Knowledge-base articles"),
    "imports": _("Imports"),
    "exports": _("Export jobs"),
    "webhooks": _("Webhooks"),
    "automation": _("Workflow rules and their run logs"),
    "audit": _("Audit log"),
    "reports": _("Reports and their results"),
    "privacy": _("Data-subject requests and retention rules"),
    "records": _("Records of the organisation's own record types"),
    "settings": _("Organisation settings, members, teams, custom fields and tags"),
}

# The first path segment under /api/v1/ and the area it belongs to. A path
# missing here needs "*", so a new router is closed to scoped tokens until it
# is given an area.
PATH_AREAS = {
    "contacts": "contacts",
    "duplicates": "contacts",
    "companies": "companies",
    "activities": "activities",
    "deals": "deals",
    "pipelines": "deals",
    "forecasts": "deals",
    "sales-reports": "deals",
    "quotas": "deals",
    "exchange-rates": "deals",
    "leads": "leads",
    "lead-assignment-rules": "leads",
    "lead-scoring-rules": "leads",
    "products": "products",
    "product-feeds": "products",
    "orders": "orders",
    "subscriptions": "orders",
    "segments": "segments",
    "forms": "forms",
    "templates": "campaigns",
    "campaigns": "campaigns",
    "suppressions": "campaigns",
    "sequences": "campaigns",
    "events": "events",
    "tickets": "tickets",
    "queues": "tickets",
    "sla-policies": "tickets",
    "business-calendars": "tickets",
    "articles": "knowledge",
    "imports": "imports",
    "exports": "exports",
    "webhooks": "webhooks",
    "rules": "automation",
    "audit-log": "audit",
    "reports": "reports",
    "privacy": "privacy",
    "retention-rules": "privacy",
    "organization": "settings",
    "users": "settings",
    "teams": "settings",
    "custom-fields": "settings",
    "record-types": "settings",
    "records": "records",
    "tags": "settings",
    "packs": "settings",
    "relationship-roles": "contacts",
}

# Paths every valid token may call: who the caller is, and the API's own
# description.
OPEN_PATHS = frozenset({"me", "openapi.json", "docs"})

SCOPES = (ALL, *(f"{area}:{access}" for area in AREAS for access in ("read", "write")))


class ScopeMissing(NotPermitted):
    code = "scope-missing"
    title = _("Token scope missing")

    def __init__(self, scope: str):
        super().__init__(
            _("This API token lacks the scope %(scope)s. Add it to the token under "
              "Settings → API tokens.") % {"scope": scope}
        )
        self.scope = scope


def required_scope(path: str, method: str) -> str | None:
    """The scope a call of `method` on `path` (relative to /api/v1/) needs; None for none.

    Writing an area implies reading it, so a read is also allowed by the
    area's write scope (see `allows`).
    """
    segment = path.strip("/").split("/", 1)[0]
    if segment in OPEN_PATHS:
        return None
    area = PATH_AREAS.get(segment)
    if area is None:
        return ALL
    return f"{area}:{'read' if method.upper() in READ_METHODS else 'write'}"


def request_scope(request) -> str | None:
    """The scope an API request needs, from its path under /api/v1/ and its method."""
    return required_scope(request.path.removeprefix(reverse("api:api-root")), request.method)


def allows(granted: list[str], needed: str | None) -> bool:
    """True when the scopes in `granted` cover `needed`."""
    if needed is None or ALL in granted:
        return True
    if needed in granted:
        return True
    area, _sep, access = needed.partition(":")
    return access == "read" and f"{area}:write" in granted


def check(granted: list[str], request) -> None:
    """Raise ScopeMissing, naming the scope, unless `granted` covers the API request."""
    needed = request_scope(request)
    if not allows(granted, needed):
        raise ScopeMissing(needed)


def normalise(scopes) -> list[str]:
    """`scopes` without repeats, in a stable order; "*" alone when it is among them.

    Raises ValueError naming the first scope that does not exist.
    """
    chosen = {str(scope).strip() for scope in scopes or ()}
    for scope in sorted(chosen):
        if scope not in SCOPES:
            raise ValueError(scope)
    if ALL in chosen:
        return [ALL]
    return [scope for scope in SCOPES if scope in chosen]


def choices() -> list[tuple[str, object]]:
    """(scope, label) pairs for a form: everything first, then read and write per area."""
    pairs = [(ALL, _("Everything your role allows"))]
    for area, label in AREAS.items():
        pairs.append((f"{area}:read", _("%(area)s: read") % {"area": label}))
        pairs.append((f"{area}:write", _("%(area)s: read and change") % {"area": label}))
    return pairs
