"""Report figures over real customer data, checked against counts made from the file itself."""

import csv
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from django_scopes import scope

from accord.customers.models import Contact, CustomField
from accord.reports import engine

TELCO = Path("/work/shared/data/telco-customer-churn/WA_Fn-UseC_-Telco-Customer-Churn.csv")


@pytest.mark.skipif(not TELCO.exists(), reason="the shared data folder is not on this machine")
def test_churn_by_contract_and_average_charges_match_the_file(org, admin):
    rows = list(csv.DictReader(TELCO.open(newline="", encoding="utf-8")))
    with scope(organization=org):
        for key, field_type, choices in [
            ("contract", "choice", ["Month-to-month", "One year", "Two year"]),
            ("churned", "boolean", []), ("monthly_charges", "number", []),
        ]:
            CustomField.objects.create(organization=org, entity="contact", key=key, label=key,
                                       field_type=field_type, choices=choices)
        Contact.objects.bulk_create([Contact(
            organization=org, first_name=row["customerID"], custom_fields={
                "contract": row["Contract"], "churned": row["Churn"] == "Yes",
                "monthly_charges": row["MonthlyCharges"]}) for row in rows], batch_size=1000)

        by_contract = engine.run({"entity": "contacts", "group_by": ["cf_contract"]}, admin)
        churned = engine.run({"entity": "contacts", "group_by": ["cf_contract"],
                              "conditions": {"all": [
                                  {"field": "cf.churned", "op": "is", "value": True}]}}, admin)
        charges = engine.run({"entity": "contacts", "group_by": ["cf_contract"],
                              "measure": "avg:cf_monthly_charges"}, admin)

    customers = Counter(row["Contract"] for row in rows)
    leavers = Counter(row["Contract"] for row in rows if row["Churn"] == "Yes")
    assert {row.keys[0]: row.value for row in by_contract.rows} == customers
    assert {row.keys[0]: row.value for row in churned.rows} == leavers
    assert leavers["Month-to-month"] == 1655
    for row in charges.rows:
        of_contract = [Decimal(r["MonthlyCharges"]) for r in rows if r["Contract"] == row.keys[0]]
        assert row.value == pytest.approx(sum(of_contract) / len(of_contract), abs=Decimal("0.01"))
