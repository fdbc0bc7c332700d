from accord.audit.models import AuditEntry
from accord.identity.models import Membership, Role, Team


def test_admin_creates_a_team_with_a_lead_and_members(org, admin, member, make_member,
                                                      client_for, in_org):
    other = make_member(org, Role.SUPPORT)

    response = client_for(admin).post("/settings/teams/new", {
        "name": "  West Coast ", "lead": member.user.pk, "members": [member.pk, other.pk],
    })

    assert response.status_code == 302
    assert response["Location"] == "/settings/teams/"
    with in_org(org):
        team = Team.objects.get()
        assert (team.name, team.lead_id) == ("West Coast", member.user.pk)
        assert sorted(Membership.objects.filter(team=team).values_list("pk", flat=True)) == \
            sorted([member.pk, other.pk])
        entry = AuditEntry.objects.filter(entity="team").get()
    assert entry.action == "create"
    assert entry.changes == {"name": [None, "West Coast"], "lead": [None, member.user.pk],
                             "members": [None, sorted([member.pk, other.pk])]}


def test_team_list_shows_lead_and_active_member_count(org, admin, member, client_for, in_org):
    client = client_for(admin)
    client.post("/settings/teams/new", {"name": "Inside sales", "lead": member.user.pk,
                                        "members": [member.pk]})

    html = client.get("/settings/teams/").content.decode()

    assert "Inside sales" in html
    assert "Sam Seller" in html
    assert '<td class="num">1</td>' in html


def test_editing_a_team_moves_members_in_and_out(org, admin, member, make_member, client_for,
                                                 in_org):
    other = make_member(org, Role.SUPPORT)
    with in_org(org):
        team = Team.objects.create(organization=org, name="Ops")
        Membership.objects.filter(pk=member.pk).update(team=team)

    response = client_for(admin).post(f"/settings/teams/{team.pk}/",
                                      {"name": "Operations", "members": [other.pk]})

    assert response.status_code == 302
    with in_org(org):
        assert Team.objects.get(pk=team.pk).name == "Operations"
        assert Membership.objects.get(pk=member.pk).team_id is None
        assert Membership.objects.get(pk=other.pk).team_id == team.pk


def test_team_names_are_unique_ignoring_case(org, admin, client_for, in_org):
    with in_org(org):
        Team.objects.create(organization=org, name="Support")

    response = client_for(admin).post("/settings/teams/new", {"name": "support"})

    assert response.status_code == 422
    assert "A team with this name exists already." in response.content.decode()


def test_deleting_a_team_asks_first_and_keeps_its_members(org, admin, member, client_for,
                                                          in_org):
    with in_org(org):
        team = Team.objects.create(organization=org, name="Temp")
        Membership.objects.filter(pk=member.pk).update(team=team)
    client = client_for(admin)

    confirm = client.get(f"/settings/teams/{team.pk}/delete")
    response = client.post(f"/settings/teams/{team.pk}/delete")

    assert "Its 1 member stays in the organisation, without a team." in confirm.content.decode()
    assert response.status_code == 302
    with in_org(org):
        assert not Team.objects.exists()
        assert Membership.objects.get(pk=member.pk).team_id is None


def test_team_list_is_empty_with_a_hint(org, admin, client_for):
    html = client_for(admin).get("/settings/teams/").content.decode()

    assert "No teams yet." in html


def test_team_of_another_organization_answers_404(org, other_org, admin, client_for, in_org):
    with in_org(other_org):
        team = Team.objects.create(organization=other_org, name="Theirs")
    client = client_for(admin)

    assert client.get(f"/settings/teams/{team.pk}/").status_code == 404
    assert client.post(f"/settings/teams/{team.pk}/delete").status_code == 404
    assert Team.unscoped.filter(pk=team.pk).exists()


def test_member_of_another_organization_cannot_be_put_in_a_team(org, other_org, admin,
                                                                make_member, client_for):
    stranger = make_member(other_org, Role.SALES)

    response = client_for(admin).post("/settings/teams/new", {"name": "Mixed",
                                                              "members": [stranger.pk]})

    assert response.status_code == 422
    assert Membership.unscoped.get(pk=stranger.pk).team_id is None
