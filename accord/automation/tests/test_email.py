"""What a rule's e-mail to a contact is sent to, skips, and looks like."""

import datetime as dt

from django.utils import timezone

from accord.automation.models import Rule, RuleRun
from accord.automation.tasks import start_run
from accord.commerce import orders
from accord.core.models import DomainEvent
from accord.customers import services as customers
from accord.customers.models import ContactTag
from accord.marketing import campaigns

MAIL_THEN_TAG = [{"type": "send_email", "subject": "Hello {{ contact.first_name }}",
                  "body": "Welcome."},
                 {"type": "add_tag", "tag": "welcomed"}]


def run_for_new_contact(org, admin, in_org, rule, **data):
    with in_org(org):
        contact = customers.create_contact(org, admin.user, data=data)
        event = DomainEvent.objects.get(type="contact.created", object_id=contact.pk)
    status = start_run(rule.pk, event.pk)
    with in_org(org):
        run = RuleRun.objects.get(rule=rule, object_id=contact.pk)
        tags = list(ContactTag.objects.filter(contact=contact).values_list("tag__name",
                                                                             flat=True))
    return status, [(entry["status"], entry["detail"]) for entry in run.log], tags


def test_a_rule_email_skips_contacts_not_to_be_mailed_and_logs_why(org, admin, in_org,
                                                                  make_rule, smtp_inbox):
    rule = make_rule(org, trigger="created", settings={"entity": "contact"},
                     actions=MAIL_THEN_TAG)
    with in_org(org):
        campaigns.suppress_address(org, admin.user, "Gone@Example.com")

    barred = run_for_new_contact(org, admin, in_org, rule, first_name="Dan",
                                 email="dan@example.com", do_not_contact=True)
    no_address = run_for_new_contact(org, admin, in_org, rule, first_name="Nia")
    suppressed = run_for_new_contact(org, admin, in_org, rule, first_name="Sue",
                                     email="gone@example.com")
    mailed = run_for_new_contact(org, admin, in_org, rule, first_name="Ada",
                                 email="ada@example.com")

    tagged = ("done", "Added the tag “welcomed” to the contact.")
    assert barred == ("done", [
        ("skipped", "E-mail not sent: The contact is marked “do not contact”."), tagged],
        ["welcomed"])
    assert no_address == ("done", [
        ("skipped", "E-mail not sent: The contact has no e-mail address."), tagged],
        ["welcomed"])
    assert suppressed == ("done", [
        ("skipped", "E-mail not sent: The contact's address is on the suppression list."),
        tagged], ["welcomed"])
    assert mailed == ("done", [("done", "E-mailed “Hello Ada” to the contact."), tagged],
                      ["welcomed"])
    recipients, subject, _body = smtp_inbox.only()
    assert (recipients, subject) == (["ada@example.com"], "Hello Ada")


def test_the_dry_run_says_an_email_to_a_do_not_contact_contact_would_be_skipped(
    org, admin, in_org, api_client_for
):
    client = api_client_for(admin)
    with in_org(org):
        contact = customers.create_contact(org, admin.user, data={
            "first_name": "Dan", "email": "dan@example.com", "do_not_contact": True})
    rule_id = client.post("/api/v1/rules", {
        "name": "Welcome", "trigger": "created", "settings": {"entity": "contact"},
        "actions": MAIL_THEN_TAG}, content_type="application/json").json()["id"]

    body = client.post(f"/api/v1/rules/{rule_id}/dry-run", {"record_id": contact.pk},
                       content_type="application/json").json()

    assert body["actions"][0]["result"] == (
        "Would skip the e-mail: The contact is marked “do not contact”.")


def test_an_html_body_goes_out_sanitised_with_escaped_values_and_a_text_part(
    org, admin, in_org, make_rule, smtp_inbox
):
    rule = make_rule(org, trigger="created", settings={"entity": "contact"}, actions=[
        {"type": "send_email", "subject": "Hi",
         "body": "<p>Hello <b>{{ contact.first_name }}</b></p><script>alert(1)</script>"
                 "<p><a href=\"https://example.com/offer\">Our offer</a></p>"}])

    status, _log, _tags = run_for_new_contact(org, admin, in_org, rule,
                                              first_name="<i>Ada</i>",
                                              email="ada@example.com")

    assert status == "done"
    _recipients, message = smtp_inbox.messages[0]
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert "<p>Hello <b>&lt;i&gt;Ada&lt;/i&gt;</b></p>" in html
    assert "script" not in html
    assert text.splitlines() == ["Hello <i>Ada</i>", "Our offer (https://example.com/offer)"]


def test_a_plain_body_stays_plain_text_only(org, admin, in_org, make_rule, smtp_inbox):
    rule = make_rule(org, trigger="created", settings={"entity": "contact"}, actions=[
        {"type": "send_email", "subject": "Hi", "body": "1 < 2 and Tom & Jerry"}])

    run_for_new_contact(org, admin, in_org, rule, first_name="Ada", email="ada@example.com")

    _recipients, message = smtp_inbox.messages[0]
    assert message.get_content_type() == "text/plain"
    assert message.get_content().strip() == "1 < 2 and Tom & Jerry"


def test_the_re_engagement_starter_mails_only_lapsed_customers_with_marketing_consent(
    org, admin, in_org, client_for, api_client_for
):
    with in_org(org):
        people = {}
        for name in ("Ada", "Bob"):
            people[name] = customers.create_contact(org, admin.user, data={
                "first_name": name, "email": f"{name.lower()}@example.com"})
            orders.create_order(org, admin.user, data={
                "number": f"N-{name}", "contact": people[name].pk, "currency": "USD",
                "placed_at": (timezone.now() - dt.timedelta(days=200)).isoformat(),
                "lines": [{"sku": "A1", "description": "A1", "quantity": "1",
                           "unit_price": "40"}]})
        customers.record_consent(org, admin.user, people["Ada"], channel="email",
                                 purpose="marketing", status="granted", method="web_form")

    switched = client_for(admin).post("/settings/rules/starters/re_engagement/")
    with in_org(org):
        rule_id = Rule.objects.get(starter="re_engagement").pk
    api = api_client_for(admin)
    answers = {name: api.post(f"/api/v1/rules/{rule_id}/dry-run", {"record_id": contact.pk},
                              content_type="application/json").json()
               for name, contact in people.items()}

    assert switched.status_code == 302
    assert (answers["Ada"]["matched"], answers["Bob"]["matched"]) == (True, False)
    assert "consent to E-mail for Marketing is granted" in answers["Bob"]["reason"]
    assert answers["Ada"]["actions"][0]["result"] == (
        "Would e-mail “We miss you, Ada” to ada@example.com.")


def test_a_name_typed_with_a_line_break_gives_a_one_line_subject(org, admin, in_org,
                                                                make_rule, smtp_inbox):
    rule = make_rule(org, trigger="created", settings={"entity": "contact"},
                     actions=MAIL_THEN_TAG)

    status, log, _tags = run_for_new_contact(
        org, admin, in_org, rule, first_name="Line\r\nBcc: victim@example.net",
        email="crlf@example.com")

    recipients, subject, _body = smtp_inbox.only()
    assert status == "done"
    assert log[0] == ("done", "E-mailed “Hello Line Bcc: victim@example.net” to the contact.")
    assert (recipients, subject) == (["crlf@example.com"], "Hello Line Bcc: victim@example.net")
