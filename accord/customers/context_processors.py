from .models import Entity
from .services import visible_saved_views


def saved_views(request) -> dict:
    """The user's own and shared saved views, for the navigation under Contacts and Companies."""
    if getattr(request, "organization", None) is None or not request.user.is_authenticated:
        return {}
    views = list(visible_saved_views(request.user).only("pk", "name", "entity"))
    return {
        "saved_views_contact": [view for view in views if view.entity == Entity.CONTACT],
        "saved_views_company": [view for view in views if view.entity == Entity.COMPANY],
    }
