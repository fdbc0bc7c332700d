"""The customer portal's pages, and its settings page for admins.

Portal pages open the organisation's scope themselves: the visitor has no
membership, so the request arrives with an empty one. A switched-off portal
and an unknown organisation both answer 404.
"""

from functools import wraps

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_scopes import scope

from accord import search
from accord.audit.context import channel
from accord.errors import InvalidInput, NotFound
from accord.identity.permissions import permission_required
from accord.pagination import paginate, parse_ordering
from accord.web import MapsServiceErrors, apply_errors, pager, save_form

from . import knowledge, portal
from .models import TicketStatus

ARTICLE_PAGE = 50
TICKET_PAGE = 50
TICKET_ORDERINGS = {"last_message_at": "last_message_at"}


class EmailForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("Your e-mail address"), max_length=254)


class TicketForm(MapsServiceErrors, forms.Form):
    subject = forms.CharField(label=gettext_lazy("Subject"), max_length=250)
    body = forms.CharField(label=gettext_lazy("How can we help?"),
                           widget=forms.Textarea(attrs={"rows": 8}))


class ReplyForm(MapsServiceErrors, forms.Form):
    body = forms.CharField(label=gettext_lazy("Your reply"),
                           widget=forms.Textarea(attrs={"rows": 6}))


class SettingsForm(MapsServiceErrors, forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    is_enabled = forms.BooleanField(
        label=gettext_lazy("Switch the customer portal on"), required=False,
        help_text=gettext_lazy("Contacts sign in with a link mailed to their address, see "
                               "their tickets, answer them, open new ones and read public "
                               "articles."))
    share_company_tickets = forms.BooleanField(
        label=gettext_lazy("Contacts see their company's tickets"), required=False,
        help_text=gettext_lazy("When on, a contact also sees and answers the tickets of "
                               "other contacts of the same company."))


def portal_page(*, signed_in: bool):
    """Decorate a portal view: find the organisation, open its scope, check the portal is on.

    The view gets `request.portal_org` and `request.portal_contact` (None
    when nobody is signed in); with `signed_in` a visitor is sent to sign in.
    """

    def decorator(view):
        @wraps(view)
        def wrapped(request, org_slug: str, *args, **kwargs):
            try:
                org = portal.organization_for_slug(org_slug)
            except NotFound as exc:
                raise Http404(exc.detail) from None
            ip = request.META.get("REMOTE_ADDR", "")
            with scope(organization=org), channel("portal", ip):
                if not portal.settings_for(org).is_enabled:
                    raise Http404("No portal here.")
                request.portal_org = org
                request.portal_contact = portal.signed_in_contact(request, org)
                if signed_in and request.portal_contact is None:
                    return redirect("portal:home", org_slug=org.slug)
                try:
                    return view(request, *args, **kwargs)
                except NotFound as exc:
                    raise Http404(exc.detail) from None

        return wrapped

    return decorator


def _render(request, template: str, context: dict, status: int = 200):
    context = {"portal_org": request.portal_org, "contact": request.portal_contact, **context}
    return render(request, f"service/portal/{template}", context, status=status)


@portal_page(signed_in=False)
def home(request):
    """Ask for a sign-in link; a signed-in contact goes straight to their tickets."""
    org = request.portal_org
    if request.portal_contact is not None and request.method == "GET":
        return redirect("portal:tickets", org_slug=org.slug)
    form = EmailForm(request.POST or None)
    if request.method == "POST":
        if not form.is_valid():
            return _render(request, "home.html", {"form": form}, status=422)

        def link_for(token: str) -> str:
            return request.build_absolute_uri(
                reverse("portal:sign_in", kwargs={"org_slug": org.slug, "token": token}))

        try:
            portal.request_sign_in(org, form.cleaned_data["email"],
                                   ip=request.META.get("REMOTE_ADDR", ""), link_for=link_for)
        except portal.Throttled as exc:
            form.add_error(None, exc.detail)
            return _render(request, "home.html", {"form": form}, status=429)
        return _render(request, "link_sent.html", {})
    return _render(request, "home.html", {"form": form})


@portal_page(signed_in=False)
def sign_in(request, token: str):
    """The link from the mail. Following it shows a button; pressing it signs in.

    Signing in takes a POST so that mail scanners which open every link do
    not use up the single-use link before the person does.
    """
    org = request.portal_org
    if request.method == "POST":
        try:
            contact = portal.redeem_sign_in(org, token)
        except NotFound as exc:
            return _render(request, "sign_in.html", {"invalid": exc.detail}, status=404)
        portal.sign_in(request, org, contact)
        return redirect("portal:tickets", org_slug=org.slug)
    return _render(request, "sign_in.html", {})


@require_POST
@portal_page(signed_in=False)
def sign_out(request):
    portal.sign_out(request)
    return redirect("portal:home", org_slug=request.portal_org.slug)


@portal_page(signed_in=True)
def ticket_list(request):
    org, contact = request.portal_org, request.portal_contact
    rows = portal.visible_tickets(org, contact).select_related("contact")
    ordering = parse_ordering(None, TICKET_ORDERINGS, "-last_message_at")
    try:
        tickets, next_cursor = paginate(rows, ordering, cursor=request.GET.get("cursor") or None,
                                        limit=TICKET_PAGE)
    except InvalidInput:  # a cursor from an old or edited address: start again
        tickets, next_cursor = paginate(rows, ordering, cursor=None, limit=TICKET_PAGE)
    return _render(request, "ticket_list.html", {
        "tickets": tickets, "shared": portal.settings_for(org).share_company_tickets
        and contact.company_id, **pager(request.GET, next_cursor)})


@portal_page(signed_in=True)
def ticket_create(request):
    org, contact = request.portal_org, request.portal_contact
    form = TicketForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                ticket = portal.open_ticket(org, contact, subject=form.cleaned_data["subject"],
                                            body=form.cleaned_data["body"])
            except InvalidInput as exc:
                apply_errors(form, exc, form.field_for_error)
            else:
                messages.success(request, _("Thank you. We received your request as "
                                            "#%(number)d.") % {"number": ticket.number})
                return redirect("portal:ticket", org_slug=org.slug, number=ticket.number)
    return _render(request, "ticket_form.html", {"form": form}, status=status)


@portal_page(signed_in=True)
def ticket_detail(request, number: int):
    org, contact = request.portal_org, request.portal_contact
    ticket = portal.get_visible_ticket(org, contact, number)
    form = ReplyForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                portal.reply(org, contact, ticket, body=form.cleaned_data["body"])
            except InvalidInput as exc:
                apply_errors(form, exc, form.field_for_error)
            else:
                messages.success(request, _("Your reply was added."))
                return redirect("portal:ticket", org_slug=org.slug, number=ticket.number)
    return _render(request, "ticket_detail.html", {
        "ticket": ticket, "thread": portal.public_thread(ticket), "form": form,
        "closed": ticket.status == TicketStatus.CLOSED}, status=status)


@portal_page(signed_in=False)
def article_list(request):
    query = request.GET.get("q", "").strip()
    articles = knowledge.public_articles().select_related("category")
    if query:
        articles = search.search(articles, query)
    articles = articles.order_by("category__position", "category__name", "title")
    return _render(request, "article_list.html", {
        "articles": articles[:ARTICLE_PAGE], "query": query})


@portal_page(signed_in=False)
def article_detail(request, pk: int):
    article = knowledge.public_articles().select_related("category").filter(pk=pk).first()
    if article is None:
        raise Http404("No article here.")
    return _render(request, "article_detail.html", {"article": article})


# Settings → Customer portal


@permission_required("settings.manage")
def portal_settings(request):
    org = request.organization
    current = portal.settings_for(org)
    form = SettingsForm(request.POST or None, initial={
        # Unsaved settings carry the version the first save creates, so two
        # first saves from two pages cannot both go through.
        "version": current.version, "is_enabled": current.is_enabled,
        "share_company_tickets": current.share_company_tickets})

    def save(form):
        data = dict(form.cleaned_data)
        version = data.pop("version")
        portal.update_settings(org, request.user, data=data, expected_version=version)
        messages.success(request, _("Portal settings saved."))
        return redirect("service:portal_settings")

    return save_form(request, form=form, template="service/portal/settings.html", context={
        "portal_url": request.build_absolute_uri(
            reverse("portal:home", kwargs={"org_slug": org.slug}))}, save=save)
