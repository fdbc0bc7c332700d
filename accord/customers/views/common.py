"""What every customers view shares: access checks, error mapping and query strings."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, QueryDict
from django.utils.http import url_has_allowed_host_and_scheme

from accord.errors import InvalidInput, NotFound, NotPermitted
from accord.identity.permissions import has_permission, require


def permission_required(permission: str) -> Callable:
    """Sign-in plus `permission`; NotPermitted becomes 403 and NotFound 404 anywhere inside."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            try:
                require(request.membership, permission)
                return view(request, *args, **kwargs)
            except NotPermitted as exc:
                raise PermissionDenied(exc.detail) from None
            except NotFound as exc:
                raise Http404(exc.detail) from None

        return wrapped

    return decorator


def can(request, permission: str) -> bool:
    return has_permission(request.membership, permission)


def apply_errors(form, exc: InvalidInput, field_for: Callable[[str], str | None]) -> None:
    """Put each service error next to the form field it names, the rest above the form."""
    for error in exc.errors:
        name = field_for(error["field"])
        if name in form.fields:
            form.add_error(name, error["message"])
        else:
            form.add_error(None, error["message"])


def safe_next(request, fallback: str) -> str:
    """The `next` URL from the form when it stays on this site, else `fallback`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def query_string(params: QueryDict, *, drop: tuple[str, ...] = (), **updates) -> str:
    """`params` re-encoded without `drop`, with `updates` replacing single values."""
    query = params.copy()
    for name in drop:
        query.pop(name, None)
    for name, value in updates.items():
        if value in (None, ""):
            query.pop(name, None)
        else:
            query[name] = value
    return query.urlencode()
