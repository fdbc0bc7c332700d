"""Satisfaction surveys: the e-mail after a solve, the one-click answer, and the report."""

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone
from django_scopes import scope

from accord.customers import services as customers
from accord.identity.models import Role
from accord.service import queues, satisfaction, services
from accord.service.models import SatisfactionSurvey, Ticket
from accord.service.sla_tasks import send_satisfaction_surveys
from conftest import free_port


@pytest.fixture
def agent(org, make_member):
    return make_member(org, Role.SUPPORT, email="ada@support.example", full_name="Ada Agent")


@pytest.fixture
def queue(org, admin):
    with scope(organization=org):
        return queues.create_queue(org, admin.user, data={
            "name": "Support", "email_address": "help@northwind.example"})


def solved_ticket(org, actor, *, email="claire@client.example", **data) -> Ticket:
    with scope(organization=org):
        contact = customers.create_contact(org, actor, data={"first_name": "Claire",
                                                             "email": email})
        ticket = services.create_ticket(org, actor, data={
            "subject": "Printer jams", "contact": contact.pk, **data}, body="It jams.")
        return services.update_ticket(org, actor, ticket, data={"status": "solved"})


def links_in(body: str) -> dict[int, str]:
    found = re.findall(r"http://127\.0\.0\.1:8000(/survey/[\w-]+/)\?rating=(\d)", body)
    return {int(rating): path for path, rating in found}


def test_solving_a_ticket_mails_a_survey_with_one_link_per_rating(
    org, admin, agent, queue, smtp_inbox
):
    ticket = solved_ticket(org, admin.user, assignee=agent.user_id, queue=queue.pk)

    sent = send_satisfaction_surveys()
    again = send_satisfaction_surveys()

    assert (sent, again) == (1, 0)
    recipients, subject, body = smtp_inbox.only()
    message = smtp_inbox.messages[0][1]
    assert recipients == ["claire@client.example"]
    assert message["From"] == "help@northwind.example"
    assert message["Auto-Submitted"] == "auto-generated"
    assert subject == "How did we do? [#1] Printer jams"
    assert "5 – Very satisfied" in body
    links = links_in(body)
    assert sorted(links) == [1, 2, 3, 4, 5]
    assert len(set(links.values())) == 1
    token = links[5].split("/")[2]
    with scope(organization=org):
        survey = SatisfactionSurvey.objects.get()
    assert survey.token_hash == satisfaction.hash_token(token)
    assert token not in survey.token_hash
    assert (survey.ticket_id, survey.solved_at, survey.agent_id, survey.queue_id) == (
        ticket.pk, ticket.solved_at, agent.user_id, queue.pk)


def test_a_click_shows_a_confirm_page_and_only_posting_records(org, admin, mailoutbox):
    solved_ticket(org, admin.user)
    send_satisfaction_surveys()
    path = links_in(mailoutbox[0].body)[4]
    customer = Client()

    shown = customer.get(path + "?rating=4")
    with scope(organization=org):
        unrated = SatisfactionSurvey.objects.get().rating
    recorded = customer.post(path, {"rating": "4", "comment": "Quick, thanks."})

    assert shown.status_code == 200
    page = shown.content.decode()
    assert 'value="4" required id="id_rating_3" checked' in page
    assert "Your request #1 “Printer jams” with Northwind." in page
    assert unrated is None
    assert recorded.status_code == 200
    assert "We recorded your rating of 4 of 5." in recorded.content.decode()
    with scope(organization=org):
        survey = SatisfactionSurvey.objects.get()
    assert (survey.rating, survey.comment) == (4, "Quick, thanks.")
    assert survey.rated_at is not None


def test_answering_again_changes_the_rating_instead_of_adding_one(org, admin, mailoutbox):
    solved_ticket(org, admin.user)
    send_satisfaction_surveys()
    path = links_in(mailoutbox[0].body)[5]

    Client().post(path, {"rating": "5"})
    Client().post(path, {"rating": "2", "comment": "It jams again."})

    with scope(organization=org):
        assert list(SatisfactionSurvey.objects.values_list("rating", "comment")) == [
            (2, "It jams again.")]


def test_a_rating_outside_the_scale_is_refused(org, admin, mailoutbox):
    solved_ticket(org, admin.user)
    send_satisfaction_surveys()
    path = links_in(mailoutbox[0].body)[1]

    response = Client().post(path, {"rating": "9"})

    assert response.status_code == 422
    assert response.context["form"].errors["rating"] == [
        "Select a valid choice. 9 is not one of the available choices."]
    with scope(organization=org):
        assert SatisfactionSurvey.objects.get().rating is None


def test_an_unknown_token_answers_404(db):
    response = Client().get("/survey/not-a-real-token/?rating=5")

    assert response.status_code == 404
    assert "This link does not open a survey." in response.content.decode()


def test_each_solve_is_asked_about_once(org, admin, mailoutbox):
    ticket = solved_ticket(org, admin.user)
    send_satisfaction_surveys()
    with scope(organization=org):
        services.update_ticket(org, admin.user, ticket, data={"status": "open"})
        services.update_ticket(org, admin.user, ticket, data={"status": "solved"})

    second = send_satisfaction_surveys()

    assert (second, len(mailoutbox)) == (1, 2)
    with scope(organization=org):
        assert SatisfactionSurvey.objects.filter(ticket=ticket).count() == 2


def test_tickets_without_a_customer_address_or_not_solved_get_no_survey(org, admin, mailoutbox):
    with scope(organization=org):
        nobody = services.create_ticket(org, admin.user, data={"subject": "Phone call"})
        services.update_ticket(org, admin.user, nobody, data={"status": "solved"})
        contact = customers.create_contact(org, admin.user, data={
            "first_name": "Open", "email": "open@client.example"})
        services.create_ticket(org, admin.user, data={"subject": "Still open",
                                                      "contact": contact.pk})
        closed = services.create_ticket(org, admin.user, data={"subject": "Spam",
                                                               "contact": contact.pk})
        services.update_ticket(org, admin.user, closed, data={"status": "closed"})

    assert (send_satisfaction_surveys(), len(mailoutbox)) == (0, 0)


def test_old_solves_are_not_asked_about(org, admin, mailoutbox):
    solved_ticket(org, admin.user)
    later = timezone.now() + satisfaction.SEND_WINDOW + dt.timedelta(minutes=1)

    assert (send_satisfaction_surveys(later.isoformat()), len(mailoutbox)) == (0, 0)


def test_a_refused_survey_is_sent_on_a_later_run(org, admin, settings, smtp_inbox):
    solved_ticket(org, admin.user)
    working_port = settings.EMAIL_PORT
    settings.EMAIL_PORT = free_port()  # nothing listens there

    failed = send_satisfaction_surveys()
    settings.EMAIL_PORT = working_port
    retried = send_satisfaction_surveys()
    quiet = send_satisfaction_surveys()

    assert (failed, retried, quiet) == (0, 1, 0)
    _, _, body = smtp_inbox.only()
    path = links_in(body)[3]
    assert Client().post(path, {"rating": "3"}).status_code == 200
    with scope(organization=org):
        survey = SatisfactionSurvey.objects.get()
    assert (survey.rating, survey.attempts) == (3, 2)


def rate(org, ticket: Ticket, rating: int, *, solved_at: dt.datetime, agent=None,
         queue=None) -> None:
    with scope(organization=org):
        SatisfactionSurvey.objects.create(
            organization=org, ticket=ticket, solved_at=solved_at, agent=agent, queue=queue,
            email="claire@client.example", token_hash=f"{ticket.pk}-{solved_at.isoformat()}",
            rating=rating, rated_at=solved_at)


def test_report_averages_by_agent_queue_and_month_within_the_period(
    org, admin, agent, queue, client_for
):
    ticket = solved_ticket(org, admin.user)
    march = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)
    april = dt.datetime(2026, 4, 2, 12, tzinfo=dt.UTC)
    rate(org, ticket, 5, solved_at=march, agent=agent.user, queue=queue)
    rate(org, ticket, 2, solved_at=march + dt.timedelta(days=1), agent=agent.user)
    rate(org, ticket, 4, solved_at=april, queue=queue)
    rate(org, ticket, 1, solved_at=dt.datetime(2025, 12, 1, tzinfo=dt.UTC))
    client = client_for(admin)

    whole = client.get("/tickets/satisfaction/", {"start": "2026-01-01", "end": "2026-12-31"})
    march_only = client.get("/tickets/satisfaction/", {"start": "2026-03-01",
                                                       "end": "2026-03-31"})

    assert whole.status_code == 200
    data = whole.context
    assert (data["overall"]["count"], round(data["overall"]["average"], 2)) == (3, 3.67)
    assert [(r["name"], r["average"], r["count"]) for r in data["agents"]] == [
        ("Ada Agent", 3.5, 2), (None, 4.0, 1)]
    assert [(r["name"], r["average"], r["count"]) for r in data["queues"]] == [
        ("Support", 4.5, 2), (None, 2.0, 1)]
    assert [(r["month"].strftime("%Y-%m"), r["average"], r["count"]) for r in data["months"]] \
        == [("2026-03", 3.5, 2), ("2026-04", 4.0, 1)]
    page = whole.content.decode()
    assert "Average 3.67 from 3 answers" in page
    assert "<td>Unassigned</td><td>4.00</td><td>1</td>" in page
    assert march_only.context["overall"]["count"] == 2


def test_report_refuses_a_period_that_ends_before_it_starts(org, admin, client_for):
    response = client_for(admin).get("/tickets/satisfaction/", {"start": "2026-03-01",
                                                                "end": "2026-02-01"})

    assert response.status_code == 422
    assert response.context["form"].errors["end"] == [
        "End the period on or after its first day."]


def test_only_managers_and_admins_see_the_report(org, agent, client_for):
    assert client_for(agent).get("/tickets/satisfaction/").status_code == 403
