"""Dates read one way per kind of place: full for single facts, short in tables and meta lines."""

import datetime as dt
import re

import pytest
from django.urls import reverse

from accord.activities import services as activities
from accord.activities.models import Activity
from accord.audit.models import AuditEntry
from accord.customers import services
from accord.customers.models import Company, Contact

MOMENT = dt.datetime(2025, 12, 4, 17, 30, tzinfo=dt.UTC)
STAMP = 'datetime="2025-12-04T17:30:00+00:00"'
FULL = "Dec. 4, 2025, 5:30 p.m."
SHORT = "12/04/2025 5:30 p.m."


def shown_times(body: str) -> set[str]:
    """The text of every <time> element for MOMENT on the page."""
    return set(re.findall(rf"<time {re.escape(STAMP)}[^>]*>([^<]*)</time>", body))


@pytest.fixture
def dated(org, admin, in_org):
    """A contact at a company, with a call and a task, everything stamped at MOMENT."""
    with in_org(org):
        acme = services.create_company(org, admin.user, data={"name": "Acme"})
        ada = services.create_contact(org, admin.user, data={
            "first_name": "Ada", "company": acme.pk})
        services.update_contact(org, admin.user, ada, data={"title": "CTO"})
        activities.log_activity(org, admin.user, data={
            "kind": "call", "subject": "Pricing", "contact": ada})
        activities.log_activity(org, admin.user, data={
            "kind": "task", "subject": "Send the offer", "contact": ada,
            "due_at": MOMENT + dt.timedelta(days=1)})
        Contact.objects.filter(pk=ada.pk).update(created_at=MOMENT, updated_at=MOMENT)
        Company.objects.filter(pk=acme.pk).update(created_at=MOMENT, updated_at=MOMENT)
        Activity.objects.filter(contact=ada).update(occurred_at=MOMENT, due_at=MOMENT,
                                                    remind_at=MOMENT)
        AuditEntry.objects.update(created_at=MOMENT)
    return ada, acme


def test_record_pages_give_single_facts_in_full_and_timeline_and_history_short(
    org, admin, client_for, dated
):
    ada, acme = dated
    client = client_for(admin)

    contact_page = client.get(ada.get_absolute_url()).content.decode()
    company_page = client.get(acme.get_absolute_url()).content.decode()

    for page in (contact_page, company_page):
        assert f"<dt>Created</dt><dd><time {STAMP}>{FULL}</time></dd>" in page
        assert f"<dt>Updated</dt><dd><time {STAMP}>{FULL}</time></dd>" in page
        assert f"<td>{admin.user} · <time {STAMP}>{SHORT}</time> · System</td>" in page
        assert f"{admin.user} ·\n        <time {STAMP}>{SHORT}</time>" in page
        assert f"Due <time {STAMP}>{SHORT}</time>" in page
        assert f"Reminder <time {STAMP}>{SHORT}</time>" in page
    assert shown_times(contact_page) == {FULL, SHORT}
    assert shown_times(company_page) == {FULL, SHORT}


def test_lists_task_list_and_audit_log_give_dates_short(org, admin, client_for, dated):
    client = client_for(admin)

    contacts = client.get(reverse("customers:contact_list")).content.decode()
    tasks = client.get(reverse("activities:my_tasks")).content.decode()
    log = client.get(reverse("audit:log")).content.decode()

    assert shown_times(contacts) == {SHORT}
    assert shown_times(tasks) == {SHORT}
    assert f"<td><time {STAMP}>{SHORT}</time></td>" in log
    assert shown_times(log) == {SHORT}


def test_activity_page_gives_its_facts_in_full_and_its_history_short(
    org, admin, client_for, in_org, dated
):
    ada, _acme = dated
    with in_org(org):
        task = Activity.objects.get(contact=ada, kind="task")

    page = client_for(admin).get(task.get_absolute_url()).content.decode()

    assert f"<dt>When</dt><dd><time {STAMP}>{FULL}</time></dd>" in page
    assert f"<dt>Reminder</dt><dd><time {STAMP}>{FULL}</time></dd>" in page
    assert f"<td>{admin.user} · <time {STAMP}>{SHORT}</time> · System</td>" in page
    assert shown_times(page) == {FULL, SHORT}
