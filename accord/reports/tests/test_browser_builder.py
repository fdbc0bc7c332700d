"""Building and saving a report in a real browser, then following a bar to its records."""

import re

import pytest
from playwright.sync_api import expect

from conftest import PASSWORD

pytestmark = pytest.mark.browser


def sign_in(page, membership):
    page.goto("/login")
    page.get_by_label("E-mail").fill(membership.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()


def test_a_member_builds_saves_and_drills_into_a_report(page, org, admin, pipeline_deals):
    sign_in(page, admin)
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Reports", exact=True).click()
    page.get_by_role("link", name="New report").click()
    page.get_by_role("navigation", name="What the report is about").get_by_role(
        "link", name="Deals").click()
    page.get_by_label("Group by").select_option(label="Stage")
    page.get_by_label("Chart").select_option(label="Bar")
    page.get_by_label("Status").select_option(label="Open")
    page.get_by_role("button", name="Show").click()

    table = page.locator("table.report-table")
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table.locator("tbody tr").first).to_contain_text("Qualification")
    expect(page.locator("svg.report-chart")).to_be_visible()

    page.get_by_label("Name").fill("Open deals by stage")
    page.get_by_role("button", name="Save report").click()
    expect(page.get_by_role("heading", name="Open deals by stage")).to_be_visible()

    page.locator("table.report-table tbody tr").first.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/reports/records/"))
    expect(page.locator("#record-rows tbody tr")).to_have_count(3)


def test_a_member_reports_on_a_record_type_and_follows_a_bar_to_a_record(page, org, admin,
                                                                          properties):
    sign_in(page, admin)
    page.goto("/reports/new/")
    page.get_by_role("navigation", name="What the report is about").get_by_role(
        "link", name="Properties").click()
    page.get_by_label("Group by").select_option(label="Status")
    page.get_by_label("Measure").select_option(label="Average Price")
    page.get_by_role("button", name="Show").click()

    table = page.locator("table.report-table")
    expect(table.locator("tbody tr")).to_have_count(3)
    expect(table.locator("tbody tr").first).to_contain_text("450,000.00 EUR")

    page.get_by_label("Name").fill("Prices by status")
    page.get_by_role("button", name="Save report").click()
    expect(page.get_by_role("heading", name="Prices by status")).to_be_visible()
    page.locator("table.report-table tbody tr").first.get_by_role("link").click()
    expect(page.locator("#record-rows tbody tr")).to_have_count(2)
    page.get_by_role("link", name="1 Mill Lane").click()
    expect(page).to_have_url(re.compile(r"/records/property/\d+/$"))
