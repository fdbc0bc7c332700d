"""Routing: which queue, priority and agent a new ticket gets on arrival.

`route` runs inside the transaction that opens the ticket, so a team's
round-robin pointer moves only when the ticket is really kept. Rules are
written and checked here too, so the settings page and any other caller
refuse the same things.
"""

import logging

from django.db import transaction
from django.db.models import Count

from accord.audit import services as audit
from accord.audit.models import Action
from accord.customers.validation import Collector, clean_ref, clean_text
from accord.errors import StaleVersion
from accord.identity.models import Membership, Team
from accord.identity.permissions import has_permission

from .models import UNRESOLVED, AssignMode, Channel, Priority, Queue, RoutingRule, Ticket
from .validation import clean_agent

logger = logging.getLogger(__name__)

RULE_FIELDS = ["name", "position", "is_active", "keywords", "sender_domains", "channels",
               "customer_tier", "set_queue", "set_priority", "assign", "agent", "team"]


def _words(text: str) -> list[str]:
    return [part.strip().lower() for part in (text or "").split(",") if part.strip()]


def rule_matches(rule: RoutingRule, ticket: Ticket, *, text: str, sender: str) -> bool:
    """Whether every condition of `rule` holds for the new ticket."""
    if rule.channels and ticket.channel not in rule.channels:
        return False
    keywords = _words(rule.keywords)
    if keywords:
        haystack = f"{ticket.subject}\n{text}".lower()
        if not any(word in haystack for word in keywords):
            return False
    domains = _words(rule.sender_domains)
    if domains:
        domain = sender.rsplit("@", 1)[-1].lower() if "@" in sender else ""
        if not any(domain == wanted or domain.endswith("." + wanted) for wanted in domains):
            return False
    return not (rule.customer_tier
                and rule.customer_tier.lower() not in ticket.customer_tag_names())


def _candidates(rule: RoutingRule, ticket: Ticket) -> list:
    """Active members of the rule's team (or the queue's) who may work on tickets."""
    team_id = rule.team_id or (ticket.queue.team_id if ticket.queue_id else None)
    if team_id is None:
        return []
    members = (Membership.objects.filter(team_id=team_id, is_active=True, user__is_active=True)
               .select_related("user").order_by("user_id"))
    return [member.user for member in members if has_permission(member, "tickets.change")]


def _round_robin(rule: RoutingRule, ticket: Ticket):
    locked = RoutingRule.objects.select_for_update().get(pk=rule.pk)
    users = _candidates(locked, ticket)
    if not users:
        return None
    later = [user for user in users if locked.last_assigned_id is not None
             and user.pk > locked.last_assigned_id]
    chosen = later[0] if later else users[0]
    RoutingRule.objects.filter(pk=rule.pk).update(last_assigned=chosen)
    return chosen


def _least_loaded(rule: RoutingRule, ticket: Ticket):
    users = _candidates(rule, ticket)
    if not users:
        return None
    loads = dict(Ticket.objects.filter(assignee__in=users, status__in=UNRESOLVED)
                 .values("assignee").annotate(open=Count("id"))
                 .values_list("assignee", "open"))
    # Ties go to the agent who joined the list first (lowest id), so the
    # choice is the same every time for the same loads.
    return min(users, key=lambda user: (loads.get(user.pk, 0), user.pk))


def route(ticket: Ticket, *, text: str = "", sender: str = "",
          keep: frozenset[str] = frozenset()) -> RoutingRule | None:
    """Apply the first matching rule to the unsaved fields of `ticket`; return it.

    Fields named in `keep` were chosen by a person and are left alone.
    """
    for rule in RoutingRule.objects.filter(is_active=True).select_related("set_queue"):
        if not rule_matches(rule, ticket, text=text, sender=sender):
            continue
        if rule.set_queue_id and "queue" not in keep and rule.set_queue.is_active:
            ticket.queue = rule.set_queue
        if rule.set_priority and "priority" not in keep:
            ticket.priority = rule.set_priority
        if "assignee" not in keep:
            chosen = None
            if rule.assign == AssignMode.AGENT and rule.agent_id and Membership.objects.filter(
                    user_id=rule.agent_id, is_active=True).exists():
                chosen = rule.agent
            elif rule.assign == AssignMode.ROUND_ROBIN:
                chosen = _round_robin(rule, ticket)
            elif rule.assign == AssignMode.LEAST_LOADED:
                chosen = _least_loaded(rule, ticket)
            if chosen is not None:
                ticket.assignee = chosen
        logger.info("ticket.routed", extra={"rule_id": rule.pk})
        return rule
    return None


# Writing rules


def clean_rule(org, data: dict, *, current: RoutingRule | None = None) -> dict:
    errors = Collector()
    out: dict = {}
    if "name" in data or current is None:
        name = clean_text(data.get("name"), "name", errors)
        if name == "":
            errors.add("name", "Give the rule a name.", "required")
        elif name and RoutingRule.objects.filter(name__iexact=name).exclude(
                pk=getattr(current, "pk", None)).exists():
            errors.add("name", "Another routing rule already has this name.", "duplicate")
        out["name"] = name
    if "position" in data:
        try:
            out["position"] = max(0, int(data["position"] or 0))
        except (TypeError, ValueError):
            errors.add("position", "Enter a whole number.")
    for field in ("keywords", "sender_domains"):
        if field in data:
            out[field] = ", ".join(_words(data[field] or ""))[:500]
    if "channels" in data:
        channels = list(data["channels"] or [])
        valid = {choice.value for choice in Channel}
        if any(channel not in valid for channel in channels):
            errors.add("channels", "Choose channels from the list.")
        out["channels"] = channels
    if "customer_tier" in data:
        out["customer_tier"] = (clean_text(data["customer_tier"], "customer_tier", errors)
                                or "")[:60]
    if "set_queue" in data:
        out["set_queue"] = clean_ref(Queue, data["set_queue"], "set_queue", errors,
                                     "Choose an existing queue.")
    if "set_priority" in data:
        priority = data["set_priority"] or ""
        if priority and priority not in {choice.value for choice in Priority}:
            errors.add("set_priority", "Choose a priority from the list.")
        out["set_priority"] = priority
    if "team" in data:
        out["team"] = clean_ref(Team, data["team"], "team", errors, "Choose an existing team.")
    if "agent" in data:
        out["agent"] = clean_agent(org, data["agent"], "agent", errors)
    if "assign" in data:
        assign = data["assign"] or ""
        if assign not in {choice.value for choice in AssignMode}:
            errors.add("assign", "Choose how to assign from the list.")
        out["assign"] = assign
    if "is_active" in data:
        out["is_active"] = bool(data["is_active"])
    assign = out.get("assign", getattr(current, "assign", ""))
    if assign == AssignMode.AGENT and not out.get("agent", getattr(current, "agent", None)):
        errors.add("agent", "Choose the agent who gets these tickets.")
    errors.raise_if_any()
    return out


@transaction.atomic
def create_rule(org, actor, *, data: dict) -> RoutingRule:
    rule = RoutingRule.objects.create(organization=org, **clean_rule(org, data))
    audit.record(org, actor, Action.CREATE, rule,
                 changes=audit.diff({}, audit.snapshot(rule, RULE_FIELDS)))
    return rule


@transaction.atomic
def update_rule(org, actor, rule: RoutingRule, *, data: dict,
                expected_version: int | None = None) -> RoutingRule:
    rule = RoutingRule.objects.select_for_update().get(pk=rule.pk)
    if expected_version is not None and int(expected_version) != rule.version:
        raise StaleVersion(current_version=rule.version)
    values = clean_rule(org, data, current=rule)
    before = audit.snapshot(rule, RULE_FIELDS)
    for name, value in values.items():
        setattr(rule, name, value)
    changes = audit.diff(before, audit.snapshot(rule, RULE_FIELDS))
    if changes:
        rule.save_new_version()
        audit.record(org, actor, Action.UPDATE, rule, changes=changes)
    return rule


@transaction.atomic
def delete_rule(org, actor, rule: RoutingRule) -> None:
    audit.record(org, actor, Action.DELETE, rule)
    rule.delete()


