"""`accord loaddemo --sales-data DIR`: the sales data set in the demo, checked against its files.

The expected figures are computed here from the CSV files with the csv
module alone, so a mistake in the loader cannot hide in the expectation.
"""

import collections
import csv
import datetime as dt
import io
from decimal import Decimal
from fractions import Fraction

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Sum
from django.test import override_settings
from django_scopes import scope

from accord.commerce.models import Product
from accord.core.demo.sales_data import PIPELINE_SPELLING, generate, write_folder
from accord.customers.models import Company
from accord.identity.models import Membership, Organization, Team
from accord.identity.services import create_organization
from accord.integrations.models import ExternalId
from accord.sales.models import Deal, LineItem, Pipeline, StageChange

pytestmark = pytest.mark.django_db

LAST_DAY = dt.date(2026, 6, 30)
[(PRODUCT, MISSPELT)] = PIPELINE_SPELLING.items()  # "Nimbus Pro", spelt "NimbusPro"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sales-data")
    write_folder(generate(last_day=LAST_DAY), folder)
    return folder


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker, tmp_path_factory, data_dir):
    """A demo organisation built before it had deals, given them by `loaddemo --once`.

    Loaded once for this module; the rest of the demo (contacts, timeline)
    is left out, as it has no part in the deals.
    """
    var_dir = tmp_path_factory.mktemp("var")
    with override_settings(DEMO_PASSWORD="demo-password-for-tests", VAR_DIR=var_dir), \
            django_db_blocker.unblock():
        org, _ = create_organization("Demo", admin_email="demo@example.com")
        output = io.StringIO()
        call_command("loaddemo", "--once", "--sales-data", str(data_dir), stdout=output)
        yield org, output.getvalue()
        users = list(Membership.unscoped.filter(organization=org).values_list("user", flat=True))
        # Deals protect their stages, so they go before the organisation.
        Deal.unscoped.filter(organization=org).delete()
        org.delete()
        get_user_model().objects.filter(pk__in=users).delete()


# These two come first: they need a database without the demo, which the
# tests after them load once for the module.


def test_a_pipeline_naming_a_product_missing_from_the_catalogue_adds_nothing(tmp_path):
    org, _ = create_organization("Demo", admin_email="demo@example.com")
    data = generate(last_day=LAST_DAY, opportunities=20)
    data.opportunities[4]["product"] = "Nimbus Ultra"
    write_folder(data, tmp_path)

    with pytest.raises(CommandError) as error:
        call_command("loaddemo", "--once", "--sales-data", str(tmp_path), stdout=io.StringIO())

    assert str(error.value) == ("Line 6 of the pipeline names the product 'Nimbus Ultra', "
                                "which is not in the catalogue.")
    with scope(organization=org):
        assert (Deal.objects.count(), Product.objects.count(), Company.objects.count()) == (
            0, 0, 0)


def test_a_folder_without_the_pipeline_file_is_refused(tmp_path):
    write_folder(generate(last_day=LAST_DAY, opportunities=5), tmp_path)
    (tmp_path / "sales_pipeline.csv").unlink()

    with pytest.raises(CommandError) as error:
        call_command("loaddemo", "--sales-data", str(tmp_path), stdout=io.StringIO())

    assert str(error.value) == f"{tmp_path / 'sales_pipeline.csv'} is missing."
    assert not Organization.objects.filter(slug="demo").exists()


def read(folder, name: str) -> list[dict]:
    with open(folder / name, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_won_revenue_per_sales_agent_is_the_sum_of_won_close_values(demo, data_dir):
    org, _ = demo
    expected = collections.Counter()
    for row in read(data_dir, "sales_pipeline.csv"):
        if row["deal_stage"] == "Won":
            expected[row["sales_agent"]] += int(row["close_value"])

    with scope(organization=org):
        won = dict(Deal.objects.filter(status="won").values_list("owner__full_name")
                   .annotate(total=Sum("amount")).order_by())

    assert len(expected) == 35
    assert won == {agent: Decimal(total) for agent, total in expected.items()}


def test_win_rate_per_product_is_won_among_closed_deals_of_the_file(demo, data_dir):
    org, _ = demo
    closed = collections.defaultdict(collections.Counter)
    for row in read(data_dir, "sales_pipeline.csv"):
        if row["deal_stage"] in ("Won", "Lost"):
            product = {MISSPELT: PRODUCT}.get(row["product"], row["product"])
            closed[product][row["deal_stage"]] += 1
    expected = {product: Fraction(counts["Won"], counts["Won"] + counts["Lost"])
                for product, counts in closed.items()}

    with scope(organization=org):
        lines = (LineItem.objects.filter(deal__status__in=["won", "lost"])
                 .values_list("product__name", "deal__status"))
        counts = collections.defaultdict(collections.Counter)
        for product, status in lines:
            counts[product][status] += 1
    rates = {product: Fraction(count["won"], count["won"] + count["lost"])
             for product, count in counts.items()}

    assert len(expected) == 7
    assert rates == expected


def test_each_stage_holds_as_many_deals_as_the_file_has_rows_in_it(demo, data_dir):
    org, _ = demo
    expected = collections.Counter(row["deal_stage"]
                                   for row in read(data_dir, "sales_pipeline.csv"))

    with scope(organization=org):
        stages = collections.Counter(Deal.objects.values_list("stage__name", flat=True))
        pipeline = Pipeline.objects.get(name="New business")
        probabilities = list(pipeline.stages.order_by("position")
                             .values_list("name", "kind", "probability"))

    assert stages == expected
    assert sum(stages.values()) == 8800
    assert probabilities == [("Prospecting", "open", 20), ("Engaging", "open", 60),
                             ("Won", "won", 100), ("Lost", "lost", 0)]


def test_loader_reports_the_pipeline_rows_whose_product_is_spelt_otherwise(demo, data_dir):
    _, output = demo
    mismatches = sum(row["product"] == MISSPELT
                     for row in read(data_dir, "sales_pipeline.csv"))
    catalogue = {row["product"] for row in read(data_dir, "products.csv")}

    assert MISSPELT not in catalogue
    assert PRODUCT in catalogue
    assert mismatches == 1491
    assert (f"Demo: {mismatches} pipeline rows name the product 'NimbusPro', which the "
            "catalogue spells otherwise; they were matched to it.\n") in output
    assert "Demo: 8800 deals, 85 companies from accounts, 7 products, 41 sales team members.\n" \
        in output
    assert output.endswith("Demo sign-in: demo@example.com / demo-password-for-tests\n")


def test_a_won_deal_has_its_history_line_item_and_id_from_the_file(demo, data_dir):
    org, _ = demo
    row = next(row for row in read(data_dir, "sales_pipeline.csv")
               if row["deal_stage"] == "Won" and row["product"] == MISSPELT)

    with scope(organization=org):
        external = ExternalId.objects.get(entity="deal", value=row["opportunity_id"])
        deal = Deal.objects.select_related("company", "owner").get(pk=external.record_id)
        moves = [(change.from_stage.name if change.from_stage else None,
                  change.to_stage.name, change.changed_at.date())
                 for change in StageChange.objects.filter(deal=deal)
                 .select_related("from_stage", "to_stage")]
        line = deal.line_items.select_related("product").get()

    engaged = dt.date.fromisoformat(row["engage_date"])
    closed = dt.date.fromisoformat(row["close_date"])
    assert moves == [(None, "Prospecting", engaged), ("Prospecting", "Engaging", engaged),
                     ("Engaging", "Won", closed)]
    assert deal.closed_on == closed
    assert deal.status == "won"
    assert deal.amount == Decimal(row["close_value"])
    assert deal.currency == "USD"
    assert deal.owner.full_name == row["sales_agent"]
    assert deal.company.name == row["account"]
    assert (line.product.name, line.quantity, line.unit_price) == (
        PRODUCT, 1, Decimal(row["close_value"]))


def test_lost_deals_carry_the_import_reason_and_open_ones_the_list_price(demo, data_dir):
    org, _ = demo
    rows = read(data_dir, "sales_pipeline.csv")
    prices = {row["product"]: Decimal(row["sales_price"])
              for row in read(data_dir, "products.csv")}
    open_without_account = sum(row["account"] == "" for row in rows)

    with scope(organization=org):
        lost = Deal.objects.filter(status="lost")
        reasons = set(lost.values_list("close_reason", flat=True))
        lost_moves = set(StageChange.objects.filter(to_stage__name="Lost")
                         .values_list("reason", flat=True))
        engaging = Deal.objects.filter(stage__name="Engaging").select_related()
        wrong_price = [deal.pk for deal in engaging.prefetch_related("line_items__product")
                       if deal.amount != prices[deal.line_items.all()[0].product.name]]
        without_company = Deal.objects.filter(company__isnull=True).count()
        open_dates = Deal.objects.filter(status="open", closed_on__isnull=False).count()

    assert reasons == {"Lost (imported)"}
    assert lost_moves == {"Lost (imported)"}
    assert wrong_price == []
    assert without_company == open_without_account
    assert open_dates == 0


def test_accounts_products_and_teams_come_from_their_files(demo, data_dir):
    org, _ = demo
    accounts = {row["account"]: row for row in read(data_dir, "accounts.csv")}
    teams = read(data_dir, "sales_teams.csv")
    managers = {row["manager"]: row["regional_office"] for row in teams}

    with scope(organization=org):
        companies = {company.name: company
                     for company in Company.objects.filter(name__in=accounts)
                     .select_related("parent")}
        products = set(Product.objects.values_list("name", "category", "unit_price"))
        roles = dict(Membership.objects.filter(user__full_name__in=[
            *managers, *(row["sales_agent"] for row in teams)])
            .values_list("user__full_name", "role"))
        leads = dict(Team.objects.filter(lead__full_name__in=managers)
                     .values_list("lead__full_name", "name"))
    parents = {name: company.parent.name for name, company in companies.items()
               if company.parent_id}
    technology = {row["account"] for row in accounts.values() if row["sector"] == "technolgy"}

    assert len(companies) == 85
    assert parents == {name: row["subsidiary_of"] for name, row in accounts.items()
                       if row["subsidiary_of"]}
    assert {companies[name].industry for name in technology} == {"Technology"}
    assert all(companies[name].annual_revenue == Decimal(row["revenue"]) * 1_000_000
               and companies[name].employees == int(row["employees"])
               for name, row in accounts.items())
    assert {companies[name].country for name, row in accounts.items()
            if row["office_location"] == "Philipines"} == {"PH"}
    assert (PRODUCT, "Nimbus", Decimal(4790)) in products
    assert len(products) == 7
    assert collections.Counter(roles.values()) == {"manager": 6, "sales": 35}
    assert leads == {manager: f"{region} – {manager}" for manager, region in managers.items()}


def test_loading_twice_with_once_adds_no_deal(demo, data_dir):
    org, _ = demo
    with scope(organization=org):
        before = (Deal.objects.count(), StageChange.objects.count(), Company.objects.count())
    output = io.StringIO()

    with override_settings(DEMO_PASSWORD="demo-password-for-tests"):
        call_command("loaddemo", "--once", "--sales-data", str(data_dir), stdout=output)

    with scope(organization=org):
        after = (Deal.objects.count(), StageChange.objects.count(), Company.objects.count())
    assert after == before
    assert output.getvalue() == "Demo sign-in: demo@example.com / demo-password-for-tests\n"
