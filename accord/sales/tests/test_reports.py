"""The pipeline report's figures, checked against values worked out by hand."""

import datetime as dt
from decimal import Decimal

import pytest
from django_scopes import scope

from accord.sales import services
from accord.sales.charts import attainment_chart, bar_chart
from accord.sales.reports import build_pipeline_report

from .insights_data import SalesBook

START, END = dt.date(2026, 1, 1), dt.date(2026, 3, 31)


@pytest.fixture
def book(org, admin):
    """Deals of Q1 2026; the funnel reads A to D, the outcomes A, B, E, F and G.

    Created in the range: A goes Qualification (2 days), Meeting (1 day),
    Proposal (10 days), Won; B Qualification (4 days), Proposal (5 days),
    Lost; C stays in Qualification; D moves on to Meeting after 6 days. Closed in the
    range: A won 1,000 USD, created 5 Jan, closed 10 Feb (36 days); E won
    500 EUR at 1.20, created 1 Dec, closed 1 Mar (90 days); F won 100 GBP
    without a rate, created 10 Dec, closed 15 Mar (95 days); B and G lost
    on price. H is lost after the range.
    """
    with scope(organization=org):
        data = SalesBook(org, admin.user)
        services.set_exchange_rate(org, admin.user, currency="EUR", valid_on="2025-12-01",
                                   rate="1.20")
        a = data.open_deal("1000", close=END, name="A")
        data.created_on(a, dt.date(2026, 1, 5))
        data.move(a, "Meeting", days_in_stage=2)
        data.move(a, "Proposal", days_in_stage=1)
        data.move(a, "Won", reason="Champion", days_in_stage=10)
        data.close(a, "Won", on=dt.date(2026, 2, 10))
        b = data.open_deal("400", close=END, name="B")
        data.created_on(b, dt.date(2026, 1, 20))
        data.move(b, "Proposal", days_in_stage=4)
        data.move(b, "Lost", reason="Price", days_in_stage=5)
        data.close(b, "Lost", on=dt.date(2026, 3, 20))
        c = data.open_deal("50", close=END, name="C")
        data.created_on(c, dt.date(2026, 2, 1))
        d = data.open_deal("60", close=END, name="D")
        data.created_on(d, dt.date(2026, 3, 31))
        data.move(d, "Meeting", days_in_stage=6)
        for name, amount, currency, created, closed, reason in (
            ("E", "500", "EUR", dt.date(2025, 12, 1), dt.date(2026, 3, 1), "Champion"),
            ("F", "100", "GBP", dt.date(2025, 12, 10), dt.date(2026, 3, 15), ""),
        ):
            deal = data.open_deal(amount, currency=currency, close=closed, name=name)
            data.created_on(deal, created)
            data.close(deal, "Won", on=closed, reason=reason)
        for name, closed in (("G", dt.date(2026, 3, 21)), ("H", dt.date(2026, 4, 2))):
            deal = data.open_deal("70", close=closed, name=name)
            data.created_on(deal, dt.date(2025, 11, 1))
            data.close(deal, "Lost", on=closed, reason="Price")
        yield data


def test_funnel_counts_a_skipped_stage_as_passed_and_converts_step_by_step(org, book, admin):
    with scope(organization=org):
        report = build_pipeline_report(admin, book.pipeline, date_from=START, date_to=END)

    assert report.created == 4
    assert [(step.label, step.reached, step.conversion) for step in report.steps] == [
        ("Qualification", 4, Decimal("75.0")),
        ("Meeting", 3, Decimal("66.7")),
        ("Proposal", 2, Decimal("50.0")),
        ("Negotiation", 1, Decimal("100.0")),
        ("Won", 1, None),
    ]


def test_average_time_in_stage_comes_from_the_moves_out_of_it(org, book, admin):
    with scope(organization=org):
        report = build_pipeline_report(admin, book.pipeline, date_from=START, date_to=END)

    assert [(step.label, step.average_days, step.moves_out) for step in report.steps] == [
        ("Qualification", Decimal("4.0"), 3),
        ("Meeting", Decimal("1.0"), 1),
        ("Proposal", Decimal("7.5"), 2),
        ("Negotiation", None, 0),
        ("Won", None, 0),
    ]


def test_outcomes_of_deals_closed_in_the_range(org, book, admin):
    with scope(organization=org):
        report = build_pipeline_report(admin, book.pipeline, date_from=START, date_to=END)

    assert (report.won, report.lost, report.win_rate) == (3, 2, Decimal("60.0"))
    assert report.average_won == Decimal("800.00")
    assert {code: (item.count, item.amount) for code, item in report.not_converted.items()} \
        == {"GBP": (1, Decimal("100"))}
    assert (report.cycle_average_days, report.cycle_median_days) == (Decimal("73.7"),
                                                                     Decimal("90.0"))
    assert [(item.text, item.count) for item in report.won_reasons] == [
        ("Champion", 2), ("No reason given", 1)]
    assert [(item.text, item.count) for item in report.lost_reasons] == [("Price", 2)]


def test_an_empty_range_gives_no_rates_rather_than_zeros(org, book, admin):
    with scope(organization=org):
        report = build_pipeline_report(admin, book.pipeline, date_from=dt.date(2024, 1, 1),
                                       date_to=dt.date(2024, 1, 31))

    assert report.created == 0
    assert [step.conversion for step in report.steps] == [None] * 5
    assert (report.win_rate, report.average_won, report.cycle_median_days) == (None, None,
                                                                               None)


def test_funnel_bars_are_centred_and_proportional_to_the_largest():
    chart = bar_chart("Funnel", [("Qualification", 4, "4"), ("Meeting", 3, "3"),
                                 ("Won", 0, "0")], centred=True)

    assert [(bar.x, bar.width) for bar in chart.bars] == [(180, 320), (220, 240), (340, 0)]
    assert [bar.y for bar in chart.bars] == [4, 30, 56]
    assert chart.marker_x is None


def test_attainment_bars_mark_the_whole_quota_and_stop_at_double():
    chart = attainment_chart("Attainment", [("Sam", Decimal("0.5"), "50 %"),
                                            ("Ann", Decimal("3"), "300 %")])

    assert [bar.width for bar in chart.bars] == [80, 320]
    assert chart.marker_x == 180 + 160
