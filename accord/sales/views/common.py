"""What every deals view shares: access checks, error mapping and safe return links."""

from collections.abc import Callable

from django.http import QueryDict
from django.utils.http import url_has_allowed_host_and_scheme

from accord.errors import InvalidInput
from accord.identity.permissions import has_permission


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
    """The `next` URL sent with the request when it stays on this site, else `fallback`."""
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
