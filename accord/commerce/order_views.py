"""Order and subscription pages: lists with filters and export, the order, the forms."""

import csv

from django.contrib import messages
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accord.audit.history import field_history
from accord.customers.models import Company
from accord.errors import InvalidInput, NotFound, StaleVersion
from accord.identity.permissions import permission_required
from accord.identity.visibility import through_contact, visible
from accord.integrations.writers import text_cell
from accord.web import can, list_page, pager, save_form

from . import orders as order_services
from . import subscriptions as subscription_services
from .models import Channel, Order, OrderKind, OrderStatus, Subscription, SubscriptionStatus
from .order_forms import OrderForm, SubscriptionForm
from .queries import order_filters, subscription_filters

PAGE_SIZE = 50
ORDERINGS = {"placed_at": "placed_at", "total": "total", "number": "number"}
SUBSCRIPTION_ORDERINGS = {"started_at": "started_at", "renews_on": "renews_on", "mrr": "mrr"}
CSV_COLUMNS = ["number", "kind", "status", "channel", "placed_at", "contact", "email",
               "company", "currency", "subtotal", "discount", "tax", "total", "lines"]


def _order(request, pk) -> Order:
    """The order, 404 when there is none or its contact is hidden from the member."""
    try:
        order = order_services.get_order(pk)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    found = _visible(request, Order.objects.filter(pk=order.pk)).select_related(
        "contact", "company", "original").first()
    if found is None:
        raise Http404("No order with this id.")
    if found.original_id and not through_contact(
            Order.objects.filter(pk=found.original_id), request.membership).exists():
        # The return stays; the order it gives back is not named to this member.
        found.original = None
    return found


def _visible(request, queryset):
    """The orders or subscriptions the member sees, each knowing as `company_seen` whether
    the member sees its company: one hidden from them is shown unnamed, without a link."""
    companies = visible(Company._base_manager.filter(pk=OuterRef("company_id")),
                        request.membership, "companies")
    return through_contact(queryset, request.membership).annotate(
        company_seen=Exists(companies))


@permission_required("orders.view")
def order_list(request):
    params = request.GET
    page, next_cursor, errors = list_page(
        params, lambda: order_filters(_visible(request, Order.objects.select_related(
            "contact", "company")), params, request.membership),
        orderings=ORDERINGS, default="-placed_at", limit=PAGE_SIZE)
    context = {
        "orders": page, "errors": errors, "filters": params,
        "statuses": OrderStatus.choices, "channels": Channel.choices, "kinds": OrderKind.choices,
        "can_add": can(request, "orders.add"), "can_export": can(request, "orders.export"),
        "export_query": params.urlencode(), **pager(params, next_cursor),
    }
    template = "commerce/order_list.html"
    if request.htmx and request.GET.get("rows"):
        template += "#order-rows"
    return render(request, template, context, status=422 if errors else 200)


@permission_required("orders.export")
def order_export(request):
    try:
        rows = order_filters(_visible(request, Order.objects.select_related(
            "contact", "company")), request.GET, request.membership)
    except InvalidInput as exc:
        messages.error(request, exc.errors[0]["message"])
        return redirect(reverse("commerce:order_list"))
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y-%m-%d")
    response["Content-Disposition"] = f'attachment; filename="orders-{stamp}.csv"'
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    for order in rows.prefetch_related("lines").order_by("-placed_at", "-id").iterator(
            chunk_size=500):
        company = order.company if order.company_seen else _("A company you cannot see")
        # Amounts are written as plain decimals: a spreadsheet reads "-4.65"
        # as a number, so they are not escaped like text.
        writer.writerow([
            text_cell(order.number), order.kind, order.status, order.channel,
            order.placed_at.isoformat(), text_cell(order.contact or ""),
            text_cell(order.contact.email if order.contact_id else ""),
            text_cell(company if order.company_id else ""),
            order.currency, f"{order.subtotal:.2f}", f"{order.discount_total:.2f}",
            f"{order.tax_total:.2f}", f"{order.total:.2f}", len(order.lines.all())])
    return response


@permission_required("orders.view")
def order_detail(request, pk: int):
    order = _order(request, pk)
    context = {
        "order": order, "lines": list(order.lines.select_related("product")),
        "returns": list(_visible(request, order.returns.all())),
        "can_change": can(request, "orders.change"), "can_delete": can(request, "orders.delete"),
        "history": field_history("order", order.pk, viewer=request.membership),
    }
    return render(request, "commerce/order_detail.html", context)


def _order_form(request, *, order: Order | None):
    initial = {}
    if order is None:
        for name in ("contact", "company"):
            if str(request.GET.get(name, "")).isdigit():
                initial[name] = int(request.GET[name])
    form = OrderForm(request.POST or None, org=request.organization,
                     viewer=request.membership, instance=order, initial=initial)

    def save(form):
        data = form.service_data()
        try:
            if order is None:
                saved = order_services.create_order(request.organization, request.user,
                                                    data=data)
            else:
                saved = order_services.update_order(
                    request.organization, request.user, order, data=data,
                    expected_version=form.cleaned_data["version"])
        except InvalidInput as exc:
            raise form.place_line_errors(exc) from None
        messages.success(request, _("Order %(number)s saved.") % {"number": saved.number})
        return redirect(saved)

    return save_form(request, form=form, template="commerce/order_form.html",
                     context={"order": order}, save=save)


@permission_required("orders.add")
def order_create(request):
    return _order_form(request, order=None)


@permission_required("orders.change")
def order_edit(request, pk: int):
    return _order_form(request, order=_order(request, pk))


@permission_required("orders.delete")
def order_delete(request, pk: int):
    """GET asks for confirmation; POST deletes the order for good."""
    order = _order(request, pk)
    context = {"order": order}
    if request.method != "POST":
        return render(request, "commerce/order_confirm_delete.html", context)
    try:
        order_services.delete_order(request.organization, request.user, order,
                                    expected_version=request.POST.get("version") or None)
    except StaleVersion as exc:
        context["error"] = exc.detail
        return render(request, "commerce/order_confirm_delete.html", context, status=409)
    messages.success(request, _("Order %(number)s deleted.") % {"number": order.number})
    return redirect("commerce:order_list")


@permission_required("orders.view")
def subscription_list(request):
    params = request.GET
    page, next_cursor, errors = list_page(
        params, lambda: subscription_filters(_visible(
            request, Subscription.objects.select_related("contact", "company")), params,
            request.membership),
        orderings=SUBSCRIPTION_ORDERINGS, default="-started_at", limit=PAGE_SIZE)
    context = {
        "subscriptions": page, "errors": errors, "filters": params,
        "statuses": SubscriptionStatus.choices, "can_add": can(request, "orders.add"),
        **pager(params, next_cursor),
    }
    return render(request, "commerce/subscription_list.html", context,
                  status=422 if errors else 200)


def _subscription(request, pk) -> Subscription:
    try:
        subscription = subscription_services.get_subscription(pk)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    found = _visible(request, Subscription.objects.filter(pk=subscription.pk)).first()
    if found is None:
        raise Http404("No subscription with this id.")
    return found


def _subscription_form(request, *, subscription: Subscription | None):
    initial = {}
    if subscription is None and str(request.GET.get("contact", "")).isdigit():
        initial["contact"] = int(request.GET["contact"])
    form = SubscriptionForm(request.POST or None, org=request.organization,
                            viewer=request.membership, instance=subscription,
                            initial=initial)

    def save(form):
        if subscription is None:
            saved = subscription_services.create_subscription(
                request.organization, request.user, data=form.service_data())
        else:
            saved = subscription_services.update_subscription(
                request.organization, request.user, subscription, data=form.service_data(),
                expected_version=form.cleaned_data["version"])
        messages.success(request, _("Subscription saved."))
        return redirect(saved)

    history = (field_history("subscription", subscription.pk, viewer=request.membership)
               if subscription else [])
    return save_form(request, form=form, template="commerce/subscription_form.html",
                     context={"subscription": subscription, "history": history}, save=save)


@permission_required("orders.add")
def subscription_create(request):
    return _subscription_form(request, subscription=None)


def subscription_detail(request, pk: int):
    """The subscription's form for those who may change it, its facts for the others."""
    if request.method == "POST" or can(request, "orders.change"):
        return _subscription_edit(request, pk)
    return _subscription_view(request, pk)


@permission_required("orders.change")
def _subscription_edit(request, pk: int):
    return _subscription_form(request, subscription=_subscription(request, pk))


@permission_required("orders.view")
def _subscription_view(request, pk: int):
    subscription = _subscription(request, pk)
    return render(request, "commerce/subscription_detail.html", {
        "subscription": subscription,
        "history": field_history("subscription", subscription.pk, viewer=request.membership)})
