from accord.audit.models import AuditEntry
from accord.identity.models import Membership, Role, Team


def test_member_list_shows_everyone_with_role_team_and_status(org, admin, member, client_for):
    response = client_for(admin).get("/settings/members/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Sam Seller" in html
    assert member.user.email in html
    assert '<span class="badge">Sales</span>' in html


def test_member_list_filters_by_name_and_role(org, admin, make_member, client_for):
    make_member(org, Role.SUPPORT, email="sue@example.com", full_name="Sue Port")
    make_member(org, Role.SALES, email="sal@example.com", full_name="Sal Es")
    client = client_for(admin)

    by_name = client.get("/settings/members/", {"q": "port"}).content.decode()
    by_role = client.get("/settings/members/", {"role": "sales"}).content.decode()
    nothing = client.get("/settings/members/", {"q": "zzz"}).content.decode()

    assert "sue@example.com" in by_name
    assert "sal@example.com" not in by_name
    assert "sal@example.com" in by_role
    assert "sue@example.com" not in by_role
    assert "No member matches these filters." in nothing


def test_member_filter_over_htmx_answers_only_the_table(org, admin, client_for):
    response = client_for(admin).get("/settings/members/", {"q": "admin"}, HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert html.lstrip().startswith('<div id="members-table" class="table-wrap">')
    assert "<html" not in html


def test_admin_changes_a_role_and_team_and_it_is_audited(org, admin, member, client_for, in_org):
    with in_org(org):
        team = Team.objects.create(organization=org, name="Enterprise")

    response = client_for(admin).post(f"/settings/members/{member.pk}/",
                                      {"role": Role.MANAGER, "team": team.pk})

    assert response.status_code == 302
    with in_org(org):
        member.refresh_from_db()
        entry = AuditEntry.objects.filter(entity="membership", object_id=member.pk).get()
    assert (member.role, member.team_id) == (Role.MANAGER, team.pk)
    assert (entry.actor_id, entry.action) == (admin.user.pk, "access")
    assert entry.changes == {"role": ["sales", "manager"], "team": [None, team.pk]}


def test_the_last_admin_cannot_be_demoted(org, admin, client_for, in_org):
    response = client_for(admin).post(f"/settings/members/{admin.pk}/", {"role": Role.SALES})

    assert response.status_code == 422
    assert "An organisation needs at least one active admin." in response.content.decode()
    with in_org(org):
        assert Membership.objects.get(pk=admin.pk).role == Role.ADMIN


def test_deactivation_asks_first_then_locks_the_member_out(org, admin, member, client_for,
                                                           in_org):
    admin_client, member_client = client_for(admin), client_for(member)

    confirm = admin_client.get(f"/settings/members/{member.pk}/deactivate")
    response = admin_client.post(f"/settings/members/{member.pk}/deactivate")

    assert "Deactivate Sam Seller?" in confirm.content.decode()
    assert response.status_code == 302
    with in_org(org):
        assert Membership.objects.get(pk=member.pk).is_active is False
    assert member_client.get("/settings/api-tokens/").status_code == 403


def test_reactivated_member_gets_access_back(org, admin, member, client_for, in_org):
    client = client_for(admin)
    client.post(f"/settings/members/{member.pk}/deactivate")

    response = client.post(f"/settings/members/{member.pk}/reactivate")

    assert response.status_code == 302
    with in_org(org):
        assert Membership.objects.get(pk=member.pk).is_active is True
    assert client_for(member).get("/settings/api-tokens/").status_code == 200


def test_admin_cannot_deactivate_themselves(org, admin, make_member, client_for, in_org):
    make_member(org, Role.ADMIN)

    response = client_for(admin).post(f"/settings/members/{admin.pk}/deactivate")

    assert response.status_code == 422
    assert "You cannot deactivate yourself; ask another admin." in response.content.decode()
    with in_org(org):
        assert Membership.objects.get(pk=admin.pk).is_active is True


def test_member_of_another_organization_answers_404(org, other_org, admin, make_member,
                                                    client_for):
    stranger = make_member(other_org, Role.SALES)
    client = client_for(admin)

    assert client.get(f"/settings/members/{stranger.pk}/").status_code == 404
    assert client.post(f"/settings/members/{stranger.pk}/",
                       {"role": Role.ADMIN}).status_code == 404
    assert client.post(f"/settings/members/{stranger.pk}/deactivate").status_code == 404
    assert Membership.unscoped.get(pk=stranger.pk).role == Role.SALES


def test_every_settings_page_refuses_roles_without_permission(org, admin, make_member,
                                                              client_for, in_org):
    with in_org(org):
        team = Team.objects.create(organization=org, name="Ops")
    manager = make_member(org, Role.MANAGER)
    read_only = make_member(org, Role.READ_ONLY)
    admin_only = [
        "/settings/members/", "/settings/members/invite", f"/settings/members/{admin.pk}/",
        f"/settings/members/{admin.pk}/deactivate", "/settings/teams/", "/settings/teams/new",
        f"/settings/teams/{team.pk}/", f"/settings/teams/{team.pk}/delete",
        "/settings/custom-fields/", "/settings/custom-fields/new",
    ]

    for path in admin_only:
        response = client_for(manager).get(path)

        assert response.status_code == 403, path
        assert "Your role in this organisation does not allow this page." in (
            response.content.decode())
    assert client_for(read_only).get("/settings/api-tokens/").status_code == 403
    assert client_for(manager).get("/settings/api-tokens/").status_code == 200
