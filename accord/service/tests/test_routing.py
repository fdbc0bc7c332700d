"""Routing rules: set up under Settings, applied to tickets from mail, the API and the page."""

import pytest
from django_scopes import scope

from accord.customers import services as customers
from accord.identity import services as identity
from accord.identity.models import Membership, Role
from accord.service import inbound, queues, routing, services
from accord.service.models import Ticket


@pytest.fixture
def support_team(org, admin, make_member):
    with scope(organization=org):
        team = identity.save_team(org, admin.user, name="First line")
    agents = [make_member(org, Role.SUPPORT, full_name=f"Agent {n}") for n in range(3)]
    reader = make_member(org, Role.READ_ONLY, full_name="Reader")
    with scope(organization=org):
        Membership.objects.filter(pk__in=[m.pk for m in [*agents, reader]]).update(team=team)
    return team, [agent.user for agent in agents]


@pytest.fixture
def queue(org, admin):
    with scope(organization=org):
        return queues.create_queue(org, admin.user, data={
            "name": "Support", "email_address": "support@northwind.example"})


def mail(subject: str, body: str, sender: str, message_id: str) -> bytes:
    return (f"From: {sender}\r\nTo: support@northwind.example\r\nSubject: {subject}\r\n"
            f"Message-ID: <{message_id}>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            f"{body}\r\n").encode()


def test_a_rule_added_in_settings_routes_mail_by_words_to_a_queue_and_priority(
    org, admin, queue, client_for
):
    with scope(organization=org):
        billing = queues.create_queue(org, admin.user, data={"name": "Billing"})
    client = client_for(admin)

    added = client.post("/settings/routing/", {
        "name": "Invoices", "position": 0, "keywords": "Invoice, refund",
        "set_queue": billing.pk, "set_priority": "high", "assign": "", "is_active": "on"})
    inbound.deliver(mail("Wrong INVOICE total", "Please fix.", "a@client.example", "m1@x"),
                    ["support@northwind.example"])
    inbound.deliver(mail("Printer jams", "Help.", "b@client.example", "m2@x"),
                    ["support@northwind.example"])

    assert added.status_code == 302
    with scope(organization=org):
        routed = Ticket.objects.get(subject="Wrong INVOICE total")
        plain = Ticket.objects.get(subject="Printer jams")
        assert (routed.queue, routed.priority) == (billing, "high")
        assert (plain.queue, plain.priority) == (queue, "normal")


def test_round_robin_hands_tickets_to_the_team_in_turn_skipping_read_only_members(
    org, admin, queue, support_team
):
    team, agents = support_team
    with scope(organization=org):
        routing.create_rule(org, admin.user, data={
            "name": "Everyone", "assign": "round_robin", "team": team.pk})
        tickets = [services.create_ticket(org, admin.user, data={"subject": f"T{n}"})
                   for n in range(4)]

    assert [ticket.assignee for ticket in tickets] == [*agents, agents[0]]


def test_least_loaded_picks_the_agent_with_fewest_open_tickets(
    org, admin, queue, support_team
):
    team, agents = support_team
    with scope(organization=org):
        for assignee in (agents[0], agents[0], agents[1]):
            services.create_ticket(org, admin.user, data={"subject": "Old",
                                                          "assignee": assignee.pk})
        routing.create_rule(org, admin.user, data={
            "name": "Fair", "assign": "least_loaded", "team": team.pk})

        ticket = services.create_ticket(org, admin.user, data={"subject": "New"})

    assert ticket.assignee == agents[2]


def test_sender_domain_and_customer_tier_conditions(org, admin, queue, support_team):
    _, agents = support_team
    with scope(organization=org):
        vip = customers.create_contact(org, admin.user, data={
            "email": "boss@bigclient.example", "tags": ["VIP"]})
        routing.create_rule(org, admin.user, data={
            "name": "VIPs", "customer_tier": "vip", "set_priority": "urgent",
            "assign": "agent", "agent": agents[1].pk})
        routing.create_rule(org, admin.user, data={
            "name": "Big client", "position": 1, "sender_domains": "bigclient.example",
            "set_priority": "high"})

    inbound.deliver(mail("Help", "x", "boss@bigclient.example", "v1@x"),
                    ["support@northwind.example"])
    inbound.deliver(mail("Help too", "x", "intern@eu.bigclient.example", "v2@x"),
                    ["support@northwind.example"])

    with scope(organization=org):
        first = Ticket.objects.get(subject="Help")
        second = Ticket.objects.get(subject="Help too")
        assert first.contact == vip
        assert (first.priority, first.assignee) == ("urgent", agents[1])
        assert (second.priority, second.assignee) == ("high", None)


def test_what_a_person_chose_is_kept(org, admin, queue, support_team, api_client_for):
    _, agents = support_team
    with scope(organization=org):
        routing.create_rule(org, admin.user, data={
            "name": "All", "set_priority": "low", "assign": "agent", "agent": agents[0].pk})

    ticket = api_client_for(admin).post("/api/v1/tickets", {
        "subject": "Chosen", "priority": "urgent", "assignee_id": agents[2].pk},
        content_type="application/json").json()

    assert (ticket["priority"], ticket["assignee_id"]) == ("urgent", agents[2].pk)


def test_an_agent_rule_needs_its_agent_and_only_managers_edit_rules(
    org, admin, make_member, client_for
):
    missing = client_for(admin).post("/settings/routing/", {
        "name": "Broken", "position": 0, "assign": "agent", "is_active": "on"})
    agent_try = client_for(make_member(org, Role.SUPPORT)).get("/settings/routing/")

    assert missing.status_code == 422
    assert "Choose the agent who gets these tickets." in missing.content.decode()
    assert agent_try.status_code == 403
