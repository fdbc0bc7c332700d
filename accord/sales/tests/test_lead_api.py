"""Leads through `/api/v1/leads`: the collection contract, events and scores, other orgs."""

import datetime as dt

import pytest
from django_scopes import scope

from accord.audit.models import AuditEntry
from accord.core.models import DomainEvent
from accord.identity.models import Role
from accord.sales import leads, scoring
from accord.sales.lead_tasks import decay_lead_scores
from accord.sales.models import Lead, LeadScoreChange


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


def patch(client, url, body):
    return client.patch(url, body, content_type="application/json")


@pytest.fixture
def seller(org, member):
    return member


def make_lead(org, actor, **data):
    with scope(organization=org):
        return leads.create_lead(org, actor, data=data, channel="api")


def test_create_lead_answers_201_with_domain_taken_from_the_work_address(
    org, seller, api_client_for
):
    client = api_client_for(seller)

    response = post(client, "/api/v1/leads", {
        "first_name": "Grace", "last_name": "Hopper", "email": "Grace@Navy.example",
        "company_name": "Navy Labs", "country": "us", "source": "event",
    })

    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "grace@navy.example"
    assert body["domain"] == "navy.example"
    assert body["country"] == "US"
    assert body["status"] == "new"
    assert body["version"] == 1
    assert body["score"] == 0
    with scope(organization=org):
        lead = Lead.objects.get(pk=body["id"])
        assert AuditEntry.objects.filter(entity="lead", object_id=lead.pk,
                                         action="create").count() == 1
        assert DomainEvent.objects.filter(type="lead.created", object_id=lead.pk).count() == 1


def test_bad_fields_answer_422_naming_each(org, seller, api_client_for):
    client = api_client_for(seller)

    response = post(client, "/api/v1/leads", {"email": "not-an-address", "country": "XX"})

    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    fields = {error["field"]: error["message"] for error in response.json()["errors"]}
    assert fields == {
        "email": "Enter an e-mail address such as name@example.com.",
        "country": "Use a two-letter ISO code such as DE.",
    }


def test_list_filters_by_status_and_score_and_pages_by_cursor(org, seller, api_client_for):
    for number in range(3):
        lead = make_lead(org, seller.user, last_name=f"Lead {number}")
        with scope(organization=org):
            Lead.objects.filter(pk=lead.pk).update(score=number * 10)
    client = api_client_for(seller)

    first = client.get("/api/v1/leads?ordering=-score&limit=2&score_min=0").json()
    second = client.get(f"/api/v1/leads?ordering=-score&limit=2&cursor={first['next']}").json()
    high = client.get("/api/v1/leads?score_min=15&status=new").json()

    assert [item["last_name"] for item in first["items"]] == ["Lead 2", "Lead 1"]
    assert [item["last_name"] for item in second["items"]] == ["Lead 0"]
    assert second["next"] is None
    assert [item["last_name"] for item in high["items"]] == ["Lead 2"]


def test_stale_patch_answers_409(org, seller, api_client_for):
    lead = make_lead(org, seller.user, last_name="Turing")
    client = api_client_for(seller)
    assert patch(client, f"/api/v1/leads/{lead.pk}", {"title": "CTO", "version": 1}
                 ).status_code == 200

    response = patch(client, f"/api/v1/leads/{lead.pk}", {"title": "CEO", "version": 1})

    assert response.status_code == 409
    assert response.json()["current_version"] == 2


def test_lead_of_another_organization_answers_404(org, other_org, admin, make_member,
                                                  api_client_for):
    stranger = make_member(other_org, Role.ADMIN)
    theirs = make_lead(other_org, stranger.user, last_name="Secret")
    client = api_client_for(admin)

    answers = [
        client.get(f"/api/v1/leads/{theirs.pk}").status_code,
        patch(client, f"/api/v1/leads/{theirs.pk}", {"title": "x", "version": 1}).status_code,
        post(client, f"/api/v1/leads/{theirs.pk}/events", {"type": "email.opened"}).status_code,
        post(client, f"/api/v1/leads/{theirs.pk}/convert", {}).status_code,
        post(client, f"/api/v1/leads/{theirs.pk}/disqualify", {"reason": "x"}).status_code,
        client.delete(f"/api/v1/leads/{theirs.pk}").status_code,
    ]

    assert answers == [404] * 6


def test_events_add_points_with_a_reason_and_history(org, admin, seller, api_client_for):
    lead = make_lead(org, seller.user, last_name="Curie", country="FR")
    client = api_client_for(admin)
    assert post(client, "/api/v1/lead-scoring-rules", {
        "name": "Opened a mail", "event_type": "email.opened", "points": 5}).status_code == 201
    assert post(client, "/api/v1/lead-scoring-rules", {
        "name": "French", "field": "country", "value": "fr", "points": 20}).status_code == 201

    response = post(client, f"/api/v1/leads/{lead.pk}/events",
                    {"type": "email.opened", "data": {"campaign": 7}})
    post(client, f"/api/v1/leads/{lead.pk}/events", {"type": "email.opened"})

    assert response.status_code == 201
    assert response.json()["type"] == "email.opened"
    body = client.get(f"/api/v1/leads/{lead.pk}").json()
    assert body["score"] == 30
    assert body["score_reasons"] == [{"rule_id": body["score_reasons"][0]["rule_id"],
                                      "rule": "French", "points": 20,
                                      "reason": "country is “fr”"}]
    history = client.get(f"/api/v1/leads/{lead.pk}/score-changes").json()["items"]
    assert [(item["points"], item["score"], item["reason"]) for item in history] == [
        (5, 30, "Event email.opened"), (5, 25, "Event email.opened"),
        (20, 20, "country is “fr”"),
    ]


def test_a_field_rule_that_stops_holding_takes_its_points_back(org, admin, api_client_for):
    lead = make_lead(org, admin.user, last_name="Noether", industry="Software")
    client = api_client_for(admin)
    post(client, "/api/v1/lead-scoring-rules", {
        "name": "Software", "field": "industry", "operator": "contains", "value": "soft",
        "points": 15})

    response = patch(client, f"/api/v1/leads/{lead.pk}", {"industry": "Mining", "version": 1})

    assert response.json()["score"] == 0
    with scope(organization=org):
        reasons = list(LeadScoreChange.objects.filter(lead=lead).order_by("at", "id")
                       .values_list("points", "reason"))
    assert reasons == [(15, "industry contains “soft”"),
                       (-15, "No longer: industry contains “soft”")]


def test_an_unknown_event_name_answers_422(org, seller, api_client_for):
    lead = make_lead(org, seller.user, last_name="Ride")

    response = post(api_client_for(seller), f"/api/v1/leads/{lead.pk}/events",
                    {"type": "Opened!"})

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "type"


def test_sellers_may_not_change_rules(org, seller, api_client_for):
    response = post(api_client_for(seller), "/api/v1/lead-scoring-rules",
                    {"name": "x", "event_type": "page.visited", "points": 1})

    assert response.status_code == 403


def test_behaviour_points_halve_on_the_beat_after_the_decay_period(org, admin, settings):
    lead = make_lead(org, admin.user, last_name="Lamarr")
    with scope(organization=org):
        scoring.create_rule(org, admin.user, data={"name": "Visit", "event_type": "page.visited",
                                                   "points": 9})
        leads.record_lead_event(org, admin.user, lead, event_type="page.visited")
        scoring.set_decay(org, admin.user, mode="halve", points=0, every_days=7)
        lead.refresh_from_db()
        Lead.objects.filter(pk=lead.pk).update(
            behaviour_decayed_at=lead.behaviour_decayed_at - dt.timedelta(days=8))

    first = decay_lead_scores()
    again = decay_lead_scores()

    assert (first, again) == (1, 0)
    with scope(organization=org):
        lead.refresh_from_db()
        change = LeadScoreChange.objects.filter(lead=lead).first()
    assert (lead.score, lead.behaviour_points) == (4, 4)
    assert (change.points, change.reason) == (-5, "Behaviour points halved after 7 days")


def test_behaviour_points_are_left_alone_within_the_period(org, admin):
    lead = make_lead(org, admin.user, last_name="Franklin")
    with scope(organization=org):
        scoring.create_rule(org, admin.user, data={"name": "Visit", "event_type": "page.visited",
                                                   "points": 9})
        leads.record_lead_event(org, admin.user, lead, event_type="page.visited")
        scoring.set_decay(org, admin.user, mode="subtract", points=3, every_days=7)

    assert decay_lead_scores() == 0


def test_event_rules_also_count_the_leads_own_domain_events(org, admin, api_client_for):
    client = api_client_for(admin)
    post(client, "/api/v1/lead-scoring-rules",
         {"name": "Qualified", "event_type": "lead.qualified", "points": 40})
    lead = make_lead(org, admin.user, last_name="Johnson")

    body = post(client, f"/api/v1/leads/{lead.pk}/qualify", {}).json()

    assert (body["score"], body["behaviour_points"]) == (40, 40)


def test_an_unknown_status_filter_answers_422(org, seller, api_client_for):
    response = api_client_for(seller).get("/api/v1/leads?status=hot")

    assert response.status_code == 422
    assert response.json()["errors"][0] == {
        "field": "status", "code": "invalid",
        "message": "Choose one of: new, working, qualified, disqualified, converted."}
