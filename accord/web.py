"""What the views of every app share: access checks, error mapping, return links, pagers."""

from collections.abc import Callable

from django.contrib import messages
from django.db.models import QuerySet
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from accord.errors import Conflict, InvalidInput, StaleVersion
from accord.identity.permissions import has_permission
from accord.pagination import paginate, parse_ordering


def can(request, permission: str) -> bool:
    return has_permission(request.membership, permission)


class MapsServiceErrors:
    """Puts a service's InvalidInput next to this form's fields.

    `error_aliases` renames the service's field names to the form's; a custom
    field's error (`custom_fields.<key>`) goes to its `cf_<key>` field.
    """

    error_aliases: dict[str, str] = {}

    def field_for_error(self, name: str) -> str | None:
        if name.startswith("custom_fields."):
            return "cf_" + name.split(".", 1)[1]
        return self.error_aliases.get(name, name)


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


def list_page(params: QueryDict, rows: Callable[[], QuerySet], *, orderings: dict,
              default: str, limit: int) -> tuple[list, str | None, list[str]]:
    """One page of the list `rows()` builds, ordered and cursored as `params` say.

    Returns (records, next cursor, errors): a bad filter, ordering or cursor
    gives no records and the messages naming it, for the page to show.
    """
    try:
        ordering = parse_ordering(params.get("ordering"), orderings, default)
        page, next_cursor = paginate(rows(), ordering, cursor=params.get("cursor"),
                                     limit=limit)
    except InvalidInput as exc:
        return [], None, [error["message"] for error in exc.errors]
    return page, next_cursor, []


def pager(params: QueryDict, next_cursor: str | None) -> dict:
    """The links of a page read by `cursor` from `params`, for the `_pager.html` partial."""
    return {
        "next_query": query_string(params, cursor=next_cursor) if next_cursor else "",
        "first_query": query_string(params, drop=("cursor",)),
        "is_later_page": bool(params.get("cursor")),
    }


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


def _take_current_version(form, exc: StaleVersion) -> None:
    """After a 409 the form keeps what was typed but carries the stored version, so
    saving again (having looked at the other change) goes through."""
    if exc.current_version is not None and "version" in form.fields and form.is_bound:
        form.data = form.data.copy()
        form.data[form.add_prefix("version")] = str(exc.current_version)


def save_form(request, *, form, template: str, context: dict, save):
    """Run `save` when the form is valid, mapping service errors onto the form.

    Returns the saved record, or the re-rendered form with 422 for invalid
    input and 409 when someone else saved the record in between.
    """
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                return save(form)
            except StaleVersion as exc:
                form.add_error(None, exc.detail)
                context["stale"] = True
                status = 409
                _take_current_version(form, exc)
            except InvalidInput as exc:
                apply_errors(form, exc, form.field_for_error)
    context["form"] = form
    return render(request, template, context, status=status)


def posted_version(request) -> int | None:
    """The record version a form posted, or None when it sent none."""
    value = request.POST.get("version", "")
    return int(value) if value.isdigit() else None


def confirm_delete(request, record, *, delete: Callable, template: str, name: str,
                   done: str, then: str):
    """A delete confirmation: the page on GET; on POST `delete(org, user, record,
    expected_version=...)`, then `done` and the page `then`. A refusal (a newer change,
    or the record is still in use) goes back to the record with its reason."""
    if request.method != "POST":
        return render(request, template, {name: record})
    try:
        delete(request.organization, request.user, record,
               expected_version=posted_version(request))
    except (StaleVersion, Conflict) as exc:
        messages.error(request, exc.detail)
        return redirect(record.get_absolute_url())
    messages.success(request, done)
    return redirect(then)
