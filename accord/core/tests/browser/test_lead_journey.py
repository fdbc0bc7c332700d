"""A lead's way from the form to a customer, in a real browser."""

import pytest
from playwright.sync_api import expect

from conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_enter_a_lead_note_it_and_convert_it_into_a_contact(page, admin):
    page.goto("/login")
    page.get_by_label("E-mail").fill(admin.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Leads").click()
    page.get_by_role("link", name="New lead").click()
    page.get_by_label("First name").fill("Katherine")
    page.get_by_label("Last name").fill("Johnson")
    page.get_by_label("E-mail").fill("katherine@orbit.example")
    page.get_by_label("Company", exact=True).fill("Orbit Analytics")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Katherine Johnson")

    page.get_by_label("Note").fill("Asked for a trajectory demo.")
    page.get_by_role("button", name="Add note").click()
    expect(page.get_by_text("Asked for a trajectory demo.")).to_be_visible()

    page.get_by_role("link", name="Convert").click()
    expect(page.locator("#matched-company")).to_have_text("A new company “Orbit Analytics”")
    page.get_by_role("button", name="Convert").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Katherine Johnson")
    assert "/contacts/" in page.url
    expect(page.get_by_text("Asked for a trajectory demo.")).to_be_visible()
