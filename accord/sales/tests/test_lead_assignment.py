"""Assignment rules: first match wins, round robin in a team, the fallback owner."""

import threading

import pytest
from django.db import connection
from django_scopes import scope

from accord.identity.models import Role, Team
from accord.sales import assignment, leads
from accord.sales.models import Lead, LeadActivity


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


@pytest.fixture
def team(org, make_member):
    with scope(organization=org):
        team = Team.objects.create(organization=org, name="Inside sales")
    members = [make_member(org, Role.SALES) for _ in range(3)]
    with scope(organization=org):
        for membership in members:
            membership.team = team
            membership.save()
    return team, sorted((m.user for m in members), key=lambda user: user.pk)


def capture(org, **data):
    with scope(organization=org):
        return leads.create_lead(org, None, data={"last_name": "Lead", **data},
                                 channel="web_form")


def test_round_robin_hands_leads_to_each_member_in_turn(org, admin, team, api_client_for):
    team, users = team
    client = api_client_for(admin)
    assert post(client, "/api/v1/lead-assignment-rules",
                {"name": "Everyone", "team_id": team.pk}).status_code == 201

    owners = [capture(org).owner for _ in range(7)]

    assert owners == [users[0], users[1], users[2], users[0], users[1], users[2], users[0]]


def test_round_robin_skips_read_only_members_of_the_team(org, admin, team, make_member):
    team, users = team
    reader = make_member(org, Role.READ_ONLY)
    with scope(organization=org):
        reader.team = team
        reader.save()
        assignment.create_rule(org, admin.user, data={"name": "Everyone", "team": team.pk})

    owners = {capture(org).owner for _ in range(6)}

    assert owners == set(users)


def test_first_matching_rule_wins_and_the_timeline_names_it(org, admin, member, team,
                                                            api_client_for):
    team, users = team
    client = api_client_for(admin)
    post(client, "/api/v1/lead-assignment-rules", {
        "name": "DACH", "match": "country", "value": "de, at, ch", "owner_id": member.user.pk})
    post(client, "/api/v1/lead-assignment-rules", {
        "name": "Partners", "match": "source", "value": "partner", "owner_id": admin.user.pk})
    post(client, "/api/v1/lead-assignment-rules", {
        "name": "Banks", "match": "field", "field": "company_name", "operator": "contains",
        "value": "bank", "team_id": team.pk})

    german_partner = capture(org, country="DE", source="Partner")
    partner = capture(org, country="FR", source="partner")
    bank = capture(org, company_name="Big Bank plc")

    assert german_partner.owner == member.user
    assert partner.owner == admin.user
    assert bank.owner == users[0]
    with scope(organization=org):
        entry = LeadActivity.objects.get(lead=german_partner, event="lead.assigned")
    assert entry.data["rule"] == "DACH"


def test_a_lead_no_rule_matches_goes_to_the_fallback_owner(org, admin, member, api_client_for):
    client = api_client_for(admin)
    post(client, "/api/v1/lead-assignment-rules", {
        "name": "Spain", "match": "country", "value": "ES", "owner_id": admin.user.pk})
    with scope(organization=org):
        assignment.set_fallback_owner(org, admin.user, owner=member.user.pk)

    lead = capture(org, country="PT")

    assert lead.owner == member.user
    with scope(organization=org):
        entry = LeadActivity.objects.get(lead=lead, event="lead.assigned")
    assert (entry.data["rule"], entry.data["by"]) == ("", "the fallback owner")


def test_an_owner_chosen_by_hand_is_kept(org, admin, member, api_client_for):
    post(api_client_for(admin), "/api/v1/lead-assignment-rules",
         {"name": "All", "owner_id": admin.user.pk})

    response = post(api_client_for(member), "/api/v1/leads",
                    {"last_name": "Mine", "owner_id": member.user.pk})

    assert response.json()["owner_id"] == member.user.pk


def test_a_rule_needs_a_member_or_a_team(org, admin, api_client_for):
    response = post(api_client_for(admin), "/api/v1/lead-assignment-rules", {"name": "Nobody"})

    assert response.status_code == 422
    assert response.json()["errors"][0]["message"] == (
        "Choose either a member or a team to assign to.")


@pytest.mark.django_db(transaction=True)
def test_round_robin_is_fair_when_leads_arrive_together(org, admin, team):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are only contended on PostgreSQL")
    team, users = team
    with scope(organization=org):
        assignment.create_rule(org, admin.user, data={"name": "All", "team": team.pk})
    start = threading.Barrier(6)
    failures = []

    def arrive():
        try:
            start.wait()
            capture(org)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=arrive) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    with scope(organization=org):
        owners = list(Lead.objects.values_list("owner_id", flat=True))
    assert sorted(owners.count(user.pk) for user in users) == [2, 2, 2]


def test_a_country_rule_takes_country_codes_only(org, admin, api_client_for):
    api = api_client_for(admin)
    answer = api.post("/api/v1/lead-assignment-rules",
                      {"name": "DACH", "match": "country", "value": "Germany, at",
                       "owner_id": admin.user.pk}, content_type="application/json")
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["message"] == (
        "Give two-letter country codes such as DE, FR; not GERMANY.")
    fine = api.post("/api/v1/lead-assignment-rules",
                    {"name": "DACH", "match": "country", "value": "de, at,ch",
                     "owner_id": admin.user.pk}, content_type="application/json")
    assert fine.status_code == 201, fine.content
    assert fine.json()["value"] == "DE, AT, CH"
