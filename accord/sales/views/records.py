"""The deal page, its forms, trash and restore, its contacts and line items."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from accord.activities.timeline import timeline_context
from accord.audit.history import field_history
from accord.commerce.models import Product
from accord.customers import custom_fields as custom_field_defs
from accord.customers import services as customers
from accord.customers.models import Contact, Entity
from accord.customers.views.columns import custom_cell
from accord.errors import InvalidInput, StaleVersion
from accord.identity.permissions import permission_required
from accord.identity.visibility import can_see, require_visible, visible

from .. import services
from ..forms import DealContactForm, DealForm, LineItemsForm, MoveForm
from ..models import Deal, Pipeline, StageKind
from .common import apply_errors, can, save_form


def _pipelines():
    return Pipeline.objects.filter(is_active=True).prefetch_related("stages").order_by(
        "position", "id")


def humanise_duration(seconds: int) -> str:
    """A duration as people say it: the largest whole unit, "3 days", "5 hours"."""
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if days:
        return ngettext("%(n)s day", "%(n)s days", days) % {"n": days}
    if hours:
        return ngettext("%(n)s hour", "%(n)s hours", hours) % {"n": hours}
    return ngettext("%(n)s minute", "%(n)s minutes", minutes) % {"n": minutes}


def _stage_history(deal: Deal) -> list:
    """The deal's moves, each with how long the deal stayed (or stays) in the stage it entered."""
    changes = list(deal.stage_changes.select_related("from_stage", "to_stage", "changed_by"))
    now = timezone.now()
    for change, following in zip(changes, [*changes[1:], None], strict=True):
        if following is not None and following.seconds_in_from_stage is not None:
            seconds = following.seconds_in_from_stage
        else:
            seconds = int((now - change.changed_at).total_seconds())
        change.time_in_stage = humanise_duration(max(seconds, 0))
        change.is_current = following is None
    return changes


def _deal(request, pk, *, with_deleted: bool = False) -> Deal:
    """The deal, when the member may see it; a hidden one is not found."""
    deal = services.get_deal(pk, with_deleted=with_deleted)
    return require_visible(request.membership, deal, "deals")


def _render_deal(request, deal: Deal, *, line_form=None, contact_form=None, move_form=None,
                 status=200):
    fields = custom_field_defs.active_fields(Entity.DEAL, request.membership)
    products = list(Product.objects.filter(is_active=True).order_by("name", "id")[:500])
    items, totals = services.line_totals(deal)
    stages = list(deal.pipeline.stages.order_by("position", "id"))
    context = {
        "deal": deal,
        # A company hidden from the reader is shown by its kind alone.
        "company_seen": deal.company_id is None
        or can_see(request.membership, deal.company, "companies"),
        "stages": stages,
        "won_stage": next((s for s in stages if s.kind == StageKind.WON), None),
        "lost_stage": next((s for s in stages if s.kind == StageKind.LOST), None),
        "contact_links": list(
            deal.contact_links.select_related("contact")
            .filter(contact__in=visible(Contact.objects.all(), request.membership,
                                        "contacts").values("pk"))
            .order_by("contact__last_name", "contact__first_name")),
        "line_items": list(zip(items, totals.lines, strict=True)),
        "totals": totals,
        "line_form": line_form or LineItemsForm(deal=deal, products=products),
        "contact_form": contact_form or DealContactForm(viewer=request.membership),
        "move_form": move_form or MoveForm(initial={"version": deal.version}),
        "stage_changes": _stage_history(deal),
        "custom_values": [(custom, custom_cell(custom, deal.custom_fields.get(custom.key)))
                          for custom in fields],
        "can_change": can(request, "deals.change") and deal.deleted_at is None,
        "can_delete": can(request, "deals.delete"),
        "can_restore": can(request, "trash.restore"),
        "history": field_history("deal", deal.pk, viewer=request.membership),
    }
    context.update(timeline_context(request, deal=deal))
    return render(request, "sales/deal_detail.html", context, status=status)


@permission_required("deals.view")
def deal_detail(request, pk: int):
    deal = _deal(request, pk, with_deleted=True)
    return _render_deal(request, deal)


def _save_deal(request, *, form, deal, save):
    return save_form(request, form=form, template="sales/deal_form.html",
                     context={"deal": deal}, save=save)


@permission_required("deals.add")
def deal_create(request):
    pipelines = list(_pipelines())
    initial = {"owner": request.user.pk, "currency": request.organization.base_currency,
               "company": request.GET.get("company"), "contact": request.GET.get("contact")}
    wanted = next((p for p in pipelines if str(p.pk) == request.GET.get("pipeline")), None)
    wanted = wanted or next((p for p in pipelines if p.is_default), None)
    if wanted is not None:
        first = next((s for s in wanted.stages.all() if s.kind == StageKind.OPEN), None)
        initial["stage"] = first.pk if first else None
    form = DealForm(request.POST or None, org=request.organization,
                    viewer=request.membership, pipelines=pipelines,
                    custom_fields=custom_field_defs.active_fields(Entity.DEAL, request.membership),
                    initial=initial)

    def save(form):
        deal = services.create_deal(request.organization, request.user, data=form.to_data())
        messages.success(request, _("Deal “%(name)s” created.") % {"name": deal})
        return redirect(deal)

    return _save_deal(request, form=form, deal=None, save=save)


@permission_required("deals.change")
def deal_edit(request, pk: int):
    deal = _deal(request, pk)
    form = DealForm(request.POST or None, org=request.organization,
                    viewer=request.membership, pipelines=[],
                    custom_fields=custom_field_defs.active_fields(Entity.DEAL,
                                                                  request.membership),
                    instance=deal)

    def save(form):
        services.update_deal(request.organization, request.user, deal, data=form.to_data(),
                             expected_version=form.expected_version())
        messages.success(request, _("Changes saved."))
        return redirect(deal)

    return _save_deal(request, form=form, deal=deal, save=save)


@permission_required("deals.delete")
def deal_delete(request, pk: int):
    """GET asks for confirmation; POST moves the deal to the trash."""
    deal = _deal(request, pk)
    context = {"deal": deal}
    if request.method != "POST":
        return render(request, "sales/deal_confirm_delete.html", context)
    try:
        services.delete_deal(request.organization, request.user, deal,
                             expected_version=request.POST.get("version") or None)
    except StaleVersion as exc:
        context["error"] = exc.detail
        return render(request, "sales/deal_confirm_delete.html", context, status=409)
    messages.success(request, _("“%(name)s” moved to the trash.") % {"name": deal})
    return redirect(deal.pipeline)


@require_POST
@permission_required("trash.restore")
def deal_restore(request, pk: int):
    deal = _deal(request, pk, with_deleted=True)
    services.restore_deal(request.organization, request.user, deal)
    messages.success(request, _("“%(name)s” restored.") % {"name": deal})
    return redirect(deal)


@require_POST
@permission_required("deals.change")
def deal_contact_add(request, pk: int):
    deal = _deal(request, pk)
    form = DealContactForm(request.POST, viewer=request.membership)
    if not form.is_valid():
        return _render_deal(request, deal, contact_form=form, status=422)
    contact = customers.get_contact(form.cleaned_data["contact"])
    try:
        services.add_deal_contact(request.organization, request.user, deal, contact,
                                  role=form.cleaned_data["role"])
    except InvalidInput as exc:
        apply_errors(form, exc, lambda name: name)
        return _render_deal(request, deal, contact_form=form, status=422)
    messages.success(request, _("%(contact)s added to the deal.") % {"contact": contact})
    return redirect(reverse("sales:deal", args=[deal.pk]) + "#deal-contacts")


@require_POST
@permission_required("deals.change")
def deal_contact_remove(request, pk: int, contact_pk: int):
    deal = _deal(request, pk)
    contact = services.linked_contact(deal, contact_pk, request.membership)
    services.remove_deal_contact(request.organization, request.user, deal, contact)
    messages.success(request, _("%(contact)s removed from the deal.") % {"contact": contact})
    return redirect(reverse("sales:deal", args=[deal.pk]) + "#deal-contacts")


@require_POST
@permission_required("deals.change")
def deal_line_items(request, pk: int):
    deal = _deal(request, pk)
    products = list(Product.objects.filter(is_active=True).order_by("name", "id")[:500])
    form = LineItemsForm(request.POST, deal=deal, products=products)
    if not form.is_valid():
        return _render_deal(request, deal, line_form=form, status=422)
    try:
        services.set_line_items(request.organization, request.user, deal, items=form.items(),
                                expected_version=form.cleaned_data["version"])
    except StaleVersion as exc:
        form.add_error(None, exc.detail)
        return _render_deal(request, deal, line_form=form, status=409)
    except InvalidInput as exc:
        apply_errors(form, exc, form.field_for_error)
        return _render_deal(request, deal, line_form=form, status=422)
    messages.success(request, _("Line items saved."))
    return redirect(reverse("sales:deal", args=[deal.pk]) + "#line-items")
