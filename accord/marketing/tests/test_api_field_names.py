"""Errors of the campaign, form and sequence APIs name fields as the API's input does."""

import pytest

from accord.identity.models import Role
from accord.marketing import campaigns


@pytest.fixture
def marketer(org, make_member):
    return make_member(org, Role.MARKETING)


def _fields(response) -> list[str]:
    return [error["field"] for error in response.json()["errors"]]


def test_a_campaign_with_an_unknown_template_and_segment_names_their_ids(
        marketer, api_client_for):
    api = api_client_for(marketer)

    response = api.post("/api/v1/campaigns", {
        "name": "Spring", "template_id": 999999, "segment_id": 999999,
        "from_email": "news@example.com"}, content_type="application/json")

    assert response.status_code == 422
    assert _fields(response) == ["template_id", "segment_id"]


def test_a_campaign_change_to_an_unknown_template_names_template_id(
        org, admin, marketer, api_client_for, in_org):
    api = api_client_for(marketer)
    template = api.post("/api/v1/templates", {
        "name": "News", "subject": "Hello", "html": "<p>Hi</p>"},
        content_type="application/json").json()
    segment = api.post("/api/v1/segments", {"name": "Everyone", "conditions": {"all": []}},
                       content_type="application/json").json()
    campaign = api.post("/api/v1/campaigns", {
        "name": "Spring", "template_id": template["id"], "segment_id": segment["id"],
        "from_email": "news@example.com"}, content_type="application/json").json()

    response = api.patch(f"/api/v1/campaigns/{campaign['id']}", {
        "template_id": 999999, "version": campaign["version"]},
        content_type="application/json")

    assert response.status_code == 422
    assert _fields(response) == ["template_id"]
    with in_org(org):
        assert campaigns.get_campaign(campaign["id"]).template_id == template["id"]


def test_a_form_with_an_unknown_owner_names_owner_id(marketer, api_client_for):
    response = api_client_for(marketer).post("/api/v1/forms", {
        "name": "Webinar", "owner_id": 999999, "fields": [{"name": "last_name"}]},
        content_type="application/json")

    assert response.status_code == 422
    assert _fields(response) == ["owner_id"]


def test_a_sequence_with_an_unknown_segment_names_segment_id(marketer, api_client_for):
    response = api_client_for(marketer).post("/api/v1/sequences", {
        "name": "Welcome", "from_email": "hello@example.com", "segment_id": 999999,
        "steps": [{"type": "wait", "amount": 1, "unit": "days"}]},
        content_type="application/json")

    assert response.status_code == 422
    assert _fields(response) == ["segment_id"]
