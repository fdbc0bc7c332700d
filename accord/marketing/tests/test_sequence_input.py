"""What the sequence API takes as exit conditions, and how the report words its steps."""

import pytest

from accord.identity.models import Role
from accord.marketing.sequence_models import Sequence


@pytest.fixture
def marketer(org, make_member):
    return make_member(org, Role.MARKETING)


def _sequence(**extra) -> dict:
    return {"name": "Welcome", "from_email": "hello@example.com",
            "steps": [{"type": "wait", "amount": 1, "unit": "days"}], **extra}


def test_exit_values_that_are_not_true_or_false_and_unknown_keys_are_named(
        org, marketer, api_client_for, in_org):
    api = api_client_for(marketer)

    response = api.post("/api/v1/sequences", _sequence(
        exit={"reply": "maybe", "customer": "no", "bogus": 1}),
        content_type="application/json")

    assert response.status_code == 422
    assert {error["field"]: error["message"] for error in response.json()["errors"]} == {
        "exit.bogus": "Use only these keys: reply, customer, goal_segment.",
        "exit.reply": "Give true or false.",
        "exit.customer": "Give true or false.",
    }
    with in_org(org):
        assert not Sequence.objects.exists()


def test_exit_conditions_given_as_true_or_false_are_kept(marketer, api_client_for):
    api = api_client_for(marketer)

    response = api.post("/api/v1/sequences", _sequence(exit={"reply": False}),
                        content_type="application/json")

    assert response.status_code == 201
    assert response.json()["exit"] == {"reply": False, "customer": True, "goal_segment": None}


def test_the_report_counts_one_hour_and_one_day_in_the_singular(marketer, api_client_for):
    api = api_client_for(marketer)
    sequence = api.post("/api/v1/sequences", _sequence(steps=[
        {"type": "wait", "amount": 1, "unit": "hours"},
        {"type": "wait", "amount": 3, "unit": "hours"},
        {"type": "wait", "amount": 1, "unit": "days"},
        {"type": "task", "subject": "Call", "days": 1}]),
        content_type="application/json").json()

    report = api.get(f"/api/v1/sequences/{sequence['id']}/report").json()

    assert [step["description"] for step in report] == [
        "Wait 1 hour", "Wait 3 hours", "Wait 1 day",
        "Create the task “Call” for the owner, due in 1 day"]
