"""A ticket of a contact the member sees, at a company hidden from them, shows that
company as one they cannot see, without its name or a link, on its page, in the list and
its CSV; admins read the name."""

from types import SimpleNamespace

import pytest
from django_scopes import scope

from accord.customers import services as customers
from accord.identity import visibility
from accord.identity.models import Role
from accord.marketing import campaigns
from accord.service import services as service
from accord.service.models import CannedReply

HIDDEN = "Hiddencanary Holdings"


@pytest.fixture
def ines(org, admin, make_member):
    """Milan's contact Ines works for the outsider's company and has a ticket open; then
    sales members see only their own contacts and companies."""
    milan = make_member(org, Role.SALES, full_name="Milan Member")
    outsider = make_member(org, Role.SALES, full_name="Olga Outsider")
    with scope(organization=org):
        company = customers.create_company(org, outsider.user, data={"name": HIDDEN})
        contact = customers.create_contact(org, milan.user, data={
            "first_name": "Ines", "last_name": "Albrecht", "company": company.pk})
        ticket = service.create_ticket(org, milan.user, data={
            "subject": "Where is my parcel?", "contact": contact.pk})
        visibility.update_visibility(org, admin.user, roles={Role.SALES: {
            "contacts": "own", "companies": "own"}})
    return SimpleNamespace(milan=milan, admin=admin, company=company, ticket=ticket)


def pages(ines, client) -> dict[str, str]:
    urls = {"ticket": f"/tickets/{ines.ticket.number}/", "tickets": "/tickets/",
            "csv": "/tickets/export.csv"}
    answers = {name: client.get(url) for name, url in urls.items()}
    statuses = {name: answer.status_code for name, answer in answers.items()}
    assert statuses == dict.fromkeys(urls, 200)
    return {name: answer.content.decode() for name, answer in answers.items()}


def test_a_ticket_does_not_name_a_hidden_company(ines, client_for):
    seen = pages(ines, client_for(ines.milan))

    assert {name for name, text in seen.items() if HIDDEN in text} == set()
    assert f'href="/companies/{ines.company.pk}/"' not in seen["ticket"]
    assert {name for name, text in seen.items() if "A company you cannot see" in text} == {
        "ticket", "tickets", "csv"}
    assert "Ines Albrecht" in seen["ticket"]


def test_the_admin_still_reads_the_company_of_every_ticket(ines, client_for):
    seen = pages(ines, client_for(ines.admin))

    assert {name for name, text in seen.items() if HIDDEN not in text} == set()
    assert f'href="/companies/{ines.company.pk}/"' in seen["ticket"]


def test_merge_fields_leave_a_hidden_company_empty(ines, org, client_for, api_client_for):
    """A canned reply and an e-mail template's preview (page and API) fill
    `company` from what the reader sees."""
    body = "Dear {{ contact.first_name }} at <{{ company.name }}|{{ company.domain }}>"
    with scope(organization=org):
        canned = CannedReply.objects.create(organization=org, name="Hello", body=body)
        template = campaigns.create_template(org, ines.admin.user, data={
            "name": "Hello", "subject": "Hi", "html": f"<p>{body}</p>"})
        customers.update_company(org, ines.admin.user, ines.company,
                                 data={"domain": "hiddencanary.example"})
    contact_id = ines.ticket.contact_id

    def filled(member) -> list[str]:
        client, api = client_for(member), api_client_for(member)
        page = client.get(f"/tickets/{ines.ticket.number}/?canned={canned.pk}")
        preview = client.get(f"/templates/{template.pk}/preview.html?contact={contact_id}")
        in_api = api.get(f"/api/v1/templates/{template.pk}/preview",
                         {"contact_id": contact_id})
        assert (preview.status_code, in_api.status_code) == (200, 200)
        return [page.context["reply_form"].initial["body"], preview.content.decode(),
                in_api.json()["html"], in_api.json()["text"]]

    for text in filled(ines.milan):
        assert "Dear Ines at <|>" in text.replace("&lt;", "<").replace("&gt;", ">")
        assert "hiddencanary" not in text.lower()
    for text in filled(ines.admin):
        assert "Dear Ines at <Hiddencanary Holdings|hiddencanary.example>" in \
            text.replace("&lt;", "<").replace("&gt;", ">")
