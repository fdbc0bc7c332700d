import datetime as dt
import importlib
import re

from django.apps import apps
from django.test import Client
from django.utils import timezone

from accord.api import api
from accord.audit.models import AuditEntry
from accord.customers.models import Contact
from accord.identity import scopes, services
from accord.identity.models import ApiToken, Membership, Role, hash_secret

full_access = importlib.import_module(
    "accord.identity.migrations.0008_existing_tokens_full_access")


def create_in_ui(client, name="Billing sync", scopes=("*",), expires_on="") -> str:
    response = client.post("/settings/api-tokens/",
                           {"name": name, "scopes": list(scopes), "expires_on": expires_on})
    assert response.status_code == 200, response.content.decode()
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
    response = client_for(member).post("/settings/api-tokens/", {"name": "  ", "scopes": "*"})

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
        (member.user.pk, {"token": [None, f"created {token.prefix}"], "scopes": [None, ["*"]],
                          "expires_at": [None, None]}),
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


def test_token_with_scopes_and_expiry_from_the_form_is_listed_with_both(org, member, client_for,
                                                                        in_org):
    client = client_for(member)
    member.user.time_zone = "Europe/Berlin"
    member.user.save(update_fields=["time_zone"])
    form = client.get("/settings/api-tokens/").content.decode()

    create_in_ui(client, scopes=["contacts:read", "deals:write"], expires_on="2030-01-31")

    assert 'name="scopes" value="*" id="id_scopes_0" checked' in form
    assert 'name="expires_on"' in form
    with in_org(org):
        token = ApiToken.objects.get()
        entry = AuditEntry.objects.get(entity="api_token")
    assert token.scopes == ["contacts:read", "deals:write"]
    assert token.expires_at == dt.datetime(2030, 1, 31, 22, 59, 59, tzinfo=dt.UTC)
    assert entry.changes["scopes"] == [None, ["contacts:read", "deals:write"]]
    assert entry.changes["expires_at"] == [None, "2030-01-31T22:59:59+00:00"]
    row = client.get("/settings/api-tokens/").content.decode()
    assert "<code>contacts:read</code>, <code>deals:write</code>" in row
    assert "<td>01/31/2030 11:59 p.m.</td>" in row


def test_form_names_a_missing_scope_and_a_past_expiry_beside_the_fields(org, member, client_for,
                                                                        in_org):
    client = client_for(member)

    no_scope = client.post("/settings/api-tokens/", {"name": "Sync"})
    past = client.post("/settings/api-tokens/",
                       {"name": "Sync", "scopes": "contacts:read", "expires_on": "2001-01-01"})
    far = client.post("/settings/api-tokens/",
                      {"name": "Sync", "scopes": "contacts:read", "expires_on": "9999-12-31"})

    assert no_scope.status_code == 422
    assert '<p class="errorlist" id="scopes_error_1">Choose at least one scope.</p>' in (
        no_scope.content.decode())
    assert past.status_code == 422
    assert ('<p class="error" id="id_expires_on_error_1">Choose an expiry in the future.</p>'
            in past.content.decode())
    assert far.status_code == 422
    assert "Choose a day within ten years" in far.content.decode()
    with in_org(org):
        assert not ApiToken.objects.exists()


def shown_fingerprint(page) -> str:
    """The hidden fingerprint of the token as an edit page showed it."""
    return re.search(r'name="fingerprint" value="([^"]+)"', page.content.decode()).group(1)


def bearer(raw: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {raw}"})


def test_read_only_scope_reads_its_area_and_is_refused_a_write_naming_the_scope(org, member,
                                                                                in_org):
    with in_org(org):
        _token, raw = services.create_token(org, member.user, name="Reader",
                                            scopes=["contacts:read"])
    client = bearer(raw)

    me = client.get("/api/v1/me")
    listed = client.get("/api/v1/contacts")
    created = client.post("/api/v1/contacts", {"first_name": "Ana"},
                          content_type="application/json")
    deals = client.get("/api/v1/deals")

    assert (me.status_code, listed.status_code) == (200, 200)
    assert created.status_code == 403
    assert created["Content-Type"] == "application/problem+json"
    assert created.json() == {
        "type": "https://accord.invalid/problems/scope-missing", "title": "Token scope missing",
        "status": 403, "missing_scope": "contacts:write",
        "detail": "This API token lacks the scope contacts:write. Add it to the token under "
                  "Settings → API tokens.",
    }
    assert deals.json()["missing_scope"] == "deals:read"
    with in_org(org):
        assert not Contact.objects.exists()


def test_write_scope_also_reads_and_writes_its_area(org, member, in_org):
    with in_org(org):
        _token, raw = services.create_token(org, member.user, name="Writer",
                                            scopes=["contacts:write"])

    created = bearer(raw).post("/api/v1/contacts", {"first_name": "Ana"},
                               content_type="application/json")
    read = bearer(raw).get(f"/api/v1/contacts/{created.json()['id']}")

    assert created.status_code == 201
    assert read.json()["first_name"] == "Ana"


def test_a_token_never_goes_beyond_its_users_role(org, make_member, in_org):
    reader = make_member(org, Role.READ_ONLY)
    with in_org(org):
        _token, everything = services.create_token(org, reader.user, name="All")
        _token, scoped = services.create_token(org, reader.user, name="Contacts",
                                               scopes=["contacts:write"])

    for raw in (everything, scoped):
        response = bearer(raw).post("/api/v1/contacts", {"first_name": "Ana"},
                                    content_type="application/json")

        assert response.status_code == 403
        assert response.json()["detail"] == "Your role does not allow this action."
    with in_org(org):
        assert not Contact.objects.exists()


def test_an_expired_token_is_refused_saying_it_expired(org, member, in_org):
    with in_org(org):
        token, raw = services.create_token(
            org, member.user, name="Short",
            expires_at=timezone.now() + dt.timedelta(days=1))
    works = bearer(raw).get("/api/v1/me")
    ApiToken.unscoped.filter(pk=token.pk).update(
        expires_at=dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.UTC))

    refused = bearer(raw).get("/api/v1/me")

    assert works.status_code == 200
    assert refused.status_code == 401
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.json()["title"] == "Token expired"
    assert refused.json()["detail"] == ("This API token expired at 2026-01-02T03:04:00+00:00. "
                                        "Create a new one under Settings → API tokens.")


def test_tokens_made_before_scopes_existed_keep_full_access(org, member, in_org):
    with in_org(org):
        _prefix, raw = ApiToken.generate()
        old = ApiToken.objects.create(organization=org, user=member.user, name="Old",
                                      prefix=raw.split("_")[1], hashed=hash_secret(raw))
        scoped, _raw = services.create_token(org, member.user, name="New",
                                             scopes=["deals:read"])
    refused = bearer(raw).get("/api/v1/contacts")

    full_access.grant_full_access(apps, None)

    old.refresh_from_db()
    scoped.refresh_from_db()
    assert refused.status_code == 403
    assert old.scopes == ["*"]
    assert scoped.scopes == ["deals:read"]
    created = bearer(raw).post("/api/v1/contacts", {"first_name": "Ana"},
                               content_type="application/json")
    assert created.status_code == 201


def test_every_api_route_belongs_to_an_area():
    paths = {
        (prefix.rstrip("/") + path).strip("/")
        for prefix, router in api._routers for path in router.path_operations
    }

    unmapped = {path for path in paths if scopes.required_scope(path, "GET") == scopes.ALL}

    assert len(paths) > 50
    assert unmapped == set()


def test_a_tokens_scopes_and_expiry_are_changed_without_changing_the_token(org, member,
                                                                          client_for, in_org):
    client = client_for(member)
    raw = create_in_ui(client, scopes=["contacts:read"])
    with in_org(org):
        token = ApiToken.objects.get()
    refused = bearer(raw).post("/api/v1/contacts", {"first_name": "Ana"},
                               content_type="application/json")

    page = client.get(f"/settings/api-tokens/{token.pk}/edit")
    saved = client.post(f"/settings/api-tokens/{token.pk}/edit", {
        "name": "Billing sync (writes)", "scopes": ["contacts:write"],
        "expires_on": "2030-06-30", "fingerprint": shown_fingerprint(page)})
    created = bearer(raw).post("/api/v1/contacts", {"first_name": "Ana"},
                               content_type="application/json")

    assert refused.status_code == 403
    assert page.status_code == 200
    assert 'name="scopes" value="contacts:read"' in page.content.decode()
    assert 'value="Billing sync"' in page.content.decode()
    assert (saved.status_code, saved["Location"]) == (302, "/settings/api-tokens/")
    assert created.status_code == 201
    with in_org(org):
        token.refresh_from_db()
        entry = AuditEntry.objects.filter(entity="api_token").order_by("-id").first()
    assert (token.name, token.scopes) == ("Billing sync (writes)", ["contacts:write"])
    assert token.expires_at == dt.datetime(2030, 6, 30, 23, 59, 59, tzinfo=dt.UTC)
    assert entry.action == "update"
    assert entry.changes == {
        "name": ["Billing sync", "Billing sync (writes)"],
        "scopes": [["contacts:read"], ["contacts:write"]],
        "expires_at": [None, "2030-06-30T23:59:59+00:00"],
    }


def test_editing_a_token_names_bad_values_and_keeps_the_old_ones(org, member, client_for,
                                                                 in_org):
    client = client_for(member)
    create_in_ui(client, scopes=["contacts:read"])
    with in_org(org):
        token = ApiToken.objects.get()

    page = client.get(f"/settings/api-tokens/{token.pk}/edit")
    answer = client.post(f"/settings/api-tokens/{token.pk}/edit",
                         {"name": "Sync", "scopes": ["contacts:read"],
                          "expires_on": "2001-01-01", "fingerprint": shown_fingerprint(page)})

    assert answer.status_code == 422
    assert "Choose an expiry in the future." in answer.content.decode()
    with in_org(org):
        token.refresh_from_db()
    assert (token.name, token.expires_at) == ("Billing sync", None)


def test_only_the_owner_or_an_admin_edits_a_live_token(org, admin, member, make_member,
                                                       client_for, in_org):
    with in_org(org):
        token, _raw = services.create_token(org, member.user, name="Mine",
                                            scopes=["contacts:read"])
        other = make_member(org, Role.SALES, email="other@example.com")
        revoked, _ = services.create_token(org, member.user, name="Old")
        services.revoke_token(org, member.user, revoked)

    by_other = client_for(other).get(f"/settings/api-tokens/{token.pk}/edit")
    with in_org(org):
        fingerprint = services.token_fingerprint(token)
    by_admin = client_for(admin).post(f"/settings/api-tokens/{token.pk}/edit",
                                      {"name": "Mine", "scopes": ["*"],
                                       "fingerprint": fingerprint})
    on_revoked = client_for(member).get(f"/settings/api-tokens/{revoked.pk}/edit")

    assert by_other.status_code == 404
    assert by_admin.status_code == 302
    assert on_revoked.status_code == 404
    with in_org(org):
        token.refresh_from_db()
    assert token.scopes == ["*"]


def test_a_stale_token_edit_is_refused_and_the_other_change_kept(org, member, admin,
                                                                 client_for, in_org):
    mine, theirs = client_for(member), client_for(admin)
    create_in_ui(mine, scopes=["contacts:read"])
    with in_org(org):
        token = ApiToken.objects.get()
    url = f"/settings/api-tokens/{token.pk}/edit"
    my_page, their_page = mine.get(url), theirs.get(url)

    first = theirs.post(url, {"name": "Billing sync", "scopes": ["deals:read"],
                              "fingerprint": shown_fingerprint(their_page)})
    stale = mine.post(url, {"name": "Renamed", "scopes": ["contacts:read"],
                            "fingerprint": shown_fingerprint(my_page)})
    without = mine.post(url, {"name": "Renamed", "scopes": ["contacts:read"]})

    assert first.status_code == 302
    assert stale.status_code == 409
    assert "This token was changed by someone else since you opened it." in (
        stale.content.decode())
    assert without.status_code == 422
    assert "reload it and make your change again" in without.content.decode()
    with in_org(org):
        token.refresh_from_db()
    assert (token.name, token.scopes) == ("Billing sync", ["deals:read"])


def test_everything_and_areas_together_are_refused_on_create_and_edit(org, member, client_for,
                                                                      in_org):
    client = client_for(member)
    both = ["*", "contacts:read"]

    created = client.post("/settings/api-tokens/", {"name": "Sync", "scopes": both})
    create_in_ui(client, scopes=["contacts:read"])
    with in_org(org):
        token = ApiToken.objects.get()
    url = f"/settings/api-tokens/{token.pk}/edit"
    edited = client.post(url, {"name": "Sync", "scopes": both,
                               "fingerprint": shown_fingerprint(client.get(url))})

    message = "Choose either everything your role allows or some areas, not both."
    for answer in (created, edited):
        assert answer.status_code == 422
        assert message in answer.content.decode()
    with in_org(org):
        assert list(ApiToken.objects.values_list("scopes", flat=True)) == [["contacts:read"]]


def test_the_readme_lists_every_scope_area():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    section = readme.split("- **Scopes**", 1)[1].split("- **The role still applies**", 1)[0]

    assert [area for area in scopes.AREAS if f"`{area}`" not in section] == []
