"""Two-factor sign-in in a real browser: set it up, sign out, sign in with a code."""

import pytest
from playwright.sync_api import expect

from accord.identity.tests.conftest import code_for
from conftest import PASSWORD

pytestmark = pytest.mark.browser


def sign_in_with_password(page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_set_up_two_factor_then_sign_in_in_two_steps(page, member):
    sign_in_with_password(page, member.user.email)
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()

    page.goto("/profile")
    page.get_by_role("link", name="Two-factor sign-in").click()
    page.get_by_role("button", name="Set up two-factor sign-in").click()
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    secret = page.locator("#two-factor-secret").inner_text()
    page.get_by_label("Code from the app").fill(code_for(secret))
    page.get_by_role("button", name="Switch two-factor on").click()
    expect(page.get_by_role("heading", name="Keep these codes somewhere safe")).to_be_visible()
    expect(page.locator(".recovery-codes li")).to_have_count(10)

    page.context.clear_cookies()
    sign_in_with_password(page, member.user.email)
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    page.get_by_label("Code").fill("000000")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("This code is not correct, or it was used already.")).to_be_visible()
    page.get_by_label("Code").fill(code_for(secret, 1))
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
