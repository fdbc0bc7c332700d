"""The public side of web forms through the test client: the page, posts from other
sites, the JSON endpoint with CORS, spam and flood protection, and what a submission
leaves behind in the CRM."""

import re
import secrets

import pytest
from django.test import Client

from accord.activities.models import Activity
from accord.core.models import DomainEvent
from accord.customers import services as customer_services
from accord.customers.models import Consent, Contact, CustomField
from accord.identity.models import Role
from accord.marketing import webforms
from accord.marketing.webform_models import WebFormSubmission
from accord.marketing.webform_views import snippet
from accord.sales.models import Lead


@pytest.fixture
def marketer(org, make_member):
    return make_member(org, Role.MARKETING, full_name="Mia Marketer")


@pytest.fixture
def make_form(org, marketer, in_org):
    def make(**data):
        values = {
            "name": "Newsletter sign-up",
            "fields": [{"name": "first_name", "label": "Your first name", "required": True},
                       {"name": "email", "label": "E-mail", "required": True},
                       {"name": "company_name", "label": "Company"},
                       {"name": "message", "label": "Anything else?"}],
            "consent_purpose": "newsletter",
            "consent_text": "Yes, send me the monthly newsletter. I can unsubscribe at any time.",
            "tags": ["newsletter"], "lifecycle_stage": "subscriber",
            "owner": marketer.user_id, **data,
        }
        with in_org(org):
            return webforms.create_form(org, marketer.user, data=values)

    return make


@pytest.fixture
def form(make_form):
    return make_form()


def _post(form, ip="198.51.100.7", **data):
    values = {"first_name": "Ada", "email": "ada@example.net", "consent": "1", **data}
    return Client().post(f"/f/{form.public_key}", values, REMOTE_ADDR=ip,
                         HTTP_REFERER="https://www.example.com/pricing?utm_source=ignored")


def test_the_form_page_asks_the_chosen_fields_with_the_consent_text_and_a_hidden_trap(form):
    response = Client().get(f"/f/{form.public_key}?utm_source=newsletter&utm_medium=email",
                            HTTP_REFERER="https://search.example/?q=crm")

    body = response.content.decode()
    assert response.status_code == 200
    assert re.findall(r'<(?:input|textarea|select)[^>]* name="(\w+)"', body) == [
        "first_name", "email", "company_name", "message", "consent", "homepage",
        "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "page_url",
        "referrer"]
    assert "Yes, send me the monthly newsletter." in body
    assert '<div hidden><label>Leave this empty <input type="text" name="homepage"' in body
    assert '<input type="hidden" name="utm_source" value="newsletter">' in body
    assert '<input type="hidden" name="referrer" value="https://search.example/?q=crm">' in body
    assert "<script" not in body


def test_a_submission_on_the_page_creates_a_contact_with_its_utm_source_and_consent(
        org, form, marketer, in_org):
    page = f"http://testserver/f/{form.public_key}?utm_source=spring-mail&utm_campaign=launch"

    response = _post(form, utm_source="spring-mail", utm_medium="email",
                     utm_campaign="launch", page_url=page,
                     referrer="https://mail.example/inbox", company_name="Analytical Engines",
                     message="Please call me.")

    assert response.status_code == 200
    assert "Thank you" in response.content.decode()
    with in_org(org):
        contact = Contact.objects.get(email="ada@example.net")
        assert (contact.first_name, contact.source, contact.lifecycle_stage,
                contact.owner_id, contact.company.name) == (
            "Ada", "web form: spring-mail", "subscriber", marketer.user_id,
            "Analytical Engines")
        assert [link.tag.name for link in contact.tag_links.all()] == ["newsletter"]
        submission = WebFormSubmission.objects.get()
        assert submission.utm == {"utm_source": "spring-mail", "utm_medium": "email",
                                  "utm_campaign": "launch"}
        assert (submission.contact_id, submission.page_url, submission.referrer,
                submission.ip, submission.consent) == (
            contact.pk, page, "https://mail.example/inbox", "198.51.100.7", "granted")
        consent = Consent.objects.get(contact=contact)
        assert (consent.channel, consent.purpose, consent.status, consent.method) == (
            "email", "newsletter", "granted", "web_form")
        assert consent.evidence.startswith(
            f"Web form “Newsletter sign-up”, submission {submission.pk}, IP 198.51.100.7, "
            f"page {page}; text: “Yes, send me the monthly newsletter.")
        assert submission.consent_text == form.consent_text
        event = DomainEvent.objects.get(type="form.submitted")
        assert (event.entity, event.object_id, event.data["contact_id"],
                event.data["utm"]["utm_source"]) == (
            "form_submission", submission.pk, contact.pk, "spring-mail")
        entries = {entry.event or entry.kind: entry
                   for entry in Activity.objects.filter(contact=contact)}
        assert entries["form.submitted"].data["utm_source"] == "spring-mail"
        assert entries["note"].body == "Newsletter sign-up:\n\nPlease call me."


def test_utm_tags_come_from_the_address_of_the_page_the_snippet_sits_on(org, form, in_org):
    response = Client().post(
        f"/f/{form.public_key}", {"first_name": "Grace", "email": "grace@example.net"},
        REMOTE_ADDR="198.51.100.8",
        HTTP_REFERER="https://www.example.com/offer?utm_source=partner&utm_term=crm+tool")

    assert response.status_code == 200
    with in_org(org):
        submission = WebFormSubmission.objects.get()
        assert submission.utm == {"utm_source": "partner", "utm_term": "crm tool"}
        assert submission.page_url == "https://www.example.com/offer?utm_source=partner&" \
                                      "utm_term=crm+tool"
        assert submission.consent == ""
        assert submission.contact.source == "web form: partner"
        assert not Consent.objects.exists()


def test_a_known_address_fills_in_the_contact_without_blanking_or_demoting_it(
        org, form, admin, in_org):
    with in_org(org):
        known = customer_services.create_contact(org, admin.user, data={
            "first_name": "Ada", "last_name": "Lovelace", "email": "ADA@example.net",
            "title": "Countess", "lifecycle_stage": "customer", "source": "trade fair"})

    response = _post(form, first_name="Augusta", company_name="")

    assert response.status_code == 200
    with in_org(org):
        assert Contact.objects.count() == 1
        contact = Contact.objects.get(pk=known.pk)
        assert (contact.first_name, contact.last_name, contact.title, contact.lifecycle_stage,
                contact.source, contact.company_id) == (
            "Ada", "Lovelace", "Countess", "customer", "trade fair", None)
        assert [link.tag.name for link in contact.tag_links.all()] == ["newsletter"]
        assert WebFormSubmission.objects.get().contact_id == known.pk


def test_a_lead_form_creates_a_lead_with_the_utm_source(org, make_form, marketer, in_org):
    form = make_form(name="Demo request", creates="lead", consent_purpose="")

    response = _post(form, email="lin@example.org", company_name="Lin GmbH",
                     utm_source="google", message="A demo for ten people")

    assert response.status_code == 200
    with in_org(org):
        lead = Lead.objects.get()
        assert (lead.email, lead.company_name, lead.source, lead.description,
                lead.owner_id) == ("lin@example.org", "Lin GmbH", "web form: google",
                                   "A demo for ten people", marketer.user_id)
        assert not Contact.objects.exists()
        submission = WebFormSubmission.objects.get()
        assert (submission.lead_id, submission.contact_id) == (lead.pk, None)
        assert lead.activities.filter(event="form.submitted").exists()


def test_missing_and_bad_answers_come_back_beside_their_fields_and_store_nothing(
        org, form, in_org):
    response = _post(form, first_name="", email="not-an-address", message="x" * 5001)

    body = response.content.decode()
    assert response.status_code == 422
    assert '<span class="error" id="wf-first_name-error">Your first name: this field is ' \
           'required.</span>' in body
    assert '<span class="error" id="wf-email-error">Enter an e-mail address such as ' \
           'name@example.com.</span>' in body
    assert "Keep this under 5000 characters." in body
    assert 'value="not-an-address"' in body
    with in_org(org):
        assert not WebFormSubmission.objects.exists()
        assert not Contact.objects.exists()


def test_a_filled_in_honeypot_is_thanked_and_stores_nothing(org, form, in_org):
    response = _post(form, homepage="http://spam.example")

    assert response.status_code == 200
    assert "Thank you" in response.content.decode()
    with in_org(org):
        assert not WebFormSubmission.objects.exists()
        assert not Contact.objects.exists()
        assert not DomainEvent.objects.filter(type="form.submitted").exists()


def test_posts_beyond_the_per_address_limit_answer_429(org, form, in_org, monkeypatch):
    monkeypatch.setattr(webforms, "MAX_POSTS_PER_IP", 2)
    # Counts in Redis outlive the test's transaction, so this test's address is its own.
    ip = f"2001:db8::{secrets.token_hex(2)}:{secrets.token_hex(2)}"

    answers = [_post(form, ip, email=f"p{number}@example.net").status_code
               for number in range(3)]
    other_address = Client().post(f"/f/{form.public_key}", {"email": "q@example.net",
                                                            "first_name": "Q"},
                                  REMOTE_ADDR="203.0.113.9")

    assert answers == [200, 200, 429]
    assert other_address.status_code == 200
    with in_org(org):
        assert WebFormSubmission.objects.count() == 3


def test_posts_beyond_the_per_form_limit_answer_429_from_any_address(form, monkeypatch):
    monkeypatch.setattr(webforms, "MAX_POSTS_PER_FORM", 1)

    first = Client().post(f"/f/{form.public_key}", {"email": "a@example.net", "first_name": "A"},
                          REMOTE_ADDR="203.0.113.1")
    second = Client().post(f"/f/{form.public_key}", {"email": "b@example.net",
                                                     "first_name": "B"},
                           REMOTE_ADDR="203.0.113.2")

    assert (first.status_code, second.status_code) == (200, 429)
    assert second["Retry-After"] == "60"


def test_an_oversized_post_is_refused(form):
    response = _post(form, message="x" * (webforms.MAX_BODY + 1))

    assert response.status_code == 413


def test_a_form_with_a_redirect_sends_the_visitor_there(make_form):
    form = make_form(redirect_url="https://www.example.com/thanks")

    response = _post(form)

    assert (response.status_code, response["Location"]) == (
        302, "https://www.example.com/thanks")


def test_a_closed_or_unknown_form_answers_404(org, form, marketer, in_org):
    with in_org(org):
        webforms.update_form(org, marketer.user, form, data={"is_active": False})

    assert Client().get(f"/f/{form.public_key}").status_code == 404
    assert _post(form).status_code == 404
    assert Client().get("/f/no-such-key").status_code == 404


def test_the_json_endpoint_answers_201_and_allows_only_listed_origins(
        org, make_form, in_org):
    form = make_form(allowed_origins=["https://www.example.com"])
    client = Client()

    preflight = client.options(f"/f/{form.public_key}.json",
                               HTTP_ORIGIN="https://www.example.com")
    listed = client.post(f"/f/{form.public_key}.json",
                         {"first_name": "Ada", "email": "ada@example.net",
                          "utm_source": "site"},
                         content_type="application/json", HTTP_ORIGIN="https://www.example.com")
    unlisted = client.post(f"/f/{form.public_key}.json",
                           {"first_name": "Eve", "email": "eve@example.net"},
                           content_type="application/json", HTTP_ORIGIN="https://evil.example")

    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == "https://www.example.com"
    assert preflight["Access-Control-Allow-Methods"] == "POST, OPTIONS"
    assert listed.status_code == 201
    assert listed.json() == {"status": "received", "redirect_url": None,
                             "message": "Thank you, we will be in touch soon."}
    assert listed["Access-Control-Allow-Origin"] == "https://www.example.com"
    assert unlisted.status_code == 201
    assert "Access-Control-Allow-Origin" not in unlisted
    with in_org(org):
        assert WebFormSubmission.objects.count() == 2
        assert Contact.objects.get(email="ada@example.net").source == "web form: site"


def test_the_json_endpoint_names_bad_fields_in_a_problem_document(form):
    response = Client().post(f"/f/{form.public_key}.json", {"email": "nope"},
                             content_type="application/json")

    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert [(error["field"], error["message"]) for error in response.json()["errors"]] == [
        ("first_name", "Your first name: this field is required."),
        ("email", "Enter an e-mail address such as name@example.com.")]


def test_the_json_endpoint_refuses_a_body_that_is_not_an_object(form):
    response = Client().post(f"/f/{form.public_key}.json", "[1, 2]",
                             content_type="application/json")

    assert response.status_code == 400
    assert response.json()["detail"] == "Send a JSON object."


def test_the_submission_shows_on_the_contacts_timeline(org, form, admin, client_for, in_org):
    _post(form, message="Ring me on Monday.")
    with in_org(org):
        contact = Contact.objects.get()

    page = client_for(admin).get(contact.get_absolute_url()).content.decode()

    assert "Form submitted" in page
    assert "Ring me on Monday." in page


def test_a_required_custom_field_missing_from_the_form_is_named_above_it(
        org, form, in_org):
    with in_org(org):
        CustomField.objects.create(organization=org, entity="contact", key="region_code",
                                   label="Region code", field_type="text", required=True)

    response = _post(form)

    body = response.content.decode()
    assert response.status_code == 422
    assert re.search(r'<div class="form-errors" role="alert"><p>Please correct the fields '
                     r'marked below.</p><p>Region code is required.</p></div>', body)
    with in_org(org):
        assert not WebFormSubmission.objects.exists()


def test_a_post_only_fills_empty_fields_of_a_known_contact_and_keeps_what_was_sent(
        org, make_form, admin, in_org):
    with in_org(org):
        for key in ("diagnosis", "allergy"):
            CustomField.objects.create(organization=org, entity="contact", key=key,
                                       label=key.title(), field_type="text",
                                       hidden_from_roles=["sales"])
        known = customer_services.create_contact(org, admin.user, data={
            "first_name": "Ada", "email": "ada@example.net",
            "custom_fields": {"diagnosis": "asthma"}})
    form = make_form(fields=[{"name": "first_name"}, {"name": "last_name"},
                             {"name": "cf_diagnosis"}, {"name": "cf_allergy"}])

    response = _post(form, "198.51.100.30", first_name="Mallory", last_name="Lovelace",
                     cf_diagnosis="none", cf_allergy="nuts")

    assert response.status_code == 200
    with in_org(org):
        contact = Contact.objects.get(pk=known.pk)
        assert (contact.first_name, contact.last_name) == ("Ada", "Lovelace")
        assert contact.custom_fields == {"diagnosis": "asthma", "allergy": "nuts"}
        sent = WebFormSubmission.objects.get().data
        assert (sent["first_name"], sent["cf_diagnosis"]) == ("Mallory", "none")


def test_the_json_endpoint_refuses_objects_and_lists_naming_the_field(org, form, in_org):
    url = f"/f/{form.public_key}.json"
    answers = [Client().post(url, {"email": "ada@example.net", "first_name": "Ada", **body},
                             content_type="application/json")
               for body in ({"first_name": {"x": 1}}, {"company_name": ["Acme", "Initech"]})]
    number = Client().post(url, {"email": "bo@example.net", "first_name": "Bo",
                                 "company_name": 42}, content_type="application/json")

    assert [answer.status_code for answer in answers] == [422, 422]
    assert [[error["field"] for error in answer.json()["errors"]] for answer in answers] == [
        ["first_name"], ["company_name"]]
    assert number.status_code == 201
    with in_org(org):
        assert [submission.data["company_name"]
                for submission in WebFormSubmission.objects.all()] == ["42"]


def test_a_multi_choice_field_is_a_group_of_boxes_taking_several_values(
        org, make_form, in_org):
    with in_org(org):
        CustomField.objects.create(organization=org, entity="contact", key="interests",
                                   label="Interests", field_type="multi_choice",
                                   choices=["Lamps", "Rugs", "Tables"])
    form = make_form(fields=[{"name": "first_name"},
                             {"name": "cf_interests", "label": "What do you like?"}])

    page = Client().get(f"/f/{form.public_key}").content.decode()
    posted = _post(form, "198.51.100.31", cf_interests=["Tables", "Lamps"])
    wrong = Client().post(f"/f/{form.public_key}.json", {
        "email": "bo@example.net", "cf_interests": ["Lamps", "Chairs"]},
        content_type="application/json")

    with in_org(org):
        embedded = snippet(form)
    for choice in ("Lamps", "Rugs", "Tables"):
        assert f'<input type="checkbox" name="cf_interests" value="{choice}">' in page
        assert f'<input type="checkbox" name="cf_interests" value="{choice}">' in embedded
    assert 'type="text" name="cf_interests"' not in page
    assert posted.status_code == 200
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "cf_interests"
    with in_org(org):
        assert Contact.objects.get().custom_fields == {"interests": ["Lamps", "Tables"]}
