"""The condition kinds Accord ships: tags, consent, activities, behaviour events, tickets, deals.

Each compiles to an EXISTS over its own table, correlated with the contact
and limited to the organisation, so a whole tree stays one query. Activities
and deals count only those the context's members see (`Context.seen`); tags,
consent, behaviour events and tickets belong to the contact and follow it.
"""

import datetime as dt

from django.db.models import OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from accord.activities.models import USER_KINDS, Activity
from accord.commerce.models import BehaviourEvent
from accord.customers.models import (
    Consent,
    ConsentChannel,
    ConsentPurpose,
    ConsentStatus,
    ContactTag,
    Tag,
    consents_in_effect,
)
from accord.identity.models import Area
from accord.identity.visibility import through_records
from accord.sales.models import Deal, DealContact, DealStatus
from accord.service.models.ticket import UNRESOLVED, Ticket

from .engine import ConditionKind, Param, register
from .types import Operator, Shape, ValueType, exists


class TagKind(ConditionKind):
    name = "tag"
    label = _("Tag")
    group = _("Tags")
    value_type = ValueType.CHOICE
    operators = (
        Operator("has", _("has tag"), Shape.ONE, _("has tag %(value)s")),
        Operator("has_not", _("does not have tag"), Shape.ONE,
                 _("does not have tag %(value)s")),
    )

    def choices(self):
        return [(name, name) for name in Tag.objects.order_by("name").values_list("name",
                                                                                  flat=True)]

    def compile(self, node, ctx):
        links = ContactTag.objects.filter(organization_id=ctx.org.pk, contact=OuterRef("pk"),
                                          tag__name=node["value"])
        return exists(links, node["op"] == "has_not")


class ConsentKind(ConditionKind):
    """The current consent for a channel and purpose: the latest Consent row in effect."""

    name = "consent"
    label = _("Consent")
    group = _("Consent")
    params = (
        Param("channel", _("Channel"), ValueType.CHOICE, ConsentChannel.choices),
        Param("purpose", _("Purpose"), ValueType.CHOICE, ConsentPurpose.choices),
    )
    operators = (
        Operator("granted", _("is granted"), Shape.NONE,
                 _("consent to %(channel)s for %(purpose)s is granted")),
        Operator("not_granted", _("is not granted"), Shape.NONE,
                 _("consent to %(channel)s for %(purpose)s is not granted")),
    )

    def compile(self, node, ctx):
        latest = consents_in_effect(Consent.objects.filter(
            organization_id=ctx.org.pk, contact=OuterRef("pk"), channel=node["channel"],
            purpose=node["purpose"],
        ), ctx.now).order_by("-recorded_at", "-id").values("status")[:1]
        # No consent recorded reads as not granted.
        status = Coalesce(Subquery(latest), Value(""))
        granted = Q(status.get_lookup("exact")(status, ConsentStatus.GRANTED))
        return granted if node["op"] == "granted" else ~granted


class ActivityKind(ConditionKind):
    name = "activity"
    label = _("Activity")
    params = (Param("type", _("Type"), ValueType.CHOICE,
                    [(kind.value, kind.label) for kind in USER_KINDS]),)
    operators = (
        Operator("in_last_days", _("in the last N days"), Shape.DAYS,
                 _("had an activity of type %(type)s in the last %(value)s days")),
        Operator("not_in_last_days", _("not in the last N days"), Shape.DAYS,
                 _("had no activity of type %(type)s in the last %(value)s days")),
    )

    def compile(self, node, ctx):
        activities = Activity.objects.filter(
            organization_id=ctx.org.pk, contact=OuterRef("pk"), kind=node["type"],
            occurred_at__gte=ctx.since(node["value"]), occurred_at__lte=ctx.now,
        )
        every = Activity.objects.filter(organization_id=ctx.org.pk)
        seen = ctx.seen(every, through_records)
        if seen is not every:
            activities = activities.filter(pk__in=seen.values("pk"))
        return exists(activities, node["op"] == "not_in_last_days")


class BehaviourKind(ConditionKind):
    """Events other systems sent about the contact (accord.commerce.behaviour)."""

    name = "event"
    label = _("Behaviour event")
    params = (Param("type", _("Event type"), ValueType.TEXT),)
    operators = (
        Operator("in_last_days", _("in the last N days"), Shape.DAYS,
                 _("did %(type)s in the last %(value)s days")),
        Operator("not_in_last_days", _("not in the last N days"), Shape.DAYS,
                 _("did not do %(type)s in the last %(value)s days")),
    )

    def compile(self, node, ctx):
        events = BehaviourEvent.objects.filter(
            organization_id=ctx.org.pk, contact=OuterRef("pk"), type=node["type"],
            occurred_at__gte=ctx.since(node["value"]),
        )
        return exists(events, node["op"] == "not_in_last_days")


class TicketKind(ConditionKind):
    name = "ticket"
    label = _("Tickets")
    group = _("Service and sales")
    operators = (
        Operator("has_open", _("has an open ticket"), Shape.NONE, _("has an open ticket")),
        Operator("has_no_open", _("has no open ticket"), Shape.NONE, _("has no open ticket")),
        Operator("opened_in_last_days", _("opened a ticket in the last N days"), Shape.DAYS,
                 _("opened a ticket in the last %(value)s days")),
    )

    def compile(self, node, ctx):
        tickets = Ticket.objects.filter(organization_id=ctx.org.pk, contact=OuterRef("pk"))
        if node["op"] == "opened_in_last_days":
            return exists(tickets.filter(created_at__gte=ctx.since(node["value"])), False)
        return exists(tickets.filter(status__in=UNRESOLVED), node["op"] == "has_no_open")


class DealKind(ConditionKind):
    """Deals the contact takes part in (linked on the deal), not those of their company."""

    name = "deal"
    label = _("Deals")
    group = _("Service and sales")
    operators = (
        Operator("has_open", _("has an open deal"), Shape.NONE, _("has an open deal")),
        Operator("has_no_open", _("has no open deal"), Shape.NONE, _("has no open deal")),
        Operator("has_won", _("won a deal"), Shape.NONE, _("won a deal")),
        Operator("won_in_last_days", _("won a deal in the last N days"), Shape.DAYS,
                 _("won a deal in the last %(value)s days")),
    )

    def compile(self, node, ctx):
        links = DealContact.objects.filter(organization_id=ctx.org.pk, contact=OuterRef("pk"),
                                           deal__deleted_at__isnull=True)
        deals = Deal.objects.filter(organization_id=ctx.org.pk)
        seen = ctx.seen_in(deals, Area.DEALS)
        if seen is not deals:
            links = links.filter(deal__in=seen.values("pk"))
        op = node["op"]
        if op in ("has_open", "has_no_open"):
            return exists(links.filter(deal__status=DealStatus.OPEN), op == "has_no_open")
        won = links.filter(deal__status=DealStatus.WON)
        if op == "won_in_last_days":
            won = won.filter(deal__closed_on__gte=ctx.today - dt.timedelta(days=node["value"]))
        return exists(won, False)


for _kind in (TagKind(), ConsentKind(), ActivityKind(), BehaviourKind(), TicketKind(),
              DealKind()):
    register(_kind)
