import pytest

from accord.activities import services
from accord.activities.models import Activity
from accord.customers import services as customers
from accord.identity.models import Role


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


def patch(client, url, body):
    return client.patch(url, body, content_type="application/json")


@pytest.fixture
def ada(org, admin, in_org):
    with in_org(org):
        company = customers.create_company(org, admin.user, data={"name": "Acme"})
        return customers.create_contact(org, admin.user,
                                        data={"first_name": "Ada", "company": company})


def log(org, actor, in_org, **data):
    with in_org(org):
        return services.log_activity(org, actor, data=data)


def test_logging_a_call_answers_201_with_the_entry(org, member, ada, api_client_for):
    response = post(api_client_for(member), "/api/v1/activities", {
        "kind": "call", "subject": "Intro call", "body": "Talked budgets.",
        "contact_id": ada.pk, "occurred_at": "2026-03-02T15:30:00+01:00",
        "direction": "outbound", "outcome": "connected", "duration_minutes": 25,
    })

    assert response.status_code == 201
    body = response.json()
    for key in ("id", "created_at", "updated_at"):
        body.pop(key)
    assert body == {
        "kind": "call", "subject": "Intro call", "body": "Talked budgets.",
        "contact_id": ada.pk, "company_id": ada.company_id, "custom_record_id": None,
        "occurred_at": "2026-03-02T14:30:00Z", "author_id": member.user_id,
        "direction": "outbound", "outcome": "connected", "duration_minutes": 25,
        "due_at": None, "assignee_id": None, "remind_at": None, "done": False,
        "completed_at": None, "event": "", "data": {}, "version": 1,
    }


def test_open_tasks_filter_by_assignee_and_due_date(org, admin, member, ada, in_org,
                                                     api_client_for):
    log(org, admin.user, in_org, kind="task", subject="Send quote", contact=ada,
        assignee=member.user, due_at="2026-04-01T09:00:00Z")
    log(org, admin.user, in_org, kind="task", subject="Book demo", contact=ada,
        assignee=member.user, due_at="2026-05-01T09:00:00Z")
    log(org, admin.user, in_org, kind="task", subject="Done already", contact=ada,
        assignee=member.user, due_at="2026-04-02T09:00:00Z", done=True)
    log(org, admin.user, in_org, kind="task", subject="Someone else's", contact=ada,
        assignee=admin.user, due_at="2026-04-03T09:00:00Z")
    client = api_client_for(member)

    response = client.get("/api/v1/activities", {
        "assignee_id": member.user_id, "done": "false", "due_before": "2026-04-15T00:00:00Z",
        "ordering": "due_at",
    })
    done = client.get("/api/v1/activities", {"done": "true"})

    assert response.status_code == 200
    assert [a["subject"] for a in response.json()["items"]] == ["Send quote"]
    assert [(a["subject"], a["done"]) for a in done.json()["items"]] == [("Done already", True)]


def test_timeline_of_a_contact_lists_system_events_and_filters_by_kind(
    org, admin, ada, in_org, api_client_for
):
    log(org, admin.user, in_org, kind="note", body="Likes tea.", contact=ada)
    client = api_client_for(admin)

    everything = client.get("/api/v1/activities", {"contact_id": ada.pk})
    notes = client.get("/api/v1/activities", {"contact_id": ada.pk, "kind": "note"})
    searched = client.get("/api/v1/activities", {"q": "TEA"})

    assert [(a["kind"], a["event"]) for a in everything.json()["items"]] == [
        ("note", ""), ("system", "contact.created"),
    ]
    assert [a["body"] for a in notes.json()["items"]] == ["Likes tea."]
    assert [a["body"] for a in searched.json()["items"]] == ["Likes tea."]


def test_completing_a_task_with_patch_sets_done_and_bumps_version(
    org, admin, ada, in_org, api_client_for
):
    task = log(org, admin.user, in_org, kind="task", subject="Call back", contact=ada)

    response = patch(api_client_for(admin), f"/api/v1/activities/{task.pk}",
                     {"version": 1, "done": True})

    assert response.status_code == 200
    assert (response.json()["done"], response.json()["version"]) == (True, 2)
    assert response.json()["completed_at"].endswith("Z")


def test_patch_activity_with_a_stale_version_answers_409(org, admin, ada, in_org,
                                                         api_client_for):
    note = log(org, admin.user, in_org, kind="note", body="First", contact=ada)
    client = api_client_for(admin)
    patch(client, f"/api/v1/activities/{note.pk}", {"version": 1, "body": "Second"})

    response = patch(client, f"/api/v1/activities/{note.pk}", {"version": 1, "body": "Third"})

    assert response.status_code == 409
    assert response.json()["current_version"] == 2


def test_system_events_are_read_only(org, admin, ada, in_org, api_client_for):
    with in_org(org):
        event = Activity.objects.get(contact=ada, kind="system")
    client = api_client_for(admin)

    changed = patch(client, f"/api/v1/activities/{event.pk}", {"version": 1, "body": "x"})
    deleted = client.delete(f"/api/v1/activities/{event.pk}")
    created = post(client, "/api/v1/activities",
                   {"kind": "system", "body": "x", "contact_id": ada.pk})

    assert changed.status_code == 422
    assert changed.json()["errors"] == [
        {"field": "kind", "code": "invalid", "message": "System events cannot be edited."}
    ]
    assert deleted.json()["errors"] == [
        {"field": "kind", "code": "invalid", "message": "System events cannot be deleted."}
    ]
    assert created.json()["errors"][0]["field"] == "kind"


def test_activity_input_errors_name_each_field(org, admin, ada, api_client_for):
    response = post(api_client_for(admin), "/api/v1/activities", {
        "kind": "note", "contact_id": ada.pk, "due_at": "2026-01-01T00:00:00Z",
    })
    missing_record = post(api_client_for(admin), "/api/v1/activities",
                          {"kind": "note", "body": "Floating"})

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "body", "code": "required", "message": "Write what happened."},
        {"field": "due_at", "code": "invalid",
         "message": "Only tasks have due dates, reminders and completion."},
    ]
    assert missing_record.json()["errors"] == [
        {"field": "contact_id", "code": "required",
         "message": "Link the activity to a contact, a company, a deal or a record."}
    ]


def test_ids_of_another_organization_in_the_body_answer_422(
    org, other_org, admin, in_org, api_client_for
):
    with in_org(other_org):
        stranger = customers.create_contact(other_org, None, data={"first_name": "Eve"})

    response = post(api_client_for(admin), "/api/v1/activities",
                    {"kind": "note", "body": "Hi", "contact_id": stranger.pk})

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "contact_id", "code": "invalid", "message": "Choose an existing contact."}
    ]


def test_activity_of_another_organization_answers_404(org, other_org, admin, in_org,
                                                      api_client_for):
    with in_org(other_org):
        stranger = customers.create_contact(other_org, None, data={"first_name": "Eve"})
        note = services.log_activity(other_org, None,
                                     data={"kind": "note", "body": "x", "contact": stranger})
    client = api_client_for(admin)
    url = f"/api/v1/activities/{note.pk}"

    answers = [client.get(url), patch(client, url, {"version": 1, "body": "y"}),
               client.delete(url)]

    assert [answer.status_code for answer in answers] == [404] * 3
    assert answers[0].json()["detail"] == "No activity with this id."
    assert client.get("/api/v1/activities", {"contact_id": stranger.pk}).json()["items"] == []


def test_deleting_an_activity_needs_the_delete_permission(
    org, admin, member, ada, in_org, make_member, api_client_for
):
    note = log(org, member.user, in_org, kind="note", body="Oops", contact=ada)
    url = f"/api/v1/activities/{note.pk}"
    reader = api_client_for(make_member(org, Role.READ_ONLY))

    refused_write = post(reader, "/api/v1/activities",
                         {"kind": "note", "body": "x", "contact_id": ada.pk})
    refused = api_client_for(member).delete(url)
    deleted = api_client_for(admin).delete(url)

    assert (refused_write.status_code, refused.status_code) == (403, 403)
    assert deleted.status_code == 204
    assert api_client_for(admin).get(url).status_code == 404
