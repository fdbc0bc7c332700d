"""A contact or company the member sees, linked to a company hidden from them, shows that
company as one they cannot see, without its name or a link: on the contact's page, the
contact list (page, fragment and CSV), the export job, the home page, the search page,
the company's page and the company list; the contact API names it nowhere. Admins read
the name."""

import csv
import io
import json
from types import SimpleNamespace

import pytest
from django_scopes import scope

from accord.customers import services as customers
from accord.identity import visibility
from accord.identity.models import Role
from accord.integrations.tasks import run_export

HIDDEN = "Hiddencanary Holdings"
UNSEEN = "A company you cannot see"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def ines(org, admin, make_member):
    """Milan's contact Ines works for the outsider's company, and Milan's company has it
    as its parent; then sales members see only their own contacts and companies."""
    milan = make_member(org, Role.SALES, full_name="Milan Member")
    outsider = make_member(org, Role.SALES, full_name="Olga Outsider")
    with scope(organization=org):
        company = customers.create_company(org, outsider.user, data={
            "name": HIDDEN, "domain": "hiddencanary.example"})
        contact = customers.create_contact(org, milan.user, data={
            "first_name": "Ines", "last_name": "Albrecht", "company": company.pk})
        subsidiary = customers.create_company(org, milan.user, data={
            "name": "Milan Subsidiary", "parent": company.pk})
        visibility.update_visibility(org, admin.user, roles={Role.SALES: {
            "contacts": "own", "companies": "own"}})
    return SimpleNamespace(milan=milan, admin=admin, company=company, contact=contact,
                           subsidiary=subsidiary)


def pages(ines, client) -> dict[str, str]:
    urls = {"contact": f"/contacts/{ines.contact.pk}/", "contacts": "/contacts/",
            "csv": "/contacts/export.csv", "home": "/", "search": "/search?q=Ines",
            "company": f"/companies/{ines.subsidiary.pk}/",
            "companies": "/companies/?columns=name,parent",
            "companies_csv": "/companies/export.csv?columns=name,parent"}
    answers = {name: client.get(url) for name, url in urls.items()}
    answers["fragment"] = client.get("/contacts/", HTTP_HX_REQUEST="true")
    assert {name: answer.status_code for name, answer in answers.items()} == dict.fromkeys(
        answers, 200)
    return {name: b"".join(answer.streaming_content).decode() if answer.streaming
            else answer.content.decode() for name, answer in answers.items()}


def test_contacts_and_companies_do_not_name_a_hidden_company(ines, client_for):
    seen = pages(ines, client_for(ines.milan))

    assert {name for name, text in seen.items() if HIDDEN in text} == set()
    assert {name for name, text in seen.items() if "hiddencanary.example" in text} == set()
    assert {name for name, text in seen.items()
            if f'href="/companies/{ines.company.pk}/"' in text} == set()
    assert {name for name, text in seen.items() if UNSEEN in text} == set(seen)
    assert "Ines Albrecht" in seen["contact"]


def test_the_admin_still_reads_the_company_everywhere(ines, client_for):
    seen = pages(ines, client_for(ines.admin))

    assert {name for name, text in seen.items() if HIDDEN not in text} == set()
    assert f'href="/companies/{ines.company.pk}/"' in seen["contact"]
    assert f'href="/companies/{ines.company.pk}/"' in seen["company"]
    assert {name for name, text in seen.items() if UNSEEN in text} == set()


def test_the_contact_api_keeps_the_company_id_but_names_it_nowhere(ines, api_client_for):
    client = api_client_for(ines.milan)

    one = client.get(f"/api/v1/contacts/{ines.contact.pk}")
    listed = client.get("/api/v1/contacts")

    assert one.status_code == 200
    assert one.json()["company_id"] == ines.company.pk
    assert one.json()["affiliations"] == []
    assert [item["company_id"] for item in listed.json()["items"]] == [ines.company.pk]
    assert HIDDEN not in one.text
    assert HIDDEN not in listed.text


def exported(client, fmt: str) -> bytes:
    started = client.post("/api/v1/exports", {"entity": "contacts", "format": fmt},
                          content_type="application/json")
    assert started.status_code == 202, started.json()
    run_export(started.json()["id"])
    job = client.get(f"/api/v1/exports/{started.json()['id']}").json()
    assert job["status"] == "done", job
    return b"".join(client.get(job["download_url"]).streaming_content)


def test_a_contact_export_job_names_a_hidden_company_by_its_kind(
        org, ines, make_member, api_client_for):
    manager = make_member(org, Role.MANAGER, full_name="Mona Manager")
    with scope(organization=org):
        visibility.update_visibility(org, ines.admin.user, roles={Role.MANAGER: {
            "contacts": "all", "companies": "team"}})
    client = api_client_for(manager)

    rows = list(csv.reader(io.StringIO(exported(client, "csv").decode("utf-8-sig"))))
    document = json.loads(exported(client, "jsonl"))
    admins = json.loads(exported(api_client_for(ines.admin), "jsonl"))

    company = rows[0].index("Company")
    assert [row[company] for row in rows[1:]] == [UNSEEN]
    assert document["company"] == {"id": ines.company.pk, "name": UNSEEN}
    assert admins["company"] == {"id": ines.company.pk, "name": HIDDEN}


def test_a_segment_and_the_trash_do_not_name_a_hidden_company(org, ines, make_member,
                                                               client_for):
    from accord.marketing import services as marketing

    marketer = make_member(org, Role.MARKETING, full_name="Mira Marketer")
    manager = make_member(org, Role.MANAGER, full_name="Mona Manager")
    with scope(organization=org):
        other = customers.create_contact(org, marketer.user, data={
            "first_name": "Otto", "last_name": "Segmented", "company": ines.company.pk})
        segment = marketing.create_segment(org, ines.admin.user, data={
            "name": "Everyone", "conditions": {"all": [
                {"field": "last_name", "op": "contains", "value": "Segmented"}]}})
        customers.delete_contact(org, ines.admin.user, ines.contact)
        visibility.update_visibility(org, ines.admin.user, roles={
            Role.MARKETING: {"contacts": "own", "companies": "own"},
            Role.MANAGER: {"contacts": "all", "companies": "team"}})
    urls = {"segment": f"/segments/{segment.pk}/",
            "segment_csv": f"/segments/{segment.pk}/export.csv"}

    marketers = {name: client_for(marketer).get(url) for name, url in urls.items()}
    admins = {name: client_for(ines.admin).get(url) for name, url in urls.items()}
    trash = client_for(manager).get("/trash/").content.decode()
    admins_trash = client_for(ines.admin).get("/trash/").content.decode()

    texts = {name: b"".join(answer.streaming_content).decode() if answer.streaming
             else answer.content.decode() for name, answer in marketers.items()}
    assert {name: UNSEEN in text and HIDDEN not in text and "Segmented" in text
            for name, text in texts.items()} == {"segment": True, "segment_csv": True}
    assert f'href="/companies/{other.company_id}/"' not in texts["segment"]
    assert "Ines" in trash
    assert UNSEEN in trash
    assert HIDDEN not in trash
    assert HIDDEN in b"".join(admins["segment_csv"].streaming_content).decode()
    assert HIDDEN in admins_trash
