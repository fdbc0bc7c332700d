"""Customers at risk, and one templated e-mail to several of them, sent once each."""

import datetime as dt

import pytest
from django.utils import timezone
from django_scopes import scope

from accord.customers import services as customers
from accord.identity.models import Role
from accord.service import outreach, services
from accord.service.models import Outreach, OutreachRecipient, Ticket
from accord.service.tasks import send_outreach


@pytest.fixture
def agent(org, make_member):
    return make_member(org, Role.SUPPORT, full_name="Ada Agent")


def contact(org, admin, first, email=""):
    with scope(organization=org):
        return customers.create_contact(org, admin.user, data={
            "first_name": first, "email": email})


def ticket_for(org, actor, person, **extra):
    with scope(organization=org):
        return services.create_ticket(org, actor, data={"subject": "Help",
                                                        "contact": person.pk, **extra})


def test_waiting_past_an_sla_and_writing_often_put_customers_at_risk(org, admin, agent,
                                                                      client_for):
    late = contact(org, admin, "Late", "late@client.example")
    busy = contact(org, admin, "Busy", "busy@client.example")
    calm = contact(org, admin, "Calm", "calm@client.example")
    ticket = ticket_for(org, agent.user, late)
    with scope(organization=org):
        Ticket.objects.filter(pk=ticket.pk).update(
            first_response_due_at=timezone.now() - dt.timedelta(hours=1))
    for _ in range(3):
        ticket_for(org, agent.user, busy)
    ticket_for(org, agent.user, calm)
    client = client_for(agent)

    everyone = client.get("/tickets/at-risk/")
    breached = client.get("/tickets/at-risk/?reason=breached")

    names = [str(row) for row in everyone.context["rows"]]
    assert names == ["Late", "Busy"]
    assert [str(row) for row in breached.context["rows"]] == ["Late"]
    assert everyone.context["rows"][1].tickets_this_month == 3


def test_a_low_satisfaction_rating_puts_a_customer_at_risk(org, admin, agent, client_for):
    from accord.service.models import SatisfactionSurvey

    sad = contact(org, admin, "Sad", "sad@client.example")
    ticket = ticket_for(org, agent.user, sad)
    with scope(organization=org):
        now = timezone.now()
        SatisfactionSurvey.objects.create(organization=org, ticket=ticket, solved_at=now,
                                          email=sad.email, token_hash="x" * 64, rating=2,
                                          rated_at=now)

    unhappy = client_for(agent).get("/tickets/at-risk/?reason=unhappy")

    assert [(str(row), row.low_ratings) for row in unhappy.context["rows"]] == [("Sad", 1)]


def test_an_outreach_goes_once_to_each_reachable_customer(org, admin, agent, client_for,
                                                          smtp_inbox):
    ada = contact(org, admin, "Ada", "ada@client.example")
    ben = contact(org, admin, "", "ben@client.example")
    silent = contact(org, admin, "Silent")
    refused = contact(org, admin, "Refused", "no@client.example")
    stranger = contact(org, admin, "Calm", "calm@client.example")
    for person in (ada, ben, silent, refused):
        for _ in range(3):
            ticket_for(org, agent.user, person)
    with scope(organization=org):
        customers.record_consent(org, admin.user, refused, channel="email",
                                 purpose="surveys", status="withdrawn", method="email")
    client = client_for(agent)

    response = client.post("/tickets/at-risk/", {
        "contacts": [ada.pk, ben.pk, silent.pk, refused.pk, stranger.pk],
        "subject": "Sorry for the wait, {{ contact.first_name|default:'there' }}",
        "body": "Hello {{ contact.first_name|default:'there' }}, we are on it."})
    with scope(organization=org):
        sent = Outreach.objects.get()
    first = send_outreach(org.pk, sent.pk)
    again = send_outreach(org.pk, sent.pk)

    assert response.status_code == 302
    assert (first, again) == (2, 0)
    got = sorted((recipients[0], message["Subject"], message.get_content().strip())
                 for recipients, message in smtp_inbox.messages)
    assert got == [
        ("ada@client.example", "Sorry for the wait, Ada", "Hello Ada, we are on it."),
        ("ben@client.example", "Sorry for the wait, there", "Hello there, we are on it."),
    ]
    with scope(organization=org):
        assert set(OutreachRecipient.objects.values_list("status", flat=True)) == {"sent"}
        assert ada.activities.filter(event="outreach.sent").count() == 1


def test_a_recipient_claimed_by_a_lost_worker_is_not_sent_again(org, admin, agent,
                                                                smtp_inbox):
    ada = contact(org, admin, "Ada", "ada@client.example")
    with scope(organization=org):
        sent, _ = outreach.start_outreach(org, agent.user, contact_ids=[ada.pk],
                                          subject="Hi", body="Hello")
        OutreachRecipient.objects.update(status="sending")

    assert send_outreach(org.pk, sent.pk) == 0
    assert smtp_inbox.messages == []


def test_bad_outreach_input_is_refused_by_name(org, admin, agent, make_member, client_for):
    ada = contact(org, admin, "Ada", "ada@client.example")
    for _ in range(3):
        ticket_for(org, agent.user, ada)
    client = client_for(agent)

    nobody = client.post("/tickets/at-risk/", {"subject": "Hi", "body": "Hello"})
    unsafe = client.post("/tickets/at-risk/", {"contacts": [ada.pk], "subject": "Hi",
                                               "body": "{% include 'x.html' %}"})
    reader = client_for(make_member(org, Role.READ_ONLY))

    assert nobody.status_code == 422
    assert "Choose at least one customer." in nobody.content.decode()
    assert unsafe.status_code == 422
    assert "cannot be used here" in unsafe.content.decode()
    assert reader.post("/tickets/at-risk/", {"contacts": [ada.pk], "subject": "Hi",
                                             "body": "Hello"}).status_code == 403
    with scope(organization=org):
        assert Outreach.objects.count() == 0



def test_merge_fields_show_only_what_the_writer_may_see(org, admin, agent, smtp_inbox):
    with scope(organization=org):
        customers.create_custom_field(org, admin.user, data={
            "entity": "contact", "label": "Diagnosis", "key": "diagnosis", "field_type": "text",
            "hidden_from_roles": ["support"]})
        customers.create_custom_field(org, admin.user, data={
            "entity": "contact", "label": "Plan", "key": "plan", "field_type": "text"})
        ada = customers.create_contact(org, admin.user, data={
            "first_name": "Ada", "email": "ada@client.example",
            "custom_fields": {"diagnosis": "Secret-7731", "plan": "Gold"}})
        sent, _ = outreach.start_outreach(
            org, agent.user, contact_ids=[ada.pk], subject="About {{ contact.custom.diagnosis }}",
            body="Plan {{ contact.custom.plan }}, {{ contact.custom.diagnosis }}, "
                 "{{ contact.custom }}")

    assert send_outreach(org.pk, sent.pk) == 1
    _recipients, subject, body = smtp_inbox.only()
    assert "Secret-7731" not in subject
    assert "Secret-7731" not in body
    assert "Plan Gold" in body
