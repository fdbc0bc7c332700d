"""Churn risk: learnt from the organisation's own cancellations, shown with its reasons."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from django_scopes import scope

from accord.commerce.models import BehaviourEvent, Subscription
from accord.customers.models import Contact
from accord.identity.models import Role
from accord.insights import churn, scoring
from accord.insights.models import ChurnModel, ChurnScore
from accord.service import services as service
from accord.service.models import Ticket

pytestmark = pytest.mark.django_db


def subscribe(org, name: str, *, months: int, renews_in: int | None, plan: str,
              cancelled_days_ago: int | None = None) -> Contact:
    contact = Contact.objects.create(organization=org, first_name=name)
    today = timezone.localdate()
    as_of = today - dt.timedelta(days=cancelled_days_ago or 0)
    Subscription.objects.create(
        organization=org, contact=contact, plan_name=plan, mrr=Decimal("30"), currency="EUR",
        status="cancelled" if cancelled_days_ago is not None else "active",
        started_at=as_of - dt.timedelta(days=30 * months),
        renews_on=as_of + dt.timedelta(days=renews_in) if renews_in is not None else None,
        cancelled_at=(timezone.now() - dt.timedelta(days=cancelled_days_ago)
                      if cancelled_days_ago is not None else None))
    return contact


def history(org, *, left: int, stayed: int) -> None:
    """Customers who left early on monthly plans, and long-standing yearly ones who stayed."""
    for i in range(left):
        subscribe(org, f"Gone {i}", months=1 + i % 3, renews_in=10, plan="Basic",
                  cancelled_days_ago=5 + i)
    for i in range(stayed):
        subscribe(org, f"Loyal {i}", months=30 + i, renews_in=200, plan="Basic")


def test_a_new_monthly_customer_is_at_high_risk_and_told_why(org):
    with scope(organization=org):
        history(org, left=25, stayed=25)
        newcomer = subscribe(org, "Newcomer", months=1, renews_in=12, plan="Basic")
        veteran = Contact.objects.get(first_name="Loyal 3")

        result = scoring.compute_churn(org)

        risks = {score.contact_id: score for score in ChurnScore.objects.all()}
        model = ChurnModel.objects.get()
    assert (result["left"], result["stayed"]) == (25, 26)
    # Only customers still subscribed get a risk; those who left are history.
    assert result["scored"] == 26
    assert risks[newcomer.pk].level == "high"
    assert risks[veteran.pk].level == "low"
    assert risks[newcomer.pk].risk > 90 > 10 > risks[veteran.pk].risk
    reasons = [reason["text"] for reason in churn.top_reasons(risks[newcomer.pk].reasons)]
    assert sorted(reasons) == ["Days to renewal: under 31", "Months as a customer: under 3"]
    # The plan was the same for everyone, so it weighs nothing.
    assert "plan" not in model.weights


def test_too_little_history_gives_no_risk_rather_than_a_meaningless_one(org):
    with scope(organization=org):
        history(org, left=25, stayed=25)
        scoring.compute_churn(org)
        Subscription.objects.filter(status="cancelled").exclude(
            contact__first_name__in=[f"Gone {i}" for i in range(5)]).delete()

        result = scoring.compute_churn(org)

        assert not ChurnScore.objects.exists()
        assert ChurnModel.objects.get().weights == {}
    assert (result["scored"], result["left"], result["stayed"]) == (0, 5, 25)


def test_factors_count_tickets_and_use_up_to_the_day_a_customer_left(org, admin):
    with scope(organization=org):
        gone = subscribe(org, "Gone", months=4, renews_in=20, plan="Pro",
                         cancelled_days_ago=100)
        left_at = Subscription.objects.get(contact=gone).cancelled_at
        for days in (-10, -50, 80):  # two in the 90 days before leaving, one after
            ticket = service.create_ticket(org, admin.user, data={"subject": "Help",
                                                                   "contact": gone.pk})
            Ticket.objects.filter(pk=ticket.pk).update(created_at=left_at + dt.timedelta(days))
        for number, (days, kind) in enumerate([(-30, "logged_in"), (-5, "payment.failed"),
                                               (90, "logged_in")]):
            BehaviourEvent.objects.create(
                organization=org, contact=gone, external_id=str(number), type=kind,
                occurred_at=left_at + dt.timedelta(days), batch="0" * 32)

        customers = scoring._customers(org)
        factors = scoring.churn_factors(org, customers)[gone.pk]

    assert customers[gone.pk]["left"] is True
    assert factors == {"tenure_months": 4, "plan": "Pro", "mrr": 30.0, "days_to_renewal": 20,
                       "tickets_90d": 2, "poor_ratings": 0, "days_since_use": 30,
                       "failed_payments_90d": 1}


def test_the_contact_page_shows_the_risk_and_its_reasons(org, make_member, client_for):
    seller = make_member(org, Role.SALES)
    with scope(organization=org):
        history(org, left=25, stayed=25)
        newcomer = subscribe(org, "Newcomer", months=1, renews_in=12, plan="Basic")
        scoring.compute_churn(org)

    page = client_for(seller).get(f"/contacts/{newcomer.pk}/").content.decode()

    assert 'id="churn-risk"' in page
    assert "Months as a customer: under 3" in page
    assert "High" in page


def test_bands_describe_themselves_in_words():
    tenure = churn.BY_KEY["tenure_months"]

    assert [tenure.describe(tenure.band(value)) for value in (0, 7, 48, None)] == [
        "Months as a customer: under 3", "Months as a customer: 6 to 12",
        "Months as a customer: 48 or more", "Months as a customer: none"]


def test_auc_and_lift_match_hand_counted_values():
    scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05]
    outcomes = [True, False, True, False, False, False, False, False, False, False]

    # Of the 2 x 8 pairs, the customers who left outrank 8 + 7 of those who stayed.
    assert churn.roc_auc(scores, outcomes) == pytest.approx(15 / 16)
    # The riskiest tenth (one customer) all left; 2 in 10 left overall.
    assert churn.top_decile_lift(scores, outcomes) == pytest.approx(5.0)
    assert churn.roc_auc([1, 1], [True, False]) == pytest.approx(0.5)
