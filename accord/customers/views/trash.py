"""The trash: deleted contacts and companies, restorable until they are purged.

A member meets only the deleted records they may see; others are not found.
"""

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.db.models import F
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accord.errors import InvalidInput
from accord.identity.permissions import permission_required
from accord.identity.visibility import require_visible, visible, with_seen
from accord.pagination import DEFAULT_LIMIT, Ordering, paginate

from .. import services
from ..models import Company, Contact
from .common import can, pager

# Newest deletions first; the (organization, id) index keeps each page cheap.
TRASH_ORDER = Ordering("deleted_at", F("deleted_at"), True)


@permission_required("trash.view")
def trash(request):
    showing = "companies" if request.GET.get("type") == "companies" else "contacts"
    model = Company if showing == "companies" else Contact
    queryset = visible(model.with_deleted.filter(deleted_at__isnull=False), request.membership,
                       showing)
    if model is Contact:
        queryset = with_seen(queryset.select_related("company"), request.membership,
                             "company", "companies")
    error = ""
    try:
        records, next_cursor = paginate(queryset, TRASH_ORDER,
                                        cursor=request.GET.get("cursor") or None,
                                        limit=DEFAULT_LIMIT)
    except InvalidInput as exc:
        records, next_cursor, error = [], None, exc.errors[0]["message"]
    retention = dt.timedelta(days=settings.TRASH_RETENTION_DAYS)
    context = {
        "showing": showing,
        "rows": [(record, record.deleted_at + retention) for record in records],
        "retention_days": settings.TRASH_RETENTION_DAYS,
        **pager(request.GET, next_cursor),
        "can_restore": can(request, "trash.restore"),
        "error": error,
    }
    return render(request, "customers/trash.html", context)


@require_POST
@permission_required("trash.restore")
def contact_restore(request, pk: int):
    contact = require_visible(request.membership, services.get_contact(pk, with_deleted=True),
                              "contacts")
    contact = services.restore_contact(request.organization, request.user, contact)
    messages.success(request, _("“%(name)s” restored.") % {"name": contact})
    return redirect(contact)


@require_POST
@permission_required("trash.restore")
def company_restore(request, pk: int):
    company = require_visible(request.membership, services.get_company(pk, with_deleted=True),
                              "companies")
    company = services.restore_company(request.organization, request.user, company)
    messages.success(request, _("“%(name)s” restored.") % {"name": company})
    return redirect(company)
