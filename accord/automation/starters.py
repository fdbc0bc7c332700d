"""Ready rule sets an admin switches on from the rules page, then adapts like any rule."""

from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from accord.customers.models import Tag
from accord.errors import NotFound

from . import services
from .models import Rule


@dataclass(frozen=True)
class Starter:
    key: str
    name: str
    description: str
    trigger: str
    settings: dict
    actions: list
    conditions: dict = field(default_factory=lambda: {"all": []})


STARTERS = [
    Starter(
        "renewal_reminder", _("Renewal reminder"),
        _("A task for the contact's owner 30 days before a subscription renews."),
        "date_reached", {"date": "subscription.renews_on", "days": -30, "time": "08:00"},
        [{"type": "create_task", "days": 7,
          "subject": "Renewal in 30 days: {{ contact.full_name }}"}],
    ),
    # Activities send no domain events, so the follow-up keys on a meeting
    # logged for the contact in the last day, whatever its subject says.
    Starter(
        "viewing_follow_up", _("Follow up after a property viewing"),
        _("Each morning, a follow-up task for contacts who had a meeting (a viewing) "
          "yesterday or today."),
        "schedule", {"time": "08:00", "repeat_days": 7},
        [{"type": "create_task", "days": 1,
          "subject": "Follow up on the viewing with {{ contact.full_name }}"}],
        {"all": [{"kind": "activity", "type": "meeting", "op": "in_last_days", "value": 1}]},
    ),
    Starter(
        "annual_review", _("Annual review for advisory clients"),
        _("A review task for contacts tagged “advisory” who had no meeting in a year, "
          "once a year each."),
        "schedule", {"time": "08:00", "repeat_days": 365},
        [{"type": "create_task", "days": 14,
          "subject": "Annual review with {{ contact.full_name }}"}],
        {"all": [{"kind": "tag", "op": "has", "value": "advisory"},
                 {"kind": "activity", "type": "meeting", "op": "not_in_last_days",
                  "value": 365}]},
    ),
    # The e-mail is marketing, so the starter takes only contacts whose
    # e-mail marketing consent is granted, as campaigns do; the call task is
    # made for those contacts alone too.
    Starter(
        "re_engagement", _("Re-engage lapsed customers"),
        _("An e-mail and a task for customers who bought before but nothing in 90 days "
          "and agreed to marketing e-mail, at most once every 90 days."),
        "schedule", {"time": "09:00", "repeat_days": 90},
        [{"type": "send_email", "subject": "We miss you, {{ contact.first_name }}",
          "body": "Hello {{ contact.first_name|default:\"there\" }},\n\nit has been a while "
                  "since your last order. Reply to this e-mail if we can help.\n"},
         {"type": "create_task", "days": 3,
          "subject": "Call {{ contact.full_name }}: no purchase in 90 days"}],
        {"all": [{"kind": "purchase", "op": "lapsed_days", "value": 90},
                 {"kind": "consent", "channel": "email", "purpose": "marketing",
                  "op": "granted"}]},
    ),
]
BY_KEY = {starter.key: starter for starter in STARTERS}


def installed() -> dict[str, Rule]:
    """The organisation's rules made from a starter, by starter key."""
    return {rule.starter: rule for rule in Rule.objects.exclude(starter="").order_by("pk")}


@transaction.atomic
def add(org, actor, key: str) -> Rule:
    """The starter's rule, made switched off if the organisation has none yet.

    A starter arrives off so that the admin can try it on a record with the
    dry run and adapt it before it acts: a schedule rule whose time has passed
    would otherwise act within minutes.
    """
    starter = BY_KEY.get(key)
    if starter is None:
        raise NotFound(_("No starter with this name."))
    rule = installed().get(key)
    if rule is not None:
        return rule
    # Tag conditions name tags the organisation has; a starter's tag is made
    # here so that it can be switched on before anyone is tagged.
    for node in starter.conditions.get("all", []):
        if node.get("kind") == "tag" and not Tag.objects.filter(
                name__iexact=node["value"]).exists():
            Tag.objects.create(organization=org, name=node["value"])
    return services.create_rule(org, actor, starter=key, data={
        "name": str(starter.name), "trigger": starter.trigger, "settings": starter.settings,
        "conditions": starter.conditions, "actions": starter.actions, "is_active": False,
    })
