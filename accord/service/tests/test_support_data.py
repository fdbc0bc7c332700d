"""The support-tickets data set loaded into an organisation, checked against its rows."""

import datetime as dt
from collections import Counter

import pytest
from django_scopes import scope

from accord.audit.context import channel
from accord.core.demo import support, support_data
from accord.customers.models import Contact
from accord.service import queues
from accord.service.models import SatisfactionSurvey, Ticket

NOW = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)


@pytest.fixture
def rows():
    return support_data.generate(now=NOW, count=120)


@pytest.fixture
def loaded(org, admin, rows):
    with scope(organization=org), channel("cli"):
        queue = queues.create_queue(org, admin.user, data={
            "name": "Support", "email_address": "support@northwind.example"})
        return support.load_tickets(org, admin.user, rows, queue=queue, now=NOW)


def test_every_row_is_a_ticket_and_every_address_one_contact(org, rows, loaded):
    statuses = Counter(support.STATUS[row["Ticket Status"]] for row in rows)
    addresses = {row["Customer Email"].lower() for row in rows}

    with scope(organization=org):
        assert Ticket.objects.count() == len(rows) == loaded.tickets
        assert Counter(Ticket.objects.values_list("status", flat=True)) == statuses
        assert Contact.objects.filter(source="Support tickets").count() == len(addresses)
        repeat = Counter(row["Customer Email"].lower() for row in rows).most_common(1)[0]
        assert repeat[1] > 1
        assert Ticket.objects.filter(contact__email=repeat[0]).count() == repeat[1]


def test_descriptions_resolutions_and_ratings_come_from_the_rows(org, rows, loaded):
    with scope(organization=org):
        first = Ticket.objects.get(number=1)
        opening = first.messages.get(kind="inbound")
        closed = [row for row in rows if row["Ticket Status"] == "Closed"]
        replies = Ticket.objects.filter(status="closed", messages__kind="reply").count()

    assert "{product_purchased}" not in opening.body
    assert rows[0]["Product Purchased"] in opening.body
    assert first.subject == rows[0]["Ticket Subject"]
    assert replies == len(closed)
    assert len(loaded.ratings) == len(closed)
    assert all(1 <= rating <= 5 for _, rating in loaded.ratings)


def test_ratings_become_answered_surveys_in_the_satisfaction_report(
    org, admin, rows, loaded, client_for
):
    ratings = [round(float(row["Customer Satisfaction Rating"])) for row in rows
               if row["Customer Satisfaction Rating"]]

    with scope(organization=org):
        stored = sorted(SatisfactionSurvey.objects.values_list("rating", flat=True))
    report = client_for(admin).get("/tickets/satisfaction/")

    assert stored == sorted(ratings)
    assert report.status_code == 200
    assert report.context["overall"]["count"] == len(ratings)
    assert [queue["count"] for queue in report.context["queues"]] == [len(ratings)]


def test_the_loaded_tickets_are_listed_and_filtered_like_any_other(
    org, admin, rows, loaded, api_client_for
):
    client = api_client_for(admin)
    pending = sum(row["Ticket Status"] == "Pending Customer Response" for row in rows)
    urgent = sum(row["Ticket Priority"] == "Critical" for row in rows)

    def count(query):
        total, cursor = 0, None
        while True:
            page = client.get("/api/v1/tickets", {**query, "limit": 500,
                                                  **({"cursor": cursor} if cursor else {})})
            total += len(page.json()["items"])
            cursor = page.json()["next"]
            if not cursor:
                return total

    assert count({"status": "pending"}) == pending
    assert count({"priority": "urgent"}) == urgent
    assert count({"q": rows[5]["Customer Email"]}) >= 1


def test_a_file_without_the_columns_is_refused_by_name(tmp_path):
    path = tmp_path / "tickets.csv"
    path.write_text("Ticket ID,Customer Email\n1,a@example.com\n")

    with pytest.raises(ValueError, match="has no column Customer Name"):
        support_data.read_file(path)


def test_a_status_the_data_set_does_not_use_names_the_row(org, admin, rows):
    rows[3]["Ticket Status"] = "Escalated"

    with scope(organization=org), channel("cli"), pytest.raises(
            ValueError, match="Row 5: Ticket Status 'Escalated'"):
        support.load_tickets(org, admin.user, rows, queue=None, now=NOW)
