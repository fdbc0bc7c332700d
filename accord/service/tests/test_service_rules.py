"""Rules that keep tickets and mail flowing and customers' data in the right hands."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_scopes import scope

from accord.customers import services as customers
from accord.identity import visibility
from accord.identity.models import Role
from accord.service import inbound, queues, services, sla_settings
from accord.service.models import BusinessCalendar, SlaPolicy, Ticket


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


def mail(message_id: str, subject: str) -> bytes:
    return (f"From: Ria <ria@customer.example>\r\nTo: help@northwind.example\r\n"
            f"Subject: {subject}\r\nMessage-ID: <{message_id}>\r\n\r\nHello.\r\n").encode()


@pytest.fixture
def agent(org, make_member):
    return make_member(org, Role.SUPPORT, full_name="Ada Agent")


def test_a_calendar_without_working_hours_is_refused_and_one_in_use_is_kept(
    org, admin, api_client_for
):
    client = api_client_for(admin)

    empty = post(client, "/api/v1/business-calendars", {
        "name": "Empty", "time_zone": "Europe/Berlin", "hours": {}})
    local = post(client, "/api/v1/business-calendars", {
        "name": "Local", "time_zone": "localtime", "hours": {"0": [["09:00", "17:00"]]}})
    good = post(client, "/api/v1/business-calendars", {
        "name": "Office", "time_zone": "Europe/Berlin", "hours": {"0": [["09:00", "17:00"]]}})
    post(client, "/api/v1/sla-policies", {"name": "Std", "resolution_minutes": 60,
                                          "calendar_id": good.json()["id"]})
    delete = client.delete(f"/api/v1/business-calendars/{good.json()['id']}")

    assert empty.status_code == 422
    assert empty.json()["errors"][0]["field"] == "hours"
    assert local.status_code == 422
    assert delete.status_code == 409
    assert "Std" in delete.json()["detail"]


def test_a_stored_calendar_without_hours_never_stops_tickets_or_mail(org, admin, agent,
                                                                      api_client_for):
    with scope(organization=org):
        calendar = BusinessCalendar.objects.create(organization=org, name="Broken",
                                                   time_zone="UTC", hours={})
        SlaPolicy.objects.create(organization=org, name="Std", resolution_minutes=60,
                                 calendar=calendar)
        queues.create_queue(org, admin.user, data={
            "name": "Help", "email_address": "help@northwind.example"})

    created = post(api_client_for(agent), "/api/v1/tickets", {"subject": "Help"})
    [received] = inbound.deliver(mail("m1@x", "By mail"), ["help@northwind.example"])

    assert created.status_code == 201
    assert created.json()["resolution_due_at"] is None
    assert received.outcome == "created"


def test_required_ticket_fields_do_not_stop_mail_but_do_stop_agents(org, admin, agent,
                                                                     api_client_for):
    with scope(organization=org):
        customers.create_custom_field(org, admin.user, data={
            "entity": "ticket", "label": "Order number", "field_type": "text",
            "required": True})
        queues.create_queue(org, admin.user, data={
            "name": "Help", "email_address": "help@northwind.example"})

    [received] = inbound.deliver(mail("m1@x", "By mail"), ["help@northwind.example"])
    by_agent = post(api_client_for(agent), "/api/v1/tickets", {"subject": "Help"})

    assert received.outcome == "created"
    assert by_agent.status_code == 422
    assert by_agent.json()["errors"][0]["field"] == "custom_fields.order_number"


def test_an_escalated_priority_no_policy_fits_keeps_the_ticket_policy(org, admin, agent):
    with scope(organization=org):
        policy = sla_settings.create_policy(org, admin.user, data={
            "name": "High", "priorities": ["high"], "resolution_minutes": 120})
        ticket = services.create_ticket(org, agent.user, data={"subject": "Help",
                                                               "priority": "high"})
        due = ticket.resolution_due_at

        ticket = services.update_ticket(org, agent.user, ticket, data={"priority": "urgent"})

    assert ticket.sla_policy == policy
    assert ticket.resolution_due_at == due


def test_tickets_follow_their_customers_visibility(org, admin, agent, make_member,
                                                   client_for, api_client_for):
    seller = make_member(org, Role.SALES, full_name="Sam Seller")
    with scope(organization=org):
        hidden = customers.create_contact(org, admin.user, data={
            "first_name": "Rania", "email": "rania@client.example", "owner": admin.user_id})
        ticket = services.create_ticket(org, agent.user, data={"subject": "Secret",
                                                               "contact": hidden.pk})
        services.create_ticket(org, agent.user, data={"subject": "Open to all"})
    with scope(organization=org):
        visibility.update_visibility(org, admin.user, roles={"sales": {"contacts": "own"}})
    api = api_client_for(seller)
    web = client_for(seller)

    listed = [item["subject"] for item in api.get("/api/v1/tickets").json()["items"]]

    assert listed == ["Open to all"]
    assert api.get(f"/api/v1/tickets/{ticket.pk}").status_code == 404
    assert web.get(f"/tickets/{ticket.number}/").status_code == 404
    assert "rania@client.example" not in web.get("/tickets/?view=all").content.decode()
    assert "Secret" not in web.get("/search", {"q": "secret"}).content.decode()
    assert api_client_for(agent).get(f"/api/v1/tickets/{ticket.pk}").status_code == 200


def test_reply_copies_must_be_addresses_and_few(org, agent, api_client_for):
    with scope(organization=org):
        person = customers.create_contact(org, agent.user, data={"email": "c@client.example"})
        ticket = services.create_ticket(org, agent.user, data={"subject": "Help",
                                                               "contact": person.pk})
    client = api_client_for(agent)
    url = f"/api/v1/tickets/{ticket.pk}/messages"

    bad = post(client, url, {"kind": "reply", "body": "x", "cc": ["not an email"]})
    header = post(client, url, {"kind": "reply", "body": "x",
                                "cc": ["a@example.org\r\nBcc: victim@example.org"]})
    many = post(client, url, {"kind": "reply", "body": "x",
                              "cc": [f"p{n}@example.org" for n in range(21)]})
    good = post(client, url, {"kind": "reply", "body": "x", "cc": ["Boss@Client.example"]})

    assert (bad.status_code, header.status_code, many.status_code) == (422, 422, 422)
    assert good.status_code == 201
    assert good.json()["cc"] == ["Boss@client.example"]


def test_an_upload_that_is_no_mail_is_refused(org, agent, client_for):
    response = client_for(agent).post("/tickets/upload/", {
        "file": SimpleUploadedFile("x.eml", bytes(range(256)) + b"\x00" * 44)})

    assert response.status_code == 422
    assert "This file is not an e-mail" in response.content.decode()
    with scope(organization=org):
        assert Ticket.objects.count() == 0


def test_filters_name_bad_values_and_an_address_finds_its_customer(org, agent,
                                                                    api_client_for):
    with scope(organization=org):
        for email in ("me@example.net", "you@example.net"):
            person = customers.create_contact(org, agent.user, data={"email": email})
            services.create_ticket(org, agent.user, data={"subject": f"From {email}",
                                                          "contact": person.pk})
    client = api_client_for(agent)

    bogus = client.get("/api/v1/tickets", {"status": "bogus", "priority": "soon"})
    found = client.get("/api/v1/tickets", {"q": "me@example.net"}).json()["items"]

    assert bogus.status_code == 422
    assert {error["field"] for error in bogus.json()["errors"]} == {"status", "priority"}
    assert [item["subject"] for item in found] == ["From me@example.net"]


def test_bulk_tags_split_on_commas_and_bulk_is_capped(org, agent, api_client_for):
    with scope(organization=org):
        ticket = services.create_ticket(org, agent.user, data={"subject": "Help"})
    client = api_client_for(agent)

    post(client, "/api/v1/tickets/bulk", {"ids": [ticket.pk], "action": "tag",
                                          "value": "billing,  , VIP"})
    huge = post(client, "/api/v1/tickets/bulk", {"ids": list(range(1, 502)),
                                                 "action": "status", "value": "open"})

    assert client.get(f"/api/v1/tickets/{ticket.pk}").json()["tags"] == ["billing", "VIP"]
    assert huge.status_code == 422


def test_formatted_mail_cannot_fetch_anything_from_outside(org, admin, agent, client_for):
    with scope(organization=org):
        queues.create_queue(org, admin.user, data={
            "name": "Help", "email_address": "help@northwind.example"})
    raw = (b"From: Ria <ria@customer.example>\r\nTo: help@northwind.example\r\n"
           b"Subject: Pixel\r\nMessage-ID: <px@x>\r\nContent-Type: text/html\r\n\r\n"
           b'<p>Hi</p><img src="http://127.0.0.1:8999/pixel.gif">\r\n')
    [received] = inbound.deliver(raw, ["help@northwind.example"])

    page = client_for(agent).get(f"/tickets/{received.ticket.number}/")

    assert "&lt;meta http-equiv=&quot;Content-Security-Policy&quot; content=&quot;" \
        "default-src &#x27;none&#x27;; img-src data: cid:" in page.content.decode()
