"""The main flow in a real browser: define a type, add a record, find it from the contact."""

import pytest
from django_scopes import scope
from playwright.sync_api import expect

from accord.customers import services as customers
from conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_admin_defines_a_type_adds_a_record_and_sees_it_on_the_contact(page, org, admin):
    with scope(organization=org):
        customers.create_contact(org, admin.user, data={"first_name": "Ada",
                                                        "last_name": "Lovelace"})
    page.goto("/login")
    page.get_by_label("E-mail").fill(admin.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.goto("/settings/record-types/new")
    page.get_by_label("Key", exact=True).fill("property")
    page.get_by_label("Singular label").fill("Property")
    page.get_by_label("Plural label").fill("Properties")
    page.get_by_role("button", name="Create record type").click()
    page.get_by_role("link", name="Add a field").click()
    page.get_by_label("Label", exact=True).fill("Address")
    page.get_by_role("button", name="Add field").click()
    page.get_by_role("link", name="Add a field").click()
    page.get_by_label("Label", exact=True).fill("Seller")
    page.get_by_label("Type", exact=True).select_option("contact")
    page.get_by_role("button", name="Add field").click()
    page.get_by_label("Title field").select_option("address")
    page.get_by_role("button", name="Save", exact=True).click()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Properties").click()
    page.get_by_role("link", name="New Property").click()
    page.get_by_label("Address").fill("1 Main St")
    page.get_by_label("Seller").select_option(label="Ada Lovelace")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("heading", name="1 Main St")).to_be_visible()
    page.get_by_role("link", name="Ada Lovelace").click()
    related = page.get_by_role("complementary", name="Related records")
    expect(related.get_by_role("link", name="1 Main St")).to_be_visible()
