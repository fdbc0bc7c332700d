"""What a record page needs to show its timeline and the composer on top of it.

Record pages call `timeline_context(request, contact=...)` (or `company=...`,
`deal=...`)
and include "activities/_timeline.html"; everything that template reads sits
under the one context key `timeline`, so it cannot clash with the page's own.
"""

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode, urlsplit

from django.db.models import F
from django.http import QueryDict
from django.urls import reverse
from django.utils.translation import gettext as _

from accord.customers.models import Company, Contact, LifecycleStage
from accord.identity.permissions import has_permission
from accord.identity.visibility import through_records
from accord.pagination import Ordering, paginate
from accord.records.models import Record
from accord.sales.models import Deal

from .forms import ActivityForm
from .models import USER_KINDS, Activity, Kind

PAGE_SIZE = 20  # a screen or two of entries; older ones load on demand
ORDERING = Ordering("occurred_at", F("occurred_at"), descending=True)


@dataclass
class Tab:
    kind: str
    label: str
    url: str
    hx_url: str
    selected: bool


@dataclass
class Timeline:
    record: Contact | Company | Deal | Record
    entity: str
    dom_id: str
    entries: list[Activity]
    older_url: str | None
    form: ActivityForm | None
    kind: str
    tabs: list[Tab] = field(default_factory=list)
    can_add: bool = False
    can_change_tasks: bool = False
    create_url: str = ""


def timeline_context(request, *, contact: Contact | None = None,
                     company: Company | None = None, deal: Deal | None = None,
                     custom_record: Record | None = None) -> dict:
    """Everything "activities/_timeline.html" needs for this contact, company, deal or
    custom record.

    The composer starts on the kind named by `?compose=` (a note by default);
    the newest PAGE_SIZE entries are shown with a link to older ones.
    """
    return {"timeline": build_timeline(request, contact=contact, company=company, deal=deal,
                                       custom_record=custom_record,
                                       kind=request.GET.get("compose"))}


def build_timeline(request, *, contact: Contact | None = None, company: Company | None = None,
                   deal: Deal | None = None, custom_record: Record | None = None,
                   kind: str | None = None,
                   form: ActivityForm | None = None, cursor: str | None = None,
                   with_entries: bool = True) -> Timeline:
    """The timeline of one record; InvalidInput when `cursor` is not one of its cursors.

    `with_entries=False` skips loading entries, for pages that show only the composer.
    """
    given = {"contact": contact, "company": company, "deal": deal,
             "custom_record": custom_record}
    given = {entity: record for entity, record in given.items() if record is not None}
    if len(given) != 1:
        raise ValueError("Give exactly one of contact, company, deal or custom_record.")
    [(entity, record)] = given.items()
    kind = kind if kind in USER_KINDS else Kind.NOTE
    membership = request.membership
    can_add = has_permission(membership, "activities.add")

    # An entry on this record may also hang on a record hidden from the member
    # (a note on a colleague's contact at this company): it is left out, as the
    # API leaves it out.
    queryset = through_records(Activity.objects.filter(**{entity: record}),
                               membership).select_related(
        "author", "assignee", "contact", "company", "deal", "custom_record__record_type"
    )
    entries, next_cursor = [], None
    if with_entries:
        entries, next_cursor = paginate(queryset, ORDERING, cursor=cursor, limit=PAGE_SIZE)
    for entry in entries:
        if entry.kind == Kind.SYSTEM:
            entry.event_text = describe_event(entry, membership)

    timeline_url = reverse("activities:timeline", args=[entity, record.pk])
    older_url = f"{timeline_url}?{urlencode({'cursor': next_cursor})}" if next_cursor else None
    if can_add and form is None:
        form = ActivityForm(kind=kind, org=request.organization)
    return Timeline(
        record=record,
        entity=entity,
        dom_id=f"{entity}-timeline",
        entries=entries,
        older_url=older_url,
        form=form if can_add else None,
        kind=kind,
        tabs=composer_tabs(request, entity, record, kind) if can_add else [],
        can_add=can_add,
        can_change_tasks=has_permission(membership, "tasks.change"),
        create_url=reverse("activities:create"),
    )


def composer_tabs(request, entity: str, record, selected: str) -> list[Tab]:
    """One tab per kind: a plain link for full reloads, an htmx URL for the composer alone."""
    create_url = reverse("activities:create")
    # A tab fetched by htmx still links to the page the user is on.
    htmx = getattr(request, "htmx", None)
    page = htmx.current_url_abs_path if htmx else None
    page = urlsplit(page or request.get_full_path())
    query = QueryDict(page.query, mutable=True)
    query.pop("cursor", None)
    tabs = []
    for kind, label in Kind.choices:
        if kind not in USER_KINDS:
            continue
        query["compose"] = kind
        tabs.append(Tab(
            kind=kind,
            label=str(label),
            url=f"{page.path}?{query.urlencode()}",
            hx_url=f"{create_url}?{urlencode({entity: record.pk, 'kind': kind})}",
            selected=kind == selected,
        ))
    return tabs


def describe_event(entry: Activity, viewer) -> str:
    """A system event as one readable sentence, for `viewer` (a Membership)."""
    data = entry.data or {}
    if entry.event == "contact.created":
        return _("Contact created")
    if entry.event == "company.created":
        return _("Company created")
    if entry.event == "contact.stage_changed":
        stages = dict(LifecycleStage.choices)
        return _("Lifecycle stage changed from %(old)s to %(new)s") % {
            "old": stages.get(data.get("from"), data.get("from") or _("none")),
            "new": stages.get(data.get("to"), data.get("to") or _("none")),
        }
    if entry.event in ("ticket.opened", "ticket.solved"):
        message = (_("Ticket #%(number)s opened: %(subject)s") if entry.event == "ticket.opened"
                   else _("Ticket #%(number)s solved: %(subject)s"))
        return message % {"number": data.get("number", "?"), "subject": data.get("subject", "")}
    if entry.event in ("order.placed", "order.returned"):
        message = (_("Order %(number)s placed: %(total)s %(currency)s")
                   if entry.event == "order.placed"
                   else _("Return %(number)s: %(total)s %(currency)s"))
        return message % {"number": data.get("number", "?"),
                          "total": _amount(data.get("total")),
                          "currency": data.get("currency", "")}
    if entry.event in ("subscription.started", "subscription.cancelled"):
        message = (_("Subscription started: %(plan)s, %(mrr)s %(currency)s a month")
                   if entry.event == "subscription.started"
                   else _("Subscription cancelled: %(plan)s"))
        return message % {"plan": data.get("plan_name", ""), "mrr": _amount(data.get("mrr")),
                          "currency": data.get("currency", "")}
    if entry.event == "sms.sent":
        return _("Text message to %(to)s: %(body)s") % {"to": data.get("to", ""),
                                                        "body": data.get("body", "")}
    if entry.event == "sms.unconfirmed":
        return _("Text message to %(to)s, not confirmed by the gateway: %(body)s") % {
            "to": data.get("to", ""), "body": data.get("body", "")}
    if entry.event == "record.conflict_checked":
        from accord.records.conflicts import hidden_label, kept_check_for

        data = kept_check_for(viewer, entry.custom_record, data)
        hits = data["hits"]
        return _("Conflict check for %(names)s: %(count)s possible conflicts (%(hits)s); "
                 "%(member)s confirmed there is no conflict") % {
            "names": ", ".join(data["query"]) or _("no names"),
            "count": len(hits),
            "hits": "; ".join(
                ": ".join(filter(None, [hit.get("name") or hidden_label(hit.get("kind", "")),
                                        hit.get("reason", "")]))
                for hit in hits) or _("none"),
            "member": data.get("confirmed_by") or _("the system")}
    if entry.event == "outreach.sent":
        return _("E-mailed: %(subject)s") % {"subject": data.get("subject", "")}
    if entry.event.endswith(".merged"):
        other = data.get("name") or data.get("merged_name")
        if other:
            return _("Merged with %(other)s") % {"other": other}
        return _("Merged with a duplicate record")
    return entry.event.replace(".", " ").replace("_", " ").capitalize()


def _amount(text) -> str:
    """A stored amount ("139.1200") as it is shown: to the cent unless it has more places."""
    try:
        amount = Decimal(str(text))
    except (InvalidOperation, ValueError):
        return str(text or "")
    return str(amount.quantize(Decimal("0.01")) if amount == amount.quantize(Decimal("0.01"))
               else amount.normalize())
