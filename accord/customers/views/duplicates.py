"""The duplicates review queue, the merge page, and a record's "Possible duplicates" panel."""

from dataclasses import dataclass

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accord.errors import InvalidInput, NotFound, StaleVersion
from accord.identity.permissions import permission_required
from accord.identity.visibility import can_see, visible
from accord.pagination import DEFAULT_LIMIT, paginate

from .. import custom_fields as custom_field_defs
from .. import duplicates, merge
from ..merge_api import QUEUE_ORDER
from ..models import Company, Contact, DuplicatePair, DuplicateStatus, Entity
from . import records
from .common import can, pager, safe_next

KINDS = {
    "contacts": (Entity.CONTACT, Contact, "customers:contact_merge"),
    "companies": (Entity.COMPANY, Company, "customers:company_merge"),
}


@dataclass
class Row:
    """One field of the merge page: each record's value, and which is picked."""

    name: str
    label: str
    values: list[tuple[int, str]]
    picked: int


def _kind(model) -> str:
    return "contacts" if model is Contact else "companies"


def _summary(record) -> list[str]:
    """The few facts that tell two records apart at a glance."""
    if isinstance(record, Contact):
        facts = [record.email, record.phone, str(record.company or ""), record.city]
    else:
        facts = [record.domain, record.phone, record.city]
    return [fact for fact in facts if fact]


def _visible_record(request, model, pk: int):
    """The live record with this id when the member sees it; NotFound otherwise."""
    record = visible(model.objects.filter(pk=pk), request.membership,
                     duplicates.area_of(model)).first()
    if record is None:
        raise NotFound("No record with this id.")
    return record


# The record pages: merged ids redirect, and the panel of possible duplicates.


def _follow(model, view):
    @permission_required(f"{_kind(model)}.view")
    def page(request, pk: int):
        survivor = merge.survivor_of(model, pk)
        if survivor is not None and can_see(request.membership, survivor,
                                            duplicates.area_of(model)):
            return redirect(survivor)
        return view(request, pk)

    page.__name__ = view.__name__
    page.__doc__ = (f"{view.__name__}, sending the id of a merged record on to its survivor "
                    "when the member sees it.")
    return page


contact_page = _follow(Contact, records.contact_detail)
company_page = _follow(Company, records.company_detail)


def _panel(request, model, pk: int):
    record = _visible_record(request, model, pk)
    found = duplicates.possible_duplicates(record, request.membership)
    if not found:
        return HttpResponse("")
    context = {
        "record": record,
        "found": [(pair, other, [duplicates.describe_reason(r) for r in pair.reasons])
                  for pair, other in found],
        "merge_url": reverse(KINDS[_kind(model)][2], args=[record.pk]),
        "can_merge": can(request, "records.merge"),
        "next": record.get_absolute_url(),
    }
    return render(request, "customers/_possible_duplicates.html", context)


@permission_required("contacts.view")
def contact_duplicates(request, pk: int):
    return _panel(request, Contact, pk)


@permission_required("companies.view")
def company_duplicates(request, pk: int):
    return _panel(request, Company, pk)


# The review queue.


@permission_required("records.merge")
def duplicate_list(request):
    showing = "companies" if request.GET.get("type") == "companies" else "contacts"
    entity, model, merge_url = KINDS[showing]
    queryset = duplicates.live_pairs(duplicates.visible_pairs(
        DuplicatePair.objects.filter(entity=entity, status=DuplicateStatus.OPEN),
        request.membership), entity)
    error = ""
    try:
        pairs, next_cursor = paginate(queryset, QUEUE_ORDER,
                                      cursor=request.GET.get("cursor") or None,
                                      limit=DEFAULT_LIMIT)
    except InvalidInput as exc:
        pairs, next_cursor, error = [], None, exc.errors[0]["message"]
    records_by_id = model.objects.in_bulk({pk for pair in pairs for pk in pair.record_ids})
    rows = []
    for pair in pairs:
        low, high = records_by_id.get(pair.low_id), records_by_id.get(pair.high_id)
        if low is None or high is None:
            continue  # one of them went to the trash since; the next scan drops the pair
        rows.append({
            "pair": pair,
            "records": [(low, _summary(low)), (high, _summary(high))],
            "reasons": [duplicates.describe_reason(reason) for reason in pair.reasons],
            "merge_url": reverse(merge_url, args=[low.pk]) + f"?with={high.pk}",
        })
    context = {
        "showing": showing,
        "rows": rows,
        "error": error,
        **pager(request.GET, next_cursor),
        "here": request.get_full_path(),
    }
    return render(request, "customers/duplicate_list.html", context)


@require_POST
@permission_required("records.merge")
def duplicate_dismiss(request, pk: int):
    pair = duplicates.get_visible_pair(pk, request.membership)
    duplicates.dismiss_pair(request.organization, request.user, pair)
    messages.success(request, _("Marked as not a duplicate. Later scans will not suggest "
                                "this pair again."))
    kind = "companies" if pair.entity == Entity.COMPANY else "contacts"
    return redirect(safe_next(request, reverse("customers:duplicate_list") + f"?type={kind}"))


# The merge page.


def _display(record, name: str) -> str:
    value = merge.field_value(record, name)
    if merge.is_empty(value) and value is not False:
        return ""
    if name.startswith(merge.CUSTOM_PREFIX):
        return ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    field = record._meta.get_field(name)
    if field.choices:
        return str(getattr(record, f"get_{name}_display")())
    if field.is_relation:
        return str(getattr(record, name) or "")
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    return str(value)


def _labels(model, viewer) -> dict[str, str]:
    """Labels of the merged fields the viewer may see; hidden custom fields have none."""
    labels = {}
    for name in merge.merge_fields(model):
        if name.startswith(merge.CUSTOM_PREFIX):
            continue
        labels[name] = str(model._meta.get_field(name).verbose_name).capitalize()
    entity = Entity.CONTACT if model is Contact else Entity.COMPANY
    for field in custom_field_defs.active_fields(entity, viewer):
        labels[merge.CUSTOM_PREFIX + field.key] = field.label
    return labels


def _merge_page(request, model, pk: int):
    survivor = _visible_record(request, model, pk)
    given = request.POST if request.method == "POST" else request.GET
    wanted = [value for value in given.getlist("with") if value.strip()]
    kind = _kind(model)
    found = duplicates.possible_duplicates(survivor, request.membership)
    context = {"record": survivor, "kind": kind, "others": [], "rows": [],
               "candidates": [other for _pair, other in found],
               "errors": [], "list_url": reverse(f"customers:{model._meta.model_name}_list")}
    if not wanted:
        return render(request, "customers/record_merge.html", context)
    try:
        survivor, others = merge.load_records(model, pk, wanted, viewer=request.membership)
    except InvalidInput as exc:
        context["errors"] = [error["message"] for error in exc.errors]
        return render(request, "customers/record_merge.html", context, status=422)
    everyone = [survivor, *others]
    status = 200
    choices = {}
    if request.method == "POST":
        choices = {name.removeprefix("choice_"): value for name, value in request.POST.items()
                   if name.startswith("choice_")}
        try:
            custom_field_defs.refuse_hidden_choices(
                "contact" if model is Contact else "company", request.membership, choices)
            if model is Contact:
                merged = merge.merge_contacts(
                    request.organization, request.user, survivor, others, choices=choices,
                    expected_version=request.POST.get("version") or None)
            else:
                merged = merge.merge_companies(
                    request.organization, request.user, survivor, others, choices=choices,
                    expected_version=request.POST.get("version") or None)
        except StaleVersion as exc:
            context["errors"], status, choices = [exc.detail], 409, {}
            survivor = model.objects.get(pk=survivor.pk)
            everyone[0] = survivor
        except InvalidInput as exc:
            context["errors"], status, choices = [e["message"] for e in exc.errors], 422, {}
        else:
            messages.success(request, _("Merged into “%(name)s”. The other records now lead "
                                        "here.") % {"name": merged})
            return redirect(merged)
    decisions = merge.differing(merge.decide(model, everyone, choices))
    labels = _labels(model, request.membership)
    context.update({
        "record": survivor,
        "others": others,
        "everyone": everyone,
        "rows": [Row(name, labels.get(name, name),
                     [(record.pk, _display(record, name)) for record in everyone],
                     decision["from"]) for name, decision in decisions.items()
                 # A custom field without a label is one hidden from this member;
                 # its values merge as decided without being shown.
                 if name in labels or not name.startswith(merge.CUSTOM_PREFIX)],
        "moving": [(other, merge.related_counts(other, request.membership))
                   for other in others],
        "swap_url": (reverse(f"customers:{model._meta.model_name}_merge", args=[others[0].pk])
                     + f"?with={survivor.pk}") if len(others) == 1 else "",
    })
    return render(request, "customers/record_merge.html", context, status=status)


@permission_required("records.merge")
def contact_merge(request, pk: int):
    return _merge_page(request, Contact, pk)


@permission_required("records.merge")
def company_merge(request, pk: int):
    return _merge_page(request, Company, pk)
