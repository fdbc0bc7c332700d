"""/api/v1/reports: saved reports and their results, for the caller's eyes only."""

import pytest
from django.test import Client
from django_scopes import scope

from accord.identity.models import Membership, Role
from accord.identity.services import create_token
from accord.reports.models import SavedReport

BY_STAGE = {"entity": "deals", "group_by": ["stage"], "measure": "sum:amount"}


def test_a_saved_report_answers_its_rows_as_json(org, admin, api_client_for, pipeline_deals):
    api = api_client_for(admin)

    with scope(organization=org):
        qualification = str(pipeline_deals.stages.get(name="Qualification").pk)
        proposal = str(pipeline_deals.stages.get(name="Proposal").pk)

    created = api.post("/api/v1/reports", {"name": "Pipeline", "definition": BY_STAGE},
                       content_type="application/json")
    result = api.get(f"/api/v1/reports/{created.json()['id']}/result")

    assert created.status_code == 201
    assert result.json() == {
        "columns": ["Stage"], "measure": "Sum of Amount", "by_currency": True,
        "truncated": False,
        "rows": [
            {"keys": [qualification],
             "labels": ["Qualification"], "currency": "USD", "value": "600.50"},
            {"keys": [proposal],
             "labels": ["Proposal"], "currency": "EUR", "value": "50.00"},
            {"keys": [proposal],
             "labels": ["Proposal"], "currency": "USD", "value": "1000.00"},
        ]}


def test_a_bad_definition_answers_422_naming_each_part(org, admin, api_client_for):
    response = api_client_for(admin).post(
        "/api/v1/reports", {"name": "Bad", "definition": {"entity": "deals",
                                                          "group_by": ["colour"]}},
        content_type="application/json")

    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert [error["field"] for error in response.json()["errors"]] == ["definition.group_by.0"]


def test_a_stale_version_answers_409(org, admin, api_client_for):
    api = api_client_for(admin)
    report = api.post("/api/v1/reports", {"name": "Old", "definition": {"entity": "contacts"}},
                      content_type="application/json").json()

    first = api.patch(f"/api/v1/reports/{report['id']}", {"name": "New", "version": 1},
                      content_type="application/json")
    second = api.patch(f"/api/v1/reports/{report['id']}", {"name": "Newer", "version": 1},
                       content_type="application/json")

    assert (first.status_code, first.json()["version"]) == (200, 2)
    assert second.status_code == 409


def test_a_token_needs_the_reports_scope(org, admin):
    with scope(organization=org):
        _token, raw = create_token(org, admin.user, name="deals only", scopes=["deals:read"])
    response = Client(headers={"Authorization": f"Bearer {raw}"}).get("/api/v1/reports")

    assert response.status_code == 403
    assert "reports:read" in response.json()["detail"]


@pytest.fixture
def victims_report(make_org):
    org = make_org("Victim")
    with scope(organization=org):
        owner = Membership.objects.get(role=Role.ADMIN).user
        return SavedReport.objects.create(organization=org, owner=owner, name="Secret plan",
                                          is_shared=True, definition={"entity": "contacts"})


def test_another_organizations_report_answers_404_everywhere(org, admin, api_client_for,
                                                             client_for, victims_report):
    api = api_client_for(admin)
    web = client_for(admin)
    path = f"/api/v1/reports/{victims_report.pk}"

    answers = [api.get(path).status_code, api.get(path + "/result").status_code,
               api.patch(path, {"name": "x"}, content_type="application/json").status_code,
               api.delete(path).status_code,
               web.get(f"/reports/{victims_report.pk}/").status_code,
               web.get(f"/reports/{victims_report.pk}/edit/").status_code,
               web.post(f"/reports/{victims_report.pk}/delete/").status_code]

    assert answers == [404] * 7
    assert SavedReport.unscoped.filter(pk=victims_report.pk, name="Secret plan").exists()


def test_a_shared_report_on_a_field_hidden_from_a_member_shows_him_no_definition(
        org, admin, seller, secret_tier, api_client_for, client_for):
    definition = {"entity": "contacts", "group_by": ["cf_tier"],
                  "filters": {"cf_tier": ["gold"]},
                  "conditions": {"all": [{"field": "cf.tier", "op": "in",
                                          "value": ["gold"]}]}}
    admins, sellers = api_client_for(admin), api_client_for(seller)
    created = admins.post("/api/v1/reports", {"name": "Gold customers", "is_shared": True,
                                              "definition": definition},
                          content_type="application/json")
    assert created.status_code == 201, created.json()["errors"]
    report_id = created.json()["id"]

    one = sellers.get(f"/api/v1/reports/{report_id}").json()
    listed = sellers.get("/api/v1/reports").json()["items"]
    page = client_for(seller).get(f"/reports/{report_id}/").content.decode()

    assert one["definition"] == {"entity": "contacts", "hidden": True}
    assert [item["definition"] for item in listed] == [{"entity": "contacts", "hidden": True}]
    for text in (page, str(one), str(listed)):
        assert "tier" not in text
        assert "gold" not in text
    assert admins.get(f"/api/v1/reports/{report_id}").json()["definition"][
        "conditions"]["all"][0]["value"] == ["gold"]
