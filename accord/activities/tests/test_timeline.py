import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accord.activities import services
from accord.activities.models import Activity, Kind
from accord.activities.timeline import PAGE_SIZE
from accord.customers import services as customers
from accord.identity.models import Role

CREATE_URL = reverse("activities:create")


@pytest.fixture
def contact(org, admin, in_org):
    with in_org(org):
        company = customers.create_company(org, admin.user, data={"name": "Wisła Components"})
        return customers.create_contact(
            org, admin.user, data={"first_name": "Ada", "last_name": "Lovelace",
                                   "company": company.pk},
        )


@pytest.fixture
def task(org, admin, contact, in_org):
    with in_org(org):
        return services.log_activity(org, admin.user, data={
            "kind": "task", "subject": "Send the proposal", "contact": contact,
            "due_at": timezone.now() + dt.timedelta(days=2),
        })


def entries_of(org, in_org, **record):
    with in_org(org):
        return list(Activity.objects.filter(**record).exclude(kind=Kind.SYSTEM)
                    .values_list("kind", "subject", "body"))


def test_note_from_the_composer_lands_on_the_timeline_and_redirects_to_the_record(
    org, admin, contact, client_for, in_org
):
    client = client_for(admin)

    response = client.post(CREATE_URL, {"kind": "note", "contact": contact.pk,
                                        "body": "Prefers calls after lunch."})

    assert response.status_code == 302
    assert response["Location"] == f"/contacts/{contact.pk}/"
    assert entries_of(org, in_org, contact=contact) == [
        ("note", "", "Prefers calls after lunch.")
    ]


def test_call_is_logged_with_its_outcome_and_shows_on_the_company_timeline(
    org, admin, contact, client_for, in_org
):
    client = client_for(admin)

    client.post(CREATE_URL, {
        "kind": "call", "contact": contact.pk, "subject": "Intro call",
        "direction": "outbound", "outcome": "voicemail", "duration_minutes": "3",
    })

    with in_org(org):
        call = Activity.objects.get(kind="call")
        assert (call.outcome, call.direction, call.duration_minutes) == (
            "voicemail", "outbound", 3)
        assert call.company == contact.company
    response = client.get(reverse("activities:timeline", args=["company", contact.company.pk]))
    assert response.status_code == 200
    assert "Intro call" in response.text
    assert "Left voicemail" in response.text
    assert f'href="/contacts/{contact.pk}/">Ada Lovelace</a>' in response.text


def test_timeline_shows_entries_newest_first_with_system_events(
    org, admin, contact, client_for, in_org
):
    with in_org(org):
        for number, minutes_ago in ((1, 30), (2, 20), (3, 10)):
            services.log_activity(org, admin.user, data={
                "kind": "note", "contact": contact, "body": f"Note {number}",
                "occurred_at": timezone.now() - dt.timedelta(minutes=minutes_ago),
            })

    response = client_for(admin).get(reverse("activities:timeline", args=["contact", contact.pk]))

    text = response.text
    assert text.index("Note 3") < text.index("Note 2") < text.index("Note 1")
    assert "Contact created" in text


def test_older_entries_load_by_cursor(org, admin, contact, client_for, in_org):
    start = timezone.now() - dt.timedelta(days=1)
    with in_org(org):
        for number in range(PAGE_SIZE + 5):
            services.log_activity(org, admin.user, data={
                "kind": "note", "contact": contact, "body": f"Entry {number:02d}",
                "occurred_at": start + dt.timedelta(minutes=number),
            })
    client = client_for(admin)
    url = reverse("activities:timeline", args=["contact", contact.pk])

    first = client.get(url)
    older_url = first.context["timeline"].older_url
    second = client.get(older_url, headers={"HX-Request": "true"})

    assert [e.event or e.body for e in first.context["timeline"].entries][:3] == [
        "contact.created", "Entry 24", "Entry 23"]
    assert "Entry 06" in first.text
    assert "Entry 05" not in first.text
    assert second.status_code == 200
    assert "<html" not in second.text
    assert "Entry 05" in second.text
    assert "Entry 00" in second.text
    assert "Entry 06" not in second.text
    assert 'hx-swap-oob="true"' in second.text
    assert "Older entries" not in second.text


def test_composer_errors_show_next_to_their_field_with_422(
    org, admin, contact, client_for, in_org
):
    client = client_for(admin)

    response = client.post(CREATE_URL, {"kind": "task", "contact": contact.pk, "subject": ""},
                           headers={"HX-Request": "true"})

    assert response.status_code == 422
    assert response.context["timeline"].form.errors == {"subject": ["Say what the task is."]}
    assert ('<p class="error" id="activity-subject_error">Say what the task is.</p>'
            in response.text)
    assert entries_of(org, in_org, contact=contact) == []


def test_reminder_after_the_due_time_is_refused(org, admin, contact, client_for, in_org):
    response = client_for(admin).post(CREATE_URL, {
        "kind": "task", "contact": contact.pk, "subject": "Renewal",
        "due_at": "2030-03-01T09:00", "remind_at": "2030-03-01T10:00",
    })

    assert response.status_code == 422
    assert response.context["timeline"].form.errors == {
        "remind_at": ["Set the reminder at or before the due time."]
    }


def test_htmx_composer_post_returns_the_refreshed_timeline_fragment(
    admin, contact, client_for
):
    response = client_for(admin).post(
        CREATE_URL, {"kind": "meeting", "contact": contact.pk, "subject": "Quarterly review",
                     "occurred_at": "2030-01-15T10:00"},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section class="timeline-panel" '
                                              'id="contact-timeline"')
    assert "Quarterly review" in response.text


def test_composer_tab_switch_renders_the_form_of_that_kind(admin, contact, client_for):
    client = client_for(admin)

    response = client.get(f"{CREATE_URL}?contact={contact.pk}&kind=task",
                          headers={"HX-Request": "true",
                                   "HX-Current-URL": f"http://testserver/contacts/{contact.pk}/"})

    assert response.status_code == 200
    assert list(response.context["timeline"].form.fields) == [
        "subject", "due_at", "assignee", "remind_at", "body"]
    assert f'href="/contacts/{contact.pk}/?compose=call#contact-timeline-composer"' in (
        response.text)
    assert 'aria-selected="true" aria-controls="contact-timeline-form">Task</a>' in response.text


def test_composer_page_without_javascript_keeps_the_chosen_kind(admin, contact, client_for):
    response = client_for(admin).get(f"{CREATE_URL}?contact={contact.pk}&compose=email")

    assert response.status_code == 200
    assert '<input type="hidden" name="kind" value="email">' in response.text
    assert "<title>Add to Ada Lovelace · Accord</title>" in response.text


def test_read_only_member_sees_the_timeline_but_cannot_post(
    org, contact, task, make_member, client_for, in_org
):
    reader = client_for(make_member(org, Role.READ_ONLY))

    page = reader.get(reverse("activities:timeline", args=["contact", contact.pk]))
    post = reader.post(CREATE_URL, {"kind": "note", "contact": contact.pk, "body": "Hi"})
    toggle = reader.post(reverse("activities:task_done", args=[task.pk]), {"done": "1"})

    assert page.status_code == 200
    assert "Send the proposal" in page.text
    assert "Your role can read this timeline but not add to it." in page.text
    assert 'name="kind"' not in page.text
    assert "Mark done" not in page.text
    assert post.status_code == 403
    assert toggle.status_code == 403
    assert entries_of(org, in_org, contact=contact) == [("task", "Send the proposal", "")]


def test_every_activities_url_answers_404_for_another_organizations_records(
    org, other_org, contact, task, make_member, client_for
):
    stranger = client_for(make_member(other_org, Role.ADMIN))
    pk = task.pk

    answers = [
        stranger.get(reverse("activities:detail", args=[pk])).status_code,
        stranger.get(reverse("activities:edit", args=[pk])).status_code,
        stranger.post(reverse("activities:edit", args=[pk]), {"subject": "x"}).status_code,
        stranger.post(reverse("activities:delete", args=[pk])).status_code,
        stranger.post(reverse("activities:task_done", args=[pk]), {"done": "1"}).status_code,
        stranger.get(reverse("activities:timeline", args=["contact", contact.pk])).status_code,
        stranger.get(reverse("activities:timeline",
                             args=["company", contact.company_id])).status_code,
        stranger.get(f"{CREATE_URL}?contact={contact.pk}").status_code,
        stranger.post(CREATE_URL, {"kind": "note", "contact": contact.pk,
                                   "body": "x"}).status_code,
        stranger.post(CREATE_URL, {"kind": "note", "company": contact.company_id,
                                   "body": "x"}).status_code,
    ]

    assert answers == [404] * 10


def test_signed_out_visitor_is_sent_to_sign_in(contact, client):
    response = client.get(reverse("activities:my_tasks"))

    assert response.status_code == 302
    assert response["Location"].startswith("/login?next=")


def test_user_content_is_escaped_on_the_timeline(org, admin, contact, client_for, in_org):
    with in_org(org):
        services.log_activity(org, admin.user, data={
            "kind": "note", "contact": contact, "body": "<script>alert(1)</script>",
        })

    response = client_for(admin).get(reverse("activities:timeline", args=["contact", contact.pk]))

    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text


def test_task_is_marked_done_and_undone_from_the_timeline(
    org, admin, task, client_for, in_org
):
    client = client_for(admin)
    url = reverse("activities:task_done", args=[task.pk])

    done = client.post(url, {"done": "1", "shown_on": "contact"},
                       headers={"HX-Request": "true"})
    with in_org(org):
        completed_at = Activity.objects.get(pk=task.pk).completed_at
    undone = client.post(url, {"done": "0"})

    assert done.status_code == 200
    assert "Mark not done" in done.text
    assert completed_at is not None
    assert undone.status_code == 302
    assert undone["Location"] == f"/contacts/{task.contact_id}/#activity-{task.pk}"
    with in_org(org):
        assert Activity.objects.get(pk=task.pk).completed_at is None


def test_editing_over_a_newer_change_answers_409(org, admin, task, client_for, in_org):
    client = client_for(admin)
    with in_org(org):
        services.update_activity(org, admin.user, task, data={"subject": "Send proposal v2"})

    response = client.post(reverse("activities:edit", args=[task.pk]), {
        "subject": "Send the final proposal", "version": "1", "due_at": "2030-01-01T10:00",
    })

    assert response.status_code == 409
    assert "This record was changed by someone else" in response.text
    with in_org(org):
        assert Activity.objects.get(pk=task.pk).subject == "Send proposal v2"


def test_edit_saves_and_the_detail_page_shows_field_history(
    org, admin, task, client_for, in_org
):
    client = client_for(admin)

    response = client.post(reverse("activities:edit", args=[task.pk]), {
        "subject": "Send the final proposal", "version": "1",
        "due_at": "2030-01-01T10:00", "assignee": str(admin.user.pk),
    })
    page = client.get(reverse("activities:detail", args=[task.pk]))

    assert response.status_code == 302
    subjects = [(c.label, c.old, c.new) for c in page.context["history"] if c.field == "subject"]
    assert subjects == [("Subject", "Send the proposal", "Send the final proposal"),
                        ("Subject", "", "Send the proposal")]
    assert "→ Send the final proposal</td>" in page.text


def test_my_tasks_groups_overdue_today_upcoming_and_done(
    org, admin, member, contact, client_for, in_org
):
    now = timezone.now()
    with in_org(org):
        def make(subject, due, done=False, assignee=member.user):
            task = services.log_activity(org, admin.user, data={
                "kind": "task", "subject": subject, "contact": contact, "due_at": due,
                "assignee": assignee.pk,
            })
            if done:
                services.set_task_done(org, admin.user, task, done=True)

        make("Chase invoice", now - dt.timedelta(days=1))
        make("Book demo", now + dt.timedelta(days=9))
        make("Plan visit", None)
        make("Sent samples", now - dt.timedelta(days=3), done=True)
        make("Someone else's", now - dt.timedelta(days=1), assignee=admin.user)

    response = client_for(member).get(reverse("activities:my_tasks"))

    sections = {s["key"]: [t.subject for t in s["tasks"]] for s in response.context["sections"]}
    assert sections == {"overdue": ["Chase invoice"], "today": [],
                        "upcoming": ["Book demo", "Plan visit"], "done": ["Sent samples"]}
    assert "3 open tasks" in response.text
    assert "Nothing else due today." in response.text


def test_my_tasks_toggle_rerenders_the_lists_for_htmx(
    org, member, contact, client_for, in_org
):
    with in_org(org):
        task = services.log_activity(org, member.user, data={
            "kind": "task", "subject": "Call back", "contact": contact,
            "due_at": timezone.now() + dt.timedelta(days=3),
        })

    response = client_for(member).post(
        reverse("activities:task_done", args=[task.pk]),
        {"done": "1", "shown_on": "tasks"}, headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="my-tasks">')
    text = response.text
    assert text.index('id="tasks-done"') < text.index("Call back")
    assert "Nothing planned after today." in text
    assert "Mark not done" in text


def test_contact_page_carries_the_timeline_and_a_composer_chosen_by_link(
    admin, contact, task, client_for
):
    client = client_for(admin)

    page = client.get(f"/contacts/{contact.pk}/")
    task_tab = client.get(f"/contacts/{contact.pk}/?compose=task")

    assert page.status_code == 200
    assert 'id="contact-timeline"' in page.text
    assert "Send the proposal" in page.text
    assert '<input type="hidden" name="kind" value="note">' in page.text
    assert '<input type="hidden" name="kind" value="task">' in task_tab.text
    assert '<label for="activity-due_at">Due</label>' in task_tab.text
