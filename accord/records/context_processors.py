from accord.identity.permissions import has_permission

from .services import active_types


def record_types(request) -> dict:
    """The organisation's active record types, for the navigation."""
    membership = getattr(request, "membership", None)
    if getattr(request, "organization", None) is None or not has_permission(
            membership, "records.view"):
        return {}
    return {"nav_record_types": list(active_types().only("key", "plural"))}
