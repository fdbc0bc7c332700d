"""Rules set off by behaviour events that shops and apps send to /api/v1/events."""

import datetime as dt

import pytest
from django.utils import timezone

from accord.automation.models import Rule, RuleRun
from accord.customers import services as customers
from accord.customers.models import ContactTag


def send(api, *events):
    return api.post("/api/v1/events", {"events": list(events)}, content_type="application/json")


AN_HOUR_AGO = (timezone.now() - dt.timedelta(hours=1)).replace(second=0, microsecond=0)


def cart(number, email="ada@example.com", kind="cart.abandoned", at=AN_HOUR_AGO):
    return {"id": f"evt-{number}", "type": kind, "email": email,
            "occurred_at": at.isoformat(), "properties": {"cart": number}}


@pytest.fixture
def ada(org, admin, in_org):
    with in_org(org):
        return customers.create_contact(org, admin.user, data={
            "first_name": "Ada", "email": "ada@example.com"})


def tags_of(org, in_org, contact):
    with in_org(org):
        return sorted(ContactTag.objects.filter(contact=contact)
                      .values_list("tag__name", flat=True))


def test_an_abandoned_cart_tags_the_contact_once_per_event(
    org, admin, ada, in_org, make_rule, eager, api_client_for,
    django_capture_on_commit_callbacks,
):
    rule = make_rule(org, name="Cart left", trigger="behaviour",
                     settings={"behaviour": "cart.abandoned"},
                     actions=[{"type": "add_tag", "tag": "cart left"}])
    api = api_client_for(admin)

    with django_capture_on_commit_callbacks(execute=True):
        answer = send(api, cart(1), cart(2, kind="page.viewed"))
    assert answer.json()["accepted"] == 2
    with django_capture_on_commit_callbacks(execute=True):
        send(api, cart(1), cart(3))  # evt-1 again is a duplicate and sets nothing off

    with in_org(org):
        runs = list(RuleRun.objects.filter(rule=rule).order_by("id"))
    assert [(run.entity, run.object_id, run.status) for run in runs] == [
        ("contact", ada.pk, "done"), ("contact", ada.pk, "done")]
    assert runs[0].trigger_text == f"cart.abandoned ({AN_HOUR_AGO:%Y-%m-%d %H:%M} UTC)"
    assert len({run.key for run in runs}) == 2
    assert tags_of(org, in_org, ada) == ["cart left"]


def test_a_behaviour_rule_checks_its_conditions_against_the_contact(
    org, admin, ada, in_org, make_rule, eager, api_client_for,
    django_capture_on_commit_callbacks,
):
    with in_org(org):
        vip = customers.create_contact(org, admin.user, data={
            "first_name": "Vera", "email": "vera@example.com", "tags": ["vip"]})
    make_rule(org, name="VIP carts", trigger="behaviour", settings={"behaviour": "cart.abandoned"},
              conditions={"all": [{"kind": "tag", "op": "has", "value": "vip"}]},
              actions=[{"type": "add_tag", "tag": "call back"}])

    with django_capture_on_commit_callbacks(execute=True):
        send(api_client_for(admin), cart(1), cart(2, email="vera@example.com"))

    assert tags_of(org, in_org, ada) == []
    assert tags_of(org, in_org, vip) == ["call back", "vip"]


def test_a_switched_off_rule_and_another_organisation_are_not_set_off(
    org, admin, ada, other_org, in_org, make_rule, eager, api_client_for,
    django_capture_on_commit_callbacks,
):
    off = make_rule(org, name="Off", trigger="behaviour", is_active=False,
                    settings={"behaviour": "cart.abandoned"},
                    actions=[{"type": "add_tag", "tag": "x"}])
    elsewhere = make_rule(other_org, name="Theirs", trigger="behaviour",
                          settings={"behaviour": "cart.abandoned"},
                          actions=[{"type": "add_tag", "tag": "x"}])
    with django_capture_on_commit_callbacks(execute=True):
        send(api_client_for(admin), cart(1))
    assert RuleRun.unscoped.filter(rule__in=[off, elsewhere]).count() == 0


def test_a_behaviour_rule_needs_a_usable_event_type(org, admin, api_client_for):
    answer = api_client_for(admin).post("/api/v1/rules", {
        "name": "Bad", "trigger": "behaviour", "settings": {"behaviour": "cart abandoned!"},
        "actions": [{"type": "add_tag", "tag": "x"}]}, content_type="application/json")
    assert answer.status_code == 422
    assert [error["field"] for error in answer.json()["errors"]] == ["settings.behaviour"]


def test_the_rule_form_saves_the_behaviour_event_type(org, admin, client_for, in_org):
    saved = client_for(admin).post("/settings/rules/new/", {
        "n:type": "group", "n:match": "all", "name": "Viewed pricing", "trigger": "behaviour",
        "behaviour": "pricing.viewed", "a0:type": "add_tag", "a0:tag": "warm",
        "action": "save"})
    refused = client_for(admin).post("/settings/rules/new/", {
        "n:type": "group", "n:match": "all", "name": "No type", "trigger": "behaviour",
        "behaviour": "", "a0:type": "add_tag", "a0:tag": "warm", "action": "save"})

    assert saved.status_code == 302
    with in_org(org):
        rule = Rule.objects.get()
    assert (rule.trigger, rule.settings) == ("behaviour", {"behaviour": "pricing.viewed"})
    assert refused.status_code == 422
    assert "Name the behaviour event type" in refused.content.decode()


def test_events_from_long_ago_are_stored_but_set_no_rule_off(
    org, admin, ada, in_org, make_rule, eager, api_client_for,
    django_capture_on_commit_callbacks,
):
    rule = make_rule(org, name="Cart left", trigger="behaviour",
                     settings={"behaviour": "cart.abandoned"},
                     actions=[{"type": "add_tag", "tag": "cart left"}])

    with django_capture_on_commit_callbacks(execute=True):
        answer = send(api_client_for(admin),
                      cart(1, at=timezone.now() - dt.timedelta(days=30)))

    assert answer.json()["accepted"] == 1
    assert RuleRun.unscoped.filter(rule=rule).count() == 0
