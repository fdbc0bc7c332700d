"""Importing products and deals: the sales data set's files through the command and the API.

The files are the generated sales data set (the same columns and flaws as
the public one); what each import must do is computed from them here with
the csv module.
"""

import collections
import csv
import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from accord.commerce.models import Product
from accord.core.demo.sales import STAGES
from accord.core.demo.sales_data import PIPELINE_SPELLING, generate, write_folder
from accord.customers.models import Company
from accord.identity.models import Membership, Role
from accord.integrations import engine
from accord.integrations.models import ImportJob
from accord.sales import services as sales
from accord.sales.models import Deal, StageChange

[(PRODUCT, MISSPELT)] = PIPELINE_SPELLING.items()  # "Nimbus Pro", spelt "NimbusPro"
ROWS = 60  # opportunities: every stage and the misspelt product, a few seconds of import
PIPELINE_MAPPING = {
    "opportunity_id": "external_id", "sales_agent": "owner", "product": "product",
    "account": "company", "deal_stage": "stage", "engage_date": "opened_on",
    "close_date": "closed_on",
    "close_value": "amount",
}


def run(*args, **options) -> tuple[dict, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import", *args, stdout=out, stderr=err, **options)
    return json.loads(out.getvalue().strip().splitlines()[-1]), err.getvalue()


def read(path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def files(tmp_path):
    write_folder(generate(last_day=dt.date(2026, 6, 30), opportunities=ROWS), tmp_path)
    return tmp_path


@pytest.fixture
def seller(org, admin, in_org, files, django_user_model):
    """The organisation set up to sell: its pipeline and every agent of the file a member."""
    with in_org(org):
        sales.create_pipeline(org, admin.user, name="New business", stages=STAGES)
        for number, row in enumerate(read(files / "sales_teams.csv")):
            # No password: hashing one per agent would take most of the test.
            user = django_user_model.objects.create(email=f"agent{number}@example.com",
                                                    full_name=row["sales_agent"])
            Membership.objects.create(organization=org, user=user, role=Role.SALES)
    return org


def import_products(org, files) -> dict:
    summary, _ = run(str(files / "products.csv"), org=org.slug, entity="product")
    return summary


def test_products_come_in_with_a_sku_made_from_their_name(org, admin, in_org, files):
    summary = import_products(org, files)

    assert summary["mapping"] == {"product": "name", "series": "category",
                                  "sales_price": "unit_price"}
    assert (summary["created"], summary["failed"]) == (7, 0)
    with in_org(org):
        products = set(Product.objects.values_list("sku", "name", "category", "unit_price",
                                                   "currency"))
    assert ("NIMBUS-PRO", "Nimbus Pro", "Nimbus", Decimal(4790), "USD") in products
    assert ("TITAN-500", "Titan 500", "Titan", Decimal(26500), "USD") in products
    assert len(products) == 7


def test_importing_the_catalogue_again_updates_by_sku_and_creates_nothing(org, admin, in_org,
                                                                         files):
    import_products(org, files)
    rows = read(files / "products.csv")
    rows[0]["sales_price"] = "600"
    with open(files / "products.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    summary, _ = run(str(files / "products.csv"), org=org.slug, entity="product",
                     duplicates="overwrite")

    assert (summary["created"], summary["updated"], summary["skipped"]) == (0, 1, 6)
    with in_org(org):
        assert Product.objects.get(sku="NIMBUS-BASIC").unit_price == Decimal(600)


def test_pipeline_file_lists_each_row_whose_product_is_spelt_otherwise(seller, admin, in_org,
                                                                       files, tmp_path):
    import_products(seller, files)
    rows = read(files / "sales_pipeline.csv")
    mismatched = [number for number, row in enumerate(rows, start=2)
                  if row["product"] == MISSPELT]
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps(PIPELINE_MAPPING))

    summary, err = run(str(files / "sales_pipeline.csv"), org=seller.slug, entity="deal",
                       mapping=str(mapping))

    assert mismatched
    assert (summary["created"], summary["failed"]) == (ROWS - len(mismatched), len(mismatched))
    with in_org(seller):
        job = ImportJob.objects.get(pk=summary["import_id"])
        problems = list(job.ledger.exclude(errors=[]).order_by("row")
                        .values_list("row", "errors"))
    assert problems == [(number, [{
        "column": "product", "value": "NimbusPro",
        "reason": "No product has this name or SKU. “Nimbus Pro” differs only in spaces, "
                  "case or punctuation; correct the file, or name the product so."}])
        for number in mismatched]
    assert err.splitlines()[0] == (
        f"row {mismatched[0]} product: No product has this name or SKU. “Nimbus Pro” "
        "differs only in spaces, case or punctuation; correct the file, or name the product "
        "so.")


def test_normalised_pipeline_file_brings_every_deal_in_with_its_figures(seller, admin, in_org,
                                                                       files, tmp_path):
    import_products(seller, files)
    text = (files / "sales_pipeline.csv").read_text().replace(f",{MISSPELT},", f",{PRODUCT},")
    (files / "sales_pipeline.csv").write_text(text)
    rows = read(files / "sales_pipeline.csv")
    won = collections.Counter()
    for row in rows:
        if row["deal_stage"] == "Won":
            won[row["sales_agent"]] += int(row["close_value"])

    summary, _ = run(str(files / "sales_pipeline.csv"), org=seller.slug, entity="deal")

    assert summary["mapping"] == {key: value for key, value in PIPELINE_MAPPING.items()
                                  if value}
    assert (summary["created"], summary["failed"]) == (ROWS, 0)
    with in_org(seller):
        stages = collections.Counter(Deal.objects.values_list("stage__name", flat=True))
        revenue = collections.Counter()
        for owner, amount in Deal.objects.filter(status="won").values_list(
                "owner__full_name", "amount"):
            revenue[owner] += int(amount)
        lost = set(Deal.objects.filter(status="lost").values_list("close_reason", flat=True))
        without_company = Deal.objects.filter(company__isnull=True).count()
        accounts = Company.objects.count()
    assert stages == collections.Counter(row["deal_stage"] for row in rows)
    assert revenue == won
    assert lost == {"Lost (imported)"}
    assert without_company == sum(not row["account"] for row in rows)
    assert accounts == len({row["account"] for row in rows if row["account"]})


def test_a_won_row_is_moved_through_the_services_and_keeps_its_close_date(seller, admin,
                                                                         in_org, files):
    import_products(seller, files)
    row = next(row for row in read(files / "sales_pipeline.csv")
               if row["deal_stage"] == "Won" and row["product"] != MISSPELT)

    summary, _ = run(str(files / "sales_pipeline.csv"), org=seller.slug, entity="deal")

    with in_org(seller):
        job = ImportJob.objects.get(pk=summary["import_id"])
        deal = Deal.objects.select_related("owner", "company").get(
            pk=job.ledger.get(row=read(files / "sales_pipeline.csv").index(row) + 2).record_id)
        moves = list(StageChange.objects.filter(deal=deal).order_by("changed_at").values_list(
            "from_stage__name", "to_stage__name", "changed_by__email", "changed_at",
            "seconds_in_from_stage"))
        line = deal.line_items.select_related("product").get()
    began = dt.datetime.fromisoformat(row["engage_date"]).replace(tzinfo=dt.UTC)
    closed = dt.datetime.fromisoformat(row["close_date"]).replace(tzinfo=dt.UTC)
    assert moves == [(None, "Prospecting", admin.user.email, began, None),
                     ("Prospecting", "Won", admin.user.email, closed,
                      int((closed - began).total_seconds()))]
    assert deal.stage_entered_at == closed
    assert deal.closed_on == dt.date.fromisoformat(row["close_date"])
    assert deal.amount == Decimal(row["close_value"])
    assert deal.owner.full_name == row["sales_agent"]
    assert deal.company.name == row["account"]
    assert line.product.name == row["product"]
    assert deal.name == f"{row['product']} – {row['account']}"


def test_unknown_stage_pipeline_owner_and_product_fail_their_cells(seller, admin, in_org,
                                                                  files, tmp_path):
    import_products(seller, files)
    path = tmp_path / "deals.csv"
    path.write_text(
        "Deal,Pipeline,Stage,Owner,Product,Amount\n"
        "One,New business,Negotiation,,Nimbus Basic,100\n"
        "Two,Renewals,Engaging,,Nimbus Basic,100\n"
        "Three,New business,Engaging,Nobody Here,Nimbus Basic,100\n"
        "Four,New business,Engaging,,Nimbus Turbo,100\n"
        "Five,New business,Won,,Nimbus Basic,100\n"
        "Six,New business,Engaging,,Nimbus Basic,100\n")

    summary, _ = run(str(path), org=seller.slug, entity="deal")

    assert (summary["created"], summary["failed"]) == (1, 5)
    with in_org(seller):
        job = ImportJob.objects.get(pk=summary["import_id"])
        problems = dict(job.ledger.exclude(errors=[]).values_list("row", "errors"))
        assert list(Deal.objects.values_list("name", "stage__name")) == [("Six", "Engaging")]
    assert problems == {
        2: [{"column": "Stage", "value": "Negotiation",
             "reason": "The pipeline New business has no stage of this name; its stages are: "
                       "Prospecting, Engaging, Won, Lost."}],
        3: [{"column": "Pipeline", "value": "Renewals",
             "reason": "No pipeline has this name; the pipelines are: New business."}],
        4: [{"column": "Owner", "value": "Nobody Here",
             "reason": "No active member of this organisation has this e-mail address or "
                       "name."}],
        5: [{"column": "Product", "value": "Nimbus Turbo",
             "reason": "No product has this name or SKU."}],
        6: [{"column": "", "value": "", "reason": "A won deal needs a company or a contact."}],
    }


def test_importing_the_pipeline_again_matches_deals_by_their_id(seller, admin, in_org, files):
    import_products(seller, files)
    first, _ = run(str(files / "sales_pipeline.csv"), org=seller.slug, entity="deal")

    again, _ = run(str(files / "sales_pipeline.csv"), org=seller.slug, entity="deal")

    assert again["created"] == 0
    assert again["skipped"] == first["created"]
    with in_org(seller):
        assert Deal.objects.count() == first["created"]


def test_the_api_imports_the_pipeline_and_its_error_file_names_the_mismatches(
    seller, admin, api_client_for, in_org, files
):
    import_products(seller, files)
    client = api_client_for(admin)
    content = (files / "sales_pipeline.csv").read_bytes()
    mismatched = [number for number, row in enumerate(read(files / "sales_pipeline.csv"),
                                                       start=2) if row["product"] == MISSPELT]

    response = client.post("/api/v1/imports", {
        "file": SimpleUploadedFile("sales_pipeline.csv", content, content_type="text/csv"),
        "entity": "deal", "mapping": json.dumps(PIPELINE_MAPPING)})
    with in_org(seller):
        job = engine.run_job(seller, admin.user, ImportJob.objects.get(pk=response.json()["id"]))
    errors = client.get(f"/api/v1/imports/{job.pk}/errors")
    lines = b"".join(errors.streaming_content).decode().splitlines()

    assert response.status_code == 202
    assert (job.created_count, job.failed_count) == (ROWS - len(mismatched), len(mismatched))
    assert lines[0] == "\ufeffrow,column,value,reason"
    assert [int(line.split(",", 1)[0]) for line in lines[1:]] == mismatched
    assert lines[1].split(",", 3)[1:3] == ["product", MISSPELT]


def test_undoing_a_deal_import_moves_its_deals_to_the_trash(seller, admin, api_client_for,
                                                            in_org, files):
    import_products(seller, files)
    summary, _ = run(str(files / "sales_pipeline.csv"), org=seller.slug, entity="deal")
    client = api_client_for(admin)

    response = client.post(f"/api/v1/imports/{summary['import_id']}/undo")

    assert response.status_code == 200
    assert response.json()["removed"] == summary["created"]
    with in_org(seller):
        assert Deal.objects.count() == 0
        assert Deal.with_deleted.count() == summary["created"]


def test_sales_members_may_not_import_products(org, make_member, api_client_for, files):
    client = api_client_for(make_member(org, Role.SALES))

    response = client.post("/api/v1/imports", {
        "file": SimpleUploadedFile("products.csv", (files / "products.csv").read_bytes(),
                                   content_type="text/csv"),
        "entity": "product"})

    assert response.status_code == 403


def test_the_wizard_imports_the_pipeline_and_offers_the_mismatches_as_a_file(
    seller, admin, client_for, in_org, files
):
    import_products(seller, files)
    client = client_for(admin)
    rows = read(files / "sales_pipeline.csv")
    mismatched = [number for number, row in enumerate(rows, start=2)
                  if row["product"] == MISSPELT]
    path = files / "sales_pipeline.csv"

    uploaded = client.post("/imports/new/", {
        "file": SimpleUploadedFile(path.name, path.read_bytes()), "entity": "deal"})
    with in_org(seller):
        job = ImportJob.objects.get(entity="deal")
    mapping_page = client.get(f"/imports/{job.pk}/map/")
    mapped = client.post(f"/imports/{job.pk}/map/", {
        **{f"column_{index}": key for index, key in enumerate(PIPELINE_MAPPING.values())},
        "date_order": "ymd", "number_style": "1,234.56"})
    preview = client.get(f"/imports/{job.pk}/preview/")
    queued = client.post(f"/imports/{job.pk}/preview/", {"duplicate_policy": "skip",
                                                         "create_missing_links": "on"})
    with in_org(seller):
        engine.run_job(seller, admin.user, ImportJob.objects.get(pk=job.pk))
    detail = client.get(f"/imports/{job.pk}/")
    errors = client.get(f"/imports/{job.pk}/errors.csv")
    lines = b"".join(errors.streaming_content).decode().splitlines()

    assert uploaded["Location"] == f"/imports/{job.pk}/map/"
    assert '<option value="stage" selected>' in mapping_page.text
    assert mapped["Location"] == f"/imports/{job.pk}/preview/"
    assert (f"Of the first {ROWS} rows: {ROWS - len(mismatched)} look new, 0 match an existing "
            f"record or an earlier row, {len(mismatched)} are invalid.") in preview.text
    assert queued["Location"] == f"/imports/{job.pk}/"
    assert f"<dt>Rows created</dt><dd>{ROWS - len(mismatched)}</dd>" in detail.text
    assert [int(line.split(",", 1)[0]) for line in lines[1:]] == mismatched


def test_a_begin_date_after_the_close_or_in_the_future_fails_its_cell(seller, admin, in_org,
                                                                      tmp_path):
    path = tmp_path / "deals.csv"
    path.write_text(
        "Deal,Stage,Engage date,Close date,Amount,Account\n"
        "Late start,Won,2026-05-02,2026-05-01,100,Acme\n"
        "Time traveller,Prospecting,2999-01-01,,,Acme\n")

    summary, _ = run(str(path), org=seller.slug, entity="deal")

    assert (summary["created"], summary["failed"]) == (0, 2)
    with in_org(seller):
        job = ImportJob.objects.get(pk=summary["import_id"])
        problems = dict(job.ledger.exclude(errors=[]).values_list("row", "errors"))
    assert problems == {
        2: [{"column": "Engage date", "value": "2026-05-02",
             "reason": "The deal began after it closed; check both dates."}],
        3: [{"column": "Engage date", "value": "2999-01-01",
             "reason": "A deal cannot have begun in the future."}],
    }


def test_a_begin_date_before_1970_fails_its_cell(seller, admin, in_org, tmp_path):
    path = tmp_path / "deals.csv"
    path.write_text(
        "Deal,Stage,Began on,Amount,Account\n"
        "Placeholder,Prospecting,1900-01-01,,Acme\n"
        "First day,Prospecting,1970-01-01,,Acme\n")

    summary, _ = run(str(path), org=seller.slug, entity="deal")

    assert (summary["created"], summary["failed"]) == (1, 1)
    with in_org(seller):
        job = ImportJob.objects.get(pk=summary["import_id"])
        problems = dict(job.ledger.exclude(errors=[]).values_list("row", "errors"))
        began = StageChange.objects.get(deal__name="First day").changed_at
    assert problems == {
        2: [{"column": "Began on", "value": "1900-01-01",
             "reason": "A deal cannot have begun before 1970-01-01; check the date."}],
    }
    assert began.date() == dt.date(1970, 1, 1)


@pytest.mark.parametrize("heading", ["Began on", "Created", "began on"])
def test_a_began_on_or_created_column_is_read_as_the_begin_date(seller, admin, heading,
                                                                tmp_path):
    path = tmp_path / "deals.csv"
    path.write_text(f"Deal,Stage,{heading},Account\nOld one,Prospecting,2025-03-04,Acme\n")

    summary, _ = run(str(path), org=seller.slug, entity="deal")

    assert "opened_on" in summary["mapping"].values()
    assert (summary["created"], summary["failed"]) == (1, 0)
