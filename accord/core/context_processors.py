from django.utils.functional import SimpleLazyObject

from accord.identity import sso
from accord.identity.models import Membership
from accord.identity.permissions import ROLE_PERMISSIONS


def workspace(request) -> dict:
    """The current organisation, membership and permission set for every template.

    `user_memberships` lists the signed-in user's active memberships across
    organisations, ordered by organisation name, for the switcher in the
    navigation; it is empty for anyone signed out or without an organisation,
    and queried once, only when a template reads it (htmx fragments do not).
    """
    membership = getattr(request, "membership", None)
    organization = getattr(request, "organization", None)
    perms = ROLE_PERMISSIONS.get(membership.role, frozenset()) if membership else frozenset()
    return {
        "organization": organization,
        "membership": membership,
        "perms_set": perms,
        "user_memberships": _user_memberships(request, organization),
    }


def _user_memberships(request, organization):
    user = getattr(request, "user", None)
    if organization is None or user is None or not user.is_authenticated:
        return []
    # A user's memberships span organisations, so this one query is unscoped
    # on purpose; it is limited to the signed-in user's own rows.
    return SimpleLazyObject(lambda: list(sso.reachable_memberships(
        request.session,
        Membership.unscoped.select_related("organization")
        .filter(user=user, is_active=True)
        .order_by("organization__name"),
    )))
