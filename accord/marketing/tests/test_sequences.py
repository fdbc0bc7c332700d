"""Sequences through the API, the pages and the runner: e-mails in turn, waits, branches on
clicks, exits on reply and unsubscribe, at most one e-mail per step after a crash."""

import datetime as dt
import re

import pytest
from aiosmtpd.controller import Controller
from django.test import Client
from django.utils import timezone

from accord.activities import services as activities
from accord.customers import services as customer_services
from accord.identity.models import Role
from accord.marketing import campaigns, sending, sequence_runner, sequences
from accord.marketing.sequence_models import Enrolment, EnrolmentEntry, SequenceMessage
from conftest import Inbox, free_port

# The runner is handed the time; each test starts from the moment the module
# was loaded, so that what the test does "now" happens after the start.
START = timezone.now().replace(microsecond=0)
MONDAY = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def no_send_limit(settings):
    settings.CAMPAIGN_SEND_RATE = 0


@pytest.fixture
def marketer(org, make_member):
    return make_member(org, Role.MARKETING, email="mia@northwind.example")


def _contact(org, admin, first_name, email, *, consent="granted"):
    contact = customer_services.create_contact(org, admin.user, data={
        "first_name": first_name, "last_name": "Example", "email": email})
    if consent:
        customer_services.record_consent(org, admin.user, contact, channel="email",
                                         purpose="marketing", status=consent,
                                         method="web_form")
    return contact


@pytest.fixture
def nurture(org, admin, in_org):
    """E-mail 1, wait two days, leave if e-mail 1 was clicked, else e-mail 2."""
    with in_org(org):
        first = campaigns.create_template(org, admin.user, data={
            "name": "Welcome", "subject": "Welcome {{ contact.first_name }}",
            "html": '<p>Hi, see <a href="https://shop.example/start">the guide</a>.</p>'})
        second = campaigns.create_template(org, admin.user, data={
            "name": "Nudge", "subject": "Still there, {{ contact.first_name }}?",
            "html": "<p>We miss you.</p>"})
        return sequences.save_sequence(org, admin.user, {
            "name": "Onboarding", "from_email": "hello@northwind.example",
            "status": "active",
            "steps": [{"type": "email", "template": first.pk},
                      {"type": "wait", "amount": 2, "unit": "days"},
                      {"type": "branch", "condition": "clicked", "step": "s1",
                       "then": "exit", "else": "next"},
                      {"type": "email", "template": second.pk}]})


def _subjects(inbox, address):
    return [message["Subject"] for rcpt, message in inbox.messages if rcpt == [address]]


def _link(inbox, address, pattern):
    body = next(message for rcpt, message in inbox.messages if rcpt == [address])
    html = body.get_body(("html",)).get_content()
    return re.search(pattern, html).group(0)


def test_contact_who_clicked_gets_no_second_email_and_one_who_did_not_gets_it(
        org, admin, marketer, in_org, nurture, api_client_for, smtp_inbox):
    with in_org(org):
        ada = _contact(org, admin, "Ada", "ada@example.com")
        ben = _contact(org, admin, "Ben", "ben@example.com")
    api = api_client_for(marketer)

    answer = api.post(f"/api/v1/sequences/{nurture.pk}/enrolments",
                      {"contact_ids": [ada.pk, ben.pk, 999999]}, content_type="application/json")
    start = timezone.now()
    sequence_runner.run_due(now=start)

    assert answer.json() == {"enrolled": 2, "already": 0, "not_found": 1}
    assert _subjects(smtp_inbox, "ada@example.com") == ["Welcome Ada"]
    assert _subjects(smtp_inbox, "ben@example.com") == ["Welcome Ben"]
    click = _link(smtp_inbox, "ada@example.com", r"http://[^\"]+/s/c/[^\"]+")
    redirect = Client().get("/" + click.split("/", 3)[3])
    assert redirect.status_code == 302
    assert redirect["Location"] == "https://shop.example/start"

    sequence_runner.run_due(now=start + dt.timedelta(days=1))
    assert len(smtp_inbox.messages) == 2
    sequence_runner.run_due(now=start + dt.timedelta(days=2, minutes=1))

    assert _subjects(smtp_inbox, "ada@example.com") == ["Welcome Ada"]
    assert _subjects(smtp_inbox, "ben@example.com") == ["Welcome Ben", "Still there, Ben?"]
    with in_org(org):
        states = {e.contact_id: (e.status, e.exit_reason)
                  for e in Enrolment.objects.filter(sequence=nurture)}
        log = list(EnrolmentEntry.objects.filter(enrolment__contact=ada)
                   .values_list("kind", flat=True))
    assert states == {ada.pk: ("exited", "branch"), ben.pk: ("completed", "")}
    assert log == ["enrolled", "step_done", "waited", "branched", "exited"]


def test_a_reply_from_the_contact_ends_the_sequence_before_the_next_email(
        org, admin, in_org, nurture, smtp_inbox):
    with in_org(org):
        ada = _contact(org, admin, "Ada", "ada@example.com")
        sequences.enrol_contact(org, admin.user, nurture, ada, now=START)
    sequence_runner.run_due(now=START)
    with in_org(org):
        activities.log_activity(org, admin.user, data={
            "kind": "email", "direction": "inbound", "subject": "Re: Welcome",
            "contact": ada.pk})

    sequence_runner.run_due(now=START + dt.timedelta(days=3))

    assert _subjects(smtp_inbox, "ada@example.com") == ["Welcome Ada"]
    with in_org(org):
        enrolment = Enrolment.objects.get(contact=ada)
        last = EnrolmentEntry.objects.filter(enrolment=enrolment).last()
    assert (enrolment.status, enrolment.exit_reason) == ("exited", "replied")
    assert last.text == "Left the sequence: replied by e-mail."


def test_the_unsubscribe_link_withdraws_consent_and_ends_the_enrolment_at_once(
        org, admin, in_org, nurture, smtp_inbox):
    with in_org(org):
        ada = _contact(org, admin, "Ada", "ada@example.com")
        sequences.enrol_contact(org, admin.user, nurture, ada, now=START)
    sequence_runner.run_due(now=START)
    _rcpt, message = smtp_inbox.messages[0]
    unsubscribe = message["List-Unsubscribe"].strip("<>")
    path = "/" + unsubscribe.split("/", 3)[3]

    answer = Client().post(path)
    sequence_runner.run_due(now=START + dt.timedelta(days=3))

    assert answer.status_code == 200
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert len(smtp_inbox.messages) == 1
    with in_org(org):
        enrolment = Enrolment.objects.get(contact=ada)
        consent = campaigns.marketing_consent([ada.pk])[ada.pk]
    assert (enrolment.status, enrolment.exit_reason, consent) == (
        "exited", "unsubscribed", "withdrawn")


def test_a_contact_without_consent_gets_no_email_and_goes_on(
        org, admin, in_org, nurture, smtp_inbox):
    with in_org(org):
        silent = _contact(org, admin, "Silent", "silent@example.com", consent="")
        sequences.enrol_contact(org, admin.user, nurture, silent, now=START)

    sequence_runner.run_due(now=START)

    assert smtp_inbox.messages == []
    with in_org(org):
        message = SequenceMessage.objects.get(contact=silent)
        enrolment = Enrolment.objects.get(contact=silent)
    assert (message.status, message.reason) == ("excluded", "no_consent")
    assert (enrolment.status, enrolment.step_key) == ("active", "s3")


def test_a_worker_killed_after_writing_the_ledger_never_sends_that_email(
        org, admin, in_org, nurture, smtp_inbox, monkeypatch):
    with in_org(org):
        ada = _contact(org, admin, "Ada", "ada@example.com")
        sequences.enrol_contact(org, admin.user, nurture, ada, now=START)

    def killed(*args, **kwargs):
        raise SystemExit("killed between the ledger row and the mail server")

    monkeypatch.setattr(sequence_runner, "_deliver", killed)
    with pytest.raises(SystemExit):
        sequence_runner.run_due(now=START)
    monkeypatch.undo()
    sequence_runner.run_due(now=START + dt.timedelta(minutes=5))
    assert smtp_inbox.messages == []  # still claimed by the dead worker
    sequence_runner.run_due(now=START + sequence_runner.lease() + dt.timedelta(minutes=1))

    assert smtp_inbox.messages == []
    with in_org(org):
        enrolment = Enrolment.objects.get(contact=ada)
        row = SequenceMessage.objects.get(enrolment=enrolment)
        texts = list(EnrolmentEntry.objects.filter(enrolment=enrolment)
                     .values_list("text", flat=True))
    assert row.status == "sending"
    assert enrolment.step_key == "s3"
    assert ("The e-mail was handed to the mail server before a restart and is not sent "
            "again.") in texts


def test_running_twice_at_the_same_time_sends_each_step_once(
        org, admin, in_org, nurture, smtp_inbox):
    with in_org(org):
        ada = _contact(org, admin, "Ada", "ada@example.com")
        enrolment = sequences.enrol_contact(org, admin.user, nurture, ada, now=START)

        sequence_runner.advance(org, enrolment.pk, START)
        sequence_runner.advance(org, enrolment.pk, START)

    assert _subjects(smtp_inbox, "ada@example.com") == ["Welcome Ada"]


def test_a_workflow_rule_enrols_a_new_contact_once(org, admin, in_org, nurture):
    from accord.automation import services as automation
    from accord.automation import tasks as automation_tasks
    from accord.core.models import DomainEvent

    with in_org(org):
        rule = automation.create_rule(org, admin.user, data={
            "name": "Onboard", "is_active": True, "trigger": "created",
            "settings": {"entity": "contact"},
            "actions": [{"type": "enrol_in_sequence", "sequence": nurture.pk},
                        {"type": "enrol_in_sequence", "sequence": nurture.pk}]})
        contact = customer_services.create_contact(org, admin.user, data={
            "first_name": "Ada", "email": "ada@example.com"})
        event = DomainEvent.objects.get(type="contact.created", object_id=contact.pk)

    outcome = automation_tasks.start_run(rule.pk, event.pk)

    with in_org(org):
        enrolments = list(Enrolment.objects.filter(contact=contact).values_list(
            "sequence_id", "source", "status"))
    assert outcome == "done"
    assert enrolments == [(nurture.pk, "rule", "active")]


def test_invalid_steps_are_named_and_nothing_is_saved(org, marketer, api_client_for, in_org):
    api = api_client_for(marketer)

    answer = api.post("/api/v1/sequences", {
        "name": "Broken", "from_email": "hello@northwind.example",
        "steps": [{"type": "wait", "amount": 0, "unit": "days"},
                  {"type": "branch", "condition": "clicked", "step": "s9", "then": "s1"},
                  {"type": "teleport"}]}, content_type="application/json")

    assert answer.status_code == 422
    assert answer["Content-Type"] == "application/problem+json"
    fields = {error["field"]: error["message"] for error in answer.json()["errors"]}
    assert fields == {
        "steps[0].amount": "Enter a whole number from 1 to 366.",
        "steps[1].step": "Choose an e-mail step before this one (-).",
        "steps[1].then": "Go to the next step, exit, or name a later step (s3).",
        "steps[2].type": "Choose one of: email, wait, wait_until, task, set_field, add_tag, "
                         "branch.",
    }
    with in_org(org):
        assert not sequences.Sequence.objects.exists()


def test_api_patch_needs_the_current_version_and_lists_sequences(
        org, marketer, api_client_for, nurture):
    api = api_client_for(marketer)

    stale = api.patch(f"/api/v1/sequences/{nurture.pk}",
                      {"status": "paused", "version": nurture.version - 1 or 99},
                      content_type="application/json")
    fresh = api.patch(f"/api/v1/sequences/{nurture.pk}",
                      {"status": "paused", "version": nurture.version},
                      content_type="application/json")
    listed = api.get("/api/v1/sequences?status=paused")

    assert stale.status_code == 409
    assert fresh.status_code == 200
    assert fresh.json()["status"] == "paused"
    assert [item["name"] for item in listed.json()["items"]] == ["Onboarding"]


def test_another_organisations_sequence_answers_404(
        org, other_org, make_member, api_client_for, nurture, admin, in_org):
    with in_org(org):
        ada = _contact(org, admin, "Ada", "ada@example.com")
        enrolment = sequences.enrol_contact(org, admin.user, nurture, ada)
    outsider = api_client_for(make_member(other_org, Role.ADMIN))

    answers = [outsider.get(f"/api/v1/sequences/{nurture.pk}").status_code,
               outsider.get(f"/api/v1/sequences/{nurture.pk}/enrolments").status_code,
               outsider.delete(f"/api/v1/sequences/{nurture.pk}/enrolments/{enrolment.pk}")
               .status_code]

    assert answers == [404, 404, 404]


def test_sales_may_look_but_not_change_or_enrol(org, member, client_for, nurture):
    client = client_for(member)

    assert client.get(f"/sequences/{nurture.pk}/").status_code == 200
    assert client.post(f"/sequences/{nurture.pk}/status/", {"status": "paused"}
                       ).status_code == 403


def test_builder_adds_moves_and_removes_steps_and_shows_errors_by_field(
        org, marketer, client_for, in_org, nurture):
    client = client_for(marketer)

    bad = client.post(f"/sequences/{nurture.pk}/steps/", {
        "action": "add", "type": "wait", "amount": "", "unit": "days",
        "version": nurture.version})
    added = client.post(f"/sequences/{nurture.pk}/steps/", {
        "action": "add", "type": "add_tag", "tag": "nurtured", "version": nurture.version})
    with in_org(org):
        nurture.refresh_from_db()
    moved = client.post(f"/sequences/{nurture.pk}/steps/", {
        "action": "up", "key": "s5", "version": nurture.version})
    with in_org(org):
        nurture.refresh_from_db()
        order = [step["key"] for step in nurture.steps]
    removed = client.post(f"/sequences/{nurture.pk}/steps/", {
        "action": "remove", "key": "s2", "version": nurture.version})
    with in_org(org):
        nurture.refresh_from_db()

    assert bad.status_code == 422
    assert bad.context["step_form"].errors["amount"] == ["Enter a whole number from 1 to 366."]
    assert (added.status_code, moved.status_code, removed.status_code) == (302, 302, 302)
    assert order == ["s1", "s2", "s3", "s5", "s4"]
    assert [step["key"] for step in nurture.steps] == ["s1", "s3", "s5", "s4"]


def test_contact_page_enrols_and_shows_where_the_contact_stands(
        org, admin, marketer, client_for, in_org, nurture):
    with in_org(org):
        ada = _contact(org, admin, "Ada", "ada@example.com")
    client = client_for(marketer)

    answer = client.post(f"/contacts/{ada.pk}/sequences/", {"sequence": nurture.pk})
    page = client.get(f"/contacts/{ada.pk}/")
    with in_org(org):
        enrolment = Enrolment.objects.get(contact=ada)
    detail = client.get(f"/sequences/{nurture.pk}/enrolments/{enrolment.pk}/")
    listing = client.get(f"/sequences/{nurture.pk}/enrolments/?status=active")

    assert answer.status_code == 302
    assert "Onboarding" in page.content.decode()
    assert "Enrolled (By hand)." in detail.content.decode()
    assert "Ada Example" in listing.content.decode()


def test_wait_until_finds_the_next_weekday_and_time_in_the_zone():
    step = {"weekday": "tuesday", "time": "09:30", "zone": "contact"}
    zone = sequence_runner.zone_named("Europe/Berlin")

    at = sequence_runner.next_weekday_time(step, zone, MONDAY)

    assert at == dt.datetime(2026, 12, 1, 8, 30, tzinfo=dt.UTC)
    assert sequence_runner.next_weekday_time(step, zone, at) == at
    assert sequence_runner.next_weekday_time(step, zone, at + dt.timedelta(seconds=1)) == (
        dt.datetime(2026, 12, 8, 8, 30, tzinfo=dt.UTC))


def test_removing_from_the_api_stops_further_steps(
        org, admin, marketer, in_org, nurture, api_client_for, smtp_inbox):
    with in_org(org):
        ada = _contact(org, admin, "Ada", "ada@example.com")
        enrolment = sequences.enrol_contact(org, admin.user, nurture, ada, now=START)
    api = api_client_for(marketer)

    answer = api.delete(f"/api/v1/sequences/{nurture.pk}/enrolments/{enrolment.pk}")
    sequence_runner.run_due(now=START + dt.timedelta(days=5))
    removed = api.get(f"/api/v1/sequences/{nurture.pk}/enrolments?status=removed")
    active = api.get(f"/api/v1/sequences/{nurture.pk}/enrolments?status=active")

    assert answer.status_code == 200
    assert answer.json()["status"] == "removed"
    assert [entry["kind"] for entry in answer.json()["log"]] == ["enrolled", "removed"]
    assert [item["contact_id"] for item in removed.json()["items"]] == [ada.pk]
    assert active.json() == {"items": [], "next": None}
    assert smtp_inbox.messages == []


def test_marketer_creates_a_sequence_from_the_page_and_finds_it_in_the_list(
        org, marketer, client_for, in_org):
    client = client_for(marketer)

    empty = client.get("/sequences/")
    bad = client.post("/sequences/new/", {"name": "", "from_email": "hello@northwind.example"})
    saved = client.post("/sequences/new/", {
        "name": "Trial follow-up", "from_email": "hello@northwind.example",
        "exit_reply": "on"})
    listed = client.get("/sequences/?q=trial")
    activate_empty = client.post(f"{saved['Location']}status/", {"status": "active"})

    assert "No sequences yet." in empty.content.decode()
    assert bad.status_code == 422
    assert bad.context["form"].errors["name"] == ["This field is required."]
    assert saved.status_code == 302
    assert "Trial follow-up" in listed.content.decode()
    assert activate_empty.status_code == 422
    assert "Add at least one step before activating the sequence." in (
        activate_empty.content.decode())
    with in_org(org):
        sequence = sequences.Sequence.objects.get()
    assert (sequence.status, sequence.exit) == (
        "draft", {"reply": True, "customer": False, "goal_segment": None})


class Busy(Inbox):
    """Answers 451 to the first `refusals` RCPT commands, then accepts."""

    def __init__(self, refusals: int):
        super().__init__()
        self.refusals = refusals

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802 - aiosmtpd's hook name
        if self.refusals:
            self.refusals -= 1
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def busy_server(settings):
    def start(refusals: int) -> Busy:
        inbox = Busy(refusals)
        controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
        controller.start()
        started.append(controller)
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        return inbox

    started = []
    yield start
    for controller in started:
        controller.stop()


def test_a_temporary_refusal_keeps_the_step_and_sends_it_once_at_the_retry(
        org, admin, in_org, nurture, busy_server):
    inbox = busy_server(refusals=1)
    with in_org(org):
        ada = _contact(org, admin, "Ada", "ada@example.com")
        sequences.enrol_contact(org, admin.user, nurture, ada, now=START)

    sequence_runner.run_due(now=START)
    with in_org(org):
        deferred = SequenceMessage.objects.get(contact=ada)
        waiting = Enrolment.objects.get(contact=ada)
    sequence_runner.run_due(now=START + dt.timedelta(seconds=30))
    early = len(inbox.messages)
    sequence_runner.run_due(now=START + dt.timedelta(seconds=61))
    sequence_runner.run_due(now=START + dt.timedelta(seconds=120))

    assert (deferred.status, deferred.attempts, deferred.error) == (
        "deferred", 1, "451 4.3.0 Try again later")
    assert (waiting.step_key, waiting.next_run_at) == ("s1", START + dt.timedelta(seconds=60))
    assert early == 0
    assert _subjects(inbox, "ada@example.com") == ["Welcome Ada"]
    with in_org(org):
        message = SequenceMessage.objects.get(contact=ada)
        enrolment = Enrolment.objects.get(contact=ada)
        kinds = list(EnrolmentEntry.objects.filter(enrolment=enrolment)
                     .values_list("kind", flat=True))
    assert (message.status, message.attempts, message.error) == ("sent", 2, "")
    assert enrolment.step_key == "s3"
    assert kinds == ["enrolled", "deferred", "step_done", "waited"]


def test_a_step_refused_for_now_every_time_fails_after_the_last_attempt_and_goes_on(
        org, admin, in_org, nurture, busy_server):
    inbox = busy_server(refusals=99)
    with in_org(org):
        ada = _contact(org, admin, "Ada", "ada@example.com")
        sequences.enrol_contact(org, admin.user, nurture, ada, now=START)

    moment = START
    for _attempt in range(sending.MAX_ATTEMPTS):
        sequence_runner.run_due(now=moment)
        moment += dt.timedelta(hours=2)

    assert inbox.messages == []
    with in_org(org):
        message = SequenceMessage.objects.get(contact=ada)
        enrolment = Enrolment.objects.get(contact=ada)
    assert (message.status, message.attempts) == ("failed", sending.MAX_ATTEMPTS)
    assert enrolment.step_key == "s3"


def test_a_mail_server_that_cannot_be_reached_is_tried_again(
        org, admin, in_org, nurture, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    with in_org(org):
        ada = _contact(org, admin, "Ada", "ada@example.com")
        sequences.enrol_contact(org, admin.user, nurture, ada, now=START)

    sequence_runner.run_due(now=START)

    with in_org(org):
        message = SequenceMessage.objects.get(contact=ada)
        enrolment = Enrolment.objects.get(contact=ada)
    assert (message.status, message.attempts) == ("deferred", 1)
    assert (enrolment.step_key, enrolment.next_run_at) == ("s1", START + dt.timedelta(seconds=60))
