"""Importing leads through the command: assignment rules, matching open leads, bad rows."""

import io
import json

from django.core.management import call_command
from django_scopes import scope

from accord.integrations.models import ImportJob
from accord.sales import assignment, leads
from accord.sales.models import Lead

CSV = (
    "Full name,Email,Company,Country,Lead source,Employees range,Notes\n"
    "Grace Hopper,grace@navy.example,Navy Labs,us,Trade fair,50-249,Wants a demo\n"
    "Alan Turing,ALAN@bletchley.example,Bletchley,GB,Trade fair,,\n"
    ",,,,Trade fair,,nothing to go on\n"
    "Ada Lovelace,not-an-address,Engines,GB,Trade fair,,\n"
)


def run(path, org, **options) -> dict:
    out = io.StringIO()
    call_command("import", str(path), org=org.slug, entity="lead", stdout=out,
                 stderr=io.StringIO(), **options)
    return json.loads(out.getvalue().strip().splitlines()[-1])


def test_leads_come_in_assigned_by_the_rules_and_bad_rows_are_explained(
    org, admin, member, tmp_path
):
    with scope(organization=org):
        assignment.create_rule(org, admin.user, data={
            "name": "Fairs", "match": "source", "value": "Trade fair", "owner": member.user_id})
    path = tmp_path / "leads.csv"
    path.write_text(CSV)

    summary = run(path, org)

    assert (summary["created"], summary["failed"]) == (2, 2)
    with scope(organization=org):
        grace = Lead.objects.get(email="grace@navy.example")
        assert (grace.first_name, grace.last_name, grace.company_name) == (
            "Grace", "Hopper", "Navy Labs")
        assert (grace.country, grace.company_size, grace.owner) == ("US", "50-249",
                                                                     member.user)
        assert grace.description == "Wants a demo"
        assert Lead.objects.get(email="alan@bletchley.example").owner == member.user
        job = ImportJob.objects.get()
        reasons = [error["reason"] for row in job.ledger.all() for error in row.errors]
    assert any("Give at least a name" in reason for reason in reasons)
    assert any("e-mail address" in reason for reason in reasons)


def test_a_second_import_updates_open_leads_by_address_and_leaves_closed_ones(
    org, admin, tmp_path
):
    path = tmp_path / "leads.csv"
    path.write_text(CSV)
    run(path, org)
    with scope(organization=org):
        alan = Lead.objects.get(email="alan@bletchley.example")
        leads.disqualify_lead(org, admin.user, alan, reason="No budget")
    path.write_text("Email,Job title\ngrace@navy.example,Rear admiral\n"
                    "alan@bletchley.example,Codebreaker\n")

    summary = run(path, org, mapping=None)

    with scope(organization=org):
        grace = Lead.objects.get(email="grace@navy.example")
        alans = Lead.objects.filter(email="alan@bletchley.example").order_by("id")
        assert grace.title == "Rear admiral"
        assert [(lead.status, lead.title) for lead in alans] == [
            ("disqualified", ""), ("new", "Codebreaker")]
    assert (summary["created"], summary["updated"]) == (1, 1)

