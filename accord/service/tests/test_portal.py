"""The customer portal through its pages: sign-in links by real mail, isolation between
contacts, company sharing, notes kept internal, public articles, throttling and CSRF."""

import datetime as dt
import re
import time

import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone
from django_scopes import scope

from accord.customers import services as customers
from accord.identity.models import Role
from accord.service import knowledge, portal, services
from accord.service.models import (
    Channel,
    MessageKind,
    PortalSignInRequest,
    Ticket,
    TicketMessage,
    TicketStatus,
)
from accord.service.tasks import forget_portal_sign_in_requests

LINK = re.compile(r"http://testserver(/portal/[^\s]+/sign-in/[^\s]+/)")


@pytest.fixture
def agent(org, make_member):
    return make_member(org, Role.SUPPORT, full_name="Ada Agent")


@pytest.fixture
def people(org, admin):
    """Two contacts of one company and one of another, with a ticket each."""
    with scope(organization=org):
        portal.update_settings(org, admin.user, data={"is_enabled": True})
        acme = customers.create_company(org, admin.user, data={"name": "Acme"})
        other = customers.create_company(org, admin.user, data={"name": "Globex"})
        anna = customers.create_contact(org, admin.user, data={
            "first_name": "Anna", "last_name": "Berg", "email": "anna@acme.example",
            "company": acme.pk})
        bruno = customers.create_contact(org, admin.user, data={
            "first_name": "Bruno", "last_name": "Costa", "email": "bruno@acme.example",
            "company": acme.pk})
        carla = customers.create_contact(org, admin.user, data={
            "first_name": "Carla", "last_name": "Diaz", "email": "carla@globex.example",
            "company": other.pk})
        tickets = {
            name: services.create_ticket(org, admin.user, data={
                "subject": f"{name} needs help", "contact": contact.pk},
                body=f"Message from {name}.")
            for name, contact in [("anna", anna), ("bruno", bruno), ("carla", carla)]}
    return {"anna": anna, "bruno": bruno, "carla": carla, "tickets": tickets}


def ask_link(client, org, address, capture):
    with capture(execute=True):
        return client.post(f"/portal/{org.slug}/", {"email": address})


def signed_in(org, address, smtp_inbox, capture) -> Client:
    """A browser signed in to the portal through the mailed link."""
    client = Client()
    ask_link(client, org, address, capture)
    _recipients, message = smtp_inbox.messages[-1]
    path = LINK.search(message.get_body(("plain",)).get_content()).group(1)
    response = client.post(path)
    assert response.status_code == 302, response.content
    return client


def without_token(response, address: str) -> str:
    """The page with the typed address and the per-response CSRF token blanked out."""
    page = response.content.decode().replace(address, "")
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)


def share_company_tickets(org, admin, on: bool):
    with scope(organization=org):
        portal.update_settings(org, admin.user, data={"share_company_tickets": on})


def test_mailed_link_signs_the_contact_in_to_their_own_tickets(
    org, people, smtp_inbox, django_capture_on_commit_callbacks
):
    client = Client()

    response = ask_link(client, org, "Anna@ACME.example", django_capture_on_commit_callbacks)

    assert response.status_code == 200
    assert "a sign-in link is on its way" in response.content.decode()
    recipients, subject, body = smtp_inbox.only()
    assert recipients == ["Anna@ACME.example"]
    assert subject == "Sign in to Northwind"
    assert "The link works once, for 30 minutes." in body
    path = LINK.search(body).group(1)
    page = client.get(path)
    assert page.status_code == 200
    assert 'method="post"' in page.content.decode()
    signed = client.post(path)
    assert signed.status_code == 302
    assert signed["Location"] == f"/portal/{org.slug}/tickets/"
    listing = client.get(signed["Location"]).content.decode()
    assert "anna needs help" in listing
    assert "bruno needs help" not in listing
    assert "carla needs help" not in listing


def test_unknown_address_gets_the_same_answer_and_no_mail(
    org, people, smtp_inbox, django_capture_on_commit_callbacks
):
    known = ask_link(Client(), org, "anna@acme.example", django_capture_on_commit_callbacks)
    unknown = ask_link(Client(), org, "nobody@acme.example", django_capture_on_commit_callbacks)

    assert unknown.status_code == known.status_code == 200
    assert unknown.content == known.content
    assert [recipients for recipients, _message in smtp_inbox.messages] == [
        ["anna@acme.example"]]
    with scope(organization=org):
        assert PortalSignInRequest.objects.filter(token_hash="").count() == 1


def test_link_works_once(org, people, smtp_inbox, django_capture_on_commit_callbacks):
    client = Client()
    ask_link(client, org, "anna@acme.example", django_capture_on_commit_callbacks)
    path = LINK.search(smtp_inbox.only()[2]).group(1)
    client.post(path)

    again = Client().post(path)

    assert again.status_code == 404
    assert "This sign-in link is not valid any more." in again.content.decode()


def test_link_stops_working_after_30_minutes(
    org, people, smtp_inbox, django_capture_on_commit_callbacks
):
    client = Client()
    ask_link(client, org, "anna@acme.example", django_capture_on_commit_callbacks)
    path = LINK.search(smtp_inbox.only()[2]).group(1)
    with scope(organization=org):
        PortalSignInRequest.objects.update(
            expires_at=timezone.now() - dt.timedelta(seconds=1))

    response = client.post(path)

    assert response.status_code == 404
    assert client.get(f"/portal/{org.slug}/tickets/").status_code == 302


def test_expired_requests_are_forgotten_by_the_scheduled_task(
    org, people, smtp_inbox, django_capture_on_commit_callbacks
):
    for address in ("anna@acme.example", "nobody@acme.example", "bruno@acme.example"):
        ask_link(Client(), org, address, django_capture_on_commit_callbacks)
    with scope(organization=org):
        old = list(PortalSignInRequest.objects.order_by("id")[:2])
        PortalSignInRequest.objects.filter(pk__in=[entry.pk for entry in old]).update(
            created_at=timezone.now() - dt.timedelta(hours=1),
            expires_at=timezone.now() - dt.timedelta(minutes=30))

    assert forget_portal_sign_in_requests() == 2
    assert forget_portal_sign_in_requests() == 0
    with scope(organization=org):
        assert PortalSignInRequest.objects.count() == 1
    path = LINK.search(smtp_inbox.messages[-1][1].get_body(("plain",)).get_content()).group(1)
    assert Client().post(path).status_code == 302


def test_link_signed_more_than_30_minutes_ago_is_refused_before_any_lookup(
    org, people, smtp_inbox, django_capture_on_commit_callbacks, monkeypatch
):
    old = signing.b62_encode(int(time.time()) - 31 * 60)
    monkeypatch.setattr(portal._signer, "timestamp", lambda: old)
    client = Client()
    ask_link(client, org, "anna@acme.example", django_capture_on_commit_callbacks)
    path = LINK.search(smtp_inbox.only()[2]).group(1)

    response = client.post(path)

    assert response.status_code == 404
    with scope(organization=org):
        assert PortalSignInRequest.objects.get().used_at is None


def test_forged_or_foreign_links_are_refused(
    org, other_org, admin, people, smtp_inbox, django_capture_on_commit_callbacks
):
    with scope(organization=other_org):
        portal.update_settings(other_org, None, data={"is_enabled": True})
    client = Client()
    ask_link(client, org, "anna@acme.example", django_capture_on_commit_callbacks)
    path = LINK.search(smtp_inbox.only()[2]).group(1)
    token = path.rstrip("/").rsplit("/", 1)[1]

    foreign = client.post(f"/portal/{other_org.slug}/sign-in/{token}/")
    forged = client.post(f"/portal/{org.slug}/sign-in/{token[:-2]}xx/")

    assert foreign.status_code == 404
    assert forged.status_code == 404
    assert client.post(path).status_code == 302


def test_portal_session_is_not_an_agent_sign_in(
    org, people, smtp_inbox, django_capture_on_commit_callbacks
):
    client = signed_in(org, "anna@acme.example", smtp_inbox, django_capture_on_commit_callbacks)

    assert "_auth_user_id" not in client.session
    assert client.session[portal.SESSION_CONTACT_KEY] == people["anna"].pk
    assert client.get("/tickets/").status_code == 302
    assert client.get("/api/v1/tickets").status_code == 401


def test_contact_cannot_read_or_answer_another_contacts_ticket(
    org, people, smtp_inbox, django_capture_on_commit_callbacks
):
    client = signed_in(org, "anna@acme.example", smtp_inbox, django_capture_on_commit_callbacks)
    theirs = people["tickets"]["carla"]

    read = client.get(f"/portal/{org.slug}/tickets/{theirs.number}/")
    answer = client.post(f"/portal/{org.slug}/tickets/{theirs.number}/", {"body": "Hi!"})

    assert read.status_code == 404
    assert answer.status_code == 404
    with scope(organization=org):
        assert TicketMessage.objects.filter(ticket=theirs).count() == 1


def test_colleagues_tickets_are_hidden_unless_the_organisation_shares_them(
    org, admin, people, smtp_inbox, django_capture_on_commit_callbacks
):
    client = signed_in(org, "anna@acme.example", smtp_inbox, django_capture_on_commit_callbacks)
    colleague = people["tickets"]["bruno"]
    url = f"/portal/{org.slug}/tickets/{colleague.number}/"
    assert client.get(url).status_code == 404

    share_company_tickets(org, admin, True)

    listing = client.get(f"/portal/{org.slug}/tickets/").content.decode()
    assert "bruno needs help" in listing
    assert "carla needs help" not in listing
    assert client.get(url).status_code == 200
    assert client.post(url, {"body": "Same here."}).status_code == 302
    with scope(organization=org):
        added = TicketMessage.objects.filter(ticket=colleague).latest("id")
        assert (added.kind, added.contact_id, added.body) == (
            MessageKind.INBOUND, people["anna"].pk, "Same here.")

    share_company_tickets(org, admin, False)

    assert client.get(url).status_code == 404
    assert "bruno needs help" not in client.get(f"/portal/{org.slug}/tickets/").content.decode()


def test_thread_shows_replies_but_never_internal_notes(
    org, agent, people, smtp_inbox, django_capture_on_commit_callbacks
):
    ticket = people["tickets"]["anna"]
    with scope(organization=org):
        services.add_note(org, agent.user, ticket, body="Customer is on the old plan.")
        services.add_reply(org, agent.user, ticket, body="We are looking into it.")
    client = signed_in(org, "anna@acme.example", smtp_inbox, django_capture_on_commit_callbacks)

    page = client.get(f"/portal/{org.slug}/tickets/{ticket.number}/").content.decode()

    assert "Message from anna." in page
    assert "We are looking into it." in page
    assert "old plan" not in page


def test_reply_from_the_portal_joins_the_thread_and_reopens_a_solved_ticket(
    org, agent, people, smtp_inbox, django_capture_on_commit_callbacks
):
    ticket = people["tickets"]["anna"]
    with scope(organization=org):
        services.change_status(org, agent.user, ticket, TicketStatus.SOLVED)
    client = signed_in(org, "anna@acme.example", smtp_inbox, django_capture_on_commit_callbacks)

    response = client.post(f"/portal/{org.slug}/tickets/{ticket.number}/",
                           {"body": "<b>Still</b> broken."})

    assert response.status_code == 302
    with scope(organization=org):
        ticket.refresh_from_db()
        assert ticket.status == TicketStatus.OPEN
        message = ticket.messages.latest("id")
        assert (message.kind, message.contact_id, message.from_address, message.body) == (
            MessageKind.INBOUND, people["anna"].pk, "anna@acme.example", "<b>Still</b> broken.")
    page = client.get(response["Location"]).content.decode()
    assert "&lt;b&gt;Still&lt;/b&gt; broken." in page


def test_empty_reply_is_refused_next_to_the_field(
    org, people, smtp_inbox, django_capture_on_commit_callbacks
):
    client = signed_in(org, "anna@acme.example", smtp_inbox, django_capture_on_commit_callbacks)
    ticket = people["tickets"]["anna"]

    response = client.post(f"/portal/{org.slug}/tickets/{ticket.number}/", {"body": "  "})

    assert response.status_code == 422
    assert "This field is required." in response.content.decode()


def test_contact_opens_a_ticket_from_the_portal(
    org, people, smtp_inbox, django_capture_on_commit_callbacks
):
    client = signed_in(org, "bruno@acme.example", smtp_inbox, django_capture_on_commit_callbacks)

    response = client.post(f"/portal/{org.slug}/tickets/new/", {
        "subject": "Invoice missing", "body": "I did not get the March invoice."})

    assert response.status_code == 302
    with scope(organization=org):
        ticket = Ticket.objects.get(subject="Invoice missing")
        assert (ticket.channel, ticket.contact_id, ticket.company_id) == (
            Channel.PORTAL, people["bruno"].pk, people["bruno"].company_id)
        assert [m.body for m in ticket.messages.all()] == ["I did not get the March invoice."]
    assert response["Location"] == f"/portal/{org.slug}/tickets/{ticket.number}/"


def test_signing_out_ends_the_portal_session(
    org, people, smtp_inbox, django_capture_on_commit_callbacks
):
    client = signed_in(org, "anna@acme.example", smtp_inbox, django_capture_on_commit_callbacks)

    client.post(f"/portal/{org.slug}/sign-out/")

    assert client.get(f"/portal/{org.slug}/tickets/").status_code == 302


def test_only_public_published_articles_are_readable_and_found(org, agent, people):
    with scope(organization=org):
        def write(title, **data):
            return knowledge.create_article(org, agent.user, data={"title": title, **data})

        public = write("Changer la facturation", body="<p>Étapes</p>", visibility="public",
                       status="published")
        internal = write("Facturation interne", visibility="internal", status="published")
        draft = write("Facturation brouillon", visibility="public")
    client = Client()

    found = client.get(f"/portal/{org.slug}/articles/", {"q": "factur"}).content.decode()
    by_accent = client.get(f"/portal/{org.slug}/articles/", {"q": "etapes"}).content.decode()

    assert "Changer la facturation" in found
    assert "interne" not in found
    assert "brouillon" not in found
    assert "Changer la facturation" in by_accent
    assert client.get(f"/portal/{org.slug}/articles/{public.pk}/").status_code == 200
    assert client.get(f"/portal/{org.slug}/articles/{internal.pk}/").status_code == 404
    assert client.get(f"/portal/{org.slug}/articles/{draft.pk}/").status_code == 404


def test_requests_are_throttled_alike_for_known_and_unknown_addresses(
    org, people, smtp_inbox, django_capture_on_commit_callbacks
):
    client = Client()
    for _attempt in range(portal.MAX_PER_ADDRESS):
        ask_link(client, org, "anna@acme.example", django_capture_on_commit_callbacks)
        ask_link(client, org, "ghost@acme.example", django_capture_on_commit_callbacks)

    known = ask_link(client, org, "anna@acme.example", django_capture_on_commit_callbacks)
    unknown = ask_link(client, org, "ghost@acme.example", django_capture_on_commit_callbacks)

    assert known.status_code == unknown.status_code == 429
    assert "Too many sign-in links were asked for." in known.content.decode()
    assert without_token(known, "anna@acme.example") == without_token(unknown,
                                                                     "ghost@acme.example")
    assert len(smtp_inbox.messages) == portal.MAX_PER_ADDRESS


def test_requests_from_one_ip_are_throttled_across_addresses(
    org, people, smtp_inbox, django_capture_on_commit_callbacks
):
    client = Client(REMOTE_ADDR="203.0.113.9")
    for number in range(portal.MAX_PER_IP):
        ask_link(client, org, f"guess{number}@acme.example", django_capture_on_commit_callbacks)

    response = ask_link(client, org, "anna@acme.example", django_capture_on_commit_callbacks)
    elsewhere = ask_link(Client(REMOTE_ADDR="198.51.100.4"), org, "anna@acme.example",
                         django_capture_on_commit_callbacks)

    assert response.status_code == 429
    assert elsewhere.status_code == 200
    assert [recipients for recipients, _message in smtp_inbox.messages] == [
        ["anna@acme.example"]]


def test_portal_forms_refuse_posts_without_the_csrf_token(
    org, people, smtp_inbox, django_capture_on_commit_callbacks
):
    strict = Client(enforce_csrf_checks=True)

    asked = strict.post(f"/portal/{org.slug}/", {"email": "anna@acme.example"})

    assert asked.status_code == 403
    assert smtp_inbox.messages == []
    client = signed_in(org, "anna@acme.example", smtp_inbox, django_capture_on_commit_callbacks)
    strict.cookies = client.cookies
    ticket = people["tickets"]["anna"]
    assert strict.post(f"/portal/{org.slug}/tickets/{ticket.number}/",
                       {"body": "forged"}).status_code == 403
    assert strict.post(f"/portal/{org.slug}/tickets/new/",
                       {"subject": "x", "body": "y"}).status_code == 403
    with scope(organization=org):
        assert not TicketMessage.objects.filter(body="forged").exists()


def test_switched_off_or_unknown_portal_answers_404(org, admin, people):
    with scope(organization=org):
        portal.update_settings(org, admin.user, data={"is_enabled": False})

    assert Client().get(f"/portal/{org.slug}/").status_code == 404
    assert Client().get("/portal/no-such-org/").status_code == 404


def test_admin_sets_up_the_portal_in_settings(org, admin, agent, client_for):
    client = client_for(admin)

    page = client.get("/settings/portal/")
    other_page = client.get("/settings/portal/")
    saved = client.post("/settings/portal/", {
        "is_enabled": "on", "share_company_tickets": "on", "version": "1"})
    # A second page opened before the first save does not undo it.
    late = client.post("/settings/portal/", {"version": "1"})

    assert 'name="version" value="1"' in page.content.decode()
    assert other_page.status_code == 200
    assert late.status_code == 409
    assert page.status_code == 200
    assert f"http://testserver/portal/{org.slug}/" in page.content.decode()
    assert "/settings/portal/" in client.get("/settings").content.decode()
    assert saved.status_code == 302
    with scope(organization=org):
        current = portal.settings_for(org)
        assert (current.is_enabled, current.share_company_tickets) == (True, True)
    assert Client().get(f"/portal/{org.slug}/").status_code == 200
    assert client_for(agent).get("/settings/portal/").status_code == 403


def test_a_long_ticket_list_pages_by_cursor(org, admin, people, smtp_inbox,
                                            django_capture_on_commit_callbacks):
    with scope(organization=org):
        for number in range(55):
            services.create_ticket(org, admin.user, data={
                "subject": f"Question {number}", "contact": people["anna"].pk},
                body="Hello.")
    client = signed_in(org, "anna@acme.example", smtp_inbox,
                       django_capture_on_commit_callbacks)

    first = client.get(f"/portal/{org.slug}/tickets/").content.decode()
    following = re.search(r'href="\?(cursor=[^"]+)" rel="next"', first).group(1)
    second = client.get(f"/portal/{org.slug}/tickets/?{following}").content.decode()
    forged = client.get(f"/portal/{org.slug}/tickets/?cursor=forged")

    numbers = re.findall(r"<td>#(\d+)</td>", first) + re.findall(r"<td>#(\d+)</td>", second)
    assert len(re.findall(r"<td>#(\d+)</td>", first)) == 50
    assert len(numbers) == len(set(numbers)) == 56  # 55 new ones and anna's first
    assert 'rel="next"' not in second
    assert forged.status_code == 200
