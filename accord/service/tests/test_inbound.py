"""Support mail becoming tickets: the shared cases, duplicates, robots, the listener."""

import smtplib
from pathlib import Path

import pytest
from django_scopes import scope

from accord.customers.models import Contact
from accord.service import inbound, queues, services
from accord.service.mail.listener import MailListener
from accord.service.models import Ticket, TicketMessage, TicketSequence, TicketStatus
from accord.service.tasks import reply_mail

MAIL = Path(__file__).resolve().parents[2] / "testdata" / "mail"
THREAD_CASE = MAIL / "cases" / "mail-thread-by-references"
CP1252_CASE = MAIL / "cases" / "mail-windows-1252-quoted-printable"


@pytest.fixture
def queue(org, admin):
    with scope(organization=org):
        return queues.create_queue(org, admin.user, data={
            "name": "Support", "email_address": "support@accord.example"})


def deliver(raw: bytes, to: str = "support@accord.example"):
    return inbound.deliver(raw, [to])


def mail(message_id: str, subject: str, body: str, *, sender="pieter@dewit-bouw.example",
         extra: str = "") -> bytes:
    return (f"From: Pieter de Wit <{sender}>\r\nTo: support@accord.example\r\n"
            f"Subject: {subject}\r\nMessage-ID: <{message_id}>\r\n{extra}"
            f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            f"{body}\r\n").encode()


def test_windows_1252_mail_opens_one_ticket_with_exact_text_and_keeps_the_original(
    org, admin, queue, client_for
):
    raw = (CP1252_CASE / "inbound.eml").read_bytes()

    [result] = deliver(raw)

    assert result.outcome == "created"
    with scope(organization=org):
        ticket = Ticket.objects.get()
        message = ticket.messages.get()
        assert ticket.subject == "Devis à mettre à jour – urgent"
        assert ticket.contact.email == "claire.dumont@client.example"
        assert ticket.queue == queue
        assert ticket.channel == "email"
    assert ("Merci de m’envoyer le devis mis à jour avant vendredi – "
            "c’est urgent. Montant prévu : 1\u00a0250 € HT.") in message.body.splitlines()
    assert 'class="MsoNormal"' not in message.body_html
    client = client_for(admin)
    original = client.get(f"/tickets/{ticket.number}/messages/{message.pk}/original.eml")
    assert b"".join(original.streaming_content) == raw
    for query in ("urgent", "m’envoyer"):
        found = client.get("/api/v1/tickets", {"q": query}).json()["items"]
        assert [item["number"] for item in found] == [ticket.number], query


def test_follow_ups_join_the_ticket_by_references_whatever_the_subject(org, admin, queue):
    with scope(organization=org):
        TicketSequence.objects.create(organization=org, last_number=1041)
    deliver(mail("CAF1x9@mail.dewit-bouw.example", "Question about invoice 2025-0117",
                 "Where is the credit note?"))
    with scope(organization=org):
        ticket = Ticket.objects.get()
        assert ticket.number == 1042
        # The reply Accord sent for #1042, as the case describes it.
        TicketMessage.objects.create(
            organization=org, ticket=ticket, kind="reply", author=admin.user,
            body="the credit note will be issued this week.",
            message_id="ticket-1042-article-2@accord.example")

    second = deliver((THREAD_CASE / "02_customer_reply.eml").read_bytes())
    third = deliver((THREAD_CASE / "03_customer_followup_no_ticket_number.eml").read_bytes())

    assert [r.outcome for r in second + third] == ["threaded", "threaded"]
    with scope(organization=org):
        assert Ticket.objects.count() == 1
        thread = list(ticket.messages.values_list("kind", "message_id"))
        assert thread == [
            ("inbound", "CAF1x9@mail.dewit-bouw.example"),
            ("reply", "ticket-1042-article-2@accord.example"),
            ("inbound", "CAF2y7@mail.dewit-bouw.example"),
            ("inbound", "CAF3z5@mail.dewit-bouw.example"),
        ]
        assert Contact.objects.count() == 1


def test_a_new_subject_without_matching_headers_opens_a_new_ticket(org, queue):
    deliver(mail("one@x.example", "Printer jams", "It jams."))

    deliver(mail("two@x.example", "Invoice is wrong", "Wrong amount."))

    with scope(organization=org):
        assert sorted(Ticket.objects.values_list("subject", flat=True)) == [
            "Invoice is wrong", "Printer jams"]
        assert Contact.objects.count() == 1


def test_a_ticket_number_in_the_subject_threads_only_for_people_in_the_conversation(
    org, queue
):
    deliver(mail("one@x.example", "Printer jams", "It jams."))
    with scope(organization=org):
        number = Ticket.objects.get().number

    deliver(mail("two@x.example", f"Re: Printer jams [#{number}]", "Still jams."))
    deliver(mail("three@x.example", f"Re: anything [#{number}]", "Let me in.",
                 sender="stranger@elsewhere.example"))

    with scope(organization=org):
        first = Ticket.objects.get(number=number)
        assert first.messages.count() == 2
        assert Ticket.objects.count() == 2


def test_the_same_mail_delivered_twice_is_stored_once(org, queue):
    raw = mail("same@x.example", "Printer jams", "It jams.")

    first = deliver(raw)
    again = deliver(raw)

    assert [r.outcome for r in first + again] == ["created", "duplicate"]
    with scope(organization=org):
        assert TicketMessage.objects.count() == 1


def test_bounces_and_auto_replies_never_open_tickets(org, queue):
    bounce = (MAIL / "flanker" / "bounce" / "mailbox-full.eml").read_bytes()
    auto_reply = mail("ooo@x.example", "Out of office", "Back on Monday.",
                      extra="Auto-Submitted: auto-replied\r\n")

    results = deliver(bounce) + deliver(auto_reply)

    assert [r.outcome for r in results] == ["ignored", "ignored"]
    with scope(organization=org):
        assert Ticket.objects.count() == 0


def test_an_auto_reply_to_a_ticket_joins_it_without_reopening(org, admin, queue):
    deliver(mail("one@x.example", "Printer jams", "It jams."))
    with scope(organization=org):
        ticket = Ticket.objects.get()
        services.update_ticket(org, admin.user, ticket, data={"status": "solved"})

    deliver(mail("ooo@x.example", "Automatic reply: Printer jams", "Back on Monday.",
                 extra="In-Reply-To: <one@x.example>\r\nAuto-Submitted: auto-replied\r\n"))
    deliver(mail("two@x.example", "Re: Printer jams", "It jams again.",
                 extra="In-Reply-To: <one@x.example>\r\n"))

    with scope(organization=org):
        ticket.refresh_from_db()
        kinds = list(ticket.messages.values_list("mail_kind", flat=True))
        assert kinds == ["message", "auto_reply", "message"]
        assert ticket.status == TicketStatus.OPEN
        assert list(ticket.status_changes.values_list("to_status", flat=True)) == [
            "new", "solved", "open"]


def test_mail_to_an_unknown_address_is_refused_by_the_listener_and_known_mail_stored(
    transactional_db, org, queue
):
    listener = MailListener("127.0.0.1", 0, inbound.accepts_recipient, inbound.deliver)
    listener.start()
    try:
        with smtplib.SMTP("127.0.0.1", listener.port, timeout=10) as smtp:
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                smtp.sendmail("pieter@dewit-bouw.example", ["nobody@accord.example"],
                              mail("x@x.example", "Hello", "Hi"))
            smtp.sendmail("pieter@dewit-bouw.example", ["Support@Accord.example"],
                          mail("y@x.example", "Printer jams", "It jams."))
            # No From header: the envelope sender is the customer.
            smtp.sendmail("Kim@Dewit-Bouw.example", ["support@accord.example"],
                          b"To: support@accord.example\r\nSubject: Scanner\r\n"
                          b"Message-ID: <nofrom1@x.example>\r\n\r\nIt scans nothing.\r\n")
            # No From and a null sender (an automated notice), and mail from the
            # queue's own address (a loop): neither opens a ticket.
            smtp.sendmail("", ["support@accord.example"],
                          b"To: support@accord.example\r\nSubject: Notice\r\n"
                          b"Message-ID: <nofrom2@x.example>\r\n\r\nDelivered.\r\n")
            smtp.sendmail("support@accord.example", ["support@accord.example"],
                          mail("loop1@x.example", "Re: Printer jams", "Looping.",
                               sender="support@accord.example"))
    finally:
        listener.stop()

    with scope(organization=org):
        assert list(Ticket.objects.order_by("number").values_list("subject", flat=True)) == [
            "Printer jams", "Scanner"]
        assert Ticket.objects.get(subject="Scanner").contact.email == "kim@dewit-bouw.example"


def test_a_reply_carries_threading_headers_and_the_queue_address(org, admin, queue):
    deliver(mail("CAF1x9@mail.dewit-bouw.example", "Invoice", "Where is it?"))
    deliver(mail("CAF2y7@mail.dewit-bouw.example", "Re: Invoice", "Any news?",
                 extra="In-Reply-To: <CAF1x9@mail.dewit-bouw.example>\r\n"))
    with scope(organization=org):
        ticket = Ticket.objects.get()
        reply = services.add_reply(org, admin.user, ticket, body="It is on its way.")

        message = reply_mail(reply).message()

    assert message["From"] == "support@accord.example"
    assert message["To"] == "pieter@dewit-bouw.example"
    assert message["Subject"] == f"Re: Invoice [#{ticket.number}]"
    assert message["In-Reply-To"] == "<CAF2y7@mail.dewit-bouw.example>"
    assert message["References"].split() == ["<CAF1x9@mail.dewit-bouw.example>",
                                             "<CAF2y7@mail.dewit-bouw.example>"]
    assert message["Message-ID"] == f"<{reply.message_id}>"
    assert reply.message_id.endswith("@accord.example")


def test_mail_to_a_sales_address_becomes_a_lead_and_follow_ups_notes_on_it(org, admin):
    from accord.sales import assignment
    from accord.sales.models import Lead, LeadActivity

    with scope(organization=org):
        queues.create_queue(org, admin.user, data={
            "name": "Sales", "email_address": "sales@accord.example", "purpose": "leads"})
        assignment.create_rule(org, admin.user, data={"name": "All", "owner": admin.user_id})
    first = mail("lead1@x.example", "Quote for 40 laptops", "Can you send a price?",
                 sender="buyer@bigco.example")

    results = (deliver(first, "sales@accord.example") + deliver(first, "sales@accord.example")
               + deliver(mail("lead2@x.example", "Re: quote", "Also 10 docks.",
                              sender="buyer@bigco.example"), "sales@accord.example")
               + deliver(mail("ooo@x.example", "Out of office", "Away.",
                              extra="Auto-Submitted: auto-replied\r\n"),
                         "sales@accord.example"))

    assert [r.outcome for r in results] == ["created", "duplicate", "threaded", "ignored"]
    with scope(organization=org):
        lead = Lead.objects.get()
        assert (lead.email, lead.first_name, lead.last_name) == ("buyer@bigco.example",
                                                                 "Pieter", "de Wit")
        assert lead.owner == admin.user
        assert "Quote for 40 laptops" in lead.description
        notes = list(LeadActivity.objects.filter(lead=lead, kind="note")
                     .values_list("body", flat=True))
        assert notes == ["E-mail: Re: quote\n\nAlso 10 docks."]
        assert Ticket.objects.count() == 0
