"""Excel workbooks through the wizard's engine: typed cells, the chosen sheet."""

import datetime as dt
import decimal

from openpyxl import Workbook

from accord.customers import services as customers
from accord.customers.models import Company
from accord.integrations import engine, services


def test_a_workbook_sheet_imports_companies_with_typed_cells(org, admin, in_org, tmp_path):
    book = Workbook()
    book.active.title = "Notes"
    sheet = book.create_sheet("Accounts")
    sheet.append(["Company Name", "Website", "Employees", "Annual Revenue", "Founded"])
    sheet.append(["Kessler Antriebe AG", "https://kessler.example", 120, 2500000.5,
                  dt.date(1987, 3, 1)])
    sheet.append(["Brandt & Co. KG", "brandt.example", 15, None, dt.date(2001, 11, 30)])
    path = tmp_path / "accounts.xlsx"
    book.save(path)
    with in_org(org):
        customers.create_custom_field(org, admin.user, data={
            "entity": "company", "label": "Founded", "key": "founded", "field_type": "date"})

        job = services.create_job(org, admin.user, entity="company", path=path,
                                  options={"sheet": "Accounts"})
        job = engine.run_job(org, admin.user, job)
        rows = list(Company.objects.order_by("pk").values_list(
            "name", "domain", "employees", "annual_revenue", "custom_fields"))

    assert job.options["mapping"] == {"Company Name": "name", "Website": "website",
                                      "Employees": "employees",
                                      "Annual Revenue": "annual_revenue", "Founded": "cf.founded"}
    assert (job.kind, job.created_count, job.failed_count) == ("xlsx", 2, 0)
    assert rows == [
        ("Kessler Antriebe AG", "kessler.example", 120, decimal.Decimal("2500000.50"),
         {"founded": "1987-03-01"}),
        ("Brandt & Co. KG", "brandt.example", 15, None, {"founded": "2001-11-30"}),
    ]


def test_a_row_whose_formula_was_never_calculated_fails_naming_the_cell(
        org, admin, in_org, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["Company Name", "Employees"])
    sheet.append(["Kessler Antriebe AG", "=B3*2"])
    sheet.append(["Brandt & Co. KG", 15])
    path = tmp_path / "accounts.xlsx"
    book.save(path)  # openpyxl stores formulas without calculating them

    with in_org(org):
        job = services.create_job(org, admin.user, entity="company", path=path)
        job = engine.run_job(org, admin.user, job)
        names = list(Company.objects.values_list("name", flat=True))
        problems = list(services.error_rows(job))

    assert (job.created_count, job.failed_count) == (1, 1)
    assert names == ["Brandt & Co. KG"]
    assert [problem[:3] for problem in problems] == [[2, "Employees", "=B3*2"]]
    assert "formula the spreadsheet never calculated" in problems[0][3]
