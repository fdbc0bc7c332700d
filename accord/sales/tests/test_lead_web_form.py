"""The public web form: `POST /forms/<token>/lead` from another site."""

import pytest
from django.test import Client
from django_scopes import scope

from accord.sales import assignment, leads
from accord.sales.models import FormSubmission, Lead, LeadActivity


@pytest.fixture
def capture_form(org, admin):
    with scope(organization=org):
        return leads.create_capture_form(org, admin.user, name="Contact us",
                                         thank_you="Thanks, we will call you.")


@pytest.fixture
def browser():
    """A visitor of another site: no session, and CSRF checks switched on."""
    return Client(enforce_csrf_checks=True, REMOTE_ADDR="203.0.113.7")


def url(form):
    return f"/forms/{form.token}/lead"


def test_a_form_post_makes_a_web_form_lead_and_thanks_the_visitor(org, capture_form, browser):
    response = browser.post(url(capture_form), {
        "first_name": "Mary", "last_name": "Jackson", "email": "mary@nasa.example",
        "company_name": "NASA", "country": "US", "fax_number": ""})

    assert response.status_code == 201
    assert "Thanks, we will call you." in response.content.decode()
    with scope(organization=org):
        lead = Lead.objects.get()
        assert LeadActivity.objects.get(lead=lead, event="lead.created").data == {
            "channel": "web_form"}
    assert (lead.last_name, lead.source, lead.domain, lead.owner) == (
        "Jackson", "web form", "nasa.example", None)
    assert lead.custom_fields == {"capture_form": "Contact us"}


def test_a_json_post_answers_201_json(org, capture_form, browser):
    response = browser.post(url(capture_form), {"last_name": "Vaughan", "source": "ignored"},
                            content_type="application/json")

    assert response.status_code == 201
    assert response.json() == {"status": "received", "message": "Thanks, we will call you."}
    with scope(organization=org):
        assert Lead.objects.get().source == "web form"


def test_web_form_leads_go_through_the_assignment_rules(org, admin, member, capture_form,
                                                        browser):
    with scope(organization=org):
        assignment.create_rule(org, admin.user, data={
            "name": "Web to Sam", "match": "source", "value": "web form",
            "owner": member.user.pk})

    browser.post(url(capture_form), {"last_name": "Johnson"})

    with scope(organization=org):
        assert Lead.objects.get().owner == member.user


def test_a_filled_honeypot_is_thanked_but_keeps_nothing(org, capture_form, browser):
    response = browser.post(url(capture_form), {"last_name": "Bot", "fax_number": "123"})

    assert response.status_code == 201
    with scope(organization=org):
        assert not Lead.objects.exists()
        assert list(FormSubmission.objects.values_list("accepted", flat=True)) == [False]


def test_bad_fields_are_listed(org, capture_form, browser):
    response = browser.post(url(capture_form), {"email": "mary(at)nasa"},
                            content_type="application/json")

    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"] == [{
        "field": "email", "code": "invalid",
        "message": "Enter an e-mail address such as name@example.com."}]


def test_a_json_post_with_an_object_or_list_for_a_text_field_names_the_field(
        org, capture_form, browser):
    response = browser.post(url(capture_form), {
        "first_name": {"x": 1}, "last_name": "Jackson", "company_name": ["NASA"]},
        content_type="application/json")

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "first_name", "code": "invalid", "message": "Send a single text value."},
        {"field": "company_name", "code": "invalid", "message": "Send a single text value."}]
    with scope(organization=org):
        assert not Lead.objects.exists()

def test_one_address_posting_too_often_is_throttled(org, capture_form, browser):
    for number in range(leads.MAX_POSTS_PER_IP):
        assert browser.post(url(capture_form),
                            {"last_name": f"Visitor {number}"}).status_code == 201

    throttled = browser.post(url(capture_form), {"last_name": "One more"})
    elsewhere = Client(REMOTE_ADDR="198.51.100.2").post(url(capture_form),
                                                        {"last_name": "Someone else"})

    assert throttled.status_code == 429
    assert throttled["Retry-After"] == "600"
    assert elsewhere.status_code == 201
    with scope(organization=org):
        assert Lead.objects.count() == leads.MAX_POSTS_PER_IP + 1


def test_an_oversized_post_is_refused(org, capture_form, browser):
    response = browser.post(url(capture_form), {"last_name": "Long",
                                                "description": "x" * 20000})

    assert response.status_code == 413
    with scope(organization=org):
        assert not Lead.objects.exists()


def test_an_unknown_or_switched_off_form_answers_404(org, admin, capture_form, browser):
    with scope(organization=org):
        leads.set_capture_form_active(org, admin.user, capture_form, active=False)

    unknown = browser.post("/forms/no-such-token/lead", {"last_name": "X"})
    switched_off = browser.post(url(capture_form), {"last_name": "X"})

    assert (unknown.status_code, switched_off.status_code) == (404, 404)


def test_the_form_address_takes_only_posts(capture_form, browser):
    assert browser.get(url(capture_form)).status_code == 405
