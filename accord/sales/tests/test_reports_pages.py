"""The pipeline report page, its CSV and the forecast and report API, through HTTP."""

import datetime as dt

import pytest
from django.urls import reverse
from django_scopes import scope

from accord.identity.models import Role
from accord.sales import services

from .insights_data import SalesBook

RANGE = {"date_from": "2026-01-01", "date_to": "2026-03-31"}


@pytest.fixture
def book(org, admin, member):
    """Two deals created in Q1 2026: one won for 900 EUR (1,080 USD), one lost on price."""
    with scope(organization=org):
        data = SalesBook(org, admin.user)
        services.set_exchange_rate(org, admin.user, currency="EUR", valid_on="2026-01-01",
                                   rate="1.2")
        won = data.open_deal("900", currency="EUR", close=dt.date(2026, 2, 1),
                             owner=member.user, category="commit")
        data.created_on(won, dt.date(2026, 1, 10))
        data.move(won, "Proposal", days_in_stage=3)
        data.move(won, "Won", reason="=Fast delivery", days_in_stage="1.5")
        data.close(won, "Won", on=dt.date(2026, 2, 9))
        lost = data.open_deal("300", close=dt.date(2026, 2, 1), name="Lost one")
        data.created_on(lost, dt.date(2026, 1, 20))
        data.move(lost, "Lost", reason="Price", days_in_stage=3)
        data.close(lost, "Lost", on=dt.date(2026, 1, 30))
        data.open_deal("500", close=dt.date(2026, 3, 3), stage="Meeting", owner=member.user)
        yield data


def test_the_report_page_shows_figures_and_charts(org, book, member, client_for):
    response = client_for(member).get(
        reverse("sales_insights:pipeline_report", args=[book.pipeline.pk]), RANGE)

    assert response.status_code == 200
    body = response.content.decode()
    assert "Funnel of the 2 deals created in the range" in body
    assert "<dt>Win rate</dt><dd>50.0 %</dd>" in body
    assert '<span class="amount">1,080.00 USD</span>' in body
    assert "30.0 days on average, median 30.0 days" in body
    assert body.count('<svg xmlns="http://www.w3.org/2000/svg"') == 5
    assert "<title>Price: 1</title>" in body


def test_a_range_ending_before_it_starts_is_refused_beside_the_field(org, book, member,
                                                                     client_for):
    response = client_for(member).get(
        reverse("sales_insights:pipeline_report", args=[book.pipeline.pk]),
        {"date_from": "2026-03-01", "date_to": "2026-02-01"})

    assert response.status_code == 422
    assert ('<p class="error" id="id_date_to_error_1">End on or after the start.</p>'
            in response.content.decode())


def test_the_reports_entry_opens_the_default_pipeline(org, book, member, client_for):
    response = client_for(member).get(reverse("sales_insights:pipeline_report_index"))

    assert response.status_code == 302
    assert response["Location"] == reverse("sales_insights:pipeline_report",
                                           args=[book.pipeline.pk])


def test_the_report_exports_as_csv(org, book, member, client_for):
    response = client_for(member).get(
        reverse("sales_insights:pipeline_report_export", args=[book.pipeline.pk]), RANGE)

    assert response["Content-Disposition"] == (
        f'attachment; filename="pipeline-{book.pipeline.pk}-2026-01-01-2026-03-31.csv"')
    assert response.content.decode().splitlines() == [
        "\ufeffSection,Item,Value",
        "Deals reaching stage,Qualification,2",
        "Conversion to next stage (%),Qualification,50.0",
        "Average days in stage,Qualification,3.0",
        "Deals reaching stage,Meeting,1",
        "Conversion to next stage (%),Meeting,100.0",
        "Deals reaching stage,Proposal,1",
        "Conversion to next stage (%),Proposal,100.0",
        "Average days in stage,Proposal,1.5",
        "Deals reaching stage,Negotiation,1",
        "Conversion to next stage (%),Negotiation,100.0",
        "Deals reaching stage,Won,1",
        "Closed deals,Won,1",
        "Closed deals,Lost,1",
        "Win rate (%),,50.0",
        "Average won deal size,USD,1080.00",
        "Sales cycle average (days),,30.0",
        "Sales cycle median (days),,30.0",
        "Won reason,'=Fast delivery,1",
        "Lost reason,Price,1",
    ]


def test_another_organisations_pipeline_answers_404(org, other_org, book, member,
                                                    client_for, api_client_for):
    with scope(organization=other_org):
        foreign = services.create_pipeline(other_org, None, name="Theirs")

    page = client_for(member).get(reverse("sales_insights:pipeline_report", args=[foreign.pk]))
    api = api_client_for(member).get(f"/api/v1/sales-reports/pipelines/{foreign.pk}")

    assert page.status_code == 404
    assert api.status_code == 404
    assert api["Content-Type"] == "application/problem+json"


def test_api_answers_the_pipeline_report(org, book, member, api_client_for):
    response = api_client_for(member).get(
        f"/api/v1/sales-reports/pipelines/{book.pipeline.pk}", RANGE)

    assert response.status_code == 200
    report = response.json()
    assert report["stages"][0] == {
        "label": "Qualification", "stage_ids": [book.stage("Qualification").pk], "reached": 2,
        "conversion_percent": "50.0", "average_days": "3.0"}
    assert {key: report[key] for key in (
        "currency", "created", "won", "lost", "win_rate_percent", "average_won_amount",
        "cycle_average_days", "cycle_median_days", "won_reasons", "lost_reasons",
        "not_converted")} == {
        "currency": "USD", "created": 2, "won": 1, "lost": 1, "win_rate_percent": "50.0",
        "average_won_amount": "1080.00", "cycle_average_days": "30.0",
        "cycle_median_days": "30.0",
        "won_reasons": [{"reason": "=Fast delivery", "count": 1}],
        "lost_reasons": [{"reason": "Price", "count": 1}], "not_converted": [],
    }


def test_api_answers_the_forecast_with_decimal_strings(org, book, member, make_member,
                                                       api_client_for):
    reader = make_member(org, Role.READ_ONLY)

    response = api_client_for(reader).get("/api/v1/forecasts", {
        "period": "quarter", "date": "2026-02-14", "group_by": "owner"})

    assert response.status_code == 200
    assert response.json() == {
        "period": {"kind": "quarter", "starts_on": "2026-01-01", "ends_on": "2026-03-31"},
        "group_by": "owner", "currency": "USD",
        "groups": [{
            "id": member.user.pk, "label": "Sam Seller", "won": "1080.00", "commit": "0.00",
            "best_case": "0.00", "pipeline": "500.00", "weighted": "125.00", "quota": None,
            "attainment": None, "not_converted": [],
        }],
        "totals": {
            "won": "1080.00", "commit": "0.00", "best_case": "0.00", "pipeline": "500.00",
            "weighted": "125.00", "quota": None, "attainment": None, "not_converted": [],
        },
    }


def test_api_refuses_an_unknown_grouping_naming_the_field(org, member, api_client_for):
    response = api_client_for(member).get("/api/v1/forecasts", {"group_by": "region"})

    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == ["group_by"]
