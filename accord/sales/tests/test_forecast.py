"""The forecast's figures, checked against amounts worked out by hand."""

import datetime as dt
from decimal import Decimal
from unittest import mock

import pytest
from django.utils import timezone
from django_scopes import scope

from accord.identity.models import Membership, Team
from accord.sales import services
from accord.sales.forecast import build_forecast, period_containing, today_for

from .insights_data import SalesBook

Q1 = period_containing("quarter", dt.date(2026, 2, 14))


@pytest.fixture
def book(org, admin, member):
    """Two salespeople's deals in Q1 2026 in USD (the base), EUR and GBP (no rate).

    Sam: won 1,000 EUR on 15 Jan at 1.10 (1,100) and 500 USD on 31 Mar, so
    1,600; won 200 USD on 1 Apr, the next quarter. Open: 2,000 EUR commit at
    75 % on 10 Feb at 1.20 (2,400, weighted 1,800), 1,000 USD best case at
    50 % (weighted 500), 300 GBP without a rate, 700 USD omitted, 999 USD
    due in April. Quotas 1,000 a month. The admin: 100 USD open at 10 %
    (weighted 10) and a quarterly quota of 2,000.
    """
    with scope(organization=org):
        sam = member.user
        data = SalesBook(org, admin.user)
        services.set_exchange_rate(org, admin.user, currency="EUR", valid_on="2026-01-01",
                                   rate="1.10")
        services.set_exchange_rate(org, admin.user, currency="EUR", valid_on="2026-02-01",
                                   rate="1.20")
        won = data.open_deal("1000", currency="EUR", close=dt.date(2026, 1, 20), owner=sam)
        data.close(won, "Won", on=dt.date(2026, 1, 15))
        won = data.open_deal("500", close=dt.date(2026, 3, 1), owner=sam)
        data.close(won, "Won", on=dt.date(2026, 3, 31))
        won = data.open_deal("200", close=dt.date(2026, 3, 1), owner=sam)
        data.close(won, "Won", on=dt.date(2026, 4, 1))
        data.open_deal("2000", currency="EUR", close=dt.date(2026, 2, 10), category="commit",
                       stage="Negotiation", owner=sam)
        data.open_deal("1000", close=dt.date(2026, 3, 1), category="best_case",
                       stage="Proposal", owner=sam)
        data.open_deal("300", currency="GBP", close=dt.date(2026, 2, 1), owner=sam)
        data.open_deal("700", close=dt.date(2026, 2, 1), category="omitted", owner=sam)
        data.open_deal("999", close=dt.date(2026, 4, 1), category="commit", owner=sam)
        data.open_deal("100", close=dt.date(2026, 1, 31), owner=admin.user)
        for month in (1, 2, 3):
            services.set_quota(org, admin.user, user=sam.pk, period="month",
                               starts_on=dt.date(2026, month, 1), amount="1000")
        services.set_quota(org, admin.user, user=admin.user.pk, period="quarter",
                           starts_on=dt.date(2026, 1, 1), amount="2000")
        yield data


def figures_of(figures, currency="USD"):
    shown = figures.rounded(currency)
    return {
        "won": shown.won, "commit": shown.commit, "best_case": shown.best_case,
        "pipeline": shown.pipeline, "weighted": shown.weighted, "quota": shown.quota,
        "attainment": shown.attainment,
        "not_converted": {code: (item.count, item.amount)
                          for code, item in shown.not_converted.items()},
    }


def test_periods_are_calendar_months_and_quarters():
    assert (Q1.starts_on, Q1.ends_on) == (dt.date(2026, 1, 1), dt.date(2026, 3, 31))
    december = period_containing("month", dt.date(2025, 12, 31))
    assert (december.starts_on, december.ends_on) == (dt.date(2025, 12, 1),
                                                       dt.date(2025, 12, 31))
    assert december.shifted(1) == period_containing("month", dt.date(2026, 1, 9))
    assert Q1.shifted(-1).starts_on == dt.date(2025, 10, 1)
    assert Q1.shifted(1).ends_on == dt.date(2026, 6, 30)


def test_forecast_per_owner_converts_each_deal_on_its_day(org, book, member, admin):
    with scope(organization=org):
        forecast = build_forecast(admin, period=Q1, group_by="owner")

    rows = {group.label: figures_of(group.figures) for group in forecast.groups}
    assert rows == {
        "Sam Seller": {
            "won": Decimal("1600.00"), "commit": Decimal("2400.00"),
            "best_case": Decimal("3400.00"), "pipeline": Decimal("3400.00"),
            "weighted": Decimal("2300.00"), "quota": Decimal("3000.00"),
            "attainment": Decimal("0.5333"), "not_converted": {"GBP": (1, Decimal("300"))},
        },
        "Admin 1": {
            "won": Decimal("0.00"), "commit": Decimal("0.00"), "best_case": Decimal("0.00"),
            "pipeline": Decimal("100.00"), "weighted": Decimal("10.00"),
            "quota": Decimal("2000.00"), "attainment": Decimal("0.0000"), "not_converted": {},
        },
    }
    assert [group.key for group in forecast.groups] == [admin.user.pk, member.user.pk]
    assert figures_of(forecast.totals) == {
        "won": Decimal("1600.00"), "commit": Decimal("2400.00"),
        "best_case": Decimal("3400.00"), "pipeline": Decimal("3500.00"),
        "weighted": Decimal("2310.00"), "quota": Decimal("5000.00"),
        "attainment": Decimal("0.3200"), "not_converted": {"GBP": (1, Decimal("300"))},
    }


def test_a_deal_without_a_rate_is_counted_apart_never_summed_unconverted(org, book, member, admin):
    with scope(organization=org):
        february = build_forecast(admin, period=period_containing("month", dt.date(2026, 2, 1)))

    sam = figures_of(february.groups[-1].figures)
    assert sam["pipeline"] == Decimal("2400.00")
    assert sam["not_converted"] == {"GBP": (1, Decimal("300"))}
    assert february.totals.not_converted_count == 1


def test_the_quarter_boundary_splits_wins_by_their_close_day(org, book, admin):
    with scope(organization=org):
        march = build_forecast(admin, period=period_containing("month", dt.date(2026, 3, 5)))
        april = build_forecast(admin, period=Q1.shifted(1))

    assert figures_of(march.totals)["won"] == Decimal("500.00")
    assert figures_of(march.totals)["quota"] == Decimal("1000.00")
    assert figures_of(april.totals)["won"] == Decimal("200.00")
    assert figures_of(april.totals)["commit"] == Decimal("999.00")
    assert april.totals.quota is None


def test_forecast_per_team_follows_the_owners_membership(org, book, member, admin):
    with scope(organization=org):
        east = Team.objects.create(organization=org, name="East")
        Membership.objects.filter(pk=member.pk).update(team=east)
        forecast = build_forecast(admin, period=Q1, group_by="team")

    assert [(group.key, group.label) for group in forecast.groups] == [
        (east.pk, "East"), (None, "No team")]
    east_figures, no_team = (figures_of(group.figures) for group in forecast.groups)
    assert (east_figures["won"], east_figures["quota"]) == (Decimal("1600.00"),
                                                            Decimal("3000.00"))
    assert (no_team["pipeline"], no_team["quota"]) == (Decimal("100.00"), Decimal("2000.00"))
    assert forecast.groups[0].filters is None


def test_forecast_per_pipeline_keeps_the_quota_in_the_totals_only(org, book, admin):
    with scope(organization=org):
        other = SalesBook(org, admin.user, pipeline="Renewals")
        other.open_deal("250.50", close=dt.date(2026, 3, 31), category="commit")
        forecast = build_forecast(admin, period=Q1, group_by="pipeline")

    rows = {group.label: figures_of(group.figures) for group in forecast.groups}
    assert rows["Renewals"]["commit"] == Decimal("250.50")
    assert rows["New business"]["pipeline"] == Decimal("3500.00")
    assert rows["New business"]["quota"] is None
    assert figures_of(forecast.totals)["quota"] == Decimal("5000.00")
    assert forecast.groups[0].filters == {"pipeline": book.pipeline.pk}


def test_a_deal_won_just_after_midnight_in_the_organisations_zone_counts_in_that_day(
        org, admin):
    org.time_zone = "Europe/Berlin"
    org.save()
    # 22:30 UTC on 31 March is 00:30 on 1 April in Berlin (summer time).
    moment = dt.datetime(2026, 3, 31, 22, 30, tzinfo=dt.UTC)
    with scope(organization=org), mock.patch.object(timezone, "now", return_value=moment):
        data = SalesBook(org, admin.user)
        deal = data.open_deal("900", close=dt.date(2026, 3, 31))
        deal = data.move(deal, "Won")
        today = today_for(org)
        q1 = build_forecast(admin, period=Q1)
        q2 = build_forecast(admin, period=period_containing("quarter", today))

    assert deal.closed_on == dt.date(2026, 4, 1)
    assert today == dt.date(2026, 4, 1)
    assert q1.totals.won == Decimal(0)
    assert q2.totals.won == Decimal("900")
