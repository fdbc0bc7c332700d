"""The query engine against known data; run on SQLite and PostgreSQL alike."""

import datetime as dt
from decimal import Decimal

import pytest
from django_scopes import scope

from accord.errors import InvalidInput
from accord.identity.models import Scope, VisibilityPolicy
from accord.reports import engine


def rows(result):
    return [(row.labels, row.currency, row.value) for row in result.rows]


def test_deals_counted_by_stage(org, admin, pipeline_deals):
    with scope(organization=org):
        result = engine.run({"entity": "deals", "group_by": ["stage"]}, admin)

    assert rows(result) == [(("Qualification",), "", 3), (("Proposal",), "", 2)]


def test_a_sum_of_money_is_split_by_currency(org, admin, pipeline_deals):
    with scope(organization=org):
        result = engine.run({"entity": "deals", "group_by": ["stage"],
                             "measure": "sum:amount"}, admin)

    assert result.by_currency
    assert rows(result) == [
        (("Qualification",), "USD", Decimal("600.50")),
        (("Proposal",), "EUR", Decimal("50.00")),
        (("Proposal",), "USD", Decimal("1000.00")),
    ]
    assert result.total is None


def test_average_and_filters_on_status_and_owner(org, admin, seller, pipeline_deals):
    with scope(organization=org):
        result = engine.run({"entity": "deals", "measure": "avg:amount",
                             "filters": {"status": ["open"], "owner": ["@me"]}}, seller)

    assert rows(result) == [((), "USD", Decimal("150.00"))]


def test_month_buckets_follow_the_viewers_time_zone(org, admin, berlin_contacts):
    with scope(organization=org):
        berlin = engine.run({"entity": "contacts", "group_by": ["created_at:month"]}, admin)
        admin.user.time_zone = "UTC"
        utc = engine.run({"entity": "contacts", "group_by": ["created_at:month"]}, admin)

    assert [(row.keys, row.value) for row in berlin.rows] == [
        (("2026-01-01",), 2), (("2026-02-01",), 2), (("2026-03-01",), 1)]
    assert [(row.keys, row.value) for row in utc.rows] == [
        (("2026-01-01",), 3), (("2026-02-01",), 1), (("2026-03-01",), 1)]
    assert berlin.rows[0].labels == ("2026-01",)


def test_week_buckets_start_on_monday_in_the_viewers_zone(org, admin, berlin_contacts):
    with scope(organization=org):
        result = engine.run({"entity": "contacts", "group_by": ["created_at:week"],
                             "filters": {"lifecycle_stage": ["customer"]}}, admin)

    assert [(row.keys, row.value) for row in result.rows] == [
        (("2026-01-26",), 1), (("2026-02-09",), 1)]


def test_two_groupings_give_one_row_per_pair(org, admin, seller, berlin_contacts):
    with scope(organization=org):
        result = engine.run({"entity": "contacts",
                             "group_by": ["lifecycle_stage", "owner"]}, admin)

    # Members in the order they joined: the admin before the seller.
    assert rows(result) == [
        (("Lead", admin.user.full_name or admin.user.email), "", 1),
        (("Lead", "Sam Seller"), "", 1),
        (("Lead", "(none)"), "", 1),
        (("Customer", "Sam Seller"), "", 2),
    ]
    assert sum(row.value for row in result.rows) == 5


def test_drill_down_selects_the_records_behind_a_row(org, admin, berlin_contacts):
    definition = {"entity": "contacts", "group_by": ["lifecycle_stage", "created_at:month"]}
    with scope(organization=org):
        result = engine.run(definition, admin)
        for row in result.rows:
            behind = engine.drill_down(definition, admin, list(row.keys))
            assert behind.count() == row.value
        february_customers = engine.drill_down(definition, admin, ["customer", "2026-02-01"])
        emails = sorted(february_customers.values_list("email", flat=True))

    assert emails == ["feb1@example.com", "feb2@example.com"]


def test_a_custom_choice_field_groups_and_a_number_field_sums(org, admin, secret_tier):
    with scope(organization=org):
        result = engine.run({"entity": "contacts", "group_by": ["cf_tier"],
                             "measure": "sum:cf_credit"}, admin)

    assert rows(result) == [(("gold",), "", Decimal("21.00")), (("silver",), "", Decimal("3.00"))]


def test_a_custom_choice_field_filters_and_drills_down(org, admin, secret_tier):
    with scope(organization=org):
        gold = engine.run({"entity": "contacts", "filters": {"cf_tier": ["gold"]}}, admin)
        drilled = engine.drill_down({"entity": "contacts", "group_by": ["cf_tier"]}, admin,
                                    ["silver"])
        emails = sorted(drilled.values_list("email", flat=True))

    assert rows(gold) == [((), "", 2)]
    assert emails == ["feb1@example.com", "feb2@example.com", "mar1@example.com"]


@pytest.mark.parametrize(("definition", "field"), [
    ({"entity": "contacts", "group_by": ["cf_tier"]}, "group_by.0"),
    ({"entity": "contacts", "filters": {"cf_tier": ["gold"]}}, "filters.cf_tier"),
    ({"entity": "contacts", "measure": "sum:cf_credit"}, "measure"),
])
def test_a_field_hidden_from_the_role_cannot_be_used(org, seller, secret_tier, definition,
                                                     field):
    with scope(organization=org), pytest.raises(InvalidInput) as caught:
        engine.run(definition, seller)

    assert [error["field"] for error in caught.value.errors] == [field]


def test_reports_count_only_the_records_the_member_may_see(org, admin, seller, berlin_contacts):
    VisibilityPolicy.unscoped.create(organization=org, scopes={
        "sales": {"contacts": Scope.OWN}}, version=1)
    with scope(organization=org):
        mine = engine.run({"entity": "contacts"}, seller)
        everyone = engine.run({"entity": "contacts"}, admin)

    # Three owned by the seller and one without an owner, which everyone sees.
    assert rows(mine) == [((), "", 4)]
    assert rows(everyone) == [((), "", 5)]


def test_a_date_filter_takes_a_period_in_the_viewers_calendar():
    zone = dt.timezone(dt.timedelta(hours=-5))
    now = dt.datetime(2026, 3, 1, 3, 0, tzinfo=dt.UTC)  # still 28 February at UTC-5

    assert engine.period_bounds("this_month", zone, now=now) == (
        dt.date(2026, 2, 1), dt.date(2026, 3, 1))
    assert engine.period_bounds("this_quarter", zone, now=now) == (
        dt.date(2026, 1, 1), dt.date(2026, 4, 1))
    assert engine.period_bounds("last_7_days", zone, now=now) == (
        dt.date(2026, 2, 22), dt.date(2026, 3, 1))


def test_bad_parts_of_a_definition_are_each_named(org, admin):
    with scope(organization=org), pytest.raises(InvalidInput) as caught:
        engine.run({"entity": "deals", "group_by": ["colour", "created_at:fortnight"],
                    "measure": "sum:name", "filters": {"stage": ["x"]}, "chart": "radar"},
                   admin)

    assert sorted(error["field"] for error in caught.value.errors) == [
        "chart", "filters.stage", "group_by.0", "group_by.1", "measure"]


def test_activity_counts_leave_out_entries_on_companies_the_member_may_not_see(
        org, admin, make_member):
    from accord.activities import services as activities
    from accord.customers import services as customers
    from accord.identity import visibility
    from accord.identity.models import Role

    seller = make_member(org, Role.SALES)
    with scope(organization=org):
        mine = customers.create_company(org, seller.user, data={"name": "Kestrel Mills"})
        theirs = customers.create_company(org, admin.user, data={"name": "Heron Works"})
        for company in (mine, theirs, theirs):
            activities.log_activity(org, admin.user, data={
                "kind": "note", "body": "Visited", "company": company})
        visibility.update_visibility(org, admin.user, roles={Role.SALES: {"companies": "own"}})
        definition = {"entity": "activities", "group_by": ["kind"],
                      "filters": {"kind": ["note"]}}
        for_seller = engine.run(definition, seller)
        for_admin = engine.run(definition, admin)

    assert rows(for_seller) == [(("Note",), "", 1)]
    assert rows(for_admin) == [(("Note",), "", 3)]
