"""A data request made from a contact's page in a real browser."""

import re

import pytest
from django_scopes import scope
from playwright.sync_api import expect

from accord.customers import services as customer_services
from conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_an_admin_asks_for_an_export_from_the_contact_page(page, org, admin):
    with scope(organization=org):
        contact = customer_services.create_contact(org, admin.user, data={
            "first_name": "Zelda", "last_name": "Quixotic"})
    page.goto("/login")
    page.get_by_label("E-mail").fill(admin.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.goto(contact.get_absolute_url())
    page.get_by_role("link", name="Data request").click()
    page.get_by_role("radio", name="Erase").check()
    page.get_by_role("button", name="Make the request").click()
    expect(page.get_by_text("Type ERASE to confirm; this cannot be undone.")).to_be_visible()
    page.get_by_role("radio", name="Export").check()
    page.get_by_role("button", name="Make the request").click()

    expect(page.get_by_role("heading", name=re.compile(r"^Export request DSR-"))).to_be_visible()
    expect(page.locator("#request-status")).to_contain_text("Queued")
    page.get_by_role("link", name="All requests").click()
    expect(page.get_by_role("cell", name=re.compile(r"^DSR-"))).to_be_visible()
