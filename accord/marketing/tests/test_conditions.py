"""The condition language against real rows: every type, operator and kind, groups,
validation paths, plain words, and organisations kept apart."""

import datetime as dt
import uuid

import pytest
from django.db import connection
from django.db.models import Exists, OuterRef, Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accord.activities import services as activity_services
from accord.commerce.models import BehaviourEvent
from accord.customers import services as customer_services
from accord.customers.models import ContactTag, CustomField
from accord.errors import InvalidInput
from accord.marketing.conditions import ConditionKind, Conditions, Operator, Shape, register
from accord.marketing.conditions.engine import _kinds
from accord.sales import services as sales_services
from accord.sales.models import Deal
from accord.service import services as ticket_services
from accord.service.models import Ticket


def _field(org, entity, key, field_type, **extra):
    return CustomField.objects.create(organization=org, entity=entity, key=key,
                                      label=key.replace("_", " ").capitalize(),
                                      field_type=field_type, **extra)


@pytest.fixture
def people(org, admin, make_org, in_org):
    """Three contacts of Northwind with different facts, one in the trash, one elsewhere."""
    user = admin.user
    now = timezone.now()
    with in_org(org):
        _field(org, "contact", "score", "number")
        _field(org, "contact", "budget", "money", currency="EUR")
        _field(org, "contact", "signed_on", "date")
        _field(org, "contact", "last_login", "datetime")
        _field(org, "contact", "plan", "choice", choices=["basic", "pro"])
        _field(org, "contact", "interests", "multi_choice", choices=["golf", "tennis", "chess"])
        _field(org, "contact", "newsletter", "boolean")
        _field(org, "contact", "note", "text")
        _field(org, "company", "tier", "choice", choices=["gold", "silver"])
        acme = customer_services.create_company(org, user, data={
            "name": "Acme", "industry": "Software", "employees": 50,
            "custom_fields": {"tier": "gold"}})
        globex = customer_services.create_company(org, user, data={
            "name": "Globex", "industry": "Retail", "employees": 500})
        ann = customer_services.create_contact(org, user, data={
            "first_name": "Ann", "lifecycle_stage": "lead", "company": acme.pk,
            "tags": ["vip"], "birthday": "1990-05-01", "email": "ann@acme.example",
            "custom_fields": {
                "score": "10", "budget": {"amount": "100.00", "currency": "EUR"},
                "signed_on": "2026-01-10", "last_login": (now - dt.timedelta(days=1)).isoformat(),
                "plan": "pro", "interests": ["golf", "tennis"], "newsletter": True,
                "note": "Likes tea"}})
        ben = customer_services.create_contact(org, user, data={
            "first_name": "Ben", "lifecycle_stage": "customer", "company": globex.pk,
            "tags": ["golfer"], "custom_fields": {
                "score": "20", "signed_on": "2026-03-01", "plan": "basic",
                "interests": ["golf"], "newsletter": False}})
        customer_services.create_contact(org, user, data={
            "first_name": "Cara", "lifecycle_stage": "subscriber", "title": "CEO",
            "do_not_contact": True})
        gone = customer_services.create_contact(org, user, data={
            "first_name": "Eve", "lifecycle_stage": "lead", "tags": ["vip"]})
        customer_services.delete_contact(org, user, gone)

        customer_services.record_consent(org, user, ann, channel="email", purpose="marketing",
                                         status="granted", method="web_form")
        customer_services.record_consent(org, user, ben, channel="email", purpose="marketing",
                                         status="granted", method="web_form",
                                         recorded_at=now - dt.timedelta(days=9))
        customer_services.record_consent(org, user, ben, channel="email", purpose="marketing",
                                         status="withdrawn", method="unsubscribe")
        activity_services.log_activity(org, user, data={
            "kind": "call", "body": "Rang", "contact": ann.pk,
            "occurred_at": (now - dt.timedelta(days=5)).isoformat()})
        activity_services.log_activity(org, user, data={
            "kind": "call", "body": "Rang", "contact": ben.pk,
            "occurred_at": (now - dt.timedelta(days=40)).isoformat()})
        for contact, days in ((ann, 2), (ben, 20)):
            BehaviourEvent.objects.create(
                organization=org, external_id=f"e-{contact.pk}", type="viewed_product",
                contact=contact, occurred_at=now - dt.timedelta(days=days), batch=uuid.uuid4())
        ticket_services.create_ticket(org, user, data={"subject": "Help", "contact": ann.pk})
        solved = ticket_services.create_ticket(org, user, data={"subject": "Q",
                                                                 "contact": ben.pk})
        Ticket.objects.filter(pk=solved.pk).update(status="solved")
        sales_services.create_pipeline(org, user, name="Sales", is_default=True)
        sales_services.create_deal(org, user, data={
            "name": "Ann's deal", "contacts": [{"contact": ann.pk}]})
        won = sales_services.create_deal(org, user, data={
            "name": "Ben's deal", "contacts": [{"contact": ben.pk}]})
        Deal.objects.filter(pk=won.pk).update(status="won", closed_on=now.date())

    elsewhere = make_org("Elsewhere")
    with in_org(elsewhere):
        customer_services.create_contact(elsewhere, None, data={
            "first_name": "Dan", "lifecycle_stage": "lead", "tags": ["vip"],
            "title": "CEO"})
    return org


def _names(org, in_org, tree) -> list[str]:
    with in_org(org):
        contacts = Conditions(org).contacts(tree)
        return sorted(contacts.values_list("first_name", flat=True))


def _leaf(field, op, value=None):
    node = {"field": field, "op": op}
    if value is not None:
        node["value"] = value
    return {"all": [node]}


def _kind(kind, op, value=None, **params):
    node = {"kind": kind, "op": op, **params}
    if value is not None:
        node["value"] = value
    return {"all": [node]}


def test_every_type_operator_and_kind_selects_the_right_contacts(people, in_org):
    today = timezone.localdate()
    cases = [
        # Text, built in and custom.
        (_leaf("first_name", "equals", "ann"), ["Ann"]),
        (_leaf("first_name", "not_equals", "Ann"), ["Ben", "Cara"]),
        (_leaf("email", "contains", "ACME"), ["Ann"]),
        (_leaf("email", "not_contains", "acme"), ["Ben", "Cara"]),
        (_leaf("first_name", "starts_with", "b"), ["Ben"]),
        (_leaf("title", "is_empty"), ["Ann", "Ben"]),
        (_leaf("title", "is_not_empty"), ["Cara"]),
        (_leaf("cf.note", "contains", "tea"), ["Ann"]),
        (_leaf("cf.note", "is_empty"), ["Ben", "Cara"]),
        # Numbers and money.
        (_leaf("cf.score", "eq", "10"), ["Ann"]),
        (_leaf("cf.score", "gt", 9), ["Ann", "Ben"]),
        (_leaf("cf.score", "lt", "10.5"), ["Ann"]),
        (_leaf("cf.score", "between", ["11", "20"]), ["Ben"]),
        (_leaf("cf.score", "is_empty"), ["Cara"]),
        (_leaf("cf.budget", "gt", "99.99"), ["Ann"]),
        (_leaf("cf.budget", "is_not_empty"), ["Ann"]),
        # Dates: built-in date and datetime, custom date and datetime.
        (_leaf("birthday", "eq", "1990-05-01"), ["Ann"]),
        (_leaf("birthday", "is_empty"), ["Ben", "Cara"]),
        (_leaf("cf.signed_on", "lt", "2026-03-01"), ["Ann"]),
        (_leaf("cf.signed_on", "gt", "2026-01-10"), ["Ben"]),
        (_leaf("cf.signed_on", "between", ["2026-01-10", "2026-03-01"]), ["Ann", "Ben"]),
        (_leaf("cf.last_login", "in_last_days", 3), ["Ann"]),
        (_leaf("created_at", "in_last_days", 1), ["Ann", "Ben", "Cara"]),
        (_leaf("created_at", "eq", today.isoformat()), ["Ann", "Ben", "Cara"]),
        (_leaf("created_at", "lt", today.isoformat()), []),
        # Choices, multi-choices, yes/no.
        (_leaf("lifecycle_stage", "in", ["lead", "customer"]), ["Ann", "Ben"]),
        (_leaf("lifecycle_stage", "not_in", ["lead"]), ["Ben", "Cara"]),
        (_leaf("cf.plan", "in", ["pro"]), ["Ann"]),
        (_leaf("cf.plan", "not_in", ["pro"]), ["Ben", "Cara"]),
        (_leaf("cf.interests", "has_any", ["tennis", "golf"]), ["Ann", "Ben"]),
        (_leaf("cf.interests", "has_all", ["tennis", "golf"]), ["Ann"]),
        (_leaf("cf.interests", "is_empty"), ["Cara"]),
        (_leaf("cf.newsletter", "is", True), ["Ann"]),
        (_leaf("cf.newsletter", "is", "no"), ["Ben", "Cara"]),
        (_leaf("do_not_contact", "is", True), ["Cara"]),
        # The contact's company.
        (_leaf("company.industry", "equals", "software"), ["Ann"]),
        (_leaf("company.industry", "is_empty"), ["Cara"]),
        (_leaf("company.employees", "gt", 100), ["Ben"]),
        (_leaf("company.cf.tier", "in", ["gold"]), ["Ann"]),
        (_leaf("company.cf.tier", "not_in", ["gold"]), ["Ben", "Cara"]),
        # Kinds.
        (_kind("tag", "has", "vip"), ["Ann"]),
        (_kind("tag", "has_not", "vip"), ["Ben", "Cara"]),
        (_kind("consent", "granted", channel="email", purpose="marketing"), ["Ann"]),
        (_kind("consent", "not_granted", channel="email", purpose="marketing"),
         ["Ben", "Cara"]),
        (_kind("activity", "in_last_days", 7, type="call"), ["Ann"]),
        (_kind("activity", "in_last_days", 60, type="call"), ["Ann", "Ben"]),
        (_kind("activity", "not_in_last_days", 7, type="call"), ["Ben", "Cara"]),
        (_kind("event", "in_last_days", "7", type="viewed_product"), ["Ann"]),
        (_kind("event", "not_in_last_days", 30, type="viewed_product"), ["Cara"]),
        (_kind("ticket", "has_open"), ["Ann"]),
        (_kind("ticket", "has_no_open"), ["Ben", "Cara"]),
        (_kind("ticket", "opened_in_last_days", 1), ["Ann", "Ben"]),
        (_kind("deal", "has_open"), ["Ann"]),
        (_kind("deal", "has_won"), ["Ben"]),
        (_kind("deal", "won_in_last_days", 30), ["Ben"]),
        (_kind("deal", "has_no_open"), ["Ben", "Cara"]),
        # Groups: an empty root is everyone, nested any/all.
        ({"all": []}, ["Ann", "Ben", "Cara"]),
        ({"any": [{"field": "first_name", "op": "equals", "value": "Cara"},
                  {"all": [_kind("tag", "has", "golfer")["all"][0],
                           {"any": [_kind("deal", "has_won")["all"][0],
                                    _leaf("cf.score", "eq", 1)["all"][0]]}]}]},
         ["Ben", "Cara"]),
    ]

    wrong = [(tree, expected, got) for tree, expected in cases
             if (got := _names(people, in_org, tree)) != expected]

    assert wrong == []


def test_a_whole_tree_counts_in_one_query(people, in_org):
    tree = {"all": [_leaf("lifecycle_stage", "in", ["lead", "customer"])["all"][0],
                    {"any": [_kind("tag", "has", "vip")["all"][0],
                             _kind("consent", "granted", channel="email",
                                   purpose="marketing")["all"][0],
                             _leaf("company.industry", "equals", "Retail")["all"][0]]}]}

    with in_org(people):
        contacts = Conditions(people).contacts(tree)
        with CaptureQueriesContext(connection) as queries:
            count = contacts.count()

    assert count == 2
    assert len(queries) == 1
    assert queries[0]["sql"].upper().startswith("SELECT COUNT(")


def test_bad_trees_name_every_bad_place(people, in_org):
    tree = {"all": [
        {"field": "lifecycle_stage", "op": "in", "value": ["lead", "king"]},
        {"any": [{"field": "birthday", "op": "gt", "value": "soon"},
                 {"field": "shoe_size", "op": "eq", "value": 42},
                 {"kind": "tag", "op": "contains", "value": "vip"}]},
        {"kind": "activity", "op": "in_last_days", "value": 0, "type": "fax"},
        {"field": "cf.score", "op": "between", "value": ["5", "1"], "colour": "red"},
        {"any": []},
    ]}

    with in_org(people), pytest.raises(InvalidInput) as caught:
        Conditions(people).validate(tree)

    assert caught.value.as_dict() == {
        "all[0].value": "Not one of the choices.",
        "all[1].any[0].value": "Not a date; enter it as YYYY-MM-DD.",
        "all[1].any[1].field": "There is no field with this name.",
        "all[1].any[2].op": "Choose one of: has, has_not.",
        "all[2].type": "Not one of the choices.",
        "all[2].value": "Give a whole number of days from 1 to 3660.",
        "all[3].colour": "This key is not accepted here.",
        "all[3].value": "The first value must not be above the second.",
        "all[4].any": "Add at least one condition to this group.",
    }


def test_trees_read_as_plain_words(people, in_org):
    tree = {"all": [
        {"field": "lifecycle_stage", "op": "in", "value": ["lead", "customer"]},
        {"any": [{"kind": "tag", "op": "has", "value": "vip"},
                 {"kind": "activity", "op": "in_last_days", "type": "call", "value": 30},
                 {"field": "cf.score", "op": "between", "value": ["1", "5"]}]},
        {"kind": "consent", "op": "granted", "channel": "email", "purpose": "marketing"},
    ]}

    with in_org(people):
        words = Conditions(people).describe(tree)
        unknown = Conditions(people).describe({"all": [{"field": "cf.gone", "op": "eq"}]})

    assert words == (
        "Lifecycle stage is Lead or Customer and (has tag vip or had an activity of type "
        "Call in the last 30 days or Score is between 1 and 5) and consent to E-mail for "
        "Marketing is granted")
    assert unknown == "An unknown condition"


class _Vip(ConditionKind):
    name = "test_vip"
    label = "VIP"
    operators = (Operator("is_vip", "is a VIP", Shape.NONE, "is a VIP"),)

    def compile(self, node, ctx):
        return Q(Exists(ContactTag.objects.filter(organization_id=ctx.org.pk,
                                                  contact=OuterRef("pk"), tag__name="vip")))


def test_another_app_can_register_a_kind(people, in_org):
    register(_Vip())
    try:
        names = _names(people, in_org, {"all": [{"kind": "test_vip", "op": "is_vip"}]})
    finally:
        _kinds.pop("test_vip")

    assert names == ["Ann"]
