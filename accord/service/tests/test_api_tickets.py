"""Tickets through `/api/v1/tickets`: the collection contract, messages, queues, other orgs."""

import pytest
from django_scopes import scope

from accord.audit.models import AuditEntry
from accord.core.models import DomainEvent
from accord.customers import services as customers
from accord.identity.models import Role
from accord.service import queues
from accord.service.models import Ticket, TicketStatusChange


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


def patch(client, url, body):
    return client.patch(url, body, content_type="application/json")


@pytest.fixture
def agent(org, make_member):
    return make_member(org, Role.SUPPORT, full_name="Ada Agent")


@pytest.fixture
def customer(org, admin):
    with scope(organization=org):
        return customers.create_contact(org, admin.user, data={
            "first_name": "Claire", "last_name": "Dumont", "email": "claire@client.example"})


def test_open_a_ticket_answers_201_with_number_status_and_thread(
    org, agent, customer, api_client_for
):
    client = api_client_for(agent)

    response = post(client, "/api/v1/tickets", {
        "subject": "  Printer   jams ", "body": "It jams on every page.",
        "priority": "high", "contact_id": customer.pk, "tags": ["hardware"],
    })

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["number"] == 1
    assert body["subject"] == "Printer jams"
    assert body["status"] == "new"
    assert body["channel"] == "api"
    assert body["priority"] == "high"
    assert body["contact_id"] == customer.pk
    assert body["tags"] == ["hardware"]
    assert body["version"] == 1
    messages = client.get(f"/api/v1/tickets/{body['id']}/messages").json()["items"]
    assert [(m["kind"], m["body"]) for m in messages] == [("inbound", "It jams on every page.")]
    with scope(organization=org):
        ticket = Ticket.objects.get(pk=body["id"])
        assert AuditEntry.objects.filter(entity="ticket", object_id=ticket.pk,
                                         action="create").count() == 1
        assert DomainEvent.objects.filter(type="ticket.created", object_id=ticket.pk).count() == 1
        assert customer.activities.filter(event="ticket.opened").count() == 1


def test_numbers_count_up_per_organisation(org, other_org, agent, make_member, api_client_for):
    client = api_client_for(agent)
    other = api_client_for(make_member(other_org, Role.SUPPORT))

    numbers = [post(client, "/api/v1/tickets", {"subject": f"T{n}"}).json()["number"]
               for n in range(3)]
    other_number = post(other, "/api/v1/tickets", {"subject": "Elsewhere"}).json()["number"]

    assert numbers == [1, 2, 3]
    assert other_number == 1


def test_bad_fields_answer_422_naming_each(agent, api_client_for):
    client = api_client_for(agent)

    response = post(client, "/api/v1/tickets", {
        "subject": " ", "priority": "whenever", "status": "done", "contact_id": 999999,
        "assignee_id": 999999,
    })

    assert response.status_code == 422
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"subject", "priority", "status", "contact_id", "assignee_id"}


def test_read_only_members_cannot_be_assigned(org, agent, make_member, api_client_for):
    reader = make_member(org, Role.READ_ONLY)
    client = api_client_for(agent)

    response = post(client, "/api/v1/tickets", {"subject": "Help",
                                                "assignee_id": reader.user_id})

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "assignee_id"


def test_patch_with_a_stale_version_answers_409_and_keeps_the_other_change(
    org, agent, api_client_for
):
    client = api_client_for(agent)
    ticket = post(client, "/api/v1/tickets", {"subject": "Help"}).json()
    url = f"/api/v1/tickets/{ticket['id']}"
    assert patch(client, url, {"priority": "urgent", "version": 1}).status_code == 200

    stale = patch(client, url, {"priority": "low", "version": 1})

    assert stale.status_code == 409
    assert client.get(url).json()["priority"] == "urgent"


def test_status_changes_are_recorded_and_solving_stamps_the_time(
    org, agent, api_client_for
):
    client = api_client_for(agent)
    ticket = post(client, "/api/v1/tickets", {"subject": "Help"}).json()
    url = f"/api/v1/tickets/{ticket['id']}"

    solved = patch(client, url, {"status": "solved", "version": ticket["version"]}).json()
    reopened = patch(client, url, {"status": "open", "version": solved["version"]}).json()

    assert solved["solved_at"] is not None
    assert reopened["solved_at"] is None
    with scope(organization=org):
        moves = list(TicketStatusChange.objects.filter(ticket_id=ticket["id"])
                     .values_list("from_status", "to_status"))
        assert moves == [("", "new"), ("new", "solved"), ("solved", "open")]
        assert DomainEvent.objects.filter(type="ticket.solved").count() == 1


def test_notes_are_added_to_the_thread_and_empty_ones_refused(agent, api_client_for):
    client = api_client_for(agent)
    ticket = post(client, "/api/v1/tickets", {"subject": "Help"}).json()
    url = f"/api/v1/tickets/{ticket['id']}/messages"

    empty = post(client, url, {"kind": "note", "body": "   "})
    note = post(client, url, {"kind": "note", "body": "Called them, no answer."})
    odd = post(client, url, {"kind": "shout", "body": "Hello"})

    assert empty.status_code == 422
    assert note.status_code == 201
    assert note.json()["kind"] == "note"
    assert odd.status_code == 422
    assert [m["kind"] for m in client.get(url).json()["items"]] == ["note"]


def test_filters_narrow_the_list(org, agent, customer, api_client_for):
    client = api_client_for(agent)
    post(client, "/api/v1/tickets", {"subject": "Printer jams", "contact_id": customer.pk,
                                     "assignee_id": agent.user_id})
    post(client, "/api/v1/tickets", {"subject": "Invoice wrong", "priority": "urgent"})
    solved = post(client, "/api/v1/tickets", {"subject": "Old thing"}).json()
    patch(client, f"/api/v1/tickets/{solved['id']}",
          {"status": "solved", "version": solved["version"]})

    def subjects(query):
        return sorted(t["subject"] for t in client.get(f"/api/v1/tickets?{query}")
                      .json()["items"])

    assert subjects("priority=urgent") == ["Invoice wrong"]
    assert subjects(f"assignee_id={agent.user_id}") == ["Printer jams"]
    assert subjects("unassigned=true&status=unresolved") == ["Invoice wrong"]
    assert subjects("status=solved") == ["Old thing"]
    assert subjects("q=printer") == ["Printer jams"]
    assert subjects("q=dumont") == ["Printer jams"]
    assert subjects("q=%232") == ["Invoice wrong"]
    assert subjects(f"contact_id={customer.pk}") == ["Printer jams"]


def test_bulk_assigns_and_solves_with_history(org, agent, api_client_for):
    client = api_client_for(agent)
    ids = [post(client, "/api/v1/tickets", {"subject": f"T{n}"}).json()["id"] for n in range(3)]

    assigned = post(client, "/api/v1/tickets/bulk", {"ids": ids[:2], "action": "assign",
                                                     "value": agent.user_id})
    solved = post(client, "/api/v1/tickets/bulk", {"ids": ids, "action": "status",
                                                   "value": "solved"})
    bad = post(client, "/api/v1/tickets/bulk", {"ids": ids, "action": "status",
                                                "value": "gone"})

    assert assigned.json() == {"changed": 2}
    assert solved.json() == {"changed": 3}
    assert bad.status_code == 422
    with scope(organization=org):
        assert AuditEntry.objects.filter(entity="ticket", action="update").count() == 5


def test_another_organisations_ticket_answers_404(
    org, other_org, agent, make_member, api_client_for
):
    mine = post(api_client_for(agent), "/api/v1/tickets", {"subject": "Mine"}).json()
    stranger = api_client_for(make_member(other_org, Role.ADMIN))

    assert stranger.get(f"/api/v1/tickets/{mine['id']}").status_code == 404
    assert patch(stranger, f"/api/v1/tickets/{mine['id']}",
                 {"status": "closed", "version": mine["version"]}).status_code == 404
    assert post(stranger, f"/api/v1/tickets/{mine['id']}/messages",
                {"kind": "note", "body": "x"}).status_code == 404
    assert stranger.get("/api/v1/tickets").json()["items"] == []


def test_read_only_members_read_but_do_not_write(org, agent, make_member, api_client_for):
    ticket = post(api_client_for(agent), "/api/v1/tickets", {"subject": "Help"}).json()
    reader = api_client_for(make_member(org, Role.READ_ONLY))

    assert reader.get(f"/api/v1/tickets/{ticket['id']}").status_code == 200
    assert post(reader, "/api/v1/tickets", {"subject": "x"}).status_code == 403
    assert post(reader, f"/api/v1/tickets/{ticket['id']}/messages",
                {"kind": "note", "body": "x"}).status_code == 403


def test_queues_have_unique_addresses_across_organisations(
    org, other_org, admin, make_member, api_client_for
):
    client = api_client_for(admin)
    other = api_client_for(make_member(other_org, Role.ADMIN))

    first = post(client, "/api/v1/queues", {"name": "Support",
                                            "email_address": "Support@Demo.example.com"})
    clash = post(other, "/api/v1/queues", {"name": "Help",
                                           "email_address": "support@demo.example.com"})
    agent_try = post(api_client_for(make_member(org, Role.SUPPORT)), "/api/v1/queues",
                     {"name": "Mine"})

    assert first.status_code == 201
    assert first.json()["email_address"] == "support@demo.example.com"
    assert first.json()["is_default"] is True
    assert clash.status_code == 422
    assert clash.json()["errors"][0]["field"] == "email_address"
    assert agent_try.status_code == 403


def test_new_tickets_go_to_the_default_queue(org, admin, agent, api_client_for):
    with scope(organization=org):
        queues.create_queue(org, admin.user, data={"name": "First line"})

    ticket = post(api_client_for(agent), "/api/v1/tickets", {"subject": "Help"}).json()

    with scope(organization=org):
        assert Ticket.objects.get(pk=ticket["id"]).queue.name == "First line"


def test_a_change_without_the_version_it_was_based_on_is_refused(agent, api_client_for):
    client = api_client_for(agent)
    ticket = post(client, "/api/v1/tickets", {"subject": "Help"}).json()

    answer = patch(client, f"/api/v1/tickets/{ticket['id']}", {"status": "solved"})

    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "version"
    assert client.get(f"/api/v1/tickets/{ticket['id']}").json()["status"] == "new"
