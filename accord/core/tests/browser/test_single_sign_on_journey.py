"""Single sign-on in a real browser: from the sign-in page to the provider and back."""

import pytest
from playwright.sync_api import expect

from accord.identity import sso
from accord.identity.models import Role
from accord.identity.tests.oidc_provider import CLIENT_SECRET, Provider

pytestmark = pytest.mark.browser


@pytest.fixture
def provider(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    provider = Provider(client_id="accord-northwind").start()
    yield provider
    provider.stop()


def test_sign_in_through_the_organisations_provider(page, org, admin, make_member, provider):
    sso.update_single_sign_on(org, admin.user, data={
        "enabled": True, "issuer": provider.issuer, "client_id": provider.client_id,
        "client_secret": CLIENT_SECRET, "allowed_domains": ["northwind.example"]})
    make_member(org, Role.SALES, email="pat@northwind.example")

    page.goto("/login")
    page.get_by_role("link", name="Sign in with single sign-on").click()
    page.get_by_label("Organisation or work e-mail").fill("pat@northwind.example")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    page.goto("/profile/sessions/")
    expect(page.get_by_text("This session")).to_be_visible()
