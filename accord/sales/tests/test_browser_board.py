"""The deals board in a real browser: dragging a card, and the keyboard's "Move to"."""

import re

import pytest
from django_scopes import scope
from playwright.sync_api import expect

from accord.sales import services
from conftest import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def board(org, admin):
    """A pipeline with two deals in its first stage."""
    with scope(organization=org):
        pipeline = services.create_pipeline(org, admin.user, name="New business")
        for name, amount in (("Forty laptops", "1000"), ("Office chairs", "200")):
            services.create_deal(org, admin.user, data={"name": name, "amount": amount})
        return pipeline


def sign_in(page, membership):
    page.goto("/login")
    page.get_by_label("E-mail").fill(membership.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()


def column(page, name):
    return page.get_by_role("region", name=re.compile(f"^{name}"))


def test_dragging_a_card_moves_the_deal_and_both_column_totals_follow(page, org, admin, board):
    currency = org.base_currency
    sign_in(page, admin)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Deals").click()
    qualification, proposal = column(page, "Qualification"), column(page, "Proposal")
    expect(qualification.locator("[data-total]")).to_have_text(f"1,200.00 {currency}")
    expect(proposal.locator("[data-total]")).to_have_text(f"0.00 {currency}")

    card = qualification.locator(".card").filter(has_text="Forty laptops")
    card.drag_to(proposal)

    expect(proposal.locator("[data-total]")).to_have_text(f"1,000.00 {currency}")
    expect(proposal.locator("[data-weighted]")).to_have_text(f"500.00 {currency}")
    expect(qualification.locator("[data-total]")).to_have_text(f"200.00 {currency}")
    expect(qualification.locator("[data-count]")).to_have_text("1")
    expect(proposal.get_by_role("link", name="Forty laptops")).to_be_visible()
    page.reload()
    expect(column(page, "Proposal").get_by_role("link", name="Forty laptops")).to_be_visible()


def test_the_move_to_select_moves_a_deal_with_the_keyboard_alone(page, org, admin, board):
    currency = org.base_currency
    sign_in(page, admin)
    page.goto(board.get_absolute_url())

    select = page.get_by_label("Move Office chairs to")
    select.focus()
    select.select_option(label="Meeting")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Move Office chairs")).to_be_focused()
    page.keyboard.press("Enter")

    expect(page.get_by_text("“Office chairs” moved to Meeting.")).to_be_visible()
    meeting = column(page, "Meeting")
    expect(meeting.get_by_role("link", name="Office chairs")).to_be_visible()
    expect(meeting.locator("[data-total]")).to_have_text(f"200.00 {currency}")
    expect(column(page, "Qualification").locator("[data-total]")).to_have_text(
        f"1,000.00 {currency}")


def test_dragging_a_stale_card_says_so_and_reloads_the_column(page, org, admin, board):
    sign_in(page, admin)
    page.goto(board.get_absolute_url())
    with scope(organization=org):
        deal = board.deals.get(name="Forty laptops")
        services.update_deal(org, admin.user, deal, data={"next_step": "Call back"})

    column(page, "Qualification").locator(".card").filter(has_text="Forty laptops").drag_to(
        column(page, "Meeting"))

    expect(page.get_by_role("status")).to_contain_text(
        "“Forty laptops” was changed by someone else meanwhile")
    expect(column(page, "Qualification").get_by_text("Next step: Call back")).to_be_visible()
    expect(column(page, "Meeting").locator(".card")).to_have_count(0)


def test_dragging_a_deal_changes_the_weighted_forecast(page, org, admin):
    from accord.sales.forecast import today_for

    with scope(organization=org):
        services.create_pipeline(org, admin.user, name="New business")
        services.create_deal(org, admin.user, data={
            "name": "Forty laptops", "amount": "1000", "expected_close_date": today_for(org)})
    sign_in(page, admin)
    main = page.get_by_role("navigation", name="Main")

    def weighted():
        main.get_by_role("link", name="Forecast").click()
        row = page.locator("#forecast-table").get_by_role("row", name=re.compile("^Admin 1"))
        return row.locator("td").nth(4)

    expect(weighted()).to_have_text("100.00")  # 1,000 at Qualification's 10 %
    main.get_by_role("link", name="Deals").click()
    card = column(page, "Qualification").locator(".card").filter(has_text="Forty laptops")
    card.drag_to(column(page, "Proposal"))
    expect(column(page, "Proposal").get_by_role("link", name="Forty laptops")).to_be_visible()
    expect(weighted()).to_have_text("500.00")  # now at Proposal's 50 %
