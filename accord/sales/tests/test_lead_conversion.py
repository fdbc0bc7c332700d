"""Qualifying, disqualifying and converting leads through `/api/v1/leads/{id}/...`."""

from decimal import Decimal

import pytest
from django_scopes import scope

from accord.activities.models import Activity
from accord.core.models import DomainEvent
from accord.customers import services as customers
from accord.customers.models import Company, Contact
from accord.sales import leads
from accord.sales import services as sales
from accord.sales.models import Deal, LeadActivity


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


@pytest.fixture
def client(admin, api_client_for):
    return api_client_for(admin)


def make_lead(org, actor, **data):
    with scope(organization=org):
        return leads.create_lead(org, actor, data=data, channel="web")


def test_conversion_creates_contact_company_and_deal_and_moves_the_timeline(
    org, admin, client
):
    with scope(organization=org):
        pipeline = sales.create_pipeline(org, admin.user, name="New business")
    lead = make_lead(org, admin.user, first_name="Ada", last_name="Lovelace",
                     email="ada@engines.example", company_name="Analytical Engines Ltd",
                     title="Founder", source="referral")
    with scope(organization=org):
        leads.add_note(org, admin.user, lead, body="Wants forty seats.")

    response = post(client, f"/api/v1/leads/{lead.pk}/convert", {
        "deal": {"name": "Forty seats", "amount": "4000.00", "pipeline_id": pipeline.pk}})

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "converted"
    with scope(organization=org):
        contact = Contact.objects.get(pk=body["converted_contact_id"])
        company = Company.objects.get(pk=body["converted_company_id"])
        deal = Deal.objects.get(pk=body["converted_deal_id"])
        assert (contact.email, contact.company_id, contact.title) == (
            "ada@engines.example", company.pk, "Founder")
        assert (company.name, company.domain) == ("Analytical Engines Ltd", "engines.example")
        assert (deal.name, deal.amount, deal.company_id) == (
            "Forty seats", Decimal("4000.00"), company.pk)
        assert list(deal.contacts.all()) == [contact]
        assert Activity.objects.filter(contact=contact, kind="note",
                                       body="Wants forty seats.").count() == 1
        assert not LeadActivity.objects.filter(lead=lead).exists()
        assert DomainEvent.objects.filter(type="lead.converted", object_id=lead.pk).count() == 1


def test_conversion_matches_the_company_by_domain_and_the_contact_by_email(org, admin, client):
    with scope(organization=org):
        company = customers.create_company(org, admin.user, data={
            "name": "Initech", "domain": "initech.example"})
        contact = customers.create_contact(org, admin.user, data={
            "first_name": "Peter", "last_name": "Gibbons", "email": "peter@initech.example"})
    lead = make_lead(org, admin.user, first_name="Peter", last_name="Gibbons",
                     email="PETER@initech.example", company_name="Initech Software")

    body = post(client, f"/api/v1/leads/{lead.pk}/convert", {}).json()

    assert (body["converted_contact_id"], body["converted_company_id"]) == (
        contact.pk, company.pk)
    assert body["converted_deal_id"] is None
    with scope(organization=org):
        assert Company.objects.count() == 1
        assert Contact.objects.count() == 1
        contact.refresh_from_db()
        assert contact.company_id == company.pk


def test_conversion_matches_the_company_by_name_without_its_legal_form(org, admin, client):
    with scope(organization=org):
        company = customers.create_company(org, admin.user, data={"name": "Northwind Traders"})
    lead = make_lead(org, admin.user, last_name="Fuller", email="fuller@gmail.com",
                     company_name="Northwind Traders GmbH")

    body = post(client, f"/api/v1/leads/{lead.pk}/convert", {}).json()

    assert body["converted_company_id"] == company.pk


def test_converting_twice_is_refused(org, admin, client):
    lead = make_lead(org, admin.user, last_name="Twice", email="twice@example.com")
    assert post(client, f"/api/v1/leads/{lead.pk}/convert", {}).status_code == 200

    response = post(client, f"/api/v1/leads/{lead.pk}/convert", {})

    assert response.status_code == 409
    assert response.json()["detail"] == "This lead was converted already."
    with scope(organization=org):
        assert Contact.objects.count() == 1


def test_a_bad_deal_rolls_the_whole_conversion_back(org, admin, client):
    lead = make_lead(org, admin.user, last_name="Rollback", company_name="Rollback Inc")

    response = post(client, f"/api/v1/leads/{lead.pk}/convert",
                    {"deal": {"name": "Big", "amount": "lots"}})

    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == ["deal.amount"]
    with scope(organization=org):
        assert (Contact.objects.count(), Company.objects.count()) == (0, 0)
        lead.refresh_from_db()
        assert lead.status == "new"


def test_disqualifying_needs_a_reason(org, admin, client):
    lead = make_lead(org, admin.user, last_name="Student")

    refused = post(client, f"/api/v1/leads/{lead.pk}/disqualify", {"reason": "  "})
    done = post(client, f"/api/v1/leads/{lead.pk}/disqualify", {"reason": "No budget"})

    assert refused.status_code == 422
    assert refused.json()["errors"][0] == {
        "field": "reason", "code": "invalid", "message": "Say why the lead is disqualified."}
    assert (done.json()["status"], done.json()["disqualify_reason"]) == (
        "disqualified", "No budget")


def test_qualifying_is_on_the_timeline(org, admin, client):
    lead = make_lead(org, admin.user, last_name="Keen")

    response = post(client, f"/api/v1/leads/{lead.pk}/qualify", {"version": 1})

    assert response.json()["status"] == "qualified"
    with scope(organization=org):
        assert list(LeadActivity.objects.filter(lead=lead).order_by("id")
                    .values_list("event", flat=True)) == [
            "lead.created", "lead.assigned", "lead.qualified"]
