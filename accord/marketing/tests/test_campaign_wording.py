"""What the campaign API says: report counts, why a campaign cannot start, and the
`version` every PATCH must carry."""

import pytest

from accord.customers import services as customer_services
from accord.identity.models import Role
from accord.marketing.models import Segment


@pytest.fixture
def marketer(org, make_member):
    return make_member(org, Role.MARKETING)


@pytest.fixture
def api(marketer, api_client_for):
    return api_client_for(marketer)


@pytest.fixture
def draft(org, admin, in_org, api):
    """A draft campaign to three contacts: one consenting, one who withdrew their consent
    through the API, and one who never gave any."""
    with in_org(org):
        for name in ("ada", "ben", "cy"):
            customer_services.create_contact(org, admin.user, data={
                "first_name": name.title(), "email": f"{name}@example.com"})
        segment = Segment.objects.create(organization=org, name="All", conditions={"all": []})
    contacts = {c["first_name"]: c["id"] for c in api.get("/api/v1/contacts").json()["items"]}
    for name, statuses in (("Ada", ["granted"]), ("Ben", ["granted", "withdrawn"])):
        for status in statuses:
            recorded = api.post(f"/api/v1/contacts/{contacts[name]}/consents", {
                "channel": "email", "purpose": "marketing", "status": status,
                "method": "verbal"}, content_type="application/json")
            assert recorded.status_code == 201, recorded.content
    template = api.post("/api/v1/templates", {"name": "Hello", "subject": "Hi",
                                              "html": "<p>Hi</p>"},
                        content_type="application/json").json()
    return api.post("/api/v1/campaigns", {
        "name": "Hello all", "template_id": template["id"], "segment_id": segment.pk,
        "from_email": "news@northwind.example"}, content_type="application/json").json()


def test_report_tells_the_segment_from_the_people_sent_to(draft, api):
    api.post(f"/api/v1/campaigns/{draft['id']}/start")

    report = api.get(f"/api/v1/campaigns/{draft['id']}/report").json()

    assert report["recipients"] == 3
    assert report["included"] == 1
    assert report["excluded"]["unsubscribed"] == 1  # Ben's withdrawal through the API
    assert report["excluded"]["no_consent"] == 1


def test_a_cancelled_campaign_says_so_when_started(draft, api):
    api.post(f"/api/v1/campaigns/{draft['id']}/cancel")

    started = api.post(f"/api/v1/campaigns/{draft['id']}/start")

    assert started.status_code == 422
    assert started.json()["errors"][0]["message"] == (
        "This campaign was cancelled; it cannot be started.")


def test_send_now_on_a_scheduled_campaign_sends_at_once(draft, api):
    scheduled = api.patch(f"/api/v1/campaigns/{draft['id']}", {
        "scheduled_at": "2999-01-01T09:00:00Z", "version": draft["version"]},
        content_type="application/json")

    started = api.post(f"/api/v1/campaigns/{draft['id']}/start")

    assert scheduled.json()["status"] == "scheduled"
    assert started.json()["status"] == "sending"


def test_patch_without_version_is_refused_for_templates_segments_and_campaigns(
        draft, api, org, in_org):
    with in_org(org):
        segment_id = Segment.objects.get().pk
    paths = [f"/api/v1/templates/{draft['template_id']}", f"/api/v1/segments/{segment_id}",
             f"/api/v1/campaigns/{draft['id']}"]

    answers = [api.patch(path, {"name": "Renamed"}, content_type="application/json")
               for path in paths]
    names = [api.get(path).json()["name"] for path in paths]

    assert [answer.status_code for answer in answers] == [422, 422, 422]
    assert "Renamed" not in names
