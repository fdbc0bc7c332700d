"""Resolves who is calling and for which organisation, then opens the tenant scope.

Bearer tokens and sessions are both resolved here, once, so the web UI and the
API share one notion of `request.organization` and `request.membership`.
Every query made while handling the request runs inside
`scope(organization=...)`; a request with no organisation runs with an empty
scope, so tenant-scoped queries match nothing rather than everything.
"""

import hmac
import zoneinfo

from django.contrib.auth import logout
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scope

from accord.audit.context import channel

from . import sessions, sso, twofactor
from .context import acting_as
from .models import ApiToken, Membership, hash_secret
from .services import token_prefix

SESSION_ORG_KEY = "organization_id"
SESSION_GENERATION_KEY = "session_generation"


def resolve_bearer(request) -> ApiToken | None:
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        return None
    raw = header[7:].strip()
    prefix = token_prefix(raw)
    if prefix is None:
        return None
    token = (
        ApiToken.unscoped.select_related("user", "organization")
        .filter(prefix=prefix, revoked_at__isnull=True)
        .first()
    )
    if token is None or not _same_hash(token.hashed, hash_secret(raw)):
        return None
    return token


def _same_hash(a: str, b: str) -> bool:
    return hmac.compare_digest(a, b)


class TenantMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.organization = None
        request.membership = None
        request.api_token = None
        request.bearer_failed = False
        request.bearer_expired_at = None
        via = "web"

        if request.path.startswith("/api/") and "Authorization" in request.headers:
            via = "api"
            token = resolve_bearer(request)
            if token is None:
                request.bearer_failed = True
            elif token.is_expired:
                request.bearer_failed = True
                request.bearer_expired_at = token.expires_at
            else:
                self._attach_token(request, token)
        elif request.user.is_authenticated:
            if request.session.get(SESSION_GENERATION_KEY, 0) != request.user.session_generation:
                logout(request)
            else:
                self._attach_session(request)
            if request.path.startswith("/api/"):
                via = "api"

        if request.user.is_authenticated and request.user.time_zone:
            timezone.activate(zoneinfo.ZoneInfo(request.user.time_zone))
        else:
            timezone.deactivate()
        with scope(organization=request.organization), channel(via, _client_ip(request)), \
                acting_as(request.membership):
            return self.get_response(request)

    def _attach_token(self, request, token: ApiToken) -> None:
        membership = (
            Membership.unscoped.select_related("organization", "team")
            .filter(organization=token.organization, user=token.user, is_active=True)
            .first()
        )
        if membership is None or not token.user.is_active:
            request.bearer_failed = True
            return
        request.user = token.user
        request.api_token = token
        request.membership = membership
        request.organization = membership.organization
        now = timezone.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            ApiToken.unscoped.filter(pk=token.pk).update(last_used_at=now)

    def _attach_session(self, request) -> None:
        memberships = sso.reachable_memberships(
            request.session,
            Membership.unscoped.select_related("organization", "team").filter(
                user=request.user, is_active=True
            ),
        )
        wanted = request.session.get(SESSION_ORG_KEY)
        membership = None
        if wanted:
            membership = memberships.filter(organization_id=wanted).first()
        if membership is None:
            membership = memberships.order_by("created_at").first()
        if membership is not None:
            request.membership = membership
            request.organization = membership.organization
            if wanted != membership.organization_id:
                request.session[SESSION_ORG_KEY] = membership.organization_id


class SessionActivityMiddleware:
    """Keeps the signed-in user's list of sessions current; runs after TenantMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        sessions.touch_session(request)
        return self.get_response(request)


# What a member who still has to set up two-factor may reach: the set-up
# itself, signing out, and another organisation that may not require it.
TWO_FACTOR_EXEMPT = {
    "identity:two_factor", "identity:two_factor_start", "identity:logout",
    "identity:switch_organization",
}


class TwoFactorRequiredMiddleware:
    """Sends a member of an organisation that requires two-factor to set it up first.

    Browser sessions only: API tokens are issued deliberately and keep
    working, so scripts do not break when an admin turns the rule on.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        org = getattr(request, "organization", None)
        if org is None or not org.require_two_factor or request.api_token is not None:
            return None
        if request.resolver_match.view_name in TWO_FACTOR_EXEMPT:
            return None
        if twofactor.two_factor_enabled(request.user):
            return None
        if request.path.startswith("/api/"):
            from accord.api import problem

            return problem(
                request, status=403, code="two-factor-required",
                title=_("Two-factor sign-in required"),
                detail=_("Your organisation requires two-factor sign-in. Set it up in "
                         "your profile, or call the API with a token."),
            )
        return redirect("identity:two_factor")


def _client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "")
