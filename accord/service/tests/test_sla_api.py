"""SLA policies and business calendars through `/api/v1/sla-policies` and `/business-calendars`."""

import pytest
from django_scopes import scope

from accord.audit.models import AuditEntry
from accord.identity.models import Role
from accord.service import sla_settings


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


def patch(client, url, body):
    return client.patch(url, body, content_type="application/json")


@pytest.fixture
def manager(org, make_member):
    return make_member(org, Role.MANAGER)


def test_create_read_and_list_a_calendar(org, manager, api_client_for):
    client = api_client_for(manager)

    created = post(client, "/api/v1/business-calendars", {
        "name": "Office", "time_zone": "Europe/Paris",
        "hours": {"0": [["13:00", "17:00"], ["09:00", "12:00"]], "5": [["10:00", "24:00"]]},
        "holidays": ["2026-12-25", "2026-12-25", "2026-01-01"]})

    assert created.status_code == 201, created.content
    body = created.json()
    assert body["hours"] == {"0": [["09:00", "12:00"], ["13:00", "17:00"]],
                             "5": [["10:00", "24:00"]]}
    assert body["holidays"] == ["2026-01-01", "2026-12-25"]
    assert body["version"] == 1
    assert client.get(f"/api/v1/business-calendars/{body['id']}").json() == body
    listed = client.get("/api/v1/business-calendars").json()
    assert (listed["items"], listed["next"]) == ([body], None)


def test_bad_calendar_fields_answer_422_problem_naming_each(manager, api_client_for):
    response = post(api_client_for(manager), "/api/v1/business-calendars", {
        "name": "Office", "time_zone": "Mars/Olympus",
        "hours": {"1": [["09:00", "17:00"], ["16:00", "18:00"]], "9": []},
        "holidays": ["soon"]})

    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert [(e["field"], e["message"]) for e in response.json()["errors"]] == [
        ("time_zone", "Choose a time zone such as Europe/Berlin."),
        ("hours.1", "Tuesday 09:00–17:00 overlaps 16:00–18:00."),
        ("hours", "Weekdays are 0 (Monday) to 6 (Sunday)."),
        ("holidays", "Write each holiday as a date, YYYY-MM-DD."),
    ]


def test_policy_crud_with_versions(org, manager, api_client_for):
    client = api_client_for(manager)
    calendar = post(client, "/api/v1/business-calendars", {
        "name": "Office", "time_zone": "UTC", "hours": {"0": [["09:00", "17:00"]]}}).json()

    created = post(client, "/api/v1/sla-policies", {
        "name": "Gold", "priorities": ["urgent", "high"], "customer_tier": "Gold",
        "first_response_minutes": 30, "resolution_minutes": 240,
        "calendar_id": calendar["id"]})
    url = f"/api/v1/sla-policies/{created.json()['id']}"
    changed = patch(client, url, {"resolution_minutes": 480, "version": 1})
    stale = patch(client, url, {"resolution_minutes": 60, "version": 1})
    removed_stale = client.delete(f"{url}?version=1")
    removed = client.delete(f"{url}?version=2")

    assert created.status_code == 201, created.content
    assert created.json()["priorities"] == ["high", "urgent"]
    assert created.json()["calendar_id"] == calendar["id"]
    assert (changed.status_code, changed.json()["version"]) == (200, 2)
    assert changed.json()["resolution_minutes"] == 480
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2
    assert removed_stale.status_code == 409
    assert removed.status_code == 204
    assert client.get(url).status_code == 404
    with scope(organization=org):
        actions = list(AuditEntry.objects.filter(entity="slapolicy").order_by("id")
                       .values_list("action", flat=True))
    assert actions == ["create", "update", "delete"]


def test_bad_policy_fields_answer_422_naming_each(manager, api_client_for):
    response = post(api_client_for(manager), "/api/v1/sla-policies", {
        "name": "", "priorities": ["whenever"], "queue_id": 999999, "calendar_id": 999999,
        "first_response_minutes": 0, "warn_before_minutes": -5})

    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {
        "name", "priorities", "queue_id", "calendar_id", "first_response_minutes",
        "warn_before_minutes"}


def test_policies_list_in_the_order_they_apply_page_by_page(org, manager, api_client_for):
    client = api_client_for(manager)
    for position, name in [(2, "Late"), (0, "First"), (1, "Middle")]:
        post(client, "/api/v1/sla-policies", {"name": name, "position": position,
                                              "resolution_minutes": 60})

    first = client.get("/api/v1/sla-policies?limit=2").json()
    rest = client.get(f"/api/v1/sla-policies?limit=2&cursor={first['next']}").json()

    assert [p["name"] for p in first["items"]] == ["First", "Middle"]
    assert ([p["name"] for p in rest["items"]], rest["next"]) == (["Late"], None)


def test_agents_read_policies_but_cannot_change_them(org, manager, make_member, api_client_for):
    with scope(organization=org):
        policy = sla_settings.create_policy(org, manager.user, data={
            "name": "Standard", "resolution_minutes": 60})
    agent = api_client_for(make_member(org, Role.SUPPORT))

    read = agent.get(f"/api/v1/sla-policies/{policy.pk}")
    change = patch(agent, f"/api/v1/sla-policies/{policy.pk}",
                   {"name": "Mine", "version": policy.version})

    assert read.status_code == 200
    assert change.status_code == 403


def test_another_organisations_records_answer_404(other_org, manager, make_member,
                                                  api_client_for):
    stranger = make_member(other_org, Role.ADMIN)
    with scope(organization=other_org):
        calendar = sla_settings.create_calendar(other_org, stranger.user, data={
            "name": "Theirs", "time_zone": "UTC", "hours": {"0": [["09:00", "17:00"]]}})
        policy = sla_settings.create_policy(other_org, stranger.user, data={
            "name": "Theirs", "resolution_minutes": 60})
    client = api_client_for(manager)

    assert client.get(f"/api/v1/business-calendars/{calendar.pk}").status_code == 404
    assert patch(client, f"/api/v1/sla-policies/{policy.pk}",
                 {"name": 5}).status_code == 404
    assert client.delete(f"/api/v1/business-calendars/{calendar.pk}").status_code == 404
