"""Workflow rule pages: the list with starters, the rule builder, a rule with its run log,
switching on and off, the dry run, deleting."""

from django.contrib import messages
from django.db.models import F
from django.db.models.functions import Lower
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accord.errors import InvalidInput, NotFound, StaleVersion
from accord.identity.permissions import permission_required
from accord.identity.visibility import visible
from accord.marketing import builder
from accord.marketing.conditions import Conditions
from accord.pagination import Ordering, paginate
from accord.records.models import Record
from accord.web import apply_errors, list_page, pager

from . import actions, custom_records, services, starters, triggers
from .forms import (
    RuleForm,
    action_choices,
    apply_row_action,
    date_options,
    entity_of,
    field_options,
    layout_actions,
    read_actions,
)
from .models import Rule, RuleRun
from .reading import Reader

PAGE_SIZE = 50
# Custom records the dry run offers, newest changed first: a list short
# enough to scan; an older record is tried with `?record=<id>` in the address.
DRY_RUN_CHOICES = 200
ORDERINGS = {"name": Lower("name"), "updated_at": "updated_at", "created_at": "created_at"}
NEWEST_FIRST = Ordering("id", F("id"), descending=True)


def _rule(pk) -> Rule:
    try:
        return services.get_rule(pk)
    except NotFound as exc:
        raise Http404(str(exc)) from exc


@permission_required("automation.manage")
def rule_list(request):
    params = request.GET
    rows = Rule.objects.all()
    for word in params.get("q", "").split():
        rows = rows.filter(name__icontains=word)
    page, next_cursor, errors = list_page(params, lambda: rows, orderings=ORDERINGS,
                                          default="name", limit=PAGE_SIZE)
    conditions = Conditions(request.organization)
    reader = Reader(request.membership)
    installed = starters.installed()
    return render(request, "automation/rule_list.html", {
        "rules": [{"rule": rule,
                   "summary": conditions.describe(reader.masked_tree(rule.conditions)),
                   "actions": _action_words(reader, rule)}
                  for rule in page],
        "starters": [{"starter": starter, "rule": installed.get(starter.key)}
                     for starter in starters.STARTERS],
        "errors": errors, "filters": params, **pager(params, next_cursor),
    }, status=422 if errors else 200)


@permission_required("automation.manage")
@require_POST
def starter_add(request, key: str):
    try:
        rule = starters.add(request.organization, request.user, key)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    messages.success(request, _(
        "“%(name)s” is added, switched off. Try it on a record with the dry run, adapt it, "
        "then switch it on.") % {"name": rule.name})
    return redirect(rule.get_absolute_url())


@permission_required("automation.manage")
def rule_create(request):
    return _builder_page(request, None)


@permission_required("automation.manage")
def rule_edit(request, pk: int):
    rule = _rule(pk)
    if Reader(request.membership).rule_hides(rule):
        messages.error(request, _("This rule uses fields hidden from your role, so you cannot "
                                  "change it; you may delete it."))
        return redirect(rule.get_absolute_url())
    return _builder_page(request, rule)


def _builder_page(request, rule: Rule | None):
    """The rule form; a post without `action=save` only redraws it (rows added, removed,
    moved, an action's type chosen), so the page works without script."""
    org = request.organization
    conditions = Conditions(org, request.membership)
    status = 200
    if request.method == "POST":
        form = RuleForm(request.POST)
        rows = builder.read(request.POST)
        action = request.POST.get("action", "")
        builder.apply(rows, action)
        action_rows = read_actions(request.POST)
        apply_row_action(action_rows, action)
    else:
        form = RuleForm(initial=RuleForm.initial_for(rule) if rule else {"trigger": "created"})
        rows = builder.from_tree(rule.conditions if rule else {}, conditions)
        action_rows = list(rule.actions) if rule else [{"type": ""}]
        action = ""

    tree, paths = builder.to_tree(rows, conditions)
    tree_errors: list[dict] = []
    action_errors: dict[str, str] = {}
    if action == "save":
        status = 422
        if form.is_valid():
            data = {**form.service_data(), "conditions": tree,
                    "actions": [row for row in action_rows if row.get("type")]}
            try:
                saved = _save(request, rule, form, data)
            except StaleVersion as exc:
                form.add_error(None, exc.detail)
                status = 409
            except InvalidInput as exc:
                tree_errors = [{**e, "field": e["field"].removeprefix("conditions.")}
                               for e in exc.errors if e["field"].startswith("conditions.")]
                action_errors = {e["field"]: e["message"] for e in exc.errors
                                 if e["field"].startswith("actions")}
                apply_errors(form, InvalidInput([
                    e for e in exc.errors
                    if not e["field"].startswith(("conditions.", "actions"))]),
                    form.field_for_error)
            else:
                return redirect(saved.get_absolute_url())

    errors_by_row, general = builder.row_errors(tree_errors, paths)
    return render(request, "automation/rule_form.html", {
        "rule": rule, "form": form, "root": builder.layout(rows, conditions, errors_by_row),
        "subject_options": builder.subject_options(conditions), "tree_errors": general,
        "action_rows": layout_actions(action_rows, action_errors),
        "actions_error": action_errors.get("actions", ""),
        "action_choices": action_choices(), "date_options": date_options(),
        "field_options": field_options(entity_of(form)),
    }, status=status)


def _save(request, rule: Rule | None, form: RuleForm, data: dict) -> Rule:
    if rule is None:
        saved = services.create_rule(request.organization, request.user, data=data,
                                     viewer=request.membership)
    else:
        saved = services.update_rule(request.organization, request.user, rule, data=data,
                                     expected_version=form.cleaned_data.get("version"),
                                     viewer=request.membership)
    messages.success(request, _("Rule saved."))
    return saved


@permission_required("automation.manage")
def rule_detail(request, pk: int):
    """A rule in words, with its run log newest first, a page at a time."""
    rule = _rule(pk)
    runs = services.runs_seen(RuleRun.objects.filter(rule=rule), request.membership, rule)
    page, next_cursor = paginate(runs, NEWEST_FIRST,
                                 cursor=request.GET.get("cursor"), limit=PAGE_SIZE)
    entity = triggers.rule_entity(rule)
    reader, conditions = Reader(request.membership), Conditions(request.organization)
    for run in page:
        reader.run_out(run, conditions)
        run.record_url = _record_url(run)
    return render(request, "automation/rule_detail.html", {
        "rule": rule, "entity": triggers.entity_label(entity),
        "settings": reader.masked_settings(rule),
        "stopped_because": (custom_records.why_not_running(entity)
                            if custom_records.is_record(entity) else ""),
        "summary": conditions.describe(reader.masked_tree(rule.conditions)),
        "actions": _action_words(reader, rule),
        "runs": page, **pager(request.GET, next_cursor),
        "runs_withheld": reader.rule_hides(rule),
    })


def _action_words(reader: Reader, rule: Rule) -> list[str]:
    return [_("An action on a field hidden from you") if reader.action_hides(rule, action)
            else actions.describe(action) for action in rule.actions]


def _record_url(run: RuleRun) -> str:
    """The page of the custom record a run was for; empty for other records."""
    key = custom_records.type_key(run.entity)
    return reverse("records:detail", args=[key, run.object_id]) if key else ""


@permission_required("automation.manage")
@require_POST
def rule_active(request, pk: int):
    rule = _rule(pk)
    if Reader(request.membership).rule_hides(rule):
        # Switching a rule makes the member its author (authors.py), whose runs
        # would then tell them about the hidden field.
        messages.error(request, _("This rule uses fields hidden from your role, so you cannot "
                                  "change it; you may delete it."))
        return redirect(rule.get_absolute_url())
    active = request.POST.get("active") == "1"
    services.set_rule_active(request.organization, request.user, rule, active=active)
    messages.success(request, _("The rule is on.") if active else _("The rule is off."))
    return redirect(rule.get_absolute_url())


@permission_required("automation.manage")
@require_POST
def rule_delete(request, pk: int):
    rule = _rule(pk)
    services.delete_rule(request.organization, request.user, rule)
    messages.success(request, _("Rule deleted."))
    return redirect("automation:rule_list")


@permission_required("automation.manage")
def rule_dry_run(request, pk: int):
    """Try the rule on one record, by its id, changing nothing."""
    rule = _rule(pk)
    record_id = request.GET.get("record", "").strip()
    result, error = None, ""
    if Reader(request.membership).rule_hides(rule):
        record_id, error = "", _("This rule uses fields hidden from your role, so you cannot "
                                 "try it.")
    if record_id:
        try:
            result = services.dry_run(request.organization, rule, record_id,
                                      viewer=request.membership)
        except NotFound as exc:
            error = str(exc.detail)
    entity = triggers.rule_entity(rule)
    return render(request, "automation/rule_dry_run.html", {
        "rule": rule, "record_id": record_id, "result": result, "error": error,
        "entity": triggers.entity_label(entity),
        "choices": _record_choices(entity, request.membership),
    }, status=(403 if not record_id else 404) if error else 200)


def _record_choices(entity: str, viewer) -> list[tuple[int, str]]:
    """The records of a custom record type the member sees, to try a rule on, newest
    changed first."""
    record_type = custom_records.active_type(entity)
    if record_type is None:
        return []
    found = (visible(Record.objects.filter(record_type=record_type), viewer, "records")
             .select_related("record_type").order_by("-updated_at", "-id")[:DRY_RUN_CHOICES])
    return [(record.pk, str(record)) for record in found]
