"""A new user's first minutes, in a real browser: from sign-in to a found contact."""

import re

import pytest
from playwright.sync_api import expect

from conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_sign_in_create_records_log_a_call_finish_a_task_and_find_the_contact(page, admin):
    page.goto("/login")
    page.get_by_label("E-mail").fill(admin.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Companies").click()
    page.get_by_role("link", name="New company").click()
    page.get_by_label("Name", exact=True).fill("Brightwater Ltd")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Brightwater Ltd")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Contacts").click()
    page.get_by_role("link", name="New contact").click()
    page.get_by_label("First name").fill("Ines")
    page.get_by_label("Last name").fill("Okafor")
    page.get_by_label("E-mail", exact=True).fill("ines.okafor@brightwater.example")
    page.get_by_label("Company", exact=True).select_option(label="Brightwater Ltd")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ines Okafor")
    contact_url = page.url

    page.get_by_role("tab", name="Call").click()
    expect(page.get_by_role("tab", name="Call")).to_have_attribute("aria-selected", "true")
    page.get_by_role("textbox", name="Subject").fill("Discovery call")
    page.get_by_role("textbox", name="Details").fill("Wants a quote for 40 seats before March.")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Wants a quote for 40 seats before March.")).to_be_visible()

    page.get_by_role("tab", name="Task").click()
    page.get_by_role("textbox", name="Task", exact=True).fill("Send the quote")
    page.get_by_role("button", name="Save").click()
    task = page.get_by_role("listitem").filter(has_text="Send the quote")
    task.get_by_role("button", name="Mark done").click()
    expect(page.get_by_role("listitem").filter(has_text="Send the quote")
           .get_by_role("button", name="Mark not done")).to_be_visible()

    page.goto("/")
    page.keyboard.press("/")
    expect(page.get_by_label("Search", exact=True)).to_be_focused()
    page.keyboard.type("okafor")
    result = page.locator("#global-search-results").get_by_role("link", name=re.compile("Ines"))
    result.click()
    expect(page).to_have_url(contact_url)
    expect(page.get_by_text("Discovery call")).to_be_visible()
    expect(page.get_by_text("Wants a quote for 40 seats before March.")).to_be_visible()
