"""Runs of rules set off by events, dates and schedules: what they change and log."""

import datetime as dt

from django.utils import timezone

from accord.activities.models import Activity
from accord.automation import runner, tasks
from accord.automation.models import Rule, RuleRun
from accord.commerce import subscriptions
from accord.core.models import DomainEvent
from accord.customers import services as customers
from accord.customers.models import Contact, ContactTag
from accord.identity import services as identity
from accord.identity.models import Role


def tags_of(contact) -> list[str]:
    return sorted(ContactTag.objects.filter(contact=contact).values_list("tag__name", flat=True))


def test_a_field_changed_rule_runs_when_its_field_changes_and_not_for_other_fields(
    org, admin, in_org, make_rule, eager, django_capture_on_commit_callbacks
):
    rule = make_rule(org, trigger="field_changed",
                     settings={"entity": "contact", "field": "lifecycle_stage"},
                     actions=[{"type": "add_tag", "tag": "stage moved"}])
    with in_org(org), django_capture_on_commit_callbacks(execute=True):
        contact = customers.create_contact(org, admin.user, data={"first_name": "Ada"})

    with in_org(org), django_capture_on_commit_callbacks(execute=True):
        customers.update_contact(org, admin.user, contact, data={"first_name": "Ada B."})
    with in_org(org):
        untouched = tags_of(contact)
    with in_org(org), django_capture_on_commit_callbacks(execute=True):
        customers.update_contact(org, admin.user, contact, data={"lifecycle_stage": "customer"})

    with in_org(org):
        assert untouched == []
        assert tags_of(contact) == ["stage moved"]
        run = RuleRun.objects.get(rule=rule)
        assert (run.status, run.entity, run.object_id, run.depth) == (
            "done", "contact", contact.pk, 1)
        assert run.log[0]["detail"] == "Added the tag “stage moved” to the contact."


def test_the_same_event_delivered_twice_runs_the_rule_once(org, admin, in_org, make_rule):
    rule = make_rule(org, trigger="created", settings={"entity": "contact"},
                     actions=[{"type": "create_task", "subject": "Welcome call", "days": 1}])
    with in_org(org):
        contact = customers.create_contact(org, admin.user, data={"first_name": "Ada"})
        event = DomainEvent.objects.get(type="contact.created", object_id=contact.pk)

    first = tasks.start_run(rule.pk, event.pk)
    second = tasks.start_run(rule.pk, event.pk)

    assert (first, second) == ("done", None)
    with in_org(org):
        assert RuleRun.objects.filter(rule=rule).count() == 1
        assert Activity.objects.filter(kind="task", contact=contact).count() == 1


def test_a_rule_that_sets_itself_off_stops_at_the_depth_limit_with_a_log_entry(
    org, admin, in_org, make_member, make_rule, eager, django_capture_on_commit_callbacks
):
    first = make_member(org, Role.SALES, email="first@example.com")
    second = make_member(org, Role.SALES, email="second@example.com")
    with in_org(org):
        team = identity.save_team(org, admin.user, name="Inside sales")
        for membership in (first, second):
            membership.team = team
            membership.save()
    # Each run gives the contact to the other member, which changes the owner again.
    rule = make_rule(org, trigger="field_changed",
                     settings={"entity": "contact", "field": "owner"},
                     actions=[{"type": "assign_owner", "team": team.pk}])
    with in_org(org):
        contact = customers.create_contact(org, admin.user, data={"first_name": "Ada"})

    with in_org(org), django_capture_on_commit_callbacks(execute=True):
        customers.update_contact(org, admin.user, contact, data={"owner": second.user_id})

    with in_org(org):
        runs = list(RuleRun.objects.filter(rule=rule).order_by("id"))
    assert [(run.depth, run.status) for run in runs] == [
        (1, "done"), (2, "done"), (3, "done"), (4, "done"), (5, "done"), (6, "stopped")]
    assert runs[-1].log[0]["detail"] == (
        "Stopped: this change was made by a chain of 5 rule runs, each set off by the one "
        "before; rules stop after 5 so that they cannot loop.")


def test_a_date_rule_is_started_by_the_beat_once_on_its_day(org, admin, in_org, make_rule,
                                                           eager):
    today = timezone.now().date()
    with in_org(org):
        contact = customers.create_contact(org, admin.user, data={"first_name": "Ada"})
        due = subscriptions.create_subscription(org, admin.user, data={
            "plan_name": "Gold", "mrr": "10", "started_at": "2026-01-01", "contact": contact.pk,
            "renews_on": (today + dt.timedelta(days=30)).isoformat()})
        subscriptions.create_subscription(org, admin.user, data={
            "plan_name": "Silver", "mrr": "10", "started_at": "2026-01-01",
            "contact": contact.pk, "renews_on": (today + dt.timedelta(days=31)).isoformat()})
    rule = make_rule(org, trigger="date_reached",
                     settings={"date": "subscription.renews_on", "days": -30, "time": "00:00"},
                     actions=[{"type": "create_task", "days": 7,
                               "subject": "Renewal: {{ contact.first_name }}"}])

    started = tasks.check_dated_rules()
    again = tasks.check_dated_rules()

    assert (started, again) == (1, 0)
    with in_org(org):
        run = RuleRun.objects.get(rule=rule)
        assert (run.entity, run.object_id, run.status) == ("subscription", due.pk, "done")
        task = Activity.objects.get(kind="task", contact=contact)
        assert task.subject == "Renewal: Ada"


def test_a_schedule_rule_takes_matching_contacts_once_within_its_repeat_days(
    org, admin, in_org, make_rule, eager
):
    with in_org(org):
        tagged = customers.create_contact(org, admin.user, data={
            "first_name": "Ada", "tags": ["advisory"]})
        customers.create_contact(org, admin.user, data={"first_name": "Bob"})
    rule = make_rule(org, trigger="schedule", settings={"time": "00:00", "repeat_days": 365},
                     conditions={"all": [{"kind": "tag", "op": "has", "value": "advisory"}]},
                     actions=[{"type": "create_task", "days": 14, "subject": "Annual review"}])

    first = tasks.check_dated_rules()
    with in_org(org):
        Rule.objects.filter(pk=rule.pk).update(last_checked_on=None)
    next_day = tasks.check_dated_rules()

    assert (first, next_day) == (1, 0)
    with in_org(org):
        assert list(Activity.objects.filter(kind="task").values_list(
            "contact_id", "subject")) == [(tagged.pk, "Annual review")]


def test_a_waiting_run_is_woken_after_its_wait_and_finishes(org, admin, in_org, make_rule):
    rule = make_rule(org, trigger="created", settings={"entity": "contact"},
                     actions=[{"type": "wait", "amount": 2, "unit": "days"},
                              {"type": "add_tag", "tag": "two days in"}])
    with in_org(org):
        contact = customers.create_contact(org, admin.user, data={"first_name": "Ada"})
        event = DomainEvent.objects.get(type="contact.created", object_id=contact.pk)
    now = timezone.now()

    status = tasks.start_run(rule.pk, event.pk)
    early = runner.due_runs(now + dt.timedelta(days=1), 10)
    later = now + dt.timedelta(days=2, minutes=1)
    due = runner.due_runs(later, 10)
    with in_org(org):
        woken = runner.advance(org, due[0][1], now=later)

    assert (status, early, woken) == ("waiting", [], "done")
    with in_org(org):
        assert tags_of(contact) == ["two days in"]
        run = RuleRun.objects.get(rule=rule)
        assert [entry["status"] for entry in run.log] == ["waiting", "done"]


def test_conditions_not_met_skip_the_run_with_the_reason(org, admin, in_org, make_rule):
    with in_org(org):
        customers.create_contact(org, admin.user, data={"first_name": "Vic", "tags": ["vip"]})
    rule = make_rule(org, trigger="created", settings={"entity": "contact"},
                     conditions={"all": [{"kind": "tag", "op": "has", "value": "vip"}]},
                     actions=[{"type": "add_tag", "tag": "welcomed"}])
    with in_org(org):
        contact = customers.create_contact(org, admin.user, data={"first_name": "Ada"})
        event = DomainEvent.objects.get(type="contact.created", object_id=contact.pk)

    status = tasks.start_run(rule.pk, event.pk)

    assert status == "skipped"
    with in_org(org):
        run = RuleRun.objects.get(rule=rule)
        assert run.log[0]["detail"] == ("The contact does not meet the conditions: "
                                        "Has tag vip.")
        assert tags_of(Contact.objects.get(pk=contact.pk)) == []


def test_a_templated_email_is_rendered_for_the_contact_and_sent(org, admin, in_org, make_rule,
                                                                smtp_inbox):
    rule = make_rule(org, trigger="created", settings={"entity": "contact"},
                     actions=[{"type": "send_email",
                               "subject": "Welcome, {{ contact.first_name }}",
                               "body": "Hello {{ contact.full_name }} of {{ company.name|default:"
                                       "\"your team\" }}."}])
    with in_org(org):
        contact = customers.create_contact(org, admin.user, data={
            "first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"})
        event = DomainEvent.objects.get(type="contact.created", object_id=contact.pk)

    status = tasks.start_run(rule.pk, event.pk)

    assert status == "done"
    recipients, subject, body = smtp_inbox.only()
    assert (recipients, subject) == (["ada@example.com"], "Welcome, Ada")
    assert body.strip() == "Hello Ada Lovelace of your team."


def test_a_solved_ticket_opens_a_deal_and_tells_its_assignee(org, admin, in_org, make_rule,
                                                             smtp_inbox):
    from accord.sales import services as sales
    from accord.sales.models import Deal, DealContact
    from accord.service import services as service

    with in_org(org):
        pipeline = sales.create_pipeline(org, admin.user, name="Upsell")
        stage = pipeline.stages.order_by("position").first()
        contact = customers.create_contact(org, admin.user, data={"first_name": "Ada"})
        ticket = service.create_ticket(org, admin.user, data={
            "subject": "Broken", "contact": contact.pk, "assignee": admin.user_id})
    rule = make_rule(org, trigger="ticket_status", settings={"status": "solved"},
                     actions=[{"type": "create_deal", "stage": stage.pk,
                               "name": "Upsell {{ contact.first_name }}"},
                              {"type": "notify_user", "message": "Offer {{ contact.first_name }}"
                                                                 " an upgrade."}])
    with in_org(org):
        service.change_status(org, admin.user, ticket, "solved")
        event = DomainEvent.objects.filter(type="ticket.updated").latest("id")

    status = tasks.start_run(rule.pk, event.pk)

    assert status == "done"
    with in_org(org):
        deal = Deal.objects.get()
        assert (deal.name, deal.stage_id, deal.owner_id) == ("Upsell Ada", stage.pk,
                                                             admin.user_id)
        assert list(DealContact.objects.values_list("contact_id", flat=True)) == [contact.pk]
    recipients, subject, body = smtp_inbox.only()
    assert (recipients, subject) == ([admin.user.email], "Accord: Rule")
    assert body.strip() == "Offer Ada an upgrade."


def test_two_rules_undoing_each_others_change_stop_with_a_visible_stopped_run(
    org, admin, in_org, make_rule, eager, django_capture_on_commit_callbacks
):
    # Both rules wait for the stage to change, and each changes it back.
    for name, stage in (("To customer", "customer"), ("To lead", "lead")):
        make_rule(org, name=name, trigger="field_changed",
                  settings={"entity": "contact", "field": "lifecycle_stage"},
                  actions=[{"type": "set_field", "field": "lifecycle_stage", "value": stage}])
    with in_org(org):
        contact = customers.create_contact(org, admin.user, data={"first_name": "Ada"})

    with in_org(org), django_capture_on_commit_callbacks(execute=True):
        customers.update_contact(org, admin.user, contact,
                                 data={"lifecycle_stage": "opportunity"})

    with in_org(org):
        runs = list(RuleRun.objects.order_by("id"))
    stopped = [run for run in runs if run.status == "stopped"]
    assert {(run.depth, run.log[0]["detail"]) for run in stopped} == {(6, (
        "Stopped: this change was made by a chain of 5 rule runs, each set off by the one "
        "before; rules stop after 5 so that they cannot loop."))}
    assert max(run.depth for run in runs if run.status == "done") == 5
    assert {run.status for run in runs} == {"done", "stopped"}
    # Each change sets off both rules, so every link doubles the runs: 2 + 4 + 8 + 16 + 32
    # done, and the 64 set off by the fifth link stopped, as docs/automation.md says.
    assert (len(runs) - len(stopped), len(stopped)) == (62, 64)


def test_a_date_rule_catches_up_the_days_the_scheduler_missed_but_not_older_ones(
    org, admin, in_org, make_rule, eager
):
    today = timezone.now().date()
    with in_org(org):
        contact = customers.create_contact(org, admin.user, data={"first_name": "Ada"})
        renewals = {
            days: subscriptions.create_subscription(org, admin.user, data={
                "plan_name": f"Plan {days}", "mrr": "10", "started_at": "2026-01-01",
                "contact": contact.pk,
                "renews_on": (today + dt.timedelta(days=days)).isoformat()})
            for days in (31, 30, 29, 28, 27)
        }
    rule = make_rule(org, trigger="date_reached",
                     settings={"date": "subscription.renews_on", "days": -30, "time": "00:00"},
                     actions=[{"type": "add_tag", "tag": "renewal"}])
    # The last look was three days ago: the two days between were missed.
    with in_org(org):
        Rule.objects.filter(pk=rule.pk).update(last_checked_on=today - dt.timedelta(days=3))

    started = tasks.check_dated_rules()

    assert started == 3
    with in_org(org):
        ran_for = set(RuleRun.objects.filter(rule=rule).values_list("object_id", flat=True))
    assert ran_for == {renewals[30].pk, renewals[29].pk, renewals[28].pk}


def test_days_a_rule_looks_at_go_back_at_most_a_week():
    from accord.automation.scheduling import days_to_look_at

    today = dt.date(2026, 12, 5)
    assert days_to_look_at(None, today) == [today]
    assert days_to_look_at(today, today) == []
    assert days_to_look_at(dt.date(2026, 12, 3), today) == [dt.date(2026, 12, 4), today]
    assert days_to_look_at(dt.date(2026, 10, 1), today) == [
        dt.date(2026, 11, 29) + dt.timedelta(days=n) for n in range(7)]


def test_switching_a_rule_on_again_does_not_catch_up_the_days_it_was_off(
    org, admin, in_org, make_rule
):
    from accord.automation import services

    rule = make_rule(org, trigger="date_reached",
                     settings={"date": "subscription.renews_on", "days": -30, "time": "00:00"},
                     actions=[{"type": "add_tag", "tag": "renewal"}])
    with in_org(org):
        Rule.objects.filter(pk=rule.pk).update(last_checked_on=dt.date(2026, 11, 1))
        services.set_rule_active(org, admin.user, rule, active=False)
        services.set_rule_active(org, admin.user, rule, active=True)
        rule.refresh_from_db()
    assert rule.last_checked_on is None


def test_a_rule_on_a_custom_date_field_finds_its_contacts_and_catches_up(
    org, admin, in_org, make_rule, eager
):
    from accord.customers.models import CustomField

    today = timezone.now().date()
    with in_org(org):
        CustomField.objects.create(organization=org, entity="contact", key="review_due",
                                   label="Review due", field_type="date")
        due = {
            name: customers.create_contact(org, admin.user, data={
                "first_name": name,
                "custom_fields": {"review_due": (today + dt.timedelta(days=days)).isoformat()}})
            for name, days in (("Yesterday", -1), ("Today", 0), ("Tomorrow", 1), ("Old", -9))
        }
    rule = make_rule(org, trigger="date_reached",
                     settings={"date": "contact.custom.review_due", "days": 0, "time": "00:00"},
                     actions=[{"type": "add_tag", "tag": "review"}])
    with in_org(org):
        Rule.objects.filter(pk=rule.pk).update(last_checked_on=today - dt.timedelta(days=2))

    assert tasks.check_dated_rules() == 2
    with in_org(org):
        ran_for = set(RuleRun.objects.filter(rule=rule).values_list("object_id", flat=True))
    assert ran_for == {due["Yesterday"].pk, due["Today"].pk}


def test_changing_a_date_rules_offset_looks_again_the_same_day(org, admin, in_org, make_rule,
                                                               eager, api_client_for):
    today = timezone.now().date()
    with in_org(org):
        contact = customers.create_contact(org, admin.user, data={"first_name": "Ada"})
        month = {
            days: subscriptions.create_subscription(org, admin.user, data={
                "plan_name": f"Plan {days}", "mrr": "10", "started_at": "2026-01-01",
                "contact": contact.pk,
                "renews_on": (today + dt.timedelta(days=days)).isoformat()})
            for days in (30, 31)
        }
    rule = make_rule(org, trigger="date_reached",
                     settings={"date": "subscription.renews_on", "days": -30, "time": "00:00"},
                     actions=[{"type": "add_tag", "tag": "renewal"}])
    client = api_client_for(admin)

    first = tasks.check_dated_rules()
    changed = client.patch(f"/api/v1/rules/{rule.pk}", {
        "settings": {"date": "subscription.renews_on", "days": -31, "time": "00:00"},
        "version": rule.version}, content_type="application/json")
    after_change = tasks.check_dated_rules()
    renamed = client.patch(f"/api/v1/rules/{rule.pk}", {
        "name": "Renewals", "version": changed.json()["version"]},
        content_type="application/json")
    after_rename = tasks.check_dated_rules()

    assert (first, changed.status_code, after_change) == (1, 200, 1)
    assert (renamed.status_code, after_rename) == (200, 0)
    with in_org(org):
        ran_for = sorted(RuleRun.objects.filter(rule=rule).values_list("object_id", flat=True))
    assert ran_for == sorted([month[30].pk, month[31].pk])
