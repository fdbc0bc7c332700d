"""Pipelines and their stages through `/api/v1/pipelines`."""

import pytest
from django_scopes import scope

from accord.audit.models import AuditEntry
from accord.identity.models import Role
from accord.sales import services
from accord.sales.models import Stage


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


def patch(client, url, body):
    return client.patch(url, body, content_type="application/json")


def put(client, url, body):
    return client.put(url, body, content_type="application/json")


@pytest.fixture
def pipeline(org, admin):
    with scope(organization=org):
        return services.create_pipeline(org, admin.user, name="New business")


def stage_ids(org, pipeline, *names):
    with scope(organization=org):
        return [pipeline.stages.get(name=name).pk for name in names]


def test_create_pipeline_with_stages_answers_them_in_board_order(org, admin, api_client_for):
    response = post(api_client_for(admin), "/api/v1/pipelines", {
        "name": "Renewals", "stages": [
            {"name": "Due", "probability": 60, "rot_after_days": 14},
            {"name": "Renewed", "kind": "won"},
            {"name": "Churned", "kind": "lost"},
        ],
    })

    assert response.status_code == 201
    body = response.json()
    assert (body["name"], body["is_default"], body["is_active"], body["version"]) == (
        "Renewals", True, True, 1)
    assert [(s["name"], s["kind"], s["probability"], s["rot_after_days"], s["position"])
            for s in body["stages"]] == [
        ("Due", "open", 60, 14, 0), ("Renewed", "won", 100, None, 1),
        ("Churned", "lost", 0, None, 2)]
    with scope(organization=org):
        assert AuditEntry.objects.filter(entity="pipeline", action="create").count() == 1


def test_pipeline_without_a_lost_stage_answers_422_naming_stages(admin, api_client_for):
    response = post(api_client_for(admin), "/api/v1/pipelines", {
        "name": "Partners", "stages": [{"name": "Talking"}, {"name": "Signed", "kind": "won"}],
    })

    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert [(e["field"], e["message"]) for e in response.json()["errors"]] == [
        ("stages", "A pipeline needs at least a lost stage.")]


def test_list_pipelines_pages_by_cursor(org, admin, pipeline, api_client_for):
    with scope(organization=org):
        services.create_pipeline(org, admin.user, name="Renewals")
    client = api_client_for(admin)

    first = client.get("/api/v1/pipelines", {"limit": 1}).json()
    second = client.get("/api/v1/pipelines", {"limit": 1, "cursor": first["next"]}).json()

    assert [p["name"] for p in first["items"]] == ["New business"]
    assert [p["name"] for p in second["items"]] == ["Renewals"]
    assert second["next"] is None


def test_patch_pipeline_with_a_stale_version_answers_409(admin, pipeline, api_client_for):
    client = api_client_for(admin)
    url = f"/api/v1/pipelines/{pipeline.pk}"
    patch(client, url, {"version": 1, "name": "New logos"})

    stale = patch(client, url, {"version": 1, "name": "Old logos"})

    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2
    assert client.get(url).json()["name"] == "New logos"


def test_add_a_stage_before_the_closed_ones(org, admin, pipeline, api_client_for):
    client = api_client_for(admin)

    response = post(client, f"/api/v1/pipelines/{pipeline.pk}/stages",
                    {"name": "Legal review", "probability": 85})
    listed = client.get(f"/api/v1/pipelines/{pipeline.pk}/stages").json()

    assert response.status_code == 201
    assert response.json()["position"] == 4
    assert [s["name"] for s in listed["items"]] == [
        "Qualification", "Meeting", "Proposal", "Negotiation", "Legal review", "Won", "Lost"]


def test_patch_a_stage_checks_its_version(org, admin, pipeline, api_client_for):
    client = api_client_for(admin)
    [proposal] = stage_ids(org, pipeline, "Proposal")
    url = f"/api/v1/pipelines/{pipeline.pk}/stages/{proposal}"

    changed = patch(client, url, {"version": 1, "probability": 40, "rot_after_days": 10})
    stale = patch(client, url, {"version": 1, "probability": 45})

    assert (changed.status_code, changed.json()["probability"]) == (200, 40)
    assert changed.json()["rot_after_days"] == 10
    assert stale.status_code == 409


def test_reorder_stages(org, admin, pipeline, api_client_for):
    ids = stage_ids(org, pipeline, "Meeting", "Qualification", "Proposal", "Negotiation",
                    "Won", "Lost")

    response = put(api_client_for(admin), f"/api/v1/pipelines/{pipeline.pk}/stages/order",
                   {"stage_ids": ids})

    assert response.status_code == 200
    assert [s["name"] for s in response.json()["items"]][:2] == ["Meeting", "Qualification"]


def test_reorder_missing_a_stage_answers_422(org, admin, pipeline, api_client_for):
    ids = stage_ids(org, pipeline, "Meeting", "Qualification")

    response = put(api_client_for(admin), f"/api/v1/pipelines/{pipeline.pk}/stages/order",
                   {"stage_ids": ids})

    assert response.status_code == 422
    assert response.json()["errors"][0]["message"] == (
        "List every stage of this pipeline exactly once.")


def test_deleting_a_stage_with_deals_needs_move_to(org, admin, pipeline, api_client_for):
    client = api_client_for(admin)
    meeting, proposal = stage_ids(org, pipeline, "Meeting", "Proposal")
    with scope(organization=org):
        for name in ("Laptops", "Desks"):
            services.create_deal(org, admin.user, data={"name": name, "stage": meeting})
    url = f"/api/v1/pipelines/{pipeline.pk}/stages/{meeting}"

    refused = client.delete(url)
    moved = client.delete(url + f"?move_to={proposal}")

    assert refused.status_code == 409
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.json()["detail"] == (
        "2 deal(s) are in this stage. Choose a stage to move them to first.")
    assert moved.status_code == 204
    with scope(organization=org):
        assert not Stage.objects.filter(pk=meeting).exists()
        assert sorted(services.get_stage(proposal).deals.values_list("name", flat=True)) == [
            "Desks", "Laptops"]


def test_sales_members_read_pipelines_but_do_not_change_them(
    org, pipeline, make_member, api_client_for
):
    client = api_client_for(make_member(org, Role.SALES))

    read = client.get(f"/api/v1/pipelines/{pipeline.pk}")
    write = patch(client, f"/api/v1/pipelines/{pipeline.pk}", {"version": 1, "name": "Mine"})

    assert (read.status_code, write.status_code) == (200, 403)


def test_another_organizations_pipeline_answers_404_on_every_route(
    other_org, admin, make_member, api_client_for
):
    stranger = make_member(other_org, Role.ADMIN)
    with scope(organization=other_org):
        theirs = services.create_pipeline(other_org, stranger.user, name="Theirs")
        stage = theirs.stages.first()
    client = api_client_for(admin)
    url = f"/api/v1/pipelines/{theirs.pk}"

    answers = [
        client.get(url), patch(client, url, {"version": 1, "name": "x"}),
        client.get(url + "/stages"), post(client, url + "/stages", {"name": "x"}),
        put(client, url + "/stages/order", {"stage_ids": []}),
        patch(client, url + f"/stages/{stage.pk}", {"version": 1, "name": "x"}),
        client.delete(url + f"/stages/{stage.pk}"),
    ]

    assert [answer.status_code for answer in answers] == [404] * 7
