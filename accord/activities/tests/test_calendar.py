"""The calendar feed a member's calendar app subscribes to."""

import datetime as dt
import re

from django.test import Client
from django.utils import timezone
from django.utils.formats import date_format
from django_scopes import scope

from accord.activities import calendar, services
from accord.activities.models import CalendarFeed
from accord.audit.models import AuditEntry
from accord.customers import services as customers
from accord.identity.models import Role

ADDRESS = re.compile(r'value="http://testserver(/calendar/[^"]+\.ics)"')


def make_address(client) -> str:
    page = client.post("/settings/calendar/", {"action": "new"}).content.decode()
    return ADDRESS.search(page).group(1)


def test_the_feed_holds_the_members_tasks_and_meetings_only(org, member, make_member,
                                                           client_for):
    colleague = make_member(org, Role.SALES)
    soon = timezone.now() + dt.timedelta(days=2)
    with scope(organization=org):
        acme = customers.create_company(org, member.user, data={"name": "Acme, Ltd; North"})
        services.log_activity(org, member.user, data={
            "kind": "task", "subject": "Send the offer", "due_at": soon.isoformat(),
            "company": acme.pk})
        services.log_activity(org, member.user, data={
            "kind": "meeting", "subject": "Kick-off " + "with a very long agenda " * 4,
            "occurred_at": soon.isoformat(), "duration_minutes": 45, "body": "Line one\nLine two",
            "company": acme.pk})
        services.log_activity(org, colleague.user, data={
            "kind": "task", "subject": "Someone else's task", "due_at": soon.isoformat(),
            "company": acme.pk})
        services.log_activity(org, member.user, data={
            "kind": "task", "subject": "Long ago",
            "due_at": (soon - dt.timedelta(days=400)).isoformat(), "company": acme.pk})

    path = make_address(client_for(member))
    answer = Client().get(path)

    assert answer.status_code == 200
    assert answer["Content-Type"] == "text/calendar; charset=utf-8"
    text = answer.content.decode()
    unfolded = text.replace("\r\n ", "")
    assert text.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")
    assert text.endswith("END:VCALENDAR\r\n")
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    assert "SUMMARY:Send the offer (Acme\\, Ltd\\; North)" in unfolded
    assert f"DTSTART:{soon.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}" in unfolded
    assert (f"DTEND:{(soon + dt.timedelta(minutes=45)).astimezone(dt.UTC):%Y%m%dT%H%M%SZ}"
            in unfolded)
    assert "DESCRIPTION:Line one\\nLine two" in unfolded
    assert unfolded.count("BEGIN:VEVENT") == 2
    assert "Someone else" not in unfolded
    assert "Long ago" not in unfolded


def test_a_new_address_stops_the_old_one_and_stopping_ends_both(org, member, client_for,
                                                                in_org):
    client = client_for(member)
    first = make_address(client)
    second = make_address(client)

    assert Client().get(first).status_code == 404
    assert Client().get(second).status_code == 200
    settings_page = client.get("/settings/calendar/").content.decode()
    assert "<dt>Last read by your calendar</dt><dd>" in settings_page
    assert "<dd>Not yet</dd>" not in settings_page
    with in_org(org):
        assert AuditEntry.objects.filter(entity="calendar_feed", action="create").count() == 2
    client.post("/settings/calendar/", {"action": "stop"})
    assert Client().get(second).status_code == 404
    assert Client().get("/calendar/forged.ics").status_code == 404


def test_a_deactivated_member_s_address_stops_working(org, member, client_for, in_org):
    path = make_address(client_for(member))
    with in_org(org):
        member.is_active = False
        member.save(update_fields=["is_active"])

    assert Client().get(path).status_code == 404


def test_long_lines_fold_without_splitting_a_character():
    line = "SUMMARY:" + "é" * 60

    folded = calendar._fold(line)

    assert all(len(part.encode()) <= 75 for part in folded.split("\r\n"))
    assert folded.replace("\r\n ", "") == line


def test_the_settings_page_shows_when_the_address_was_made_and_last_read(
        org, member, client_for, in_org):
    client = client_for(member)
    Client().get(make_address(client))
    with in_org(org):
        feed = CalendarFeed.objects.get(user=member.user)
    made = date_format(timezone.localtime(feed.created_at), "DATETIME_FORMAT")
    read = date_format(timezone.localtime(feed.last_read_at), "DATETIME_FORMAT")

    page = client.get("/settings/calendar/").content.decode()

    assert f"<dt>Address made</dt><dd>{made}</dd>" in page
    assert f"<dt>Last read by your calendar</dt><dd>{read}</dd>" in page
    assert "m.." not in page
