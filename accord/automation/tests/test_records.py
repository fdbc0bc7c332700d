"""Rules about custom records: triggers, dates, conditions, actions, the type switched off."""

import datetime as dt
import json

import pytest
from django.utils import timezone

from accord.activities.models import Activity
from accord.audit.models import AuditEntry
from accord.automation import scheduling, tasks, triggers
from accord.automation.models import Rule, RuleRun
from accord.core.models import DomainEvent
from accord.customers import services as customers
from accord.customers.models import ContactTag
from accord.identity.models import Role
from accord.records import services as records
from accord.records.models import Record

POLICY = {"key": "policy", "singular": "Policy", "plural": "Policies", "title_field": "number",
          "fields": [{"key": "number", "label": "Number", "type": "text", "required": True},
                     {"key": "renews_on", "label": "Renews on", "type": "date"},
                     {"key": "status", "label": "Status", "type": "choice",
                      "choices": ["Active", "Lapsed"]},
                     {"key": "premium", "label": "Premium", "type": "money"},
                     {"key": "holder", "label": "Holder", "type": "contact"}]}
RETAINER = {"key": "retainer", "singular": "Retainer", "plural": "Retainers",
            "title_field": "name",
            "fields": [{"key": "name", "label": "Name", "type": "text"},
                       {"key": "renews_on", "label": "Renews on", "type": "date"}]}


@pytest.fixture
def policies(org, admin, in_org):
    """The Policy type; `policies(**values)` makes a policy record."""
    with in_org(org):
        records.save_type(org, admin.user, POLICY)

    def make(owner=None, **values):
        with in_org(org):
            policy = records.get_type("policy")
            data = {"values": {"number": f"P-{Record.objects.count() + 1}", **values}}
            if owner is not None:
                data["owner"] = owner.pk
            return records.create_record(org, admin.user, policy, data=data)

    return make


def day(days: int) -> str:
    return (timezone.now().date() + dt.timedelta(days=days)).isoformat()


def only_run(org, in_org, rule) -> RuleRun:
    with in_org(org):
        return RuleRun.objects.get(rule=rule)


def test_a_date_rule_makes_a_task_30_days_before_a_policy_renews_on_its_timeline(
    org, admin, in_org, make_member, make_rule, policies, eager
):
    agent = make_member(org, Role.SALES, full_name="Ann Agent")
    with in_org(org):
        holder = customers.create_contact(org, admin.user, data={"first_name": "Ada"})
    due = policies(owner=agent.user, renews_on=day(30), holder=holder.pk)
    policies(owner=agent.user, renews_on=day(31), holder=holder.pk)
    rule = make_rule(org, trigger="date_reached",
                     settings={"date": "record:policy.renews_on", "days": -30, "time": "00:00"},
                     actions=[{"type": "create_task", "days": 7, "subject":
                               "Renew {{ record.title }} for {{ contact.first_name }}"}])

    started = tasks.check_dated_rules()
    again = tasks.check_dated_rules()

    assert (started, again) == (1, 0)
    run = only_run(org, in_org, rule)
    assert (run.entity, run.object_id, run.status, run.key) == (
        "record:policy", due.pk, "done", f"date:{due.pk}:{day(30)}")
    assert run.trigger_text == f"record:policy.renews_on = {day(30)}"
    with in_org(org):
        task = Activity.objects.get(kind="task")
        assert (task.subject, task.custom_record_id, task.contact_id, task.assignee_id) == (
            f"Renew {due.title} for Ada", due.pk, holder.pk, agent.user_id)


def test_a_date_rule_catches_up_missed_days_of_a_record_date(org, in_org, make_rule, policies,
                                                              eager):
    dated = {days: policies(renews_on=day(days)) for days in (31, 30, 29, 28, 27)}
    rule = make_rule(org, trigger="date_reached",
                     settings={"date": "record:policy.renews_on", "days": -30, "time": "00:00"},
                     actions=[{"type": "create_task", "days": 1, "subject": "Renewal"}])
    # The last look was three days ago: the two days between were missed.
    with in_org(org):
        Rule.objects.filter(pk=rule.pk).update(
            last_checked_on=timezone.now().date() - dt.timedelta(days=3))

    started = tasks.check_dated_rules()

    assert started == 3
    with in_org(org):
        ran = set(RuleRun.objects.filter(rule=rule).values_list("object_id", flat=True))
    assert ran == {dated[30].pk, dated[29].pk, dated[28].pk}


def test_record_dates_are_matched_only_on_their_type_field_and_day(org, admin, in_org, policies):
    target = dt.date(2027, 3, 1)
    due = policies(renews_on="2027-03-01")
    policies(renews_on="2027-03-02")
    policies()
    trashed = policies(renews_on="2027-03-01")
    with in_org(org):
        records.delete_record(org, admin.user, trashed)
        retainers = records.save_type(org, admin.user, RETAINER)
        records.create_record(org, admin.user, retainers,
                              data={"values": {"name": "R", "renews_on": "2027-03-01"}})
        rule = Rule(trigger="date_reached", settings={"date": "record:policy.renews_on",
                                                      "days": 0})

        entity, found = scheduling.dated_records(rule, [target])

    assert (entity, found) == ("record:policy", [(due.pk, target)])


def test_a_date_rule_of_a_deactivated_type_starts_nothing_and_does_not_fail(
    org, admin, in_org, make_rule, policies, eager
):
    policies(renews_on=day(0))
    rule = make_rule(org, trigger="date_reached",
                     settings={"date": "record:policy.renews_on", "days": 0, "time": "00:00"},
                     actions=[{"type": "create_task", "days": 1, "subject": "Renewal"}])
    with in_org(org):
        records.save_type(org, admin.user, {**POLICY, "active": False})

    started = tasks.check_dated_rules()

    assert started == 0
    with in_org(org):
        assert not RuleRun.objects.filter(rule=rule).exists()


def test_a_field_changed_rule_sets_a_field_of_the_record_through_the_records_service(
    org, admin, in_org, make_rule, policies, eager, django_capture_on_commit_callbacks
):
    rule = make_rule(org, trigger="field_changed",
                     settings={"entity": "record:policy", "field": "status"},
                     actions=[{"type": "set_field", "field": "premium", "value": "0.00 EUR"}])
    policy = policies(status="Active", premium={"amount": "90.00", "currency": "EUR"})

    with in_org(org), django_capture_on_commit_callbacks(execute=True):
        records.update_record(org, admin.user, policy, data={"values": {"number": "P-9"}})
    with in_org(org):
        untouched = RuleRun.objects.filter(rule=rule).count()
    with in_org(org), django_capture_on_commit_callbacks(execute=True):
        records.update_record(org, admin.user, policy, data={"values": {"status": "Lapsed"}})

    assert untouched == 0
    run = only_run(org, in_org, rule)
    assert run.status == "done"
    assert run.log[0]["detail"] == "Set premium to “0.00 EUR”."
    with in_org(org):
        policy = Record.objects.get(pk=policy.pk)
        assert policy.values["premium"] == {"amount": "0.00", "currency": "EUR"}
        assert policy.version == 4
        entry = AuditEntry.objects.filter(object_id=policy.pk, entity="record").latest("id")
        assert entry.actor_id is None
        assert entry.changes["custom_fields"][0]["premium"] == {"amount": "90.00",
                                                                "currency": "EUR"}


def test_a_created_rule_runs_for_its_own_record_type_only(
    org, admin, in_org, make_rule, policies, eager, django_capture_on_commit_callbacks
):
    rule = make_rule(org, trigger="created", settings={"entity": "record:policy"},
                     actions=[{"type": "create_task", "days": 1,
                               "subject": "Check {{ record.number }}"}])
    with in_org(org):
        retainers = records.save_type(org, admin.user, RETAINER)

    with in_org(org), django_capture_on_commit_callbacks(execute=True):
        records.create_record(org, admin.user, retainers, data={"values": {"name": "R"}})
    with django_capture_on_commit_callbacks(execute=True):
        policy = policies(number="P-77")

    run = only_run(org, in_org, rule)
    assert (run.entity, run.object_id, run.status) == ("record:policy", policy.pk, "done")
    with in_org(org):
        assert list(Activity.objects.values_list("subject", "custom_record_id")) == [
            ("Check P-77", policy.pk)]


def test_a_record_without_a_contact_meets_only_empty_conditions(
    org, in_org, make_rule, policies, eager, django_capture_on_commit_callbacks
):
    rule = make_rule(org, trigger="created", settings={"entity": "record:policy"},
                     conditions={"all": [{"field": "first_name", "op": "equals",
                                          "value": "Ada"}]},
                     actions=[{"type": "create_task", "days": 1, "subject": "Check"}])

    with django_capture_on_commit_callbacks(execute=True):
        policies()

    run = only_run(org, in_org, rule)
    assert run.status == "skipped"
    assert run.log[0]["detail"] == (
        "The record links to no contact to check the conditions against.")


def test_actions_for_a_contact_are_skipped_for_a_record_without_one_and_the_run_goes_on(
    org, in_org, make_rule, policies, eager, django_capture_on_commit_callbacks
):
    rule = make_rule(org, trigger="created", settings={"entity": "record:policy"},
                     actions=[{"type": "send_email", "subject": "Hi", "body": "Hello"},
                              {"type": "add_tag", "tag": "insured"},
                              {"type": "create_task", "days": 1, "subject": "Check"}])

    with django_capture_on_commit_callbacks(execute=True):
        policies()

    run = only_run(org, in_org, rule)
    assert run.status == "done"
    assert [(entry["type"], entry["status"], entry["detail"]) for entry in run.log][:2] == [
        ("send_email", "skipped", "The record links to no contact."),
        ("add_tag", "skipped", "The record links to no contact.")]
    assert run.log[2]["status"] == "done"


def test_the_first_linked_contact_gets_the_contact_actions(
    org, admin, in_org, make_rule, policies, eager, django_capture_on_commit_callbacks
):
    rule = make_rule(org, trigger="created", settings={"entity": "record:policy"},
                     conditions={"all": [{"field": "first_name", "op": "equals",
                                          "value": "Ada"}]},
                     actions=[{"type": "add_tag", "tag": "insured"}])
    with in_org(org):
        holder = customers.create_contact(org, admin.user, data={"first_name": "Ada"})

    with django_capture_on_commit_callbacks(execute=True):
        policies(holder=holder.pk)

    assert only_run(org, in_org, rule).status == "done"
    with in_org(org):
        assert list(ContactTag.objects.filter(contact=holder)
                    .values_list("tag__name", flat=True)) == ["insured"]


@pytest.mark.parametrize("change", ["deactivate", "delete"])
def test_runs_of_a_type_switched_off_or_deleted_are_skipped_with_the_reason(
    org, admin, in_org, make_rule, policies, change, django_capture_on_commit_callbacks
):
    rule = make_rule(org, trigger="created", settings={"entity": "record:policy"},
                     actions=[{"type": "create_task", "days": 1, "subject": "Check"}])
    # The event is stored, but its rules are not started until the type is gone.
    with django_capture_on_commit_callbacks(execute=False):
        policies()
    with in_org(org):
        event = DomainEvent.objects.get(type="record.created")
        if change == "deactivate":
            records.save_type(org, admin.user, {**POLICY, "active": False})
        else:
            records.delete_type(org, admin.user, records.get_type("policy"),
                                delete_records=True)

    tasks.start_run(rule.pk, event.pk)

    run = only_run(org, in_org, rule)
    assert run.status == "skipped"
    assert run.log[0]["detail"] == {
        "deactivate": "The record type “Policy” is deactivated.",
        "delete": "The record type “policy” no longer exists."}[change]



def test_the_conditions_contact_is_the_first_the_contact_links_point_to(org, admin, in_org):
    with in_org(org):
        first = customers.create_contact(org, admin.user, data={"first_name": "Ada"})
        second = customers.create_contact(org, admin.user, data={"first_name": "Bob"})
        # The clients field comes first on the form, so its first link counts; a
        # contact in the trash counts for nothing.
        matter = records.save_type(org, admin.user, {
            "key": "matter", "singular": "Matter", "plural": "Matters",
            "fields": [{"key": "clients", "type": "contact", "many": True},
                       {"key": "broker", "type": "contact"}]})
        both = records.create_record(org, admin.user, matter, data={
            "values": {"broker": first.pk, "clients": [second.pk, first.pk]}})
        brokered = records.create_record(org, admin.user, matter,
                                         data={"values": {"broker": first.pk}})
        customers.delete_contact(org, admin.user, first)

        assert triggers.contact_of("record:matter", both) == second
        assert triggers.contact_of("record:matter", brokered) is None


def test_a_pack_brings_a_record_type_with_rules_that_name_it_by_key(org, admin, in_org,
                                                                     monkeypatch):
    from accord.packs import document
    from accord.packs import services as packs

    loaded = document.parse(json.dumps({
        "name": "insurance", "version": "1.0", "title": "Insurance",
        "description": "Policies and their renewals.", "record_types": [POLICY],
        "rules": [{"name": "Policy renewal", "trigger": "date_reached", "is_active": True,
                   "settings": {"date": "record:policy.renews_on", "days": -30,
                                "time": "08:00"},
                   "actions": [{"type": "create_task", "days": 7,
                                "subject": "Renew {{ record.title }}"}]},
                  {"name": "Lapsed policy", "trigger": "field_changed",
                   "settings": {"entity": "record:policy", "field": "status"},
                   "actions": [{"type": "notify_user", "message": "{{ record.title }}"}]}]}))
    monkeypatch.setattr(document, "load", lambda name: loaded)

    with in_org(org):
        summary = packs.apply_pack(org, admin.user, "insurance")

    assert [(item.section, item.key, item.outcome) for item in summary.outcomes] == [
        ("record_types", "policy", "added"), ("rules", "policy renewal", "added"),
        ("rules", "lapsed policy", "added")]
    with in_org(org):
        assert dict(Rule.objects.values_list("name", "settings")) == {
            "Policy renewal": {"date": "record:policy.renews_on", "days": -30,
                               "time": "08:00"},
            "Lapsed policy": {"entity": "record:policy", "field": "status"}}


def test_a_pack_rule_naming_a_record_type_the_organisation_lacks_is_refused(
    org, admin, in_org, monkeypatch
):
    from accord.packs import document
    from accord.packs import services as packs

    loaded = document.parse(json.dumps({
        "name": "insurance", "version": "1.0", "title": "Insurance",
        "description": "Renewals of a type the pack does not bring.",
        "rules": [{"name": "Policy renewal", "trigger": "created",
                   "settings": {"entity": "record:policy"},
                   "actions": [{"type": "create_task", "days": 7, "subject": "Check"}]}]}))
    monkeypatch.setattr(document, "load", lambda name: loaded)

    with in_org(org), pytest.raises(document.InvalidPack) as refused:
        packs.apply_pack(org, admin.user, "insurance")

    assert "No active record type has the key “policy”." in str(refused.value.errors)
    with in_org(org):
        assert not Rule.objects.exists()


def test_a_rule_on_deleted_records_runs_for_the_record_in_the_trash(
    org, admin, in_org, make_rule, policies, eager, mailoutbox,
    django_capture_on_commit_callbacks
):
    rule = make_rule(org, trigger="event",
                     settings={"event_type": "record.deleted", "entity": "record:policy"},
                     actions=[{"type": "notify_user", "message": "{{ record.title }} is gone."},
                              {"type": "set_field", "field": "status", "value": "Lapsed"},
                              {"type": "create_task", "days": 1, "subject": "Check"}])
    policy = policies(number="P-5")

    with in_org(org), django_capture_on_commit_callbacks(execute=True):
        records.delete_record(org, admin.user, policy)

    run = only_run(org, in_org, rule)
    assert [(entry["type"], entry["status"], entry["detail"]) for entry in run.log] == [
        ("notify_user", "done", f"E-mailed {admin.user.full_name}."),
        ("set_field", "skipped", "The record is in the trash; it is not changed."),
        ("create_task", "skipped", "The record is in the trash and links to no contact, so "
                                   "the task has nowhere to go.")]
    assert [message.body for message in mailoutbox] == ["P-5 is gone."]
    with in_org(org):
        assert Record.with_deleted.get(pk=policy.pk).values.get("status") is None
