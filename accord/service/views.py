"""Ticket pages: the agent's lists, the ticket with its thread, replies, uploads, queues."""

import csv

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.db.models import Exists, OuterRef, Q
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accord import merge_fields
from accord.audit.history import field_history
from accord.customers import custom_fields
from accord.customers.models import Company, Contact, ContactEmail, Entity
from accord.customers.services import create_contact
from accord.errors import InvalidInput, NotFound, StaleVersion
from accord.identity.permissions import permission_required
from accord.identity.visibility import can_see, visible, with_seen
from accord.integrations.writers import text_cell
from accord.sales.models import Deal
from accord.web import apply_errors, can, list_page, pager, save_form

from . import canned as canned_replies
from . import knowledge, outreach, queues, routing, services, sla
from .forms import (
    CannedReplyForm,
    OutreachForm,
    QueueForm,
    ReplyForm,
    RoutingRuleForm,
    TicketFieldsForm,
    TicketForm,
    UploadForm,
)
from .models import (
    CannedReply,
    Priority,
    Queue,
    RoutingRule,
    Ticket,
    TicketAttachment,
    TicketMessage,
    TicketStatus,
)
from .queries import VIEWS, seen_ticket_by_number, ticket_filters, visible_tickets

PAGE_SIZE = 50
ORDERINGS = {"created_at": "created_at", "number": "number", "priority": "priority",
             "status": "status", "last_message_at": "last_message_at",
             "due": "resolution_due_at"}
# Put in front of a mail's HTML in its sandboxed frame: images and styles may
# come only from the mail itself, so opening a ticket fetches nothing from the
# sender's servers (tracking pixels) and the frame can reach nothing else.
MAIL_CSP = ('<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
            'img-src data: cid:; style-src \'unsafe-inline\'">')
CSV_COLUMNS = ["number", "subject", "status", "priority", "channel", "contact", "email",
               "company", "queue", "assignee", "created_at", "first_response_at", "solved_at"]


def _ticket(request, number) -> Ticket:
    """The ticket with this number, 404 when there is none or the member may not see it."""
    try:
        return seen_ticket_by_number(number, request.membership)
    except NotFound as exc:
        raise Http404(str(exc)) from exc


def _tags(text: str) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


# Lists


@permission_required("tickets.view")
def ticket_list(request):
    params = request.GET.copy()
    if "view" not in params and not any(params.get(key) for key in ("q", "status", "queue_id",
                                                                     "assignee_id", "priority")):
        params["view"] = "unresolved"
    page, next_cursor, errors = list_page(
        params, lambda: ticket_filters(_with_company_seen(request, _visible(
            request, Ticket.objects.select_related("contact", "company", "queue", "assignee"))),
            params, request.user, viewer=request.membership),
        orderings=ORDERINGS, default="-last_message_at", limit=PAGE_SIZE)
    now = timezone.now()
    for ticket in page:
        ticket.due = sla.next_due(ticket)
        ticket.breached = sla.is_breached(ticket, now=now)
    counts = _view_counts(request)
    context = {
        "tickets": page, "errors": errors, "filters": params, "views": [
            {"key": key, "label": _(label), "count": counts.get(key),
             "current": params.get("view") == key} for key, label in VIEWS.items()],
        "statuses": TicketStatus.choices, "priorities": Priority.choices,
        "queues": Queue.objects.all(), "agents": TicketFieldsForm.base_fields[
            "assignee"].queryset if False else _agents(request),
        "can_add": can(request, "tickets.add"), "can_change": can(request, "tickets.change"),
        "export_query": params.urlencode(), "now": now,
        "can_export": can(request, "tickets.export"),
        **pager(params, next_cursor),
    }
    template = "service/ticket_list.html"
    if request.htmx and request.GET.get("rows"):
        template += "#ticket-rows"
    return render(request, template, context, status=422 if errors else 200)


def _agents(request):
    from accord.customers.forms import members_of

    return members_of(request.organization)


def _visible(request, queryset):
    return visible_tickets(queryset, request.membership)


def _with_company_seen(request, queryset):
    """The tickets, each knowing as `company_seen` whether the member sees its company: one
    hidden from them is shown unnamed."""
    companies = visible(Company._base_manager.filter(pk=OuterRef("company_id")),
                        request.membership, "companies")
    return queryset.annotate(company_seen=Exists(companies))


def _view_counts(request) -> dict:
    """How many tickets each quick view holds; cheap, because they are indexed filters."""
    from .queries import apply_view

    counts = {}
    for key in ("mine", "unassigned", "due_soon", "breached"):
        counts[key] = apply_view(_visible(request, Ticket.objects.all()), key,
                                 request.user).count()
    return counts


@permission_required("tickets.export")
def ticket_export(request):
    try:
        rows = ticket_filters(_with_company_seen(request, _visible(
            request, Ticket.objects.select_related("contact", "company", "queue", "assignee"))),
            request.GET, request.user, viewer=request.membership)
    except InvalidInput as exc:
        messages.error(request, exc.errors[0]["message"])
        return redirect(reverse("service:list"))
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y-%m-%d")
    response["Content-Disposition"] = f'attachment; filename="tickets-{stamp}.csv"'
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    for ticket in rows.order_by("-number").iterator(chunk_size=500):
        writer.writerow([text_cell(value) for value in (
            ticket.number, ticket.subject, ticket.status, ticket.priority, ticket.channel,
            ticket.contact or "", ticket.contact.email if ticket.contact_id else "",
            (ticket.company if ticket.company_seen else _("A company you cannot see"))
            if ticket.company_id else "", ticket.queue or "", ticket.assignee or "",
            ticket.created_at.isoformat(),
            ticket.first_response_at.isoformat() if ticket.first_response_at else "",
            ticket.solved_at.isoformat() if ticket.solved_at else "")])
    return response


@require_POST
@permission_required("tickets.change")
def ticket_bulk(request):
    ids = list(_visible(request, Ticket.objects.filter(
        pk__in=[pk for pk in request.POST.getlist("ids") if pk.isdigit()]))
        .values_list("pk", flat=True))
    action = request.POST.get("action", "")
    value = request.POST.get(f"value_{action}", "") or None
    try:
        changed = services.bulk_update(request.organization, request.user, ids,
                                       action=action, value=value)
    except InvalidInput as exc:
        messages.error(request, exc.errors[0]["message"])
    else:
        messages.success(request, _("%(count)d tickets changed.") % {"count": changed})
    back = request.POST.get("back", "")
    return redirect(reverse("service:list") + (f"?{back}" if back else ""))


# One ticket


@permission_required("tickets.add")
def ticket_create(request):
    initial = {}
    contact = None
    if request.GET.get("contact"):
        contact = visible(Contact.objects.all(), request.membership, "contacts").filter(
            pk=request.GET["contact"].isdigit() and int(request.GET["contact"])).first()
        if contact is not None:
            initial["contact_email"] = contact.email
    form = TicketForm(request.POST or None, org=request.organization, initial=initial,
                      custom_fields=_ticket_fields(request))
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                ticket = _create_from_form(request, form.cleaned_data, form.custom_data())
            except InvalidInput as exc:
                apply_errors(form, exc, form.field_for_error)
            else:
                messages.success(request, _("Ticket #%(number)d opened.") % {
                    "number": ticket.number})
                return redirect(ticket.get_absolute_url())
    return render(request, "service/ticket_form.html", {"form": form}, status=status)


def _ticket_fields(request):
    return custom_fields.active_fields(Entity.TICKET, request.membership)


def _create_from_form(request, data: dict, custom: dict) -> Ticket:
    contact = None
    address = (data.get("contact_email") or "").strip().lower()
    if address:
        # A contact the member may not see is as unknown as no contact: the
        # ticket gets a new one rather than telling the address is taken.
        seen = visible(Contact.objects.all(), request.membership, "contacts")
        found = (ContactEmail.objects.filter(address__iexact=address,
                                             contact__in=seen.values("pk"),
                                             contact__deleted_at__isnull=True,
                                             contact__merged_into__isnull=True)
                 .select_related("contact").first())
        if found is not None:
            contact = found.contact
        else:
            first, _space, last = (data.get("contact_name") or "").strip().partition(" ")
            contact = create_contact(request.organization, request.user, data={
                "email": address, "first_name": first, "last_name": last})
    values = {"subject": data["subject"], "priority": data["priority"],
              "tags": _tags(data.get("tags")), "custom_fields": custom}
    # An empty queue or assignee is left to the routing rules.
    if data.get("queue"):
        values["queue"] = data["queue"].pk
    if data.get("assignee"):
        values["assignee"] = data["assignee"].pk
    if contact is not None:
        values["contact"] = contact.pk
    return services.create_ticket(request.organization, request.user, data=values,
                                  body=data.get("body") or "", channel=data["channel"])


@permission_required("tickets.view")
def ticket_detail(request, number: int):
    ticket = _ticket(request, number)
    return _render_ticket(request, ticket)


def _render_ticket(request, ticket: Ticket, *, reply_form=None, fields_form=None,
                   status: int = 200, newer: list | None = None):
    tags = services.tag_names(ticket)
    thread = list(ticket.messages.select_related("author", "contact")
                  .prefetch_related("attachments"))
    can_change = can(request, "tickets.change")
    if can_change:
        services.touch_viewer(request.organization, request.user, ticket, replying=False)
    if reply_form is None:
        body = ""
        canned_id = request.GET.get("canned")
        if canned_id and canned_id.isdigit():
            canned = CannedReply.objects.filter(pk=int(canned_id), is_active=True).first()
            if canned is not None:
                body = _fill_canned(request, ticket, canned)
        reply_form = ReplyForm(initial={
            "body": body, "seen_message": thread[-1].pk if thread else 0})
    # The customer's company may be hidden from the reader: it is then not named, here
    # nor in field history, which names it as one they cannot see.
    company_seen = (ticket.company_id is None
                    or can_see(request.membership, ticket.company, "companies"))
    history = field_history("ticket", ticket.pk, viewer=request.membership) if can_change else []
    context = {
        "ticket": ticket, "thread": thread, "tags": tags, "mail_csp": MAIL_CSP,
        "fields_form": fields_form or TicketFieldsForm(org=request.organization, ticket=ticket,
                                                       tags=tags,
                                                       custom_fields=_ticket_fields(request)),
        "reply_form": reply_form, "newer": newer or [],
        "can_change": can_change, "can_delete": can(request, "tickets.delete"),
        "viewers": services.other_viewers(ticket, request.user),
        "canned_replies": CannedReply.objects.filter(is_active=True),
        "reply_to": services.reply_address(ticket),
        "breached": sla.is_breached(ticket, now=timezone.now()),
        "due": sla.next_due(ticket),
        "other_tickets": _other_tickets(request, ticket),
        "suggested_articles": (knowledge.suggest_articles(ticket)
                               if can_change and can(request, "knowledge.view") else None),
        "deals": _customer_deals(request, ticket),
        "company_seen": company_seen,
        "history": history,
    }
    return render(request, "service/ticket_detail.html", context, status=status)


def _fill_canned(request, ticket: Ticket, canned: CannedReply) -> str:
    values = merge_fields.person_values(ticket.contact, request.membership)
    values["ticket"] = {"number": str(ticket.number), "subject": ticket.subject}
    values["agent"] = {"name": request.user.get_full_name() or request.user.email}
    values["organization"] = {"name": request.organization.name}
    try:
        return merge_fields.render(canned.body, values)
    except InvalidInput:
        return canned.body


def _other_tickets(request, ticket: Ticket) -> list[Ticket]:
    if not ticket.contact_id and not ticket.company_id:
        return []
    same = Q(contact_id=ticket.contact_id) if ticket.contact_id else Q()
    if ticket.company_id:
        same |= Q(company_id=ticket.company_id)
    return list(_visible(request, Ticket.objects.filter(same)).exclude(pk=ticket.pk)
                .order_by("-id")[:10])


def _customer_deals(request, ticket: Ticket) -> list:
    if not can(request, "deals.view") or not (ticket.contact_id or ticket.company_id):
        return []
    same = Q(contact_links__contact_id=ticket.contact_id) if ticket.contact_id else Q()
    if ticket.company_id:
        same |= Q(company_id=ticket.company_id)
    deals = visible(Deal.objects.filter(same), request.membership, "deals")
    return list(deals.select_related("stage").distinct().order_by("-id")[:10])


@require_POST
@permission_required("tickets.change")
def ticket_update(request, number: int):
    ticket = _ticket(request, number)
    tags = services.tag_names(ticket)
    form = TicketFieldsForm(request.POST, org=request.organization, ticket=ticket, tags=tags,
                            custom_fields=_ticket_fields(request))
    if not form.is_valid():
        return _render_ticket(request, ticket, fields_form=form, status=422)
    data = form.cleaned_data
    try:
        services.update_ticket(request.organization, request.user, ticket, data={
            "status": data["status"], "priority": data["priority"],
            "queue": data["queue"].pk if data["queue"] else None,
            "assignee": data["assignee"].pk if data["assignee"] else None,
            "tags": _tags(data["tags"]), "custom_fields": form.custom_data(),
        }, expected_version=data["version"])
    except StaleVersion as exc:
        form.add_error(None, exc.detail)
        return _render_ticket(request, services.get_ticket(ticket.pk), fields_form=form,
                              status=409)
    except InvalidInput as exc:
        apply_errors(form, exc, form.field_for_error)
        return _render_ticket(request, ticket, fields_form=form, status=422)
    messages.success(request, _("Ticket saved."))
    return redirect(ticket.get_absolute_url())


@require_POST
@permission_required("tickets.change")
def ticket_reply(request, number: int):
    """Send a reply or add a note; a reply written while others answered is held back once.

    Nothing typed is lost: when messages arrived after the page was opened,
    the page comes back with them shown above the draft, and a second press
    sends it.
    """
    ticket = _ticket(request, number)
    form = ReplyForm(request.POST, request.FILES)
    if not form.is_valid():
        return _render_ticket(request, ticket, reply_form=form, status=422)
    data = form.cleaned_data
    seen = data.get("seen_message") or 0
    newer = list(ticket.messages.filter(pk__gt=seen).exclude(author=request.user)
                 .select_related("author"))
    if data["kind"] == "reply" and newer and not data.get("send_anyway"):
        again = request.POST.copy()
        again["seen_message"] = str(newer[-1].pk)
        again["send_anyway"] = "True"
        form = ReplyForm(again)
        form.is_valid()
        form.add_error(None, _("New messages arrived while you were writing. Read them below, "
                               "then send your reply again if it still fits."))
        return _render_ticket(request, ticket, reply_form=form, status=409, newer=newer)
    files = [services.Upload(upload.name, upload.content_type or "", upload.read())
             for upload in data.get("attachments") or []]
    try:
        if data["kind"] == "note":
            services.add_note(request.organization, request.user, ticket, body=data["body"],
                              attachments=files)
        else:
            services.add_reply(request.organization, request.user, ticket, body=data["body"],
                               status=data.get("status") or None, attachments=files)
    except InvalidInput as exc:
        apply_errors(form, exc, form.field_for_error)
        return _render_ticket(request, ticket, reply_form=form, status=422)
    services.touch_viewer(request.organization, request.user, ticket, replying=False)
    messages.success(request, _("Note added.") if data["kind"] == "note" else _("Reply sent."))
    return redirect(ticket.get_absolute_url() + "#thread-end")


@permission_required("tickets.view")
def ticket_presence(request, number: int):
    """Who else has the ticket open; the page asks every few seconds and says if it is typing."""
    ticket = _ticket(request, number)
    if can(request, "tickets.change"):
        services.touch_viewer(request.organization, request.user, ticket,
                              replying=request.GET.get("replying") == "1")
    return render(request, "service/_presence.html", {
        "viewers": services.other_viewers(ticket, request.user), "ticket": ticket,
        "latest": ticket.messages.order_by("-id").values_list("pk", flat=True).first() or 0,
        "seen": int(request.GET["seen"]) if request.GET.get("seen", "").isdigit() else None,
    })


@require_POST
@permission_required("tickets.delete")
def ticket_delete(request, number: int):
    ticket = _ticket(request, number)
    services.delete_ticket(request.organization, request.user, ticket)
    messages.success(request, _("Ticket #%(number)d moved to the trash.") % {
        "number": ticket.number})
    return redirect("service:list")


@permission_required("tickets.view")
def message_raw(request, number: int, message_id: int):
    """The original mail, byte for byte, as it arrived."""
    ticket = _ticket(request, number)
    message = TicketMessage.objects.filter(ticket=ticket, pk=message_id).first()
    if message is None or not message.raw:
        raise Http404
    return FileResponse(default_storage.open(message.raw.name, "rb"), as_attachment=True,
                        filename=f"ticket-{ticket.number}-message-{message.pk}.eml",
                        content_type="message/rfc822")


@permission_required("tickets.view")
def attachment_download(request, number: int, attachment_id: int):
    ticket = _ticket(request, number)
    attachment = TicketAttachment.objects.filter(message__ticket=ticket,
                                                 pk=attachment_id).first()
    if attachment is None:
        raise Http404
    # Files from strangers are always downloaded, never shown inline, so an
    # HTML or SVG attachment cannot run in Accord's origin.
    response = FileResponse(default_storage.open(attachment.file.name, "rb"),
                            as_attachment=True, filename=attachment.filename,
                            content_type="application/octet-stream")
    response["X-Content-Type-Options"] = "nosniff"
    return response


@permission_required("tickets.add")
def eml_upload(request):
    """Turn a saved e-mail into a ticket (or add it to the ticket it answers)."""
    from .inbound import receive_mail
    from .mail.parse import parse_message

    form = UploadForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            raw = form.cleaned_data["file"].read()
            queue = form.cleaned_data.get("queue")
            if not looks_like_mail(raw):
                form.add_error("file", _("This file is not an e-mail: it has no From, To, "
                                         "Subject or Message-ID header. Save the message "
                                         "from your mail program as .eml and try again."))
                return render(request, "service/eml_upload.html", {"form": form}, status=422)
            result = receive_mail(request.organization, queue, parse_message(raw), raw,
                                  viewer=request.membership)
            if result.ticket is not None:
                note = {"created": _("Ticket #%(number)d opened from the e-mail."),
                        "threaded": _("The e-mail was added to ticket #%(number)d.")}
                messages.success(request, note.get(result.outcome, "%(number)d") % {
                    "number": result.ticket.number})
                return redirect(result.ticket.get_absolute_url())
            form.add_error("file", {
                "duplicate": _("This e-mail is already on a ticket."),
                "ignored": _("This is an automatic message (a bounce, receipt or "
                             "auto-reply); it does not open a ticket."),
            }.get(result.outcome, _("This e-mail could not be read.")))
    return render(request, "service/eml_upload.html", {"form": form}, status=status)


def looks_like_mail(raw: bytes) -> bool:
    """Whether the bytes start with a header block holding at least one mail header."""
    head = raw[:64 * 1024].replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    names = {line.split(b":", 1)[0].strip().lower() for line in head.split(b"\n")
             if b":" in line and not line[:1].isspace()}
    return bool(names & {b"from", b"to", b"subject", b"message-id", b"date"})


# Queues, canned replies and routing rules (settings): each saves through
# `accord.web.save_form`, which maps service errors onto the form and answers
# 409 when someone else saved the record in between.


def _saved(request, message: str, to: str):
    messages.success(request, message)
    return redirect(to)


def _without_version(form) -> dict:
    return {key: value for key, value in form.cleaned_data.items() if key != "version"}


@permission_required("service.manage")
def queue_list(request):
    def save(form):
        queues.create_queue(request.organization, request.user, data=form.service_data())
        return _saved(request, _("Queue added."), "service:queues")

    return save_form(request, form=QueueForm(request.POST or None, initial={"is_active": True}),
                     template="service/queue_list.html",
                     context={"queues": Queue.objects.select_related("team")}, save=save)


@permission_required("service.manage")
def queue_edit(request, pk: int):
    queue = Queue.objects.filter(pk=pk).first()
    if queue is None:
        raise Http404
    form = QueueForm(request.POST or None, initial={
        "version": queue.version, "name": queue.name, "email_address": queue.email_address,
        "purpose": queue.purpose, "is_default": queue.is_default, "is_active": queue.is_active,
        "team": queue.team_id,
        "imap_host": queue.imap_host, "imap_port": queue.imap_port,
        "imap_security": queue.imap_security, "imap_username": queue.imap_username,
        "imap_folder": queue.imap_folder})

    def save(form):
        queues.update_queue(request.organization, request.user, queue,
                            data=form.service_data(),
                            expected_version=form.cleaned_data.get("version"))
        return _saved(request, _("Queue saved."), "service:queues")

    return save_form(request, form=form, template="service/queue_form.html",
                     context={"queue": queue}, save=save)


@permission_required("service.manage")
def canned_list(request):
    def save(form):
        canned_replies.create_canned(request.organization, request.user,
                                     data=_without_version(form))
        return _saved(request, _("Canned reply added."), "service:canned_replies")

    form = CannedReplyForm(request.POST or None, initial={"is_active": True})
    return save_form(request, form=form, template="service/canned_list.html",
                     context={"replies": CannedReply.objects.all()}, save=save)


@permission_required("service.manage")
def canned_edit(request, pk: int):
    canned = CannedReply.objects.filter(pk=pk).first()
    if canned is None:
        raise Http404
    form = CannedReplyForm(request.POST or None, initial={
        "version": canned.version, "name": canned.name, "body": canned.body,
        "is_active": canned.is_active})

    def save(form):
        canned_replies.update_canned(request.organization, request.user, canned,
                                     data=_without_version(form),
                                     expected_version=form.cleaned_data["version"])
        return _saved(request, _("Canned reply saved."), "service:canned_replies")

    return save_form(request, form=form, template="service/canned_form.html",
                     context={"canned": canned}, save=save)


@permission_required("service.manage")
def routing_list(request):
    def save(form):
        routing.create_rule(request.organization, request.user, data=form.service_data())
        return _saved(request, _("Routing rule added."), "service:routing")

    form = RoutingRuleForm(request.POST or None, org=request.organization,
                           initial={"is_active": True, "position": RoutingRule.objects.count()})
    rules = RoutingRule.objects.select_related("set_queue", "agent", "team")
    return save_form(request, form=form, template="service/routing_list.html",
                     context={"rules": rules}, save=save)


@permission_required("service.manage")
def routing_edit(request, pk: int):
    rule = RoutingRule.objects.filter(pk=pk).first()
    if rule is None:
        raise Http404
    if request.method == "POST" and request.POST.get("delete"):
        routing.delete_rule(request.organization, request.user, rule)
        return _saved(request, _("Routing rule deleted."), "service:routing")
    initial = {name: getattr(rule, name) for name in (
        "name", "position", "keywords", "sender_domains", "channels", "customer_tier",
        "set_priority", "assign", "is_active", "version")}
    initial.update(set_queue=rule.set_queue_id, agent=rule.agent_id, team=rule.team_id)
    form = RoutingRuleForm(request.POST or None, org=request.organization, initial=initial)

    def save(form):
        routing.update_rule(request.organization, request.user, rule, data=form.service_data(),
                            expected_version=form.cleaned_data.get("version"))
        return _saved(request, _("Routing rule saved."), "service:routing")

    return save_form(request, form=form, template="service/routing_form.html",
                     context={"rule": rule}, save=save)


# Customers at risk


@permission_required("tickets.view")
def at_risk(request):
    """Customers waiting past an SLA or writing in often, with a bulk e-mail to them."""
    reason = request.GET.get("reason", "")
    try:
        many = max(1, min(100, int(request.GET.get("many") or outreach.MANY_TICKETS)))
    except ValueError:
        many = outreach.MANY_TICKETS
    rows = list(with_seen(visible(outreach.at_risk(reason=reason, many=many),
                                  request.membership, "contacts"),
                          request.membership, "company", "companies")[:outreach.MAX_RECIPIENTS])
    # Only customers on this list can be e-mailed from it.
    listed = {str(row.pk) for row in rows}
    form = OutreachForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if not can(request, "tickets.change"):
            raise PermissionDenied
        status = 422
        if form.is_valid():
            try:
                sent, skipped = outreach.start_outreach(
                    request.organization, request.user,
                    contact_ids=[pk for pk in request.POST.getlist("contacts") if pk in listed],
                    subject=form.cleaned_data["subject"], body=form.cleaned_data["body"],
                    reason=reason or "at risk")
            except InvalidInput as exc:
                apply_errors(form, exc, lambda name: None if name == "contact_ids" else name)
            else:
                messages.success(request, _(
                    "Sending to %(count)d customers. Left out: %(no_address)d without an "
                    "e-mail address, %(refused)d who said no to e-mail.") % {
                    "count": sent.recipients.count(), **skipped})
                return redirect(reverse("service:at_risk") + (
                    f"?reason={reason}" if reason else ""))
    return render(request, "service/at_risk.html", {
        "rows": rows, "reason": reason, "many": many, "form": form,
        "chosen": set(request.POST.getlist("contacts")),
        "can_change": can(request, "tickets.change")}, status=status)
