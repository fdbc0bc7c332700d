"""The agent's ticket pages through HTTP: lists, the ticket, replies, presence, uploads."""

import email
from email import policy
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_scopes import scope

from accord.customers import services as customers
from accord.identity.models import Role
from accord.service import queues, services
from accord.service.models import CannedReply, Ticket, TicketMessage

MAIL = Path(__file__).resolve().parents[2] / "testdata" / "mail"


@pytest.fixture
def agent(org, make_member):
    return make_member(org, Role.SUPPORT, full_name="Ada Agent")


@pytest.fixture
def other_agent(org, make_member):
    return make_member(org, Role.SUPPORT, full_name="Bo Backup")


@pytest.fixture
def customer(org, admin):
    with scope(organization=org):
        return customers.create_contact(org, admin.user, data={
            "first_name": "Claire", "last_name": "Dumont", "email": "claire@client.example"})


def open_ticket(org, actor, **data):
    body = data.pop("body", "It jams.")
    with scope(organization=org):
        return services.create_ticket(org, actor, data={"subject": "Printer jams", **data},
                                      body=body, channel="email")


def test_the_default_view_lists_unresolved_tickets_with_counts(org, agent, customer,
                                                               client_for):
    open_ticket(org, agent.user, contact=customer.pk, assignee=agent.user_id)
    solved = open_ticket(org, agent.user, subject="Old question")
    with scope(organization=org):
        services.update_ticket(org, agent.user, solved, data={"status": "solved"})
    client = client_for(agent)

    page = client.get("/tickets/")
    mine = client.get("/tickets/?view=mine")
    done = client.get("/tickets/?view=solved")

    assert page.status_code == 200
    text = page.content.decode()
    assert "Printer jams" in text
    assert "Old question" not in text
    assert "Claire Dumont" in text
    assert "Printer jams" in mine.content.decode()
    assert "Old question" in done.content.decode()


def test_an_agent_opens_a_phone_ticket_for_a_new_customer(org, agent, client_for):
    client = client_for(agent)

    response = client.post("/tickets/new/", {
        "subject": "Cannot log in", "contact_email": "New.Person@Example.com",
        "contact_name": "New Person", "body": "Called at 9.", "channel": "phone",
        "priority": "high", "tags": "login, urgent-ish",
    })

    assert response.status_code == 302
    with scope(organization=org):
        ticket = Ticket.objects.get()
        assert ticket.contact.email == "new.person@example.com"
        assert ticket.contact.first_name == "New"
        assert ticket.channel == "phone"
        assert services.tag_names(ticket) == ["login", "urgent-ish"]
    assert response["Location"] == f"/tickets/{ticket.number}/"


def test_the_new_ticket_form_shows_errors_next_to_the_fields(agent, client_for):
    response = client_for(agent).post("/tickets/new/", {
        "subject": "", "contact_email": "not-an-address", "channel": "phone",
        "priority": "high"})

    assert response.status_code == 422
    text = response.content.decode()
    assert 'id="id_subject_error"' in text
    assert 'id="id_contact_email_error"' in text


def test_a_reply_from_the_page_is_stored_for_sending_and_moves_the_status(
    org, agent, customer, client_for
):
    ticket = open_ticket(org, agent.user, contact=customer.pk)
    client = client_for(agent)
    page = client.get(f"/tickets/{ticket.number}/")
    assert "Replies go to claire@client.example." in page.content.decode()
    with scope(organization=org):
        seen = ticket.messages.last().pk

    response = client.post(f"/tickets/{ticket.number}/reply/", {
        "kind": "reply", "body": "Try turning it off and on.", "status": "pending",
        "seen_message": seen})

    assert response.status_code == 302
    with scope(organization=org):
        ticket.refresh_from_db()
        reply = ticket.messages.get(kind="reply")
        assert reply.to == ["claire@client.example"]
        assert ticket.status == "pending"
        assert ticket.first_response_at is not None


def test_a_reply_written_while_someone_else_answered_is_held_back_once_and_kept(
    org, agent, other_agent, customer, client_for
):
    ticket = open_ticket(org, agent.user, contact=customer.pk)
    with scope(organization=org):
        seen = ticket.messages.last().pk
        services.add_reply(org, other_agent.user, ticket, body="Bo answered first.")
    client = client_for(agent)
    draft = {"kind": "reply", "body": "My own answer.", "seen_message": seen}

    held = client.post(f"/tickets/{ticket.number}/reply/", draft)
    text = held.content.decode()
    resent = client.post(f"/tickets/{ticket.number}/reply/", {
        **draft, "seen_message": held.context["reply_form"]["seen_message"].value(),
        "send_anyway": held.context["reply_form"]["send_anyway"].value()})

    assert held.status_code == 409
    assert "New messages arrived while you were writing." in text
    assert "Bo answered first." in text
    assert "My own answer." in text
    assert resent.status_code == 302
    with scope(organization=org):
        assert list(ticket.messages.filter(kind="reply").values_list("body", flat=True)) == [
            "Bo answered first.", "My own answer."]


def test_notes_are_never_held_back_and_never_mailed(org, agent, other_agent, client_for):
    ticket = open_ticket(org, agent.user)
    with scope(organization=org):
        services.add_note(org, other_agent.user, ticket, body="Checked the logs.")

    response = client_for(agent).post(f"/tickets/{ticket.number}/reply/", {
        "kind": "note", "body": "Me too.", "seen_message": 0})

    assert response.status_code == 302
    with scope(organization=org):
        assert ticket.messages.filter(kind="note").count() == 2
        assert ticket.messages.filter(kind="reply").count() == 0


def test_an_agent_sees_who_else_is_writing_a_reply(org, agent, other_agent, client_for):
    ticket = open_ticket(org, agent.user)
    client_for(other_agent).get(f"/tickets/{ticket.number}/presence/?replying=1&seen=0")

    presence = client_for(agent).get(f"/tickets/{ticket.number}/presence/?seen=0")

    assert "Bo Backup is writing a reply." in presence.content.decode()
    assert "New messages have arrived." in presence.content.decode()


def test_canned_replies_fill_merge_fields_from_the_ticket(org, agent, customer, client_for):
    ticket = open_ticket(org, agent.user, contact=customer.pk)
    with scope(organization=org):
        canned = CannedReply.objects.create(
            organization=org, name="Thanks",
            body='Hello {{ contact.first_name|default:"there" }}, about #{{ ticket.number }}: '
                 '{{ contact.missing }}done.')

    page = client_for(agent).get(f"/tickets/{ticket.number}/?canned={canned.pk}")

    assert page.context["reply_form"].initial["body"] == (
        f"Hello Claire, about #{ticket.number}: done.")


def test_bulk_changes_from_the_list(org, agent, client_for):
    first = open_ticket(org, agent.user)
    second = open_ticket(org, agent.user, subject="Second")

    response = client_for(agent).post("/tickets/bulk/", {
        "ids": [first.pk, second.pk], "action": "assign", "value_assign": agent.user_id})

    assert response.status_code == 302
    with scope(organization=org):
        assert set(Ticket.objects.values_list("assignee", flat=True)) == {agent.user_id}


def test_the_csv_export_follows_the_filters_and_neutralises_formulas(org, admin, agent,
                                                                     client_for):
    open_ticket(org, agent.user, subject="=HYPERLINK(1)")
    open_ticket(org, agent.user, subject="Other", priority="urgent")

    response = client_for(admin).get("/tickets/export.csv?view=all&priority=normal")
    refused = client_for(agent).get("/tickets/export.csv")

    assert refused.status_code == 403

    text = b"".join(response.streaming_content if response.streaming else
                    [response.content]).decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0].startswith("number,subject,status")
    assert len(lines) == 2
    assert "'=HYPERLINK(1)" in lines[1]


def test_uploading_an_eml_opens_a_ticket_and_a_second_upload_says_it_is_known(
    org, agent, client_for
):
    raw = (MAIL / "cases" / "mail-windows-1252-quoted-printable" / "inbound.eml").read_bytes()
    client = client_for(agent)

    first = client.post("/tickets/upload/", {"file": SimpleUploadedFile("m.eml", raw)})
    again = client.post("/tickets/upload/", {"file": SimpleUploadedFile("m.eml", raw)})

    assert first.status_code == 302
    assert again.status_code == 422
    assert "This e-mail is already on a ticket." in again.content.decode()
    with scope(organization=org):
        assert TicketMessage.objects.count() == 1


def test_another_organisations_ticket_page_is_404(org, other_org, agent, make_member,
                                                  client_for):
    ticket = open_ticket(org, agent.user)
    stranger = client_for(make_member(other_org, Role.ADMIN))

    assert stranger.get(f"/tickets/{ticket.number}/").status_code == 404
    assert stranger.post(f"/tickets/{ticket.number}/reply/", {
        "kind": "note", "body": "x"}).status_code == 404


def test_read_only_members_read_the_thread_but_get_no_composer(org, agent, make_member,
                                                              client_for):
    ticket = open_ticket(org, agent.user)
    reader = client_for(make_member(org, Role.READ_ONLY))

    page = reader.get(f"/tickets/{ticket.number}/")

    assert page.status_code == 200
    assert "It jams." in page.content.decode()
    assert f'action="/tickets/{ticket.number}/reply/"' not in page.content.decode()
    assert reader.post(f"/tickets/{ticket.number}/reply/", {
        "kind": "note", "body": "x"}).status_code == 403


def test_queue_settings_add_and_edit_with_a_stale_version_refused(org, admin, client_for):
    client = client_for(admin)

    added = client.post("/settings/queues/", {"name": "Support",
                                              "email_address": "help@acme.example",
                                              "is_active": "on"})
    with scope(organization=org):
        queue = queues.Queue.objects.get()
    saved = client.post(f"/settings/queues/{queue.pk}/", {
        "version": 1, "name": "Help desk", "email_address": "help@acme.example",
        "is_active": "on", "is_default": "on"})
    stale = client.post(f"/settings/queues/{queue.pk}/", {
        "version": 1, "name": "Again", "email_address": "", "is_active": "on"})

    assert added.status_code == 302
    assert saved.status_code == 302
    assert stale.status_code == 409
    with scope(organization=org):
        queue.refresh_from_db()
        assert queue.name == "Help desk"


def test_the_customers_page_lists_their_tickets_and_the_timeline_says_so(
    org, agent, customer, client_for
):
    ticket = open_ticket(org, agent.user, contact=customer.pk)

    page = client_for(agent).get(customer.get_absolute_url())

    text = page.content.decode()
    assert f'href="/tickets/{ticket.number}/"' in text
    assert f"Ticket #{ticket.number} opened: Printer jams" in text
    assert f'href="/tickets/new/?contact={customer.pk}"' in text


def test_the_search_box_finds_tickets_by_number_words_and_customer(
    org, agent, customer, client_for
):
    ticket = open_ticket(org, agent.user, contact=customer.pk, body="The tray squeaks.")
    client = client_for(agent)

    for query in ("squeaks", "dumont", "printer"):
        response = client.get("/search", {"q": query})
        assert f"#{ticket.number} Printer jams" in response.content.decode(), query


def test_canned_replies_are_kept_under_settings_and_unsafe_tags_refused(
    org, admin, agent, client_for
):
    client = client_for(admin)

    unsafe = client.post("/settings/canned-replies/", {
        "name": "Sneaky", "body": "{% debug %}", "is_active": "on"})
    broken = client.post("/settings/canned-replies/", {
        "name": "Broken", "body": "Hello {{ contact.first_name|nosuchfilter }}",
        "is_active": "on"})
    added = client.post("/settings/canned-replies/", {
        "name": "Thanks", "body": "Thanks {{ contact.first_name }}!", "is_active": "on"})
    agent_try = client_for(agent).post("/settings/canned-replies/", {
        "name": "Mine", "body": "Hi", "is_active": "on"})

    assert unsafe.status_code == 422
    assert "The tag {% debug %} cannot be used here" in unsafe.content.decode()
    assert broken.status_code == 422
    assert "merge-field mistake" in broken.content.decode()
    assert added.status_code == 302
    assert agent_try.status_code == 403
    with scope(organization=org):
        assert list(CannedReply.objects.values_list("name", flat=True)) == ["Thanks"]


def test_ticket_custom_fields_are_set_on_opening_and_edited_on_the_page(
    org, admin, agent, client_for, api_client_for
):
    with scope(organization=org):
        customers.create_custom_field(org, admin.user, data={
            "entity": "ticket", "label": "Order number", "field_type": "text"})
        customers.create_custom_field(org, admin.user, data={
            "entity": "ticket", "label": "Under warranty", "field_type": "boolean"})
    client = client_for(agent)

    created = client.post("/tickets/new/", {
        "subject": "Broken", "channel": "phone", "priority": "normal",
        "cf_order_number": "A-1001", "cf_under_warranty": "true"})
    with scope(organization=org):
        ticket = Ticket.objects.get()
    page = client.get(f"/tickets/{ticket.number}/")
    saved = client.post(f"/tickets/{ticket.number}/save/", {
        "version": ticket.version, "status": "open", "priority": "normal",
        "cf_order_number": "A-1002", "cf_under_warranty": ""})

    assert created.status_code == 302
    assert 'value="A-1001"' in page.content.decode()
    assert saved.status_code == 302
    api = api_client_for(agent).get(f"/api/v1/tickets/{ticket.pk}").json()
    assert api["custom_fields"] == {"order_number": "A-1002"}


def test_files_attached_to_a_reply_are_kept_and_mailed_with_it(
    org, agent, customer, client_for
):
    from accord.service.tasks import reply_mail

    ticket = open_ticket(org, agent.user, contact=customer.pk)
    client = client_for(agent)

    response = client.post(f"/tickets/{ticket.number}/reply/", {
        "kind": "reply", "body": "The manual is attached.", "seen_message": 999999,
        "attachments": [SimpleUploadedFile("manual.pdf", b"%PDF-1.4 tiny",
                                           content_type="application/pdf")]})
    too_many = client.post(f"/tickets/{ticket.number}/reply/", {
        "kind": "note", "body": "x", "seen_message": 999999,
        "attachments": [SimpleUploadedFile(f"f{n}.txt", b"x") for n in range(11)]})

    assert response.status_code == 302
    assert too_many.status_code == 422
    with scope(organization=org):
        reply = ticket.messages.get(kind="reply")
        [attachment] = reply.attachments.all()
        mail = reply_mail(reply).message()
    assert (attachment.filename, attachment.size) == ("manual.pdf", 13)
    download = client.get(f"/tickets/{ticket.number}/attachments/{attachment.pk}/")
    assert b"".join(download.streaming_content) == b"%PDF-1.4 tiny"
    assert download["Content-Disposition"].startswith("attachment")
    parsed = email.message_from_bytes(mail.as_bytes(), policy=policy.default)
    assert [(part.get_filename(), part.get_content()) for part in parsed.iter_attachments()] \
        == [("manual.pdf", b"%PDF-1.4 tiny")]


def test_the_ticket_page_suggests_public_articles_to_link_in_the_reply(
    org, admin, agent, client_for
):
    from accord.service import knowledge

    with scope(organization=org):
        article = knowledge.create_article(org, admin.user, data={
            "title": "Clearing a printer jam", "body": "<p>Open the tray.</p>",
            "visibility": "public"})
        knowledge.publish_article(org, admin.user, article)
    ticket = open_ticket(org, agent.user, subject="Printer jams again")

    page = client_for(agent).get(f"/tickets/{ticket.number}/")

    text = page.content.decode()
    assert "Suggested articles" in text
    assert "Clearing a printer jam" in text
    assert f"/portal/{org.slug}/" in text
