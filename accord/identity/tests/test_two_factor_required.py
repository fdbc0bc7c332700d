from accord.audit.models import AuditEntry
from accord.identity.models import Organization, Role

from .conftest import code_for


def require_two_factor(org):
    Organization.objects.filter(pk=org.pk).update(require_two_factor=True)


def test_admin_requires_two_factor_for_members_and_it_is_audited(org, admin, client_for):
    client = client_for(admin)
    page = client.get("/settings/security").content.decode()

    response = client.post("/settings/security", {"require_two_factor": "on"})

    assert "Require two-factor sign-in for members" in page
    assert response["Location"] == "/settings/security"
    org.refresh_from_db()
    assert org.require_two_factor is True
    entry = AuditEntry.unscoped.get(organization=org, entity="organization", action="access")
    assert entry.changes == {"require_two_factor": [False, True]}
    assert entry.actor == admin.user


def test_only_admins_change_the_two_factor_rule(org, make_member, client_for):
    manager = make_member(org, Role.MANAGER)

    response = client_for(manager).post("/settings/security", {"require_two_factor": "on"})

    assert response.status_code == 403
    org.refresh_from_db()
    assert org.require_two_factor is False


def test_member_without_two_factor_is_sent_to_set_it_up_and_can_do_nothing_else(
        org, member, client_for):
    require_two_factor(org)
    client = client_for(member)

    for path in ["/", "/contacts/", "/profile", "/settings/api-tokens/"]:
        response = client.get(path)

        assert response.status_code == 302, path
        assert response["Location"] == "/profile/two-factor", path
    page = client.get("/profile/two-factor")
    assert page.status_code == 200
    assert "Your organisation requires two-factor sign-in." in page.content.decode()
    assert client.post("/logout")["Location"] == "/login"


def test_once_set_up_the_member_goes_on_as_usual(org, member, client_for):
    require_two_factor(org)
    client = client_for(member)
    client.post("/profile/two-factor/start")
    secret = member.user.two_factor.secret

    client.post("/profile/two-factor", {"code": code_for(secret)})

    assert client.get("/").status_code == 200


def test_member_with_two_factor_is_not_stopped(org, enrolled, client_for):
    require_two_factor(org)

    assert client_for(enrolled.membership).get("/contacts/").status_code == 200


def test_api_tokens_keep_working_while_browser_api_calls_are_refused(
        org, member, client_for, api_client_for):
    require_two_factor(org)

    with_token = api_client_for(member).get("/api/v1/contacts")
    with_session = client_for(member).get("/api/v1/contacts")

    assert with_token.status_code == 200
    assert with_session.status_code == 403
    assert with_session["Content-Type"] == "application/problem+json"
    assert with_session.json()["type"].endswith("/two-factor-required")


def test_the_rule_of_one_organisation_does_not_follow_into_another(
        org, other_org, make_member, client_for):
    require_two_factor(other_org)
    here = make_member(org, Role.SALES, email="both@example.com")
    make_member(other_org, Role.SALES, email="both@example.com")

    assert client_for(here).get("/contacts/").status_code == 200
