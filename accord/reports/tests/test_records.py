"""Reports on custom records (`record:<type key>`): the engine against known data, and the
builder, drill-down, export, dashboards and API the way a member uses them."""

import csv
import io
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django_scopes import scope

from accord.errors import InvalidInput
from accord.identity.visibility import update_visibility
from accord.records import services as records
from accord.records.models import Record
from accord.reports import engine
from accord.reports.models import SavedReport

BY_STATUS = "entity=record:property&group=cf_status&measure=avg:cf_price&chart=bar"


def rows(result):
    return [(row.labels, row.currency, row.value) for row in result.rows]


def run(org, viewer, **definition):
    with scope(organization=org):
        return engine.run({"entity": "record:property", **definition}, viewer)


def drilled(org, viewer, keys, currency="", **definition):
    with scope(organization=org):
        found = engine.drill_down({"entity": "record:property", **definition}, viewer, keys,
                                  currency)
        return sorted(record.title for record in found)


# The engine


def test_records_are_counted_by_a_choice_field_in_the_order_of_its_choices(
        org, admin, properties):
    result = run(org, admin, group_by=["cf_status"])

    assert rows(result) == [(("Available",), "", 2), (("Under offer",), "", 1),
                            (("Sold",), "", 1)]
    assert str(result.entity.label) == "Properties"


def test_an_average_of_money_is_in_the_fields_currency(org, admin, properties):
    result = run(org, admin, group_by=["cf_status"], measure="avg:cf_price")

    assert result.by_currency
    assert rows(result) == [(("Available",), "EUR", Decimal("450000.00")),
                            (("Under offer",), "EUR", Decimal("250000.50")),
                            (("Sold",), "EUR", None)]
    assert result.measure_label == "Average Price"


def test_money_without_a_fixed_currency_is_summed_per_currency(org, admin, properties):
    result = run(org, admin, measure="sum:cf_deposit")

    assert rows(result) == [((), "EUR", Decimal("1500.00")), ((), "GBP", Decimal("2000.00"))]
    assert drilled(org, admin, [], "GBP", measure="sum:cf_deposit") == ["2 Mill Lane"]


def test_numbers_are_measured_by_a_yes_no_field_with_an_empty_group(org, admin, properties):
    highest = run(org, admin, group_by=["cf_garden"], measure="max:cf_bedrooms")
    total = run(org, admin, measure="sum:cf_bedrooms")

    assert rows(highest) == [(("No",), "", Decimal("4.00")), (("Yes",), "", Decimal("3.00")),
                             (("(none)",), "", Decimal("2.00"))]
    assert rows(total) == [((), "", Decimal("9.00"))]
    assert drilled(org, admin, [""], group_by=["cf_garden"]) == ["3 Quay", "4 Quay"]
    assert drilled(org, admin, ["no"], group_by=["cf_garden"]) == ["2 Mill Lane"]


def test_a_date_field_is_cut_into_months(org, admin, properties):
    result = run(org, admin, group_by=["cf_listed_on:month"])

    assert [(row.keys, row.value) for row in result.rows] == [
        (("2026-01-01",), 1), (("2026-02-01",), 2), (("",), 1)]
    assert drilled(org, admin, ["2026-02-01"], group_by=["cf_listed_on:month"]) == [
        "2 Mill Lane", "3 Quay"]


def test_a_datetime_field_is_cut_in_the_viewers_time_zone(org, admin, properties):
    berlin = run(org, admin, group_by=["cf_viewed_at:month"])
    february = drilled(org, admin, ["2026-02-01"], group_by=["cf_viewed_at:month"])
    admin.user.time_zone = "UTC"
    utc = run(org, admin, group_by=["cf_viewed_at:month"])

    assert [(row.keys, row.value) for row in berlin.rows] == [
        (("2026-01-01",), 1), (("2026-02-01",), 1), (("",), 2)]
    assert [(row.keys, row.value) for row in utc.rows] == [(("2026-01-01",), 2), (("",), 2)]
    assert february == ["1 Mill Lane"]


def test_a_link_field_groups_by_the_linked_records_name(org, admin, properties):
    by_seller = run(org, admin, group_by=["cf_seller"])
    by_buyer = run(org, admin, group_by=["cf_buyers"])

    assert rows(by_seller) == [(("Ada Lind",), "", 2), (("Bo Lind",), "", 1),
                               (("(none)",), "", 1)]
    # A record linked to two buyers counts for each of them.
    assert rows(by_buyer) == [(("Ben Lind",), "", 2), (("Cy Lind",), "", 1),
                              (("(none)",), "", 2)]
    assert drilled(org, admin, [str(properties["Ben"])], group_by=["cf_buyers"]) == [
        "1 Mill Lane", "2 Mill Lane"]
    assert drilled(org, admin, [""], group_by=["cf_buyers"]) == ["3 Quay", "4 Quay"]


def test_filters_on_fields_links_and_owner_combine(org, admin, seller, properties):
    result = run(org, admin, group_by=["owner", "cf_town"], filters={
        "cf_status": ["Available", "Under offer"], "cf_seller": [str(properties["Ada"])]})
    mine = run(org, seller, filters={"owner": ["@me"], "cf_garden": ["yes"]})

    assert rows(result) == [((admin.user.full_name or admin.user.email, "Lund"), "", 1),
                            (("Sam Seller", "Lund"), "", 1)]
    assert rows(mine) == [((), "", 1)]


def test_visibility_narrows_the_records_as_the_list_does(org, admin, seller, properties):
    with scope(organization=org):
        update_visibility(org, admin.user, roles={"sales": {"records": "own"}})

    result = run(org, seller, group_by=["cf_status"])

    # Their own two and the one nobody owns.
    assert rows(result) == [(("Available",), "", 1), (("Under offer",), "", 1),
                            (("Sold",), "", 1)]


def test_a_linked_contact_the_member_may_not_see_is_shown_by_id(org, admin, seller,
                                                                 properties):
    with scope(organization=org):
        update_visibility(org, admin.user, roles={"sales": {"contacts": "own"}})

    result = run(org, seller, group_by=["cf_seller"])

    assert rows(result) == [((str(properties["Ada"]),), "", 2),
                            ((str(properties["Bo"]),), "", 1), (("(none)",), "", 1)]


def test_a_field_hidden_from_the_role_cannot_be_measured_or_grouped(org, admin, seller,
                                                                      properties):
    with pytest.raises(InvalidInput) as refused:
        run(org, seller, measure="sum:cf_commission")
    allowed = run(org, admin, measure="sum:cf_commission")

    assert [error["field"] for error in refused.value.errors] == ["measure"]
    assert rows(allowed) == [((), "EUR", Decimal("27000.00"))]


def test_an_unknown_or_inactive_type_is_no_entity(org, admin, properties):
    with scope(organization=org):
        records.save_type(org, admin.user, {"key": "office", "active": False})

    for key in ("record:office", "record:nothing"):
        with pytest.raises(InvalidInput) as refused:
            run(org, admin, entity=key)
        assert [error["field"] for error in refused.value.errors] == ["entity"]


# Pages, exports, dashboards and the API


def test_the_builder_offers_record_types_and_only_the_fields_the_role_sees(
        org, admin, seller, client_for, properties):
    as_admin = client_for(admin).get(reverse("reports:new") + "?entity=record:property")
    as_seller = client_for(seller).get(reverse("reports:new") + "?entity=record:property")

    page = as_seller.content.decode()
    assert as_seller.status_code == 200
    assert '<a href="?entity=record%3Aproperty" aria-current="page">Properties</a>' in page
    assert '<option value="cf_listed_on:quarter">Listed on (quarter)</option>' in page
    assert '<option value="avg:cf_price">Average Price</option>' in page
    assert "Commission" not in page
    assert '<option value="sum:cf_commission">Sum of Commission</option>' in (
        as_admin.content.decode())


def test_the_chart_links_each_bar_to_its_records(org, admin, client_for, properties):
    client = client_for(admin)
    page = client.get(reverse("reports:new") + "?" + BY_STATUS).content.decode()
    links = re.findall(r'<td class="number"><a href="([^"]+)">([^<]+)</a>', page)

    assert [text for _href, text in links] == ["450,000.00 EUR", "250,000.50 EUR", "–"]
    listing = client.get(links[0][0].replace("&amp;", "&")).content.decode()
    assert re.findall(r'<tr><td><a href="/records/property/\d+/">([^<]+)</a>', listing) == [
        "1 Mill Lane", "2 Mill Lane"]
    assert "Records in the group: Available" in listing


def test_csv_export_of_a_record_report(org, admin, client_for, properties):
    response = client_for(admin).get(reverse("reports:export_csv") + "?" + BY_STATUS)

    assert list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")))) == [
        ["Status", "Currency", "Average Price"],
        ["Available", "EUR", "450000.00"],
        ["Under offer", "EUR", "250000.50"],
        ["Sold", "EUR", ""],
    ]


def test_a_saved_record_report_goes_on_a_dashboard(org, admin, client_for, properties):
    client = client_for(admin)

    saved = client.post(reverse("reports:new") + "?" + BY_STATUS, {
        "entity": "record:property", "group": "cf_status", "measure": "count",
        "chart": "pie", "name": "Properties by status"})
    with scope(organization=org):
        report = SavedReport.objects.get()
    board = client.post(reverse("reports:dashboard_create"), {"name": "Listings"})
    client.post(board["Location"] + "tiles/", {"action": "add", "report": report.pk})
    page = client.get(board["Location"]).content.decode()

    assert saved.status_code == 302
    assert report.definition["entity"] == "record:property"
    assert "Properties by status" in page
    assert re.findall(r'<td class="number"><a href="[^"]+">(\d+)</a></td>', page) == [
        "2", "1", "1"]


def test_the_api_takes_record_reports_and_answers_their_rows(org, admin, seller,
                                                             api_client_for, properties):
    api = api_client_for(admin)
    definition = {"entity": "record:property", "group_by": ["cf_seller"],
                  "measure": "sum:cf_price"}

    created = api.post("/api/v1/reports", {"name": "By seller", "definition": definition,
                                           "is_shared": True},
                       content_type="application/json")
    result = api.get(f"/api/v1/reports/{created.json()['id']}/result")
    hidden = api_client_for(seller).post(
        "/api/v1/reports", {"name": "Commission", "definition": {
            "entity": "record:property", "measure": "sum:cf_commission"}},
        content_type="application/json")

    assert created.status_code == 201, created.json()
    assert result.json() == {
        "columns": ["Seller"], "measure": "Sum of Price", "by_currency": True,
        "truncated": False,
        "rows": [
            {"keys": [str(properties["Ada"])], "labels": ["Ada Lind"], "currency": "EUR",
             "value": "900000.00"},
            {"keys": [str(properties["Bo"])], "labels": ["Bo Lind"], "currency": "EUR",
             "value": "250000.50"},
            {"keys": [""], "labels": ["(none)"], "currency": "EUR", "value": None},
        ]}
    assert hidden.status_code == 422
    assert [error["field"] for error in hidden.json()["errors"]] == ["definition.measure"]


def test_records_in_the_trash_are_not_counted(org, admin, properties):
    with scope(organization=org):
        in_trash = Record.with_deleted.filter(deleted_at__isnull=False).count()

    result = run(org, admin, group_by=["cf_status"], measure="sum:cf_price")

    assert in_trash == 1
    assert rows(result)[-1] == (("Sold",), "EUR", None)
