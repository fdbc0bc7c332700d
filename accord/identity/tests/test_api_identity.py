import pytest
from django.test import Client
from django_scopes import scope

from accord.customers import services as customers
from accord.identity.models import ApiToken, Role
from accord.identity.services import create_token, revoke_token, save_team


def test_me_answers_the_caller_role_organization_and_permissions(org, member, api_client_for):
    response = api_client_for(member).get("/api/v1/me")

    assert response.status_code == 200
    body = response.json()
    permissions = body.pop("permissions")
    assert body == {
        "id": member.user_id, "email": member.user.email, "full_name": "Sam Seller",
        "time_zone": "UTC", "role": "sales", "team_id": None,
        "organization": {"id": org.pk, "name": "Northwind", "slug": org.slug,
                         "base_currency": "USD", "time_zone": "UTC", "tax_rounding": "line"},
        "token": {"name": "tests", "scopes": ["*"], "expires_at": None},
    }
    assert "contacts.change" in permissions
    assert "audit.view" not in permissions


def test_users_lists_members_with_role_and_team(org, admin, member, make_member, in_org,
                                                api_client_for):
    with in_org(org):
        team = save_team(org, admin.user, name="Closers", lead=member.user, members=[member])
    make_member(org, Role.READ_ONLY, full_name="Rae Reader")
    client = api_client_for(member)

    everyone = client.get("/api/v1/users")
    sellers = client.get("/api/v1/users", {"role": "sales"})
    one = client.get(f"/api/v1/users/{member.user_id}")

    assert everyone.status_code == 200
    assert [(u["full_name"], u["role"]) for u in everyone.json()["items"]] == [
        ("Admin 1", "admin"), ("Rae Reader", "read_only"), ("Sam Seller", "sales"),
    ]
    assert sellers.json()["items"] == [one.json()]
    stamps = {"joined_at": None, "created_at": None, "updated_at": None}
    assert one.json() | stamps == {
        "id": member.user_id, "email": member.user.email, "full_name": "Sam Seller",
        "time_zone": "UTC", "role": "sales", "team_id": team.pk, "team_name": "Closers",
        "is_active": True, "joined_at": None, "created_at": None, "updated_at": None,
        "version": 1,
    }


def test_teams_list_their_lead_and_members(org, admin, member, in_org, api_client_for):
    with in_org(org):
        team = save_team(org, admin.user, name="Closers", lead=member.user,
                         members=[member, admin])

    response = api_client_for(member).get("/api/v1/teams")
    one = api_client_for(member).get(f"/api/v1/teams/{team.pk}")

    assert response.status_code == 200
    assert response.json()["items"] == [one.json()]
    assert one.json() | {"created_at": None, "updated_at": None} == {
        "id": team.pk, "name": "Closers", "lead_id": member.user_id,
        "member_ids": sorted([admin.user_id, member.user_id]), "created_at": None,
        "updated_at": None, "version": 1,
    }


def test_member_and_team_of_another_organization_answer_404(
    org, other_org, admin, make_member, in_org, api_client_for
):
    stranger = make_member(other_org, Role.SALES)
    with in_org(other_org):
        team = save_team(other_org, None, name="Elsewhere")
    client = api_client_for(admin)

    assert client.get(f"/api/v1/users/{stranger.user_id}").status_code == 404
    assert client.get(f"/api/v1/teams/{team.pk}").status_code == 404
    assert stranger.user_id not in [u["id"] for u in client.get("/api/v1/users").json()["items"]]


UNAUTHENTICATED = {
    "type": "https://accord.invalid/problems/unauthenticated", "title": "Not signed in",
    "status": 401, "detail": "Send a valid API token as `Authorization: Bearer <token>`.",
}


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer acc_12345678_wrong"},
                                     {"Authorization": "Bearer nonsense"}])
def test_calls_without_a_valid_token_answer_401(db, headers):
    response = Client(headers=headers).get("/api/v1/contacts")

    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json() == UNAUTHENTICATED


def test_a_revoked_token_answers_401_even_where_csrf_is_checked(org, admin):
    with scope(organization=org):
        token, raw = create_token(org, admin.user, name="script")
        revoke_token(org, admin.user, ApiToken.objects.get(pk=token.pk))
    client = Client(enforce_csrf_checks=True, headers={"Authorization": f"Bearer {raw}"})

    read = client.get("/api/v1/contacts")
    write = client.post("/api/v1/contacts", {"first_name": "Ada"},
                        content_type="application/json")

    assert (read.status_code, write.status_code) == (401, 401)
    assert write.json() == UNAUTHENTICATED


def test_session_call_reads_without_csrf_but_writes_only_with_the_token(admin):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin.user)
    token = "a" * 32
    client.cookies["csrftoken"] = token

    read = client.get("/api/v1/me")
    refused = client.post("/api/v1/contacts", {"first_name": "Ada"},
                          content_type="application/json")
    accepted = client.post("/api/v1/contacts", {"first_name": "Ada"},
                           content_type="application/json", headers={"X-CSRFToken": token})

    assert read.status_code == 200
    assert refused.status_code == 403
    assert refused.json() == {
        "type": "https://accord.invalid/problems/csrf-failed", "title": "CSRF check failed",
        "status": 403,
        "detail": "A session call that changes data must send the CSRF token in the "
                  "X-CSRFToken header.",
    }
    assert accepted.status_code == 201


def test_openapi_document_describes_the_routes(db):
    response = Client().get("/api/v1/openapi.json")

    assert response.status_code == 200
    document = response.json()
    assert document["info"]["title"] == "Accord API"
    for path in ("/api/v1/contacts", "/api/v1/contacts/{contact_id}",
                 "/api/v1/contacts/{contact_id}/consents", "/api/v1/companies",
                 "/api/v1/activities", "/api/v1/audit-log", "/api/v1/custom-fields",
                 "/api/v1/tags", "/api/v1/users", "/api/v1/teams", "/api/v1/me"):
        assert path in document["paths"], path
    assert set(document["paths"]["/api/v1/contacts/{contact_id}"]) == {"get", "patch", "delete"}
    schemes = document["components"]["securitySchemes"]
    assert {scheme["type"] for scheme in schemes.values()} == {"http", "apiKey"}


def test_interactive_docs_page_loads(db):
    response = Client().get("/api/v1/docs")

    assert response.status_code == 200
    assert b"/api/v1/openapi.json" in response.content


def test_an_unexpected_failure_answers_a_problem_without_details(
    admin, api_client_for, monkeypatch
):
    def broken(*args, **kwargs):
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(customers, "create_contact", broken)

    response = api_client_for(admin).post("/api/v1/contacts", {"first_name": "Ada"},
                                          content_type="application/json")

    assert response.status_code == 500
    assert response.json() == {
        "type": "https://accord.invalid/problems/server-error", "title": "Server error",
        "status": 500, "detail": "Something went wrong on our side.",
    }


def test_a_body_that_is_not_json_answers_400(admin, api_client_for):
    response = api_client_for(admin).post("/api/v1/contacts", "{not json",
                                          content_type="application/json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json() == {
        "type": "https://accord.invalid/problems/bad-request", "title": "Bad request",
        "status": 400, "detail": "Cannot parse request body",
    }
