"""Record visibility in e-mail uploads: a member's saved message meets only what they see.

An .eml a member uploads threads only onto a ticket they see: a subject tag
or a reply header naming a hidden ticket reads like one naming no ticket, and
the message opens a ticket of its own. A sender whose contact (or open lead)
is hidden from the member is handled like an unknown sender: a new contact
(or lead) beside the hidden one. The admin's uploads thread as before.
"""

from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_scopes import scope

from accord.customers import services as customers
from accord.identity import visibility
from accord.identity.models import Role
from accord.sales import leads
from accord.sales.models import Lead, LeadActivity
from accord.service import queues
from accord.service import services as tickets
from accord.service.models import Ticket, TicketMessage

HIDDEN = "hilda@hidden.example"


def eml(subject: str, message_id: str, *, sender: str = HIDDEN, replying_to: str = "") -> bytes:
    headers = [f"From: Hilda Hidden <{sender}>", "To: support@accord.example",
               f"Subject: {subject}", f"Message-ID: <{message_id}>",
               "Date: Mon, 02 Nov 2026 10:00:00 +0000"]
    if replying_to:
        headers.append(f"In-Reply-To: <{replying_to}>")
    return ("\r\n".join(headers) + "\r\n\r\nStill waiting for the parts.\r\n").encode()


def upload(client, raw: bytes, **form):
    return client.post("/tickets/upload/", {"file": SimpleUploadedFile("m.eml", raw), **form})


@pytest.fixture
def world(org, admin, make_member):
    """The admin's contact Hilda with a ticket of hers, both hidden from a sales member
    who sees only their own contacts and leads."""
    seller = make_member(org, Role.SALES, full_name="Milan Seller")
    with scope(organization=org):
        hilda = customers.create_contact(org, admin.user, data={
            "first_name": "Hilda", "last_name": "Hidden", "email": HIDDEN})
        ticket = tickets.create_ticket(org, admin.user, data={
            "subject": "Broken parts", "contact": hilda.pk}, body="It broke.",
            channel="email")
        visibility.update_visibility(org, admin.user, roles={Role.SALES: {
            "contacts": "own", "leads": "own"}})
    return SimpleNamespace(org=org, admin=admin, seller=seller, hilda=hilda, ticket=ticket)


def messages_on(world, ticket) -> int:
    with scope(organization=world.org):
        return TicketMessage.objects.filter(ticket=ticket).count()


def opened(world, response) -> Ticket:
    assert response.status_code == 302, response.content
    number = int(response["Location"].strip("/").split("/")[-1])
    with scope(organization=world.org):
        return Ticket.objects.select_related("contact").get(number=number)


def test_a_tag_naming_a_hidden_ticket_opens_a_new_ticket_beside_it(world, client_for):
    raw = eml(f"Re: [#{world.ticket.number}] follow up", "probe-1@milan.example")

    response = upload(client_for(world.seller), raw)

    new = opened(world, response)
    assert new.pk != world.ticket.pk
    assert messages_on(world, world.ticket) == 1
    assert new.contact_id != world.hilda.pk
    assert new.contact.email == HIDDEN


def test_a_reply_header_naming_a_hidden_tickets_message_opens_a_new_ticket(world, client_for):
    with scope(organization=world.org):
        TicketMessage.objects.filter(ticket=world.ticket).update(message_id="first@hilda")
    raw = eml("Re: parts", "probe-2@milan.example", replying_to="first@hilda")

    new = opened(world, upload(client_for(world.seller), raw))

    assert new.pk != world.ticket.pk
    assert messages_on(world, world.ticket) == 1


@pytest.mark.parametrize("subject", ["No tag at all", "Re: [#987654] made up"])
def test_a_hidden_contacts_address_is_handled_like_an_unknown_one(world, client_for, subject):
    hidden = upload(client_for(world.seller), eml(subject, "probe-3@milan.example"))
    unknown = upload(client_for(world.seller), eml(subject, "probe-4@milan.example",
                                                   sender="nobody@unknown.example"))

    assert opened(world, hidden).contact_id != world.hilda.pk
    assert opened(world, unknown).contact.email == "nobody@unknown.example"


def test_the_admin_still_threads_onto_the_ticket_by_its_tag(world, client_for):
    raw = eml(f"Re: [#{world.ticket.number}] follow up", "admin-1@hilda.example")

    response = upload(client_for(world.admin), raw)

    assert response.status_code == 302
    assert response["Location"] == f"/tickets/{world.ticket.number}/"
    assert messages_on(world, world.ticket) == 2
    with scope(organization=world.org):
        assert TicketMessage.objects.get(message_id="admin-1@hilda.example").contact_id == (
            world.hilda.pk)


def test_a_hidden_open_lead_gets_no_note_from_a_members_upload(world, client_for):
    with scope(organization=world.org):
        sales_queue = queues.create_queue(world.org, world.admin.user, data={
            "name": "Sales", "email_address": "sales@accord.example", "purpose": "leads"})
        lead = leads.create_lead(world.org, world.admin.user, data={
            "email": HIDDEN, "last_name": "Hidden", "owner": world.admin.user_id})

    upload(client_for(world.admin), eml("Quote again", "lead-1@hilda.example"),
           queue=sales_queue.pk)
    upload(client_for(world.seller), eml("Quote please", "lead-2@hilda.example"),
           queue=sales_queue.pk)

    with scope(organization=world.org):
        notes = list(LeadActivity.objects.filter(lead=lead, kind="note")
                     .values_list("body", flat=True))
        assert notes == ["E-mail: Quote again\n\nStill waiting for the parts."]
        assert Lead.objects.filter(email=HIDDEN).count() == 2
