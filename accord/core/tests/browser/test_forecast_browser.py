"""The forecast in a real browser: the grouping switch redraws the table in place."""

import re

import pytest
from django_scopes import scope
from playwright.sync_api import expect

from accord.sales.forecast import today_for
from accord.sales.tests.insights_data import SalesBook
from conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_switching_the_grouping_redraws_the_forecast_and_keeps_the_address(page, org, admin):
    with scope(organization=org):
        SalesBook(org, admin.user).open_deal("1250", close=today_for(org), category="commit")
    page.goto("/login")
    page.get_by_label("E-mail").fill(admin.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Forecast").click()
    table = page.locator("#forecast-table")
    expect(table.get_by_role("columnheader").first).to_have_text("Owner")
    expect(table.get_by_role("rowheader", name="Admin 1")).to_be_visible()
    page.get_by_label("Group by").select_option("pipeline")

    expect(table.get_by_role("columnheader").first).to_have_text("Pipeline")
    expect(table.get_by_role("row", name="New business")).to_contain_text("1,250.00")
    expect(page).to_have_url(re.compile(r"[?&]group_by=pipeline(&|$)"))
