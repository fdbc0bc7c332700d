from accord.identity.permissions import ROLE_PERMISSIONS


def workspace(request) -> dict:
    """The current organisation, membership and permission set for every template."""
    membership = getattr(request, "membership", None)
    perms = ROLE_PERMISSIONS.get(membership.role, frozenset()) if membership else frozenset()
    return {
        "organization": getattr(request, "organization", None),
        "membership": membership,
        "perms_set": perms,
    }
