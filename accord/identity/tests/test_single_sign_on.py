"""Single sign-on through an organisation's OpenID Connect provider, walked end to end.

Each test runs a provider of its own on 127.0.0.1 (see `oidc_provider`) and
goes the browser's way with the test client: the sign-in page, the provider's
authorization endpoint, the callback.
"""

import html
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache
from django.test import Client

from accord.audit.models import AuditEntry
from accord.identity import sso
from accord.identity.models import (
    Membership,
    Organization,
    Role,
    SingleSignOn,
    User,
    UserSession,
)

from .oidc_provider import CLIENT_SECRET, Provider

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def provider(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    # Documents kept from another test's provider on the same port must not answer.
    cache.clear()
    provider = Provider(client_id="accord-northwind").start()
    yield provider
    provider.stop()


def configure(org, actor, provider, **changes) -> SingleSignOn:
    data = {"enabled": True, "issuer": provider.issuer, "client_id": provider.client_id,
            "client_secret": CLIENT_SECRET, "allowed_domains": ["northwind.example"],
            **changes}
    return sso.update_single_sign_on(org, actor, data=data)


@pytest.fixture
def configured(org, admin, provider):
    return configure(org, admin.user, provider)


@pytest.fixture
def pat(org, make_member):
    return make_member(org, Role.SALES, email="pat@northwind.example", full_name="Pat Doe")


def start(client, provider, identifier="pat@northwind.example"):
    """Post the sign-in form and follow the browser to the provider; returns the callback
    path the provider sends it back to."""
    response = client.post("/login/sso", {"organization": identifier, "next": "/contacts/"})
    assert response.status_code == 200, response.content.decode()
    back = urlsplit(provider.authorize(provider_address(response)))
    assert back.netloc == "testserver"
    return f"{back.path}?{back.query}"


def provider_address(response) -> str:
    """Where the page after the sign-in form sends the browser on to."""
    match = re.search(r'<a id="sso-continue" href="([^"]+)"', response.content.decode())
    return html.unescape(match.group(1))


def sign_in(client, provider, identifier="pat@northwind.example"):
    return client.get(start(client, provider, identifier))


def signed_in_user(client):
    return client.get("/profile").wsgi_request.user


def test_known_member_signs_in_by_e_mail_domain_and_the_session_is_listed(
        org, configured, provider, pat):
    client = Client(HTTP_USER_AGENT="Pat laptop")

    response = sign_in(client, provider)

    assert response.status_code == 302
    assert response["Location"] == "/contacts/"
    assert signed_in_user(client) == pat.user
    assert client.get("/contacts/").wsgi_request.organization == org
    assert UserSession.objects.filter(user=pat.user, user_agent="Pat laptop").count() == 1
    assert "Pat laptop" in client.get("/profile/sessions/").content.decode()


def test_the_discovery_document_and_key_set_are_read_once_and_a_rotated_key_is_fetched(
        org, configured, provider, pat):
    def documents_read():
        return [path for path in provider.reads if path != "/authorize"]

    provider.reads.clear()
    sign_in(Client(), provider)
    sign_in(Client(), provider)
    read_before_rotation = documents_read()
    provider.rotate_key()

    client = Client()
    response = sign_in(client, provider)

    assert read_before_rotation == ["/.well-known/openid-configuration", "/jwks"]
    assert documents_read()[2:] == ["/jwks"]
    assert response.status_code == 302
    assert signed_in_user(client) == pat.user


def test_signing_out_of_a_session_begun_at_the_provider_signs_out_there_too(
        org, configured, provider, pat, admin, client_for):
    client = Client()
    sign_in(client, provider)

    response = client.post("/logout")
    password_session = client_for(admin).post("/logout")

    target = urlsplit(response["Location"])
    query = parse_qs(target.query)
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{provider.issuer}/logout"
    assert query["tenant"] == ["northwind"]
    assert query["client_id"] == ["accord-northwind"]
    assert query["post_logout_redirect_uri"] == ["http://testserver/login"]
    assert query["id_token_hint"][0].count(".") == 2
    assert not signed_in_user(client).is_authenticated
    assert password_session["Location"] == "/login"


def test_the_request_to_the_provider_carries_state_nonce_and_a_pkce_challenge(
        org, configured, provider, pat):
    client = Client()

    response = client.post("/login/sso", {"organization": org.slug})
    sign_in(Client(), provider)

    location = urlsplit(provider_address(response))
    params = {key: values[0] for key, values in parse_qs(location.query).items()}
    assert location.geturl().startswith(f"{provider.issuer}/authorize?")
    assert params["response_type"] == "code"
    assert params["client_id"] == "accord-northwind"
    assert params["redirect_uri"] == "http://testserver/login/sso/callback"
    assert params["scope"] == "openid email profile"
    assert params["code_challenge_method"] == "S256"
    assert len(params["state"]) >= 32
    assert len(params["nonce"]) >= 32
    assert len(params["code_challenge"]) == 43
    token_request = provider.token_requests[0]
    assert token_request["grant_type"] == "authorization_code"
    assert "client_secret" not in token_request
    assert len(token_request["code_verifier"]) >= 43


def test_a_new_person_is_added_with_the_chosen_role_when_allowed(org, admin, provider):
    configure(org, admin.user, provider, create_members=True, new_member_role=Role.SUPPORT)
    provider.person.update(email="new.hire@Northwind.example", name="New Hire")
    client = Client()

    response = sign_in(client, provider)

    assert response.status_code == 302
    user = User.objects.get(email="new.hire@northwind.example")
    assert user.full_name == "New Hire"
    assert not user.has_usable_password()
    membership = Membership.unscoped.get(organization=org, user=user)
    assert membership.role == Role.SUPPORT
    assert signed_in_user(client) == user
    entry = AuditEntry.unscoped.get(organization=org, entity="membership", action="create")
    assert entry.changes == {"role": [None, "support"], "joined": [None, "single sign-on"]}


def test_a_new_person_is_refused_when_only_members_may_sign_in(org, configured, provider):
    provider.person.update(email="stranger@northwind.example")
    client = Client()

    response = sign_in(client, provider)

    assert response.status_code == 400
    assert ("You are not a member of this organisation yet. Ask your administrator to invite "
            "you.") in response.content.decode()
    assert not User.objects.filter(email="stranger@northwind.example").exists()
    assert not signed_in_user(client).is_authenticated


def test_a_deactivated_member_is_refused(org, configured, provider, pat):
    Membership.unscoped.filter(pk=pat.pk).update(is_active=False)
    client = Client()

    response = sign_in(client, provider)

    assert response.status_code == 400
    assert "Your access to this organisation is switched off." in response.content.decode()
    assert not signed_in_user(client).is_authenticated


REFUSED = ("The sign-in provider&#x27;s answer could not be trusted. Try again, or ask your "
           "administrator to check the single sign-on settings.")


@pytest.mark.parametrize(("case", "changes"), [
    ("wrong audience", {"aud": "some-other-client"}),
    ("wrong issuer", {"iss": "http://127.0.0.1:9/other"}),
    ("wrong nonce", {"nonce": "not-the-nonce-of-this-sign-in"}),
    ("expired", {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}),
    ("no subject", {"sub": None}),
    ("several audiences without us as the authorised party",
     {"aud": ["accord-northwind", "another-app"], "azp": "another-app"}),
])
def test_an_id_token_that_cannot_be_trusted_is_refused(
        org, configured, provider, pat, case, changes):
    provider.token_changes = changes
    client = Client()

    response = sign_in(client, provider)

    assert response.status_code == 400, case
    assert REFUSED in response.content.decode(), case
    assert not signed_in_user(client).is_authenticated, case


def test_an_id_token_signed_with_another_key_is_refused(org, configured, provider, pat):
    provider.sign_with_stranger = True
    client = Client()

    response = sign_in(client, provider)

    assert response.status_code == 400
    assert REFUSED in response.content.decode()
    assert not signed_in_user(client).is_authenticated


def test_an_id_token_for_several_audiences_naming_us_as_authorised_party_is_accepted(
        org, configured, provider, pat):
    provider.token_changes = {"aud": ["accord-northwind", "another-app"],
                              "azp": "accord-northwind"}
    client = Client()

    response = sign_in(client, provider)

    assert response.status_code == 302
    assert signed_in_user(client) == pat.user


def test_an_answer_with_another_state_is_refused(org, configured, provider, pat):
    client = Client()
    callback = start(client, provider)

    response = client.get(callback.replace("state=", "state=x"))

    assert response.status_code == 400
    assert ("The answer from the sign-in provider does not belong to this sign-in. Start "
            "again.") in response.content.decode()
    assert not signed_in_user(client).is_authenticated
    assert provider.token_requests == []


def test_an_answer_in_a_browser_that_did_not_start_the_sign_in_is_refused(
        org, configured, provider, pat):
    callback = start(Client(), provider)
    other_browser = Client()

    response = other_browser.get(callback)

    assert response.status_code == 400
    assert "This sign-in ran out or was started in another browser. Start again." in \
        response.content.decode()
    assert not signed_in_user(other_browser).is_authenticated


def test_an_answer_used_twice_signs_in_only_once(org, configured, provider, pat):
    client = Client()
    callback = start(client, provider)
    client.get(callback)
    client.post("/logout")

    response = client.get(callback)

    assert response.status_code == 400
    assert not signed_in_user(client).is_authenticated


def test_an_unverified_e_mail_is_refused(org, configured, provider, pat):
    provider.person["email_verified"] = False
    client = Client()

    response = sign_in(client, provider)

    assert response.status_code == 400
    assert "Your sign-in provider has not confirmed your e-mail address" in \
        response.content.decode()
    assert not signed_in_user(client).is_authenticated


def test_an_e_mail_outside_the_allowed_domains_is_refused(org, configured, provider, make_member):
    outsider = make_member(org, Role.SALES, email="pat@gmail.example")
    provider.person["email"] = "pat@gmail.example"
    client = Client()

    response = sign_in(client, provider, identifier=org.slug)

    assert response.status_code == 400
    assert "Your e-mail domain may not sign in to this organisation." in \
        response.content.decode()
    assert signed_in_user(client) != outsider.user


def test_an_error_from_the_provider_is_shown_without_its_details(org, configured, provider):
    client = Client()
    callback = start(client, provider)
    state = parse_qs(urlsplit(callback).query)["state"][0]

    response = client.get("/login/sso/callback", {
        "state": state, "error": "access_denied",
        "error_description": "<script>secret internal detail</script>"})

    page = response.content.decode()
    assert response.status_code == 400
    assert "The sign-in provider did not sign you in." in page
    assert "secret internal detail" not in page
    assert provider.token_requests == []


def test_the_start_page_names_an_unknown_organisation_and_one_without_single_sign_on(
        org, other_org):
    client = Client()

    unknown = client.post("/login/sso", {"organization": "nobody@nowhere.example"})
    without = client.post("/login/sso", {"organization": other_org.slug})
    empty = client.post("/login/sso", {"organization": ""})

    assert unknown.status_code == 422
    assert ("No organisation signs in with single sign-on under this name or domain."
            in unknown.content.decode())
    assert without.status_code == 422
    assert "Single sign-on is not set up for this organisation." in without.content.decode()
    assert empty.status_code == 422
    assert "This field is required." in empty.content.decode()


def test_an_unreachable_provider_is_named_on_the_start_page(org, configured, provider):
    provider.stop()
    client = Client()

    response = client.post("/login/sso", {"organization": org.slug})

    assert response.status_code == 422
    assert ("Your organisation&#x27;s sign-in provider could not be reached. Try again later."
            in response.content.decode())


def test_the_sign_in_page_links_to_single_sign_on():
    page = Client().get("/login?next=/deals/").content.decode()

    assert 'href="/login/sso?next=/deals/"' in page
    assert "Sign in with single sign-on" in page


# Another organisation's provider.

def test_another_organisations_configuration_is_never_used(
        org, other_org, admin, make_member, provider, settings):
    other_admin = Membership.unscoped.get(organization=other_org, role=Role.ADMIN)
    other_provider = Provider(client_id="accord-contoso").start()
    try:
        configure(org, admin.user, provider)
        configure(other_org, other_admin.user, other_provider,
                  allowed_domains=["contoso.example"])
        pat = make_member(org, Role.SALES, email="pat@northwind.example")
        client = Client()

        # Started for Northwind, answered with a token Contoso's provider made:
        # wrong issuer and audience, so refused.
        callback = start(client, provider)
        other_provider.person.update(email="pat@northwind.example")
        provider.token_changes = {"aud": "accord-contoso"}
        refused = client.get(callback)
        by_domain = client.post("/login/sso", {"organization": "x@contoso.example"})
    finally:
        other_provider.stop()

    assert refused.status_code == 400
    assert not signed_in_user(client).is_authenticated
    assert provider_address(by_domain).startswith(other_provider.issuer + "/authorize?")
    assert "client_id=accord-contoso" in provider_address(by_domain)
    assert signed_in_user(client) != pat.user


def test_a_session_begun_through_a_provider_stays_in_that_organisation(
        org, other_org, configured, provider, pat, make_member):
    make_member(other_org, Role.ADMIN, email="pat@northwind.example")
    client = Client()
    sign_in(client, provider)

    switched = client.post("/switch-organization", {"organization": other_org.pk})
    home = client.get("/contacts/")

    assert switched.status_code == 404
    assert home.wsgi_request.organization == org
    assert other_org.name not in client.get("/").content.decode()


# Requiring single sign-on.

def test_require_sso_stops_password_sign_in_for_members_but_not_for_admins(
        org, admin, provider, pat):
    configure(org, admin.user, provider, require_sso=True)

    refused = Client().post("/login", {"username": pat.user.email, "password": PASSWORD})
    admin_client = Client()
    allowed = admin_client.post("/login", {"username": admin.user.email,
                                           "password": PASSWORD})

    assert refused.status_code == 422
    assert "Your organisation signs in with single sign-on." in refused.content.decode()
    assert allowed.status_code == 302
    assert signed_in_user(admin_client) == admin.user


def test_require_sso_answers_the_same_whatever_the_password(org, admin, provider, pat):
    configure(org, admin.user, provider, require_sso=True)

    wrong = Client().post("/login", {"username": pat.user.email, "password": "wrong password"})
    right = Client().post("/login", {"username": pat.user.email, "password": PASSWORD})

    assert wrong.content.decode().count("single sign-on") == \
        right.content.decode().count("single sign-on")
    assert wrong.status_code == right.status_code == 422


def test_require_sso_ends_access_of_password_sessions_and_sso_still_signs_in(
        org, admin, provider, pat, client_for):
    password_session = client_for(pat)
    configure(org, admin.user, provider, require_sso=True)

    after = password_session.get("/contacts/")
    client = Client()
    sign_in(client, provider)

    assert after.wsgi_request.organization is None
    assert client.get("/contacts/").status_code == 200
    assert signed_in_user(client) == pat.user


def test_require_sso_leaves_a_members_other_organisations_open_to_the_password(
        org, other_org, admin, provider, pat, make_member):
    make_member(other_org, Role.SALES, email="pat@northwind.example")
    configure(org, admin.user, provider, require_sso=True)
    client = Client()

    response = client.post("/login", {"username": pat.user.email, "password": PASSWORD})
    switched = client.post("/switch-organization", {"organization": org.pk})

    assert response.status_code == 302
    assert client.get("/contacts/").wsgi_request.organization == other_org
    assert switched.status_code == 404


# The settings page and API.

def test_admin_sets_up_single_sign_on_on_the_page_and_the_secret_never_shows(
        org, admin, provider, client_for):
    client = client_for(admin)
    form = client.get("/settings/single-sign-on").content.decode()

    response = client.post("/settings/single-sign-on", {
        "version": 0, "enabled": "on", "issuer": provider.issuer,
        "client_id": "accord-northwind", "client_secret": CLIENT_SECRET,
        "allowed_domains": "Northwind.example\n@northwind-labs.example",
        "new_member_role": "read_only", "action": "save"})
    page = client.get("/settings/single-sign-on").content.decode()
    api = client.get("/api/v1/organization/single-sign-on")

    assert "http://testserver/login/sso/callback" in form
    assert response.status_code == 302
    config = SingleSignOn.unscoped.get(organization=org)
    assert config.allowed_domains == ["northwind.example", "northwind-labs.example"]
    assert config.client_secret == CLIENT_SECRET
    assert CLIENT_SECRET not in config.encrypted_client_secret
    assert CLIENT_SECRET not in page
    assert "A client secret is stored." in page
    assert CLIENT_SECRET not in api.content.decode()
    assert api.json()["client_secret_set"] is True
    entry = AuditEntry.unscoped.get(organization=org, entity="single_sign_on")
    assert entry.changes["client_secret"] == [None, "changed"]
    assert entry.changes["enabled"] == [False, True]
    assert CLIENT_SECRET not in str(entry.changes)


def test_saving_without_a_secret_keeps_the_stored_one(org, admin, configured, client_for):
    client = client_for(admin)

    response = client.post("/settings/single-sign-on", {
        "version": configured.version, "enabled": "on", "issuer": configured.issuer,
        "client_id": "accord-northwind", "client_secret": "",
        "allowed_domains": "northwind.example", "new_member_role": "sales",
        "create_members": "on", "action": "save"})

    assert response.status_code == 302
    config = SingleSignOn.unscoped.get(organization=org)
    assert config.client_secret == CLIENT_SECRET
    assert config.create_members is True
    entry = AuditEntry.unscoped.filter(organization=org, entity="single_sign_on").latest("pk")
    assert entry.changes == {"create_members": [False, True],
                             "new_member_role": ["read_only", "sales"]}


def test_the_form_names_each_missing_or_bad_field(org, admin, client_for, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    client = client_for(admin)

    missing = client.post("/settings/single-sign-on", {
        "version": 0, "enabled": "on", "issuer": "", "client_id": "", "allowed_domains": "",
        "new_member_role": "sales", "action": "save"})
    bad = client.post("/settings/single-sign-on", {
        "version": 0, "enabled": "on", "issuer": "http://idp.example/realm",
        "client_id": "x", "client_secret": "y", "allowed_domains": "https://example.com",
        "new_member_role": "sales", "action": "save"})

    assert missing.status_code == 422
    page = missing.content.decode()
    for message in ("Give the issuer URL to switch single sign-on on.",
                    "Give the client id to switch single sign-on on.",
                    "Give the client secret to switch single sign-on on.",
                    "Give at least one e-mail domain that may sign in."):
        assert message in page
    assert bad.status_code == 422
    assert "Use an https:// address" in bad.content.decode()
    assert "Each domain is a name such as example.com" in bad.content.decode()
    assert not SingleSignOn.unscoped.filter(organization=org).exists()


def test_the_test_button_shows_what_the_provider_answered_and_saves_nothing(
        org, admin, provider, client_for):
    client = client_for(admin)

    response = client.post("/settings/single-sign-on", {
        "version": 0, "issuer": provider.issuer, "new_member_role": "sales",
        "action": "test"})

    page = response.content.decode()
    assert response.status_code == 200
    assert "The provider answered." in page
    assert f"{provider.issuer}/token" in page
    assert not SingleSignOn.unscoped.filter(organization=org).exists()


def test_the_test_button_says_why_a_provider_cannot_be_used(org, admin, provider, client_for,
                                                            settings):
    client = client_for(admin)
    provider.stop()

    unreachable = client.post("/settings/single-sign-on", {
        "version": 0, "issuer": provider.issuer, "new_member_role": "sales",
        "action": "test"})
    settings.WEBHOOK_ALLOWED_HOSTS = []
    private = client.post("/settings/single-sign-on", {
        "version": 0, "issuer": "https://127.0.0.1:8443/realm", "new_member_role": "sales",
        "action": "test"})

    assert unreachable.status_code == 422
    assert "The discovery document could not be read" in unreachable.content.decode()
    assert private.status_code == 422
    assert "The address points into a private, loopback or link-local network." in \
        private.content.decode()


def test_a_discovery_document_naming_another_issuer_is_refused(org, admin, provider,
                                                               client_for):
    client = client_for(admin)

    response = client.post("/settings/single-sign-on", {
        "version": 0, "issuer": provider.issuer + "/realms/other",
        "new_member_role": "sales", "action": "test"})

    assert response.status_code == 422


def test_only_admins_see_or_change_single_sign_on(org, configured, make_member, client_for,
                                                  api_client_for):
    manager = make_member(org, Role.MANAGER)

    page = client_for(manager).get("/settings/single-sign-on")
    read = api_client_for(manager).get("/api/v1/organization/single-sign-on")
    change = api_client_for(manager).patch("/api/v1/organization/single-sign-on",
                                           {"enabled": False}, content_type="application/json")

    assert page.status_code == 403
    assert read.status_code == 403
    assert change.status_code == 403
    assert SingleSignOn.unscoped.get(organization=org).enabled is True


def test_the_api_reads_and_changes_the_settings_with_versions(
        org, admin, configured, api_client_for):
    api = api_client_for(admin)

    read = api.get("/api/v1/organization/single-sign-on").json()
    changed = api.patch("/api/v1/organization/single-sign-on",
                        {"require_sso": True, "version": read["version"]},
                        content_type="application/json")
    stale = api.patch("/api/v1/organization/single-sign-on",
                      {"require_sso": False, "version": read["version"]},
                      content_type="application/json")
    admin_role = api.patch("/api/v1/organization/single-sign-on",
                           {"new_member_role": "admin"}, content_type="application/json")

    assert read == {
        "version": 1, "updated_at": read["updated_at"], "enabled": True,
        "issuer": configured.issuer, "client_id": "accord-northwind",
        "client_secret_set": True, "allowed_domains": ["northwind.example"],
        "create_members": False, "new_member_role": "read_only", "require_sso": False,
        "redirect_uri": "http://testserver/login/sso/callback",
    }
    assert changed.status_code == 200
    assert changed.json()["require_sso"] is True
    assert CLIENT_SECRET not in changed.content.decode()
    assert stale.status_code == 409
    assert admin_role.status_code == 422
    assert admin_role["Content-Type"] == "application/problem+json"
    assert admin_role.json()["errors"][0]["field"] == "new_member_role"


def test_another_organisations_settings_are_not_reachable_through_the_api(
        org, other_org, configured, api_client_for):
    other_admin = Membership.unscoped.get(organization=other_org, role=Role.ADMIN)

    read = api_client_for(other_admin).get("/api/v1/organization/single-sign-on").json()

    assert read["enabled"] is False
    assert read["issuer"] == ""
    assert read["client_secret_set"] is False


def test_an_answer_for_an_organisation_deleted_meanwhile_is_refused(
        org, configured, provider, pat):
    client = Client()
    callback = start(client, provider)
    Organization.objects.filter(pk=org.pk).delete()

    response = client.get(callback)

    assert response.status_code == 400
    assert ("No organisation signs in with single sign-on under this name or domain."
            in response.content.decode())
    assert not signed_in_user(client).is_authenticated
