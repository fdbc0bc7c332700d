"""The forecast page, its CSV, the quota grid and exchange rates, through HTTP."""

import datetime as dt
import re
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope

from accord.audit.models import AuditEntry
from accord.identity.models import Role
from accord.sales import services
from accord.sales.models import ExchangeRate, Quota

from .insights_data import SalesBook

# The pages start from today; in these tests today is 14 February 2026.
TODAY = dt.datetime(2026, 2, 14, 12, tzinfo=dt.UTC)


@pytest.fixture
def frozen_today():
    with mock.patch.object(timezone, "now", return_value=TODAY):
        yield


@pytest.fixture
def book(org, admin, member):
    """Sam won 1,000 EUR (1,100 USD) on 15 Jan and has 2,000 USD in commit for 10 Feb."""
    with scope(organization=org):
        data = SalesBook(org, admin.user)
        services.set_exchange_rate(org, admin.user, currency="EUR", valid_on="2026-01-01",
                                   rate="1.10")
        won = data.open_deal("1000", currency="EUR", close=dt.date(2026, 1, 20),
                             owner=member.user)
        data.close(won, "Won", on=dt.date(2026, 1, 15))
        data.open_deal("2000", close=dt.date(2026, 2, 10), category="commit",
                       stage="Negotiation", owner=member.user)
        data.open_deal("80", currency="GBP", close=dt.date(2026, 2, 11), owner=member.user)
        services.set_quota(org, admin.user, user=member.user.pk, period="quarter",
                           starts_on=dt.date(2026, 1, 1), amount="4000")
        yield data


def cells(body: str, table_id: str) -> list[list[str]]:
    table = re.search(rf'<table[^>]*id="{table_id}".*?</table>', body, re.S).group(0)
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)
    return [[re.sub(r"<[^>]+>", "", cell).strip()
             for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)] for row in rows]


def test_a_read_only_member_sees_the_quarter_per_owner_with_totals(
        org, book, make_member, client_for, frozen_today):
    reader = make_member(org, Role.READ_ONLY)

    response = client_for(reader).get(reverse("sales_insights:forecast"),
                                      {"period": "quarter", "group_by": "owner"})

    assert response.status_code == 200
    body = response.content.decode()
    assert "<h2>Quarter 1 of 2026</h2>" in body
    assert cells(body, "forecast-table") == [
        ["Owner", "Won", "Commit", "Best case", "Pipeline", "Weighted", "Quota", "Attainment",
         "Not converted"],
        ["Sam Seller", "1,100.00", "2,000.00", "2,000.00", "2,000.00", "1,500.00",
         "4,000.00", "28 %", "1"],
        ["Total", "1,100.00", "2,000.00", "2,000.00", "2,000.00", "1,500.00", "4,000.00",
         "28 %", "1"],
    ]
    assert "1 deal in GBP (80.00 GBP) not converted" in body
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in body


def test_drill_down_links_open_the_deals_list_filtered(org, book, member, client_for,
                                                       frozen_today):
    body = client_for(member).get(reverse("sales_insights:forecast"),
                                  {"period": "month", "when": "previous"}).content.decode()

    owner = member.user.pk
    assert (f'<a href="/deals/?owner={owner}&amp;status=won&amp;close_from=2026-01-01'
            f'&amp;close_to=2026-01-31">1,100.00</a>') in body
    assert (f'<a href="/deals/?owner={owner}&amp;status=open&amp;close_from=2026-01-01'
            f'&amp;close_to=2026-01-31">0.00</a>') in body


def test_the_period_picker_moves_to_the_next_month(org, book, member, client_for,
                                                   frozen_today):
    body = client_for(member).get(reverse("sales_insights:forecast"),
                                  {"period": "month", "when": "next"}).content.decode()

    assert "<h2>March 2026</h2>" in body
    assert "No deals closed or expected to close in this period" in body


def test_the_table_exports_as_csv(org, book, member, client_for, frozen_today):
    response = client_for(member).get(reverse("sales_insights:forecast_export"),
                                      {"period": "quarter", "group_by": "pipeline"})

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="forecast-quarter-2026-01-01-pipeline.csv"')
    assert response.content.decode().splitlines() == [
        "\ufeffGroup,Won,Commit,Best case,Pipeline,Weighted,Quota,Attainment (%),"
        "Deals not converted,Currency",
        "New business,1100.00,2000.00,2000.00,2000.00,1500.00,,,1,USD",
        "Total,1100.00,2000.00,2000.00,2000.00,1500.00,4000.00,27.50,1,USD",
    ]


def test_htmx_gets_only_the_result(org, book, member, client_for, frozen_today):
    response = client_for(member).get(reverse("sales_insights:forecast"),
                                      {"group_by": "team"}, headers={"HX-Request": "true"})

    body = response.content.decode()
    assert body.lstrip().startswith('<div id="forecast-result">')
    assert cells(body, "forecast-table")[1][0] == "No team"


def test_the_forecast_appears_in_the_navigation(org, member, client_for):
    body = client_for(member).get(reverse("core:home")).content.decode()

    assert f'<a href="{reverse("sales_insights:forecast")}" >Forecast</a>' in body


# Quotas


def test_only_managers_and_admins_reach_the_quota_grid(org, member, make_member, client_for):
    manager = make_member(org, Role.MANAGER)

    assert client_for(member).get(reverse("sales_insights:quotas")).status_code == 403
    assert client_for(manager).get(reverse("sales_insights:quotas")).status_code == 200


def test_the_grid_lists_those_who_sell(org, admin, member, make_member, client_for):
    make_member(org, Role.SUPPORT, full_name="Pat Support")

    body = client_for(admin).get(reverse("sales_insights:quotas"),
                                 {"year": "2026", "period": "quarter"}).content.decode()

    grid = cells(body, "quota-grid")
    assert grid[0] == ["Salesperson", "Q1", "Q2", "Q3", "Q4"]
    assert [row[0].split("\n")[0] for row in grid[1:]] == ["Admin 1", "Sam Seller"]


def test_a_manager_sets_quotas_in_the_grid_with_an_audit_entry(org, admin, member,
                                                               client_for):
    field = f"quota_{member.user.pk}_20260401"

    response = client_for(admin).post(
        reverse("sales_insights:quotas") + "?year=2026&period=quarter", {field: "12500.50"})

    assert response.status_code == 302
    assert response["Location"] == reverse("sales_insights:quotas") + "?year=2026&period=quarter"
    with scope(organization=org):
        quota = Quota.objects.get()
        assert (quota.user, quota.period, quota.starts_on, str(quota.amount)) == (
            member.user, "quarter", dt.date(2026, 4, 1), "12500.50")
        assert AuditEntry.objects.filter(entity="quota", object_id=quota.pk,
                                         action="create").count() == 1
    page = client_for(admin).get(response["Location"]).content.decode()
    assert f'name="{field}" value="12500.50"' in page


def test_a_refused_cell_shows_its_error_beside_it_and_nothing_is_saved(org, admin, member,
                                                                       client_for):
    good = f"quota_{member.user.pk}_20260101"
    bad = f"quota_{admin.user.pk}_20260201"

    response = client_for(admin).post(reverse("sales_insights:quotas") + "?year=2026",
                                      {good: "1000", bad: "-5"})

    assert response.status_code == 422
    body = response.content.decode()
    assert (f'<p class="error" id="id_{bad}_error_1">Ensure this value is greater than or '
            f'equal to 0.</p>') in body
    with scope(organization=org):
        assert not Quota.objects.exists()


def test_a_quota_cannot_be_emptied(org, admin, member, client_for, in_org):
    with in_org(org):
        services.set_quota(org, admin.user, user=member.user.pk, period="month",
                           starts_on=dt.date(2026, 1, 1), amount="900")
    field = f"quota_{member.user.pk}_20260101"

    response = client_for(admin).post(reverse("sales_insights:quotas") + "?year=2026",
                                      {field: ""})

    assert response.status_code == 422
    assert "A quota cannot be removed; enter 0." in response.content.decode()


def test_the_grid_keeps_a_quota_someone_else_saved_meanwhile(org, admin, member, client_for,
                                                              in_org):
    with in_org(org):
        services.set_quota(org, admin.user, user=member.user.pk, period="month",
                           starts_on=dt.date(2026, 1, 1), amount="999")
    client = client_for(admin)
    page = client.get(reverse("sales_insights:quotas"), {"year": "2026"}).content.decode()
    january = f"quota_{member.user.pk}_20260101"
    march = f"quota_{admin.user.pk}_20260301"
    assert f'name="seen_{january}" value="999.00"' in page
    with in_org(org):
        services.set_quota(org, admin.user, user=member.user.pk, period="month",
                           starts_on=dt.date(2026, 1, 1), amount="1234")

    untouched = client.post(reverse("sales_insights:quotas") + "?year=2026", {
        january: "999.00", f"seen_{january}": "999.00", march: "500", f"seen_{march}": ""})
    assert untouched.status_code == 302
    with in_org(org):
        assert Quota.objects.get(user=member.user, starts_on=dt.date(2026, 1, 1)).amount == 1234
        assert Quota.objects.get(user=admin.user, starts_on=dt.date(2026, 3, 1)).amount == 500

    clash = client.post(reverse("sales_insights:quotas") + "?year=2026", {
        january: "800", f"seen_{january}": "999.00"})
    assert clash.status_code == 422
    assert "Someone else set this to 1234.00 since the page was opened" in clash.content.decode()
    with in_org(org):
        assert Quota.objects.get(user=member.user, starts_on=dt.date(2026, 1, 1)).amount == 1234


# Exchange rates


def test_an_admin_adds_a_days_rate_and_sees_it_listed(org, admin, client_for):
    client = client_for(admin)

    response = client.post(reverse("sales_insights:exchange_rates"),
                           {"currency": "eur", "valid_on": "2026-03-02", "rate": "1.0825"})

    assert response.status_code == 302
    with scope(organization=org):
        rate = ExchangeRate.objects.get()
        assert (rate.currency, rate.valid_on, str(rate.rate)) == (
            "EUR", dt.date(2026, 3, 2), "1.0825000000")
        assert AuditEntry.objects.filter(entity="exchangerate", action="create").count() == 1
    listing = client.get(reverse("sales_insights:exchange_rates")).content.decode()
    assert cells(listing, "rate-table")[1] == ["EUR", "03/02/2026", "1.0825"]


def test_the_base_currency_is_refused_beside_the_field(org, admin, client_for):
    response = client_for(admin).post(reverse("sales_insights:exchange_rates"),
                                      {"currency": "USD", "valid_on": "2026-03-02",
                                       "rate": "1"})

    assert response.status_code == 422
    assert ('<p class="error" id="id_currency_error_1">The base currency needs no rate.</p>'
            in response.content.decode())


def test_exchange_rates_are_kept_by_managers_and_admins_only(org, member, client_for):
    response = client_for(member).post(reverse("sales_insights:exchange_rates"),
                                       {"currency": "EUR", "valid_on": "2026-03-02",
                                        "rate": "1.1"})

    assert response.status_code == 403


def test_rates_page_by_cursor(org, admin, client_for, in_org):
    with in_org(org):
        for day in range(1, 56):
            services.set_exchange_rate(org, admin.user, currency="EUR",
                                       valid_on=dt.date(2026, 1, 1) + dt.timedelta(days=day),
                                       rate="1.1")
    client = client_for(admin)

    first = client.get(reverse("sales_insights:exchange_rates"), {"currency": "EUR"})
    next_link = re.search(r'href="\?([^"]+)" rel="next"', first.content.decode()).group(1)
    second = client.get(reverse("sales_insights:exchange_rates") + "?"
                        + next_link.replace("&amp;", "&"))

    assert len(cells(first.content.decode(), "rate-table")) == 51
    assert len(cells(second.content.decode(), "rate-table")) == 6
    assert cells(second.content.decode(), "rate-table")[-1][1] == "01/02/2026"
