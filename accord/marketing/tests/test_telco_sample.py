"""Segments over real customer data: the 7,043 customers of the IBM Telco churn sample."""

import csv
from pathlib import Path

import pytest

from accord.customers.models import Contact, CustomField
from accord.marketing.conditions import Conditions

TELCO = Path("/work/shared/data/telco-customer-churn/WA_Fn-UseC_-Telco-Customer-Churn.csv")


@pytest.mark.skipif(not TELCO.exists(), reason="the shared data folder is not on this machine")
def test_segment_counts_match_what_the_file_says(org, in_org):
    rows = list(csv.DictReader(TELCO.open(newline="", encoding="utf-8")))
    with in_org(org):
        for key, field_type, choices in [
            ("contract", "choice", ["Month-to-month", "One year", "Two year"]),
            ("internet_service", "choice", ["DSL", "Fiber optic", "No"]),
            ("monthly_charges", "number", []),
            ("churned", "boolean", []),
        ]:
            CustomField.objects.create(organization=org, entity="contact", key=key, label=key,
                                       field_type=field_type, choices=choices)
        Contact.objects.bulk_create([Contact(
            organization=org, first_name=row["customerID"], custom_fields={
                "contract": row["Contract"], "internet_service": row["InternetService"],
                "monthly_charges": row["MonthlyCharges"], "churned": row["Churn"] == "Yes"})
            for row in rows])
    fibre_monthly_staying = {"all": [
        {"field": "cf.contract", "op": "in", "value": ["Month-to-month"]},
        {"field": "cf.internet_service", "op": "in", "value": ["Fiber optic"]},
        {"field": "cf.churned", "op": "is", "value": False}]}
    long_or_costly_leavers = {"any": [
        {"field": "cf.contract", "op": "in", "value": ["Two year"]},
        {"all": [{"field": "cf.monthly_charges", "op": "gt", "value": "100"},
                 {"field": "cf.churned", "op": "is", "value": True}]}]}

    with in_org(org):
        conditions = Conditions(org)
        first = conditions.contacts(fibre_monthly_staying).count()
        second = conditions.contacts(long_or_costly_leavers).count()

    assert len(rows) == 7043
    assert first == sum(1 for r in rows if r["Contract"] == "Month-to-month"
                        and r["InternetService"] == "Fiber optic" and r["Churn"] == "No")
    assert second == sum(1 for r in rows if r["Contract"] == "Two year" or (
        float(r["MonthlyCharges"]) > 100 and r["Churn"] == "Yes"))
    assert first > 500
    assert second > 500
