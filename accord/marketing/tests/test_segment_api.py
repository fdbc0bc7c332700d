"""/api/v1/segments with a bearer token: the whole life of a segment, previews, members,
and other organisations kept out."""

import pytest

from accord.customers import services as customer_services
from accord.identity.models import Role
from accord.marketing import services

LEADS = {"all": [{"field": "lifecycle_stage", "op": "in", "value": ["lead"]}]}


@pytest.fixture
def marketer(org, make_member):
    return make_member(org, Role.MARKETING)


@pytest.fixture
def leads(org, admin, in_org):
    with in_org(org):
        return [customer_services.create_contact(org, admin.user, data={
            "first_name": name, "last_name": "Lead", "lifecycle_stage": "lead"})
            for name in ("Ada", "Bo", "Cid")]


def test_a_segment_is_created_read_changed_and_deleted_with_versions(marketer, leads,
                                                                     api_client_for):
    api = api_client_for(marketer)

    created = api.post("/api/v1/segments", {"name": "Leads", "conditions": LEADS},
                       content_type="application/json")
    segment_id = created.json()["id"]
    read = api.get(f"/api/v1/segments/{segment_id}")
    changed = api.patch(f"/api/v1/segments/{segment_id}", {
        "name": "Frozen leads", "kind": "frozen", "version": 1},
        content_type="application/json")
    stale = api.patch(f"/api/v1/segments/{segment_id}", {"name": "Late", "version": 1},
                      content_type="application/json")
    listed = api.get("/api/v1/segments?kind=frozen")
    stale_delete = api.delete(f"/api/v1/segments/{segment_id}?version=1")
    deleted = api.delete(f"/api/v1/segments/{segment_id}?version=2")
    gone = api.get(f"/api/v1/segments/{segment_id}")

    assert created.status_code == 201
    assert created.json()["member_count"] == 3
    assert created.json()["summary"] == "Lifecycle stage is Lead"
    assert read.json()["conditions"] == LEADS
    assert changed.status_code == 200
    assert changed.json()["kind"] == "frozen"
    assert changed.json()["frozen_at"] is not None
    assert changed.json()["version"] == 2
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2
    assert [item["name"] for item in listed.json()["items"]] == ["Frozen leads"]
    assert listed.json()["items"][0]["member_count"] is None
    assert stale_delete.status_code == 409
    assert deleted.status_code == 204
    assert gone.status_code == 404


def test_preview_counts_a_tree_or_names_each_bad_place(marketer, member, leads,
                                                       api_client_for):
    api = api_client_for(marketer)
    tree = {"any": [{"field": "first_name", "op": "equals", "value": "ada"},
                    {"all": [{"field": "first_name", "op": "starts_with", "value": "b"},
                             {"kind": "deal", "op": "has_open"}]}]}
    bad = {"all": [{"field": "first_name", "op": "between", "value": "a"},
                   {"any": [{"kind": "ticket", "op": "opened_in_last_days",
                             "value": "soon"}]}]}

    counted = api.post("/api/v1/segments/preview", {"conditions": tree},
                       content_type="application/json")
    refused = api.post("/api/v1/segments/preview", {"conditions": bad},
                       content_type="application/json")
    not_allowed = api_client_for(member).post("/api/v1/segments", {
        "name": "Mine", "conditions": LEADS}, content_type="application/json")

    assert counted.status_code == 200
    assert counted.json() == {
        "count": 1,
        "summary": "First name is “ada” or (First name starts with “b” and has an open deal)"}
    assert refused.status_code == 422
    assert refused["Content-Type"] == "application/problem+json"
    assert [(e["field"], e["message"]) for e in refused.json()["errors"]] == [
        ("all[0].op", "Choose one of: equals, not_equals, contains, not_contains, starts_with, "
                      "is_empty, is_not_empty."),
        ("all[1].any[0].value", "Give a whole number of days from 1 to 3660."),
    ]
    assert not_allowed.status_code == 403


def test_members_page_by_cursor_and_stay_inside_the_organisation(
        org, other_org, marketer, admin, leads, api_client_for, in_org, make_member):
    with in_org(other_org):
        customer_services.create_contact(other_org, None, data={
            "first_name": "Zed", "lifecycle_stage": "lead"})
        theirs = services.create_segment(other_org, None, data={"name": "Theirs",
                                                                 "conditions": LEADS})
    with in_org(org):
        ours = services.create_segment(org, admin.user, data={"name": "Ours",
                                                               "conditions": LEADS})
    api = api_client_for(marketer)

    first = api.get(f"/api/v1/segments/{ours.pk}/members?limit=2")
    second = api.get(f"/api/v1/segments/{ours.pk}/members?limit=2&cursor={first.json()['next']}")
    foreign = api.get(f"/api/v1/segments/{theirs.pk}/members")
    foreign_patch = api.patch(f"/api/v1/segments/{theirs.pk}", {"name": 5},
                              content_type="application/json")

    assert [c["first_name"] for c in first.json()["items"]] == ["Ada", "Bo"]
    assert [c["first_name"] for c in second.json()["items"]] == ["Cid"]
    assert second.json()["next"] is None
    assert foreign.status_code == 404
    assert foreign_patch.status_code == 404


def test_a_segment_a_campaign_uses_cannot_be_deleted(org, admin, api_client_for, client_for):
    api = api_client_for(admin)
    segment = api.post("/api/v1/segments", {"name": "Everyone", "conditions": {"all": []}},
                       content_type="application/json").json()
    template = api.post("/api/v1/templates", {"name": "News", "subject": "Hi",
                                              "html": "<p>Hi</p>"},
                        content_type="application/json").json()
    api.post("/api/v1/campaigns", {"name": "Spring", "template_id": template["id"],
                                   "segment_id": segment["id"],
                                   "from_email": "news@example.com"},
             content_type="application/json")

    refused = api.delete(f"/api/v1/segments/{segment['id']}?version={segment['version']}")
    page = client_for(admin).post(f"/segments/{segment['id']}/delete/",
                                  {"version": segment["version"]}, follow=True)

    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        "A campaign uses this segment; delete the campaign first. A campaign that has sent "
        "e-mail cannot be deleted: its report needs the segment.")
    assert "A campaign uses this segment" in page.content.decode()
    assert api.get(f"/api/v1/segments/{segment['id']}").status_code == 200


@pytest.mark.parametrize("match", ["all", "any"])
def test_a_tree_without_conditions_counts_every_contact_as_its_summary_says(
        marketer, leads, api_client_for, match):
    response = api_client_for(marketer).post(
        "/api/v1/segments/preview", {"conditions": {match: []}},
        content_type="application/json")

    assert response.status_code == 200
    assert response.json() == {"count": 3, "summary": "Every contact"}


def test_text_with_a_nul_character_is_refused_for_that_reason(marketer, api_client_for):
    tree = {"all": [{"field": "first_name", "op": "equals", "value": "Ada\u0000"}]}

    response = api_client_for(marketer).post(
        "/api/v1/segments/preview", {"conditions": tree}, content_type="application/json")

    assert response.status_code == 422
    assert [(e["field"], e["message"]) for e in response.json()["errors"]] == [
        ("all[0].value", "The text holds a NUL character; remove it.")]
