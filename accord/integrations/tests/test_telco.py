"""A real customer file of 7,043 rows with many custom fields (read where it is kept)."""

import io
import json
import time
from pathlib import Path

import pytest
from django.core.management import call_command

from accord.customers import services as customers
from accord.customers.models import Contact

TELCO = Path("/work/shared/data/telco-customer-churn/WA_Fn-UseC_-Telco-Customer-Churn.csv")
FIELDS = [
    ("gender", "choice", ["Female", "Male"]), ("senior_citizen", "boolean", None),
    ("partner", "boolean", None), ("tenure", "number", None),
    ("internet_service", "choice", ["DSL", "Fiber optic", "No"]),
    ("contract", "choice", ["Month-to-month", "One year", "Two year"]),
    ("monthly_charges", "money", None), ("total_charges", "money", None),
    ("churn", "boolean", None),
]


@pytest.mark.skipif(not TELCO.exists(), reason="the shared data folder is not on this machine")
def test_seven_thousand_customers_import_with_blank_totals_left_empty(org, admin, in_org,
                                                                      tmp_path):
    with in_org(org):
        for key, kind, choices in FIELDS:
            customers.create_custom_field(org, admin.user, data={
                "entity": "contact", "label": key, "key": key, "field_type": kind,
                "choices": choices or [], "currency": "USD" if kind == "money" else ""})
    # The file has no names: its customer id stands in as the last name, so
    # each row is a valid contact, and is also kept as the id in that system.
    mapping = {"customerID": "last_name", "gender": "cf.gender",
               "SeniorCitizen": "cf.senior_citizen", "Partner": "cf.partner",
               "Tenure": "cf.tenure", "InternetService": "cf.internet_service",
               "Contract": "cf.contract", "MonthlyCharges": "cf.monthly_charges",
               "TotalCharges": "cf.total_charges", "Churn": "cf.churn"}
    mapping_file = tmp_path / "telco.json"
    mapping_file.write_text(json.dumps(mapping))
    out = io.StringIO()

    started = time.monotonic()
    call_command("import", str(TELCO), org=org.slug, entity="contact",
                 mapping=str(mapping_file), stdout=out, stderr=io.StringIO())
    elapsed = time.monotonic() - started

    summary = json.loads(out.getvalue().splitlines()[-1])
    assert (summary["created"], summary["failed"], summary["rows"]) == (7043, 0, 7043)
    # About 15 s on two cores; far more means a query per row crept back in.
    assert elapsed < 60
    with in_org(org):
        first = Contact.objects.get(last_name="7590-VHVEG")
        blank_totals = Contact.objects.exclude(custom_fields__has_key="total_charges").count()
    assert first.custom_fields == {
        "gender": "Female", "senior_citizen": False, "partner": True, "tenure": "1",
        "internet_service": "DSL", "contract": "Month-to-month",
        "monthly_charges": {"amount": "29.85", "currency": "USD"},
        "total_charges": {"amount": "29.85", "currency": "USD"}, "churn": False,
    }
    assert blank_totals == 11
