"""Packs that bring sequences and behaviour rules: the e-commerce abandoned-basket sequence
set off by a `cart_abandoned` event, and the SaaS expansion deal set off by a
`usage_limit_reached` event, walked from the events API to the inbox and the pipeline."""

import datetime as dt
import json

import pytest
from django.utils import timezone
from django_scopes import scope

from accord.automation.models import Rule
from accord.customers import services as customers
from accord.marketing import sequence_runner
from accord.marketing.models import EmailTemplate
from accord.marketing.sequence_models import Enrolment, Sequence
from accord.packs import document, services
from accord.packs.document import InvalidPack
from accord.packs.models import InstalledObject
from accord.reports.models import SavedReport
from accord.sales.models import Deal

pytestmark = pytest.mark.django_db

AN_HOUR_AGO = (timezone.now() - dt.timedelta(hours=1)).replace(second=0, microsecond=0)


@pytest.fixture(autouse=True)
def no_send_limit(settings):
    settings.CAMPAIGN_SEND_RATE = 0


def apply(api, name: str, **body):
    return api.post(f"/api/v1/packs/{name}/apply", body, content_type="application/json")


def remove(api, name: str, **body):
    return api.post(f"/api/v1/packs/{name}/remove", body, content_type="application/json")


def send(api, number: int, kind: str, email: str):
    return api.post("/api/v1/events", {"events": [{
        "id": f"evt-{number}", "type": kind, "email": email,
        "occurred_at": AN_HOUR_AGO.isoformat(), "properties": {}}]},
        content_type="application/json")


def shopper(org, admin, email: str, *, owner=None, consent: bool = True):
    with scope(organization=org):
        contact = customers.create_contact(org, admin.user, data={
            "first_name": "Ada", "last_name": "Lind", "email": email,
            "owner": owner.user.pk if owner else None})
        if consent:
            customers.record_consent(org, admin.user, contact, channel="email",
                                     purpose="marketing", status="granted", method="web_form")
    return contact


def subjects(inbox, address: str) -> list[str]:
    return [message["Subject"] for rcpt, message in inbox.messages if rcpt == [address]]


def test_an_abandoned_cart_event_sends_the_basket_reminder_once(
        org, admin, api_client_for, eager, smtp_inbox, django_capture_on_commit_callbacks):
    api = api_client_for(admin)
    applied = apply(api, "ecommerce-retail")
    ada = shopper(org, admin, "ada@example.com")
    shopper(org, admin, "ben@example.com", consent=False)

    with django_capture_on_commit_callbacks(execute=True):
        sent = send(api, 1, "cart_abandoned", "ada@example.com")
        send(api, 2, "cart_abandoned", "ben@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        send(api, 3, "cart_abandoned", "ada@example.com")  # in the sequence already
    start = timezone.now()
    sequence_runner.run_due(now=start)
    sequence_runner.run_due(now=start + dt.timedelta(hours=1))

    assert applied.status_code == 200
    assert sent.json()["accepted"] == 1
    assert subjects(smtp_inbox, "ada@example.com") == ["Ada, your basket is waiting"]
    assert subjects(smtp_inbox, "ben@example.com") == []
    body = smtp_inbox.messages[0][1].get_body(("html",)).get_content()
    assert "You left a few things in your basket at" in body
    with scope(organization=org):
        sequence = Sequence.objects.get(name="Abandoned basket")
        enrolments = {e.contact.email: e.status for e in Enrolment.objects.filter(
            sequence=sequence).select_related("contact")}
    assert sequence.status == "active"
    assert sequence.from_email == admin.user.email
    assert [step["type"] for step in sequence.steps] == ["email", "wait", "branch", "email"]
    assert enrolments == {ada.email: "active", "ben@example.com": "active"}

    sequence_runner.run_due(now=start + dt.timedelta(days=1, minutes=1))
    assert subjects(smtp_inbox, "ada@example.com") == [
        "Ada, your basket is waiting", "Still thinking it over, Ada?"]


def test_a_usage_limit_event_opens_one_expansion_deal_for_the_contacts_owner(
        org, admin, member, api_client_for, eager, django_capture_on_commit_callbacks):
    api = api_client_for(admin)
    apply(api, "subscriptions-saas")
    ada = shopper(org, admin, "ada@product.example", owner=member)

    with django_capture_on_commit_callbacks(execute=True):
        send(api, 1, "usage_limit_reached", "ada@product.example")
    with django_capture_on_commit_callbacks(execute=True):
        send(api, 2, "usage_limit_reached", "ada@product.example")  # tagged by the first

    with scope(organization=org):
        deals = [(deal.name, deal.stage.name, deal.owner_id,
                  list(deal.contacts.values_list("pk", flat=True)))
                 for deal in Deal.objects.filter(pipeline__name="Expansion")]
        report = SavedReport.objects.get(name="Expansion pipeline")
    rows = api.get(f"/api/v1/reports/{report.pk}/result").json()["rows"]
    assert deals == [("Upgrade for Ada Lind", "Limit reached", member.user.pk, [ada.pk])]
    assert [(row["labels"], row["value"]) for row in rows] == [(["Expansion: Limit reached"], "1")]


def test_applying_twice_adds_nothing_and_an_upgrade_from_1_0_adds_the_new_entries(
        org, admin, api_client_for, tmp_path, monkeypatch):
    api = api_client_for(admin)
    older = json.loads((document.DEFINITIONS / "ecommerce-retail.json").read_text())
    older["version"] = "1.0"
    older["email_templates"] = older["email_templates"][:1]
    older["rules"] = older["rules"][:1]
    del older["sequences"]
    (tmp_path / "ecommerce-retail.json").write_text(json.dumps(older))
    monkeypatch.setattr(document, "DEFINITIONS", tmp_path)
    with scope(organization=org):
        services.apply_pack(org, admin.user, "ecommerce-retail")
    monkeypatch.undo()

    upgraded = apply(api, "ecommerce-retail")
    again = apply(api, "ecommerce-retail")

    added = [(item["section"], item["key"]) for item in upgraded.json()["outcomes"]
             if item["outcome"] == "added"]
    assert added == [("email_templates", "your basket is waiting"),
                     ("email_templates", "still thinking it over?"),
                     ("sequences", "abandoned basket"),
                     ("rules", "abandoned basket reminders")]
    assert again.json()["counts"]["added"] == 0
    with scope(organization=org):
        assert Sequence.objects.count() == 1
        assert Rule.objects.filter(trigger="behaviour").count() == 1


def test_removal_keeps_a_sequence_with_enrolments_unless_data_may_go(
        org, admin, api_client_for, eager, django_capture_on_commit_callbacks):
    api = api_client_for(admin)
    apply(api, "ecommerce-retail")
    shopper(org, admin, "ada@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        send(api, 1, "cart_abandoned", "ada@example.com")

    kept = remove(api, "ecommerce-retail")
    with scope(organization=org):
        still = (Sequence.objects.filter(name="Abandoned basket").exists(),
                 EmailTemplate.objects.filter(name="Your basket is waiting").exists(),
                 Rule.objects.filter(name="Abandoned basket reminders").exists())
    deleted = remove(api, "ecommerce-retail", delete_data=True)

    reasons = {item["key"]: item["reason"] for item in kept.json()["outcomes"]
               if item["outcome"] == "kept"}
    assert reasons == {"abandoned basket": "1 enrolment(s) in it",
                       "your basket is waiting": "sequences send it; change or delete them first",
                       "still thinking it over?": "sequences send it; change or delete them first"}
    assert still == (True, True, False)
    assert deleted.json()["counts"]["removed"] == 3
    with scope(organization=org):
        assert not Sequence.objects.exists()
        assert not EmailTemplate.objects.exists()
        assert not Enrolment.objects.exists()
        assert not InstalledObject.objects.exists()


def test_a_sequence_naming_a_template_the_organisation_lacks_is_refused_by_name(
        org, admin, tmp_path, monkeypatch):
    pack = json.loads((document.DEFINITIONS / "ecommerce-retail.json").read_text())
    pack["sequences"][0]["steps"][3]["template"] = "Last call"
    (tmp_path / "ecommerce-retail.json").write_text(json.dumps(pack))
    monkeypatch.setattr(document, "DEFINITIONS", tmp_path)

    with scope(organization=org), pytest.raises(InvalidPack) as refused:
        services.apply_pack(org, admin.user, "ecommerce-retail")

    assert refused.value.errors == [{"field": "sequences[0].steps[3].template",
                                     "code": "invalid",
                                     "message": "No e-mail template named 'Last call'."}]
    with scope(organization=org):
        assert not EmailTemplate.objects.exists()


def test_a_pack_rule_must_name_a_sequence_that_is_there(org, admin, tmp_path, monkeypatch):
    rule = {"name": "Enrol", "trigger": "behaviour", "settings": {"behaviour": "cart_abandoned"},
            "actions": [{"type": "enrol_in_sequence"}]}
    pack = {"name": "baskets", "version": "1.0", "title": "Baskets", "description": "Baskets",
            "rules": [rule]}
    with pytest.raises(InvalidPack) as unnamed:
        document.parse(json.dumps(pack), expected="baskets")
    rule["actions"][0]["sequence"] = "Nowhere"
    (tmp_path / "baskets.json").write_text(json.dumps(pack))
    monkeypatch.setattr(document, "DEFINITIONS", tmp_path)

    with scope(organization=org), pytest.raises(InvalidPack) as unknown:
        services.apply_pack(org, admin.user, "baskets")

    assert [error["field"] for error in unnamed.value.errors] == [
        "rules[0].actions[0].sequence"]
    assert [(error["field"], error["message"]) for error in unknown.value.errors] == [
        ("rules[0].actions[0].sequence", "No sequence named 'Nowhere'.")]
    with scope(organization=org):
        assert not Rule.objects.exists()
