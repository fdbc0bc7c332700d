"""API authentication and the permission check every handler uses.

Identity is resolved once, by TenantMiddleware; these classes only tell Ninja
(and the OpenAPI document) which schemes are accepted. Session calls must carry
the CSRF token; bearer calls need none because browsers never send them alone.
A bearer call must also be within its token's scopes, checked here for every
operation from the path and method (`accord.identity.scopes`).
"""

from ninja.security import APIKeyCookie, HttpBearer

from . import scopes
from .permissions import require


class BearerAuth(HttpBearer):
    def __call__(self, request):
        if request.api_token is None or request.membership is None:
            return None
        scopes.check(request.api_token.scopes, request)
        return request.membership

    def authenticate(self, request, token):  # the middleware has done this already
        return None


class SessionAuth(APIKeyCookie):
    param_name = "sessionid"

    def __init__(self):
        super().__init__(csrf=True)

    def __call__(self, request):
        # Only a caller signed in through the browser is checked for CSRF; a
        # bearer caller (valid or not) is the other scheme's business.
        if "Authorization" in request.headers or not request.user.is_authenticated:
            return None
        return super().__call__(request)

    def authenticate(self, request, key):
        return request.membership


AUTH = [BearerAuth(), SessionAuth()]


def allow(request, permission: str) -> None:
    """Raise NotPermitted unless the caller's role grants `permission`."""
    require(request.membership, permission)
