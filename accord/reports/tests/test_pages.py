"""The report pages the way a member uses them: build, drill down, save, export."""

import csv
import io
import re

from django.urls import reverse
from django_scopes import scope
from openpyxl import load_workbook

from accord.identity.models import Role
from accord.reports.models import SavedReport

BY_STAGE = "entity=deals&group=stage&measure=count&chart=bar"


def test_the_builder_draws_the_chart_and_table_of_a_report(org, admin, client_for,
                                                           pipeline_deals):
    response = client_for(admin).get(reverse("reports:new") + "?" + BY_STAGE)

    assert response.status_code == 200
    page = response.content.decode()
    assert '<svg class="report-chart"' in page
    assert '<title id="report-chart-title">Report</title>' in page
    cells = re.findall(r'<td class="number"><a href="[^"]+">(\d+)</a></td>', page)
    assert cells == ["3", "2"]


def test_each_bar_links_to_the_records_it_counts(org, admin, client_for, pipeline_deals):
    client = client_for(admin)
    page = client.get(reverse("reports:new") + "?" + BY_STAGE).content.decode()
    links = re.findall(r'<td class="number"><a href="([^"]+)">(\d+)</a>', page)

    headings = []
    for href, count in links:
        listing = client.get(href.replace("&amp;", "&")).content.decode()
        assert listing.count('<tr><td><a href="/deals/') == int(count)
        headings.append(re.search(r"Records in the group: ([^<]+)</p>", listing).group(1))
    # The group is named as in the report, not by the stage's id.
    assert headings == ["Qualification", "Proposal"]


def test_a_bad_grouping_is_named_next_to_its_field(org, admin, client_for):
    response = client_for(admin).get(reverse("reports:new") + "?entity=deals&group=colour")

    assert response.status_code == 422
    assert 'id="group-0-error">This field cannot be grouped by.' in response.content.decode()


def test_saving_a_report_keeps_its_definition(org, admin, client_for, pipeline_deals):
    response = client_for(admin).post(reverse("reports:new") + "?" + BY_STAGE, {
        "entity": "deals", "group": "stage", "measure": "sum:amount", "chart": "pie",
        "f.status": "open", "name": "Open pipeline", "is_shared": "on"})

    with scope(organization=org):
        report = SavedReport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == report.get_absolute_url()
    assert (report.name, report.is_shared, report.owner_id) == ("Open pipeline", True,
                                                                admin.user_id)
    assert report.definition == {"entity": "deals", "group_by": ["stage"],
                                 "measure": "sum:amount", "filters": {"status": ["open"]},
                                 "chart": "pie"}


def test_sales_may_save_private_reports_but_not_share_them(org, client_for, make_member,
                                                           pipeline_deals):
    seller = make_member(org, Role.SALES, email="other-seller@example.com")
    client = client_for(seller)
    base = {"entity": "deals", "group": "stage", "measure": "count", "chart": "bar",
            "name": "Mine"}

    shared = client.post(reverse("reports:new"), {**base, "is_shared": "on"})
    private = client.post(reverse("reports:new"), base)

    assert shared.status_code == 403
    assert private.status_code == 302


def test_a_private_report_of_another_member_answers_404(org, admin, client_for, make_member):
    with scope(organization=org):
        report = SavedReport.objects.create(organization=org, owner=admin.user, name="Mine",
                                            definition={"entity": "contacts", "group_by": [],
                                                        "measure": "count", "filters": {},
                                                        "chart": "table"})
    other = make_member(org, Role.MANAGER, email="manager@example.com")

    assert client_for(other).get(report.get_absolute_url()).status_code == 404
    assert client_for(admin).get(report.get_absolute_url()).status_code == 200


def test_csv_export_has_one_row_per_group(org, admin, client_for, pipeline_deals):
    response = client_for(admin).get(reverse("reports:export_csv")
                                     + "?entity=deals&group=stage&measure=sum:amount")

    text = response.content.decode("utf-8-sig")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert list(csv.reader(io.StringIO(text))) == [
        ["Stage", "Currency", "Sum of Amount"],
        ["Qualification", "USD", "600.50"],
        ["Proposal", "EUR", "50.00"],
        ["Proposal", "USD", "1000.00"],
    ]


def test_xlsx_export_keeps_numbers_as_numbers_and_text_inert(org, admin, client_for,
                                                             pipeline_deals):
    with scope(organization=org):
        pipeline_deals.stages.filter(name="Proposal").update(name="=HYPERLINK(1)")

    response = client_for(admin).get(reverse("reports:export_xlsx")
                                     + "?entity=deals&group=stage")

    sheet = load_workbook(io.BytesIO(response.content)).active
    assert [[cell.value for cell in row] for row in sheet.iter_rows()] == [
        ["Stage", "Count"], ["Qualification", 3], ["'=HYPERLINK(1)", 2]]
