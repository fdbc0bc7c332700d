"""RFM scores as people get them: computed from imported orders, shown beside the contact."""

import csv
import datetime as dt
import io
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone
from django_scopes import scope

from accord.commerce import orders
from accord.customers import services as customers
from accord.identity.models import Role
from accord.insights import services, tasks
from accord.insights.models import RfmScore, Segment
from accord.insights.rfm import quintile_scores, segment_for
from accord.integrations.models import ExternalId
from accord.sales import services as sales
from accord.service import services as service

DATA = Path(__file__).resolve().parents[2] / "testdata" / "online_retail_2010-12-01.csv"


def totals_from_file() -> dict[str, dict]:
    """Orders, last order day and net spent per customer, added up from the file itself."""
    invoices, spent, last = defaultdict(set), defaultdict(Decimal), {}
    with DATA.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            customer = row["CustomerID"].removesuffix(".0")
            if not customer:
                continue
            spent[customer] += (Decimal(row["Quantity"]) * Decimal(row["UnitPrice"])
                                ).quantize(Decimal("0.01"))
            if not row["InvoiceNo"].startswith("C"):
                invoices[customer].add(row["InvoiceNo"])
                day = dt.date.fromisoformat(row["InvoiceDate"][:10])
                last[customer] = max(last.get(customer, day), day)
    return {customer: {"orders": len(invoices[customer]), "spent": spent[customer],
                       "last": last.get(customer)} for customer in spent}


def contact_of(customer: str) -> int:
    return ExternalId.objects.get(entity="contact", system="import", value=customer).record_id


def test_scores_of_imported_customers_match_the_file_and_show_on_their_page(
        org, admin, client_for):
    org.base_currency = "GBP"
    org.save(update_fields=["base_currency"])
    call_command("import", str(DATA), org=org.slug, entity="order", stdout=io.StringIO(),
                 stderr=io.StringIO())
    expected = totals_from_file()
    out = io.StringIO()

    call_command("compute_scores", org=org.slug, stdout=out)

    summary = json.loads(out.getvalue())
    assert (summary["organizations"], summary["scored"], summary["removed"]) == (1, 30, 0)
    days = (timezone.localdate() - dt.date(2010, 12, 1)).days
    with scope(organization=org):
        # Two customers only ever gave things back: they bought nothing here.
        assert [c for c, t in expected.items() if not t["orders"]] == ["14527", "17548"]
        assert not RfmScore.objects.filter(contact_id__in=[contact_of("14527"),
                                                           contact_of("17548")]).exists()
        for customer in ("17850", "13047", "16029", "17809"):
            score = RfmScore.objects.get(contact_id=contact_of(customer))
            assert (score.recency_days, score.frequency, score.monetary, score.currency) == (
                (timezone.localdate() - expected[customer]["last"]).days,
                expected[customer]["orders"], expected[customer]["spent"], "GBP")
        best_id = contact_of("17850")
        best = RfmScore.objects.get(contact_id=best_id)
        # Everyone last bought on the same day, so recency sits in the middle.
        assert (best.r, best.f, best.m, best.segment) == (3, 5, 5, Segment.LOYAL)
        smallest = RfmScore.objects.get(contact_id=contact_of("17809"))
        assert (smallest.r, smallest.f, smallest.m, smallest.segment) == (
            3, 3, 1, Segment.POTENTIAL_LOYALIST)

    page = client_for(admin).get(f"/contacts/{best_id}/")

    html = page.content.decode()
    assert page.status_code == 200
    assert "RFM 355" in html
    assert "Loyal" in html
    # Everyone in the file bought on the same day: a 3, level with the 29 others.
    assert (f"Last bought {days} days ago (recency 3 of 5: more recent than 0 % of "
            "customers, level with 97 %)") in html
    assert "10 orders (frequency 5 of 5: more than 97 % of customers)" in html
    assert "Spent 1,499.34 GBP net (monetary 5 of 5: more than 90 % of customers)" in html


def test_only_the_organisations_own_orders_count_converted_and_net_of_returns(
        org, other_org, admin):
    with scope(organization=org):
        org.base_currency = "EUR"
        org.save(update_fields=["base_currency"])
        sales.set_exchange_rate(org, admin.user, currency="GBP", valid_on=dt.date(2025, 1, 1),
                                rate=Decimal("1.2"))
        ada = customers.create_contact(org, admin.user, data={"first_name": "Ada"})
        bob = customers.create_contact(org, admin.user, data={"first_name": "Bob"})
        for number, contact, currency, day, kind, price in [
                ("A-1", ada, "GBP", 1, "order", "10"), ("A-2", ada, "EUR", 5, "order", "7"),
                ("A-3", ada, "EUR", 6, "return", "2"), ("B-1", bob, "EUR", 2, "order", "50")]:
            orders.create_order(org, admin.user, data={
                "number": number, "contact": contact.pk, "currency": currency, "kind": kind,
                "placed_at": dt.datetime(2025, 3, day, 9, tzinfo=dt.UTC),
                "lines": [{"sku": "X", "quantity": "-1" if kind == "return" else "1",
                           "unit_price": price}]})
        cancelled = orders.create_order(org, admin.user, data={
            "number": "B-2", "contact": bob.pk, "currency": "EUR", "status": "cancelled",
            "placed_at": dt.datetime(2025, 3, 9, 9, tzinfo=dt.UTC),
            "lines": [{"sku": "X", "quantity": "1", "unit_price": "900"}]})
    with scope(organization=other_org):
        stranger = customers.create_contact(other_org, admin.user, data={"first_name": "Cy"})
        orders.create_order(other_org, admin.user, data={
            "number": "A-9", "contact": stranger.pk, "currency": "EUR",
            "placed_at": dt.datetime(2025, 3, 8, 9, tzinfo=dt.UTC),
            "lines": [{"sku": "X", "quantity": "1", "unit_price": "5000"}]})

    with scope(organization=org):
        first = services.compute_rfm(org, today=dt.date(2025, 3, 10))
        again = services.compute_rfm(org, today=dt.date(2025, 3, 10))
        scores = {s.contact_id: (s.recency_days, s.frequency, s.monetary, s.r, s.f, s.m)
                  for s in RfmScore.objects.all()}
    with scope(organization=other_org):
        assert not RfmScore.objects.exists()

    assert first == again == {"organization": org.slug, "scored": 2, "removed": 0}
    assert cancelled.status == "cancelled"
    # Ada: 10 GBP at 1.2 plus 7 EUR, less a 2 EUR return; Bob's cancelled order is left out.
    assert scores == {ada.pk: (5, 2, Decimal("17.0000"), 4, 4, 2),
                      bob.pk: (8, 1, Decimal("50.0000"), 2, 2, 4)}


def test_a_ticket_shows_the_score_of_its_contact_to_the_support_agent(
        org, admin, make_member, client_for):
    agent = make_member(org, Role.SUPPORT)
    with scope(organization=org):
        contact = customers.create_contact(org, admin.user, data={"first_name": "Ada"})
        orders.create_order(org, admin.user, data={
            "number": "A-1", "contact": contact.pk, "currency": org.base_currency,
            "placed_at": dt.datetime(2025, 3, 1, 9, tzinfo=dt.UTC),
            "lines": [{"sku": "X", "quantity": "1", "unit_price": "10"}]})
        ticket = service.create_ticket(org, admin.user, data={
            "subject": "Where is my parcel?", "contact": contact.pk})
        services.compute_rfm(org, today=dt.date(2025, 3, 4))
    client = client_for(agent)

    shown = client.get(f"/tickets/{ticket.number}/").content.decode()

    assert "Last bought 3 days ago (recency 3 of 5: more recent than 0 % of customers)" in shown
    assert "1 order (frequency 3 of 5: more than 0 % of customers)" in shown


def test_a_burst_of_orders_queues_one_recomputation_and_the_nightly_run_scores_everyone(
        org, other_org, admin, monkeypatch, django_capture_on_commit_callbacks):
    # Another test's orders may have left its pending mark under the same id.
    cache.delete(tasks.pending_key(org.pk))
    queued = []
    monkeypatch.setattr(tasks.compute_organization_scores, "apply_async",
                        lambda args, countdown: queued.append((args, countdown)))
    with scope(organization=org):
        contact = customers.create_contact(org, admin.user, data={"first_name": "Ada"})
        with django_capture_on_commit_callbacks(execute=True):
            for number in ("A-1", "A-2", "A-3"):
                orders.create_order(org, admin.user, data={
                    "number": number, "contact": contact.pk, "currency": org.base_currency,
                    "lines": [{"sku": "X", "quantity": "1", "unit_price": "10"}]})

    tasks.compute_organization_scores(org.pk)
    scored = tasks.compute_scores()

    assert queued == [((org.pk,), tasks.SETTLE_SECONDS)]
    assert scored == 1
    with scope(organization=org):
        assert list(RfmScore.objects.values_list("contact_id", "frequency", "monetary")) == [
            (contact.pk, 3, Decimal("30.0000"))]


def test_quintiles_give_ties_one_score_and_put_the_best_fifth_at_five():
    assert quintile_scores([10, 20, 30, 40, 50]) == [1, 2, 3, 4, 5]
    assert quintile_scores([10, 20, 30, 40, 50], higher_is_better=False) == [5, 4, 3, 2, 1]
    assert quintile_scores([7, 7, 7]) == [3, 3, 3]
    assert quintile_scores([1] * 8 + [2, 9]) == [3] * 8 + [5, 5]
    assert quintile_scores([]) == []


@pytest.mark.parametrize(("rfm", "segment"), [
    ((5, 5, 5), Segment.CHAMPIONS), ((4, 4, 3), Segment.CHAMPIONS),
    ((3, 5, 5), Segment.LOYAL), ((5, 3, 3), Segment.LOYAL),
    ((5, 1, 2), Segment.NEW), ((4, 3, 1), Segment.POTENTIAL_LOYALIST),
    ((3, 1, 1), Segment.POTENTIAL_LOYALIST), ((2, 5, 4), Segment.CANT_LOSE),
    ((1, 3, 3), Segment.AT_RISK), ((2, 1, 2), Segment.HIBERNATING),
    ((1, 2, 1), Segment.LOST),
])
def test_segment_follows_recency_and_the_mean_of_frequency_and_monetary(rfm, segment):
    assert segment_for(*rfm) == segment
