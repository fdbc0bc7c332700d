"""The browser reaches the app: the sign-in page renders."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_login_page_shows_a_sign_in_button(page):
    response = page.goto("/login")

    assert response.status == 200
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
