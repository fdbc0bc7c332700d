"""Rules that text the contact: a service text goes, a marketing one needs SMS consent."""

from accord.automation.models import RuleRun
from accord.customers import services as customers
from accord.marketing.models import TextMessage


def test_a_rule_texts_a_reminder_and_skips_marketing_without_consent(
        org, admin, in_org, make_rule, eager, django_capture_on_commit_callbacks):
    reminder = make_rule(org, name="Welcome text", trigger="created",
                         settings={"entity": "contact"},
                         actions=[{"type": "send_service_sms",
                                   "body": "Welcome, {{ contact.first_name }}!"}])
    offer = make_rule(org, name="Offer text", trigger="created",
                      settings={"entity": "contact"},
                      actions=[{"type": "send_sms", "body": "10 % off today"}])

    with in_org(org), django_capture_on_commit_callbacks(execute=True):
        contact = customers.create_contact(org, admin.user, data={
            "first_name": "Ben", "phones": [{"number": "+49 151 9876 5432"}]})

    with in_org(org):
        texts = list(TextMessage.objects.filter(contact=contact).values_list("body", "status"))
        reminder_run = RuleRun.objects.get(rule=reminder)
        offer_run = RuleRun.objects.get(rule=offer)
    assert texts == [("Welcome, Ben!", "sent")]
    assert reminder_run.log[0]["detail"] == "Texted the contact at +4915198765432."
    assert offer_run.log[0]["detail"] == ("Text not sent: The contact has not agreed to "
                                          "marketing by SMS.")
