"""Settings → Business hours and SLA policies, through the pages a manager uses."""

import datetime as dt

import pytest
from django_scopes import scope

from accord.audit.models import AuditEntry
from accord.identity.models import Role
from accord.service import services, sla_settings
from accord.service.models import BusinessCalendar, SlaPolicy, Ticket
from accord.service.sla_forms import parse_intervals
from accord.service.sla_tasks import recompute_due_times
from accord.service.sla_views import duration_text

CALENDARS = "/settings/sla/calendars/new/"
POLICIES = "/settings/sla/policies/new/"


@pytest.fixture
def manager(org, make_member):
    return make_member(org, Role.MANAGER, email="max@support.example")


def calendar_form(**overrides) -> dict:
    form = {"name": "Berlin office", "time_zone": "Europe/Berlin", "holidays": "",
            **{f"hours_{day}": "" for day in range(7)}}
    form.update(hours_0="09:00–12:00, 13:00-17:00", hours_4="09:00–24:00")
    form.update(overrides)
    return form


def policy_form(**overrides) -> dict:
    form = {"name": "Gold", "position": "1", "is_active": "on", "priorities": ["high", "urgent"],
            "customer_tier": "Gold", "first_response_hours": "1", "first_response_mins": "30",
            "resolution_hours": "8", "resolution_mins": "", "warn_before_minutes": "20"}
    form.update(overrides)
    return form


def test_settings_index_links_to_the_sla_page_for_managers_only(
    org, manager, make_member, client_for
):
    agent = make_member(org, Role.SUPPORT)

    shown = client_for(manager).get("/settings").content.decode()
    hidden = client_for(agent).get("/settings").content.decode()

    assert 'href="/settings/sla/"' in shown
    assert 'href="/settings/sla/"' not in hidden


def test_a_manager_adds_business_hours_with_holidays(org, manager, client_for):
    client = client_for(manager)

    response = client.post(CALENDARS, calendar_form(holidays="2026-12-25\n2026-12-24\n\n"))

    assert response.status_code == 302
    with scope(organization=org):
        calendar = BusinessCalendar.objects.get()
        entry = AuditEntry.objects.get(entity="businesscalendar", action="create")
    assert calendar.time_zone == "Europe/Berlin"
    assert calendar.hours == {"0": [["09:00", "12:00"], ["13:00", "17:00"]],
                              "4": [["09:00", "24:00"]]}
    assert calendar.holidays == ["2026-12-24", "2026-12-25"]
    assert entry.actor_id == manager.user_id
    page = client.get(f"/settings/sla/calendars/{calendar.pk}/").content.decode()
    assert 'value="09:00–12:00, 13:00–17:00"' in page
    assert "2026-12-24\n2026-12-25</textarea>" in page


def test_bad_hours_are_named_next_to_their_weekday(org, manager, client_for):
    response = client_for(manager).post(CALENDARS, calendar_form(
        hours_1="17:00–09:00", hours_2="09:00–13:00, 12:00–14:00", hours_3="nine to five",
        holidays="2026-02-30"))

    assert response.status_code == 422
    form = response.context["form"]
    assert form.errors["hours_1"] == [
        "Tuesday 17:00–09:00 does not end after it starts. To work past midnight, end the "
        "interval at 00:00 and start the next day at 00:00."]
    assert form.errors["hours_2"] == ["Wednesday 09:00–13:00 overlaps 12:00–14:00."]
    assert form.errors["hours_3"] == [
        "Write each interval as HH:MM–HH:MM, such as 09:00–17:00; 24:00 may end the day."]
    assert form.errors["holidays"] == ["Write each holiday as a date, YYYY-MM-DD."]
    with scope(organization=org):
        assert not BusinessCalendar.objects.exists()


def test_a_manager_adds_a_policy_in_hours_and_minutes(org, manager, client_for):
    with scope(organization=org):
        calendar = sla_settings.create_calendar(org, manager.user, data={
            "name": "Office", "time_zone": "UTC", "hours": {"0": [["09:00", "17:00"]]}})

    response = client_for(manager).post(POLICIES, policy_form(calendar=calendar.pk))

    assert response.status_code == 302
    with scope(organization=org):
        policy = SlaPolicy.objects.get()
        assert AuditEntry.objects.filter(entity="slapolicy", action="create").count() == 1
    assert (policy.first_response_minutes, policy.resolution_minutes) == (90, 480)
    assert (policy.priorities, policy.customer_tier, policy.warn_before_minutes) == (
        ["high", "urgent"], "Gold", 20)
    assert policy.calendar_id == calendar.pk
    overview = client_for(manager).get("/settings/sla/").content.decode()
    assert "1 h 30 min" in overview
    assert "8 h" in overview


def test_a_policy_without_any_target_is_refused_next_to_the_field(
    org, manager, client_for
):
    response = client_for(manager).post(POLICIES, policy_form(
        first_response_hours="", first_response_mins="", resolution_hours=""))

    assert response.status_code == 422
    assert response.context["form"].errors["first_response_hours"] == [
        "Set a first response target, a resolution target or both."]


def test_saving_a_stale_policy_answers_409_and_keeps_the_other_change(
    org, manager, client_for
):
    with scope(organization=org):
        policy = sla_settings.create_policy(org, manager.user, data={
            "name": "Standard", "resolution_minutes": 600})
        sla_settings.update_policy(org, manager.user, policy, data={"resolution_minutes": 300})

    response = client_for(manager).post(f"/settings/sla/policies/{policy.pk}/", policy_form(
        name="Standard", version="1"))

    assert response.status_code == 409
    assert "changed by someone else" in response.content.decode()
    with scope(organization=org):
        policy.refresh_from_db()
    assert (policy.resolution_minutes, policy.version) == (300, 2)


def test_support_members_cannot_open_the_settings(org, make_member, client_for):
    client = client_for(make_member(org, Role.SUPPORT))

    assert client.get("/settings/sla/").status_code == 403
    assert client.post(POLICIES, policy_form()).status_code == 403


def test_another_organisations_policy_answers_404(other_org, make_member, manager, client_for):
    stranger = make_member(other_org, Role.ADMIN)
    with scope(organization=other_org):
        theirs = sla_settings.create_policy(other_org, stranger.user, data={
            "name": "Theirs", "resolution_minutes": 60})

    assert client_for(manager).get(f"/settings/sla/policies/{theirs.pk}/").status_code == 404


def test_changing_a_policy_moves_the_due_times_of_its_open_tickets(org, manager, client_for):
    with scope(organization=org):
        policy = sla_settings.create_policy(org, manager.user, data={
            "name": "Standard", "first_response_minutes": 60, "resolution_minutes": 600})
        open_one = services.create_ticket(org, manager.user, data={"subject": "Open"})
        solved = services.create_ticket(org, manager.user, data={"subject": "Solved"})
        services.update_ticket(org, manager.user, solved, data={"status": "solved"})
        solved.refresh_from_db()
        solved_due = solved.resolution_due_at

    response = client_for(manager).post(f"/settings/sla/policies/{policy.pk}/", {
        "name": "Standard", "position": "0", "is_active": "on", "first_response_hours": "2",
        "resolution_hours": "24", "warn_before_minutes": "60", "version": "1"})

    assert response.status_code == 302
    with scope(organization=org):
        open_one.refresh_from_db()
        solved.refresh_from_db()
        entry = AuditEntry.objects.get(entity="slapolicy", action="update")
    assert open_one.first_response_due_at == open_one.created_at + dt.timedelta(hours=2)
    assert open_one.resolution_due_at == open_one.created_at + dt.timedelta(hours=24)
    assert solved.resolution_due_at == solved_due
    assert entry.changes == {"first_response_minutes": [60, 120],
                             "resolution_minutes": [600, 1440]}


def test_a_new_policy_picks_up_open_tickets_it_fits(org, manager):
    with scope(organization=org):
        ticket = services.create_ticket(org, manager.user, data={"subject": "Urgent",
                                                                 "priority": "urgent"})
        policy = sla_settings.create_policy(org, manager.user, data={
            "name": "Urgent", "priorities": ["urgent"], "first_response_minutes": 15})
        ticket.refresh_from_db()

    assert ticket.sla_policy_id == policy.pk
    assert ticket.first_response_due_at == ticket.created_at + dt.timedelta(minutes=15)


def test_changing_business_hours_moves_due_times_of_the_tickets_counting_on_them(org, manager):
    with scope(organization=org):
        calendar = sla_settings.create_calendar(org, manager.user, data={
            "name": "Always", "time_zone": "UTC",
            "hours": {str(day): [["00:00", "24:00"]] for day in range(7)}})
        sla_settings.create_policy(org, manager.user, data={
            "name": "Standard", "resolution_minutes": 60, "calendar": calendar.pk})
        ticket = services.create_ticket(org, manager.user, data={"subject": "Help"})
        before = ticket.resolution_due_at

        sla_settings.update_calendar(org, manager.user, calendar,
                                     data={"holidays": [ticket.created_at.date().isoformat()]})
        ticket.refresh_from_db()

    assert before == ticket.created_at + dt.timedelta(minutes=60)
    next_day = dt.datetime.combine(ticket.created_at.date() + dt.timedelta(days=1), dt.time(),
                                   dt.UTC)
    assert ticket.resolution_due_at == next_day + dt.timedelta(minutes=60)


def test_many_tickets_are_recomputed_by_a_job_that_is_safe_to_repeat(
    org, manager, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(sla_settings, "INLINE_LIMIT", 2)
    monkeypatch.setattr("accord.service.sla_tasks.recompute_due_times.delay",
                        lambda *args: queued.append(args))
    with scope(organization=org):
        tickets = [services.create_ticket(org, manager.user, data={"subject": f"T{n}"})
                   for n in range(3)]
    with django_capture_on_commit_callbacks(execute=True), scope(organization=org):
        policy = sla_settings.create_policy(org, manager.user, data={
            "name": "Standard", "resolution_minutes": 30})
        untouched = Ticket.objects.filter(sla_policy__isnull=False).count()

    first = recompute_due_times(*queued[0])
    again = recompute_due_times(*queued[0])

    assert queued == [(org.pk, [ticket.pk for ticket in tickets])]
    assert (untouched, first, again) == (0, 3, 3)
    with scope(organization=org):
        due = {ticket.pk: ticket.resolution_due_at - ticket.created_at
               for ticket in Ticket.objects.filter(sla_policy=policy)}
    assert due == {ticket.pk: dt.timedelta(minutes=30) for ticket in tickets}


def test_deleting_a_policy_asks_first_and_then_frees_its_tickets(org, manager, client_for):
    with scope(organization=org):
        policy = sla_settings.create_policy(org, manager.user, data={
            "name": "Standard", "resolution_minutes": 60})
        ticket = services.create_ticket(org, manager.user, data={"subject": "Help"})
    url = f"/settings/sla/policies/{policy.pk}/delete/"
    client = client_for(manager)

    asked = client.get(url)
    deleted = client.post(url, {"version": "1"})

    assert asked.status_code == 200
    assert "Delete Standard?" in asked.content.decode()
    assert deleted.status_code == 302
    with scope(organization=org):
        ticket.refresh_from_db()
        assert not SlaPolicy.objects.exists()
        assert AuditEntry.objects.filter(entity="slapolicy", action="delete").count() == 1
    assert (ticket.sla_policy_id, ticket.resolution_due_at) == (None, None)


def test_typed_intervals_are_split_on_commas_and_dashes():
    assert parse_intervals(" 09:00 - 12:00 ,13:00–17:00, ") == [["09:00", "12:00"],
                                                               ["13:00", "17:00"]]
    assert parse_intervals("nine") == [["nine"]]
    assert parse_intervals("") == []


def test_durations_read_in_hours_and_minutes():
    assert [duration_text(m) for m in (None, 45, 60, 90, 1440)] == [
        "", "45 min", "1 h", "1 h 30 min", "24 h"]
