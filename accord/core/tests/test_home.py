import datetime as dt

from django.utils import timezone

from accord.activities import services as activities
from accord.customers import services as customers


def test_home_shows_my_due_tasks_stage_counts_and_latest_activity(org, admin, member,
                                                                  client_for, in_org):
    with in_org(org):
        ada = customers.create_contact(org, admin.user, data={
            "first_name": "Ada", "lifecycle_stage": "customer", "owner": member.user})
        customers.create_contact(org, admin.user, data={"first_name": "Bo",
                                                        "lifecycle_stage": "customer"})
        activities.log_activity(org, member.user, data={
            "kind": "task", "subject": "Renew the contract", "contact": ada,
            "due_at": timezone.now() - dt.timedelta(hours=2)})
        activities.log_activity(org, admin.user, data={
            "kind": "call", "subject": "Pricing questions", "contact": ada})

    response = client_for(member).get("/")

    assert response.status_code == 200
    assert [task.subject for task in response.context["tasks"]] == ["Renew the contract"]
    assert {value: total for value, _, total in response.context["stages"]}["customer"] == 2
    assert [str(c) for c in response.context["recent_contacts"]] == ["Ada"]
    assert response.context["recent_are_mine"] is True
    assert [a.subject for a in response.context["recent_activity"]] == [
        "Pricing questions", "Renew the contract"]


def test_home_of_a_new_organization_shows_empty_states(org, admin, client_for):
    response = client_for(admin).get("/")

    body = response.content.decode()
    assert response.status_code == 200
    assert "Nothing due today." in body
    assert "No contacts yet." in body
    assert "No notes, calls or tasks logged yet." in body


def test_home_needs_sign_in(client):
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/login?next=/"
