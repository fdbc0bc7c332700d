import re

from django.test import Client

from accord.audit.models import AuditEntry
from accord.identity import services
from accord.identity.models import ApiToken, Membership, Role, hash_secret


def create_in_ui(client, name="Billing sync") -> str:
    response = client.post("/settings/api-tokens/", {"name": name})
    assert response.status_code == 200
    return re.search(r'id="new-token" type="text" readonly value="([^"]+)"',
                     response.content.decode()).group(1)


def test_new_token_is_shown_once_and_only_its_hash_is_stored(org, member, client_for, in_org):
    client = client_for(member)

    raw = create_in_ui(client)

    with in_org(org):
        token = ApiToken.objects.get()
    assert raw == f"acc_{token.prefix}_{raw.split('_', 2)[2]}"
    assert token.hashed == hash_secret(raw)
    assert (token.name, token.user_id) == ("Billing sync", member.user.pk)
    later = client.get("/settings/api-tokens/").content.decode()
    assert raw not in later
    assert f"<code>acc_{token.prefix}_…</code>" in later
    assert "Billing sync" in later


def test_new_token_works_on_the_api(org, member, client_for):
    raw = create_in_ui(client_for(member))

    response = Client(headers={"Authorization": f"Bearer {raw}"}).get("/api/v1/me")

    assert response.status_code == 200
    assert response.json()["email"] == member.user.email


def test_token_needs_a_name(org, member, client_for, in_org):
    response = client_for(member).post("/settings/api-tokens/", {"name": "  "})

    assert response.status_code == 422
    assert "This field is required." in response.content.decode()
    with in_org(org):
        assert not ApiToken.objects.exists()


def test_members_see_only_their_own_tokens_and_admins_see_all(org, admin, member, client_for,
                                                              in_org):
    with in_org(org):
        services.create_token(org, admin.user, name="Admin script")
        services.create_token(org, member.user, name="Seller script")

    own = client_for(member).get("/settings/api-tokens/").content.decode()
    every = client_for(admin).get("/settings/api-tokens/").content.decode()

    assert "Seller script" in own
    assert "Admin script" not in own
    assert "Your tokens" in own
    assert "Seller script" in every
    assert "Admin script" in every
    assert "Tokens of the organisation" in every


def test_revoking_asks_first_then_the_token_stops_working(org, member, client_for, in_org):
    client = client_for(member)
    raw = create_in_ui(client)
    with in_org(org):
        token = ApiToken.objects.get()

    confirm = client.get(f"/settings/api-tokens/{token.pk}/revoke")
    response = client.post(f"/settings/api-tokens/{token.pk}/revoke")

    assert "Revoke the token Billing sync?" in confirm.content.decode()
    assert response.status_code == 302
    with in_org(org):
        assert ApiToken.objects.get().revoked_at is not None
    api = Client(headers={"Authorization": f"Bearer {raw}"}).get("/api/v1/me")
    assert api.status_code == 401
    assert '<span class="badge badge-danger">Revoked</span>' in (
        client.get("/settings/api-tokens/").content.decode())


def test_admin_revokes_another_members_token_and_it_is_audited(org, admin, member, client_for,
                                                               in_org):
    with in_org(org):
        token, _raw = services.create_token(org, member.user, name="Leaky")

    response = client_for(admin).post(f"/settings/api-tokens/{token.pk}/revoke")

    assert response.status_code == 302
    with in_org(org):
        entries = list(AuditEntry.objects.filter(entity="api_token").order_by("id"))
    assert [(entry.actor_id, entry.changes) for entry in entries] == [
        (member.user.pk, {"token": [None, f"created {token.prefix}"]}),
        (admin.user.pk, {"token": [token.prefix, "revoked"]}),
    ]


def test_member_cannot_reach_someone_elses_token(org, admin, member, client_for, in_org):
    with in_org(org):
        token, _raw = services.create_token(org, admin.user, name="Admin only")

    response = client_for(member).post(f"/settings/api-tokens/{token.pk}/revoke")

    assert response.status_code == 404
    with in_org(org):
        assert ApiToken.objects.get().revoked_at is None


def test_token_of_another_organization_answers_404(org, other_org, admin, client_for, in_org):
    with in_org(other_org):
        theirs = Membership.objects.get(role=Role.ADMIN)
        token, _raw = services.create_token(other_org, theirs.user, name="Theirs")

    response = client_for(admin).post(f"/settings/api-tokens/{token.pk}/revoke")

    assert response.status_code == 404
    assert ApiToken.unscoped.get(pk=token.pk).revoked_at is None


def test_empty_token_list_says_so(org, member, client_for):
    html = client_for(member).get("/settings/api-tokens/").content.decode()

    assert "No API tokens yet." in html
