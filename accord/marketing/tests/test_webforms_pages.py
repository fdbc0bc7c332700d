"""Designing web forms in the UI and through /api/v1/forms: who may, what is checked,
the snippet to embed, submissions with counts, and another organisation's forms."""

import html
import re

import pytest
from django.test import Client
from django_scopes import scope

from accord.audit.models import AuditEntry
from accord.customers import services as customer_services
from accord.customers.models import Contact, CustomField
from accord.identity import visibility
from accord.identity.models import Role
from accord.identity.services import create_token
from accord.marketing import webforms
from accord.marketing.webform_models import WebForm, WebFormSubmission


@pytest.fixture
def marketer(org, make_member):
    return make_member(org, Role.MARKETING, full_name="Mia Marketer")


@pytest.fixture
def form(org, marketer, in_org):
    with in_org(org):
        return webforms.create_form(org, marketer.user, data={
            "name": "Contact us", "fields": [{"name": "first_name", "required": True},
                                             {"name": "message"}]})


def _page_data(**extra) -> dict:
    return {"name": "Trade fair", "creates": "contact", "use_first_name": "on",
            "label_first_name": "First name", "required_first_name": "on",
            "use_cf_industry_focus": "on", "label_cf_industry_focus": "Your focus",
            "label_email": "Work e-mail", "consent_purpose": "marketing",
            "consent_text": "You may e-mail me about your products.", "double_opt_in": "on",
            "tags": "fair, 2026", "lifecycle_stage": "lead", "thank_you": "See you at stand 4.",
            "allowed_origins": "https://www.example.com/\nhttps://shop.example.com",
            "is_active": "on", **extra}


def test_a_marketer_designs_a_form_and_gets_its_link_and_snippet(
        org, marketer, client_for, in_org):
    with in_org(org):
        CustomField.objects.create(organization=org, entity="contact", key="industry_focus",
                                   label="Industry focus", field_type="text")
    client = client_for(marketer)

    created = client.post("/campaigns/forms/new/", _page_data())

    with in_org(org):
        form = WebForm.objects.get()
        assert created.status_code == 302
        assert created["Location"] == f"/campaigns/forms/{form.pk}/"
        assert form.fields == [
            {"name": "first_name", "label": "First name", "required": True},
            {"name": "email", "label": "Work e-mail", "required": True},
            {"name": "cf_industry_focus", "label": "Your focus", "required": False}]
        assert (form.consent_purpose, form.double_opt_in, form.tags, form.lifecycle_stage,
                form.allowed_origins) == (
            "marketing", True, ["fair", "2026"], "lead",
            ["https://shop.example.com", "https://www.example.com"])
        assert AuditEntry.objects.filter(entity="webform", object_id=form.pk).count() == 1
    detail = client.get(created["Location"])
    body = detail.content.decode()
    snippet = html.unescape(re.search(r'<textarea id="webform-snippet"[^>]*>(.*?)</textarea>',
                                      body, re.S).group(1))
    assert detail.status_code == 200
    assert '<form method="post" action="http://127.0.0.1:' in snippet
    assert f'/f/{form.public_key}">' in snippet
    assert '<input type="text" name="homepage" value="" tabindex="-1"' in snippet
    assert '<input type="hidden" name="utm_source" value="">' in snippet
    assert "<script" not in snippet
    assert "Nothing sent through this form yet." in body


def test_the_snippet_box_holds_the_whole_snippet_as_the_hosted_page_draws_it(
        org, marketer, client_for, in_org):
    with in_org(org):
        form = webforms.create_form(org, marketer.user, data={
            "name": "Contact us", "consent_purpose": "marketing",
            "consent_text": "I agree <img src=x onerror=alert(document.domain)>",
            "fields": [{"name": "first_name", "label": "Name <b>here</b>", "required": True},
                       {"name": "message", "label": "Your question"}]})

    body = client_for(marketer).get(f"/campaigns/forms/{form.pk}/").content.decode()
    hosted = Client().get(f"/f/{form.public_key}").content.decode()

    box = re.search(r'<textarea id="webform-snippet"[^>]*>(.*?)</textarea>', body, re.S).group(1)
    copied = html.unescape(box)
    assert "<" not in box
    assert "<img" not in body
    assert copied.endswith("</form>\n")
    assert 'I agree &lt;img src=x onerror=alert(document.domain)&gt;</label>' in copied
    assert '<label for="wf-first_name">Name &lt;b&gt;here&lt;/b&gt; *</label>' in copied
    assert '<textarea id="wf-message" name="message" rows="5"></textarea>' in copied
    fields = re.compile(r"<form [^>]*>(.*?)<div hidden>", re.S)
    assert fields.search(copied).group(1).strip() == fields.search(hosted).group(1).strip()


def test_form_settings_are_checked_and_errors_shown_beside_the_fields(marketer, client_for):
    response = client_for(marketer).post("/campaigns/forms/new/", _page_data(
        redirect_url="javascript:alert(1)", consent_text="", allowed_origins="example.com"))

    body = response.content.decode()
    assert response.status_code == 422
    assert re.search(r'id="id_redirect_url_error">Enter a web address starting with http:// '
                     r'or https://.</p>', body)
    assert re.search(r'id="id_consent_text_error">Write the consent text the visitor agrees '
                     r'to.</p>', body)
    assert re.search(r'id="id_allowed_origins_error">Give each origin as scheme and host '
                     r'only', body)


def test_the_edit_page_shows_the_stored_settings_and_saves_changes(
        org, form, marketer, client_for, in_org):
    client = client_for(marketer)

    page = client.get(f"/campaigns/forms/{form.pk}/edit/").content.decode()
    saved = client.post(f"/campaigns/forms/{form.pk}/edit/", _page_data(
        name="Contact us", use_message="on", label_message="Your question",
        version=form.version, consent_purpose="", consent_text="", double_opt_in=""))

    assert 'name="name" value="Contact us"' in page
    assert re.search(r'name="use_message"[^>]*checked', page)
    assert not re.search(r'name="use_phone"[^>]*checked', page)
    assert saved.status_code == 302
    with in_org(org):
        stored = WebForm.objects.get()
        assert [(item["name"], item["label"]) for item in stored.fields] == [
            ("first_name", "First name"), ("email", "Work e-mail"), ("message", "Your question")]
        assert (stored.version, stored.consent_purpose, stored.double_opt_in) == (2, "", False)


def test_editing_a_stale_copy_answers_409_and_keeps_what_was_typed(
        org, form, marketer, client_for, in_org):
    with in_org(org):
        webforms.update_form(org, marketer.user, form, data={"thank_you": "Thanks!"})

    response = client_for(marketer).post(f"/campaigns/forms/{form.pk}/edit/",
                                         _page_data(name="Renamed", version=form.version))

    assert response.status_code == 409
    assert 'value="Renamed"' in response.content.decode()
    with in_org(org):
        assert WebForm.objects.get().name == "Contact us"


def test_the_list_and_the_form_page_show_submission_counts_and_pages(
        org, form, marketer, client_for, in_org, monkeypatch):
    monkeypatch.setattr("accord.marketing.webform_views.PAGE_SIZE", 2)
    for number in range(3):
        Client().post(f"/f/{form.public_key}", {"first_name": f"P{number}",
                                                "email": f"p{number}@example.net",
                                                "utm_source": "fair"},
                      REMOTE_ADDR=f"192.0.2.{number}")
    client = client_for(marketer)

    listing = client.get("/campaigns/forms/").content.decode()
    first = client.get(f"/campaigns/forms/{form.pk}/").content.decode()
    cursor = re.search(r'href="\?([^"]*cursor=[^"]+)" rel="next"', first).group(1)
    second = client.get(f"/campaigns/forms/{form.pk}/?rows=1&{html.unescape(cursor)}",
                        headers={"HX-Request": "true"}).content.decode()

    assert re.search(r"Contact us</a></td>\s*<td>Contact</td>\s*<td>3</td>", listing)
    assert "<dt>Submissions</dt><dd>3</dd>" in first
    assert re.findall(r"p\d@example.net", first) == ["p2@example.net", "p1@example.net"]
    assert re.findall(r"p\d@example.net", second) == ["p0@example.net"]
    assert "utm_source=fair" in second
    assert "<html" not in second


def test_sales_members_may_read_forms_but_not_change_them(org, form, member, client_for):
    client = client_for(member)

    assert client.get("/campaigns/forms/").status_code == 200
    assert client.get(f"/campaigns/forms/{form.pk}/").status_code == 200
    assert client.get("/campaigns/forms/new/").status_code == 403
    assert client.post(f"/campaigns/forms/{form.pk}/edit/", _page_data()).status_code == 403
    assert client.post(f"/campaigns/forms/{form.pk}/delete/").status_code == 403


def test_another_organizations_form_answers_404_everywhere(
        org, form, other_org, make_member, client_for, api_client_for):
    outsider = make_member(other_org, Role.ADMIN)
    web, api = client_for(outsider), api_client_for(outsider)

    answers = [web.get(f"/campaigns/forms/{form.pk}/"),
               web.get(f"/campaigns/forms/{form.pk}/edit/"),
               web.post(f"/campaigns/forms/{form.pk}/delete/"),
               api.get(f"/api/v1/forms/{form.pk}"),
               api.patch(f"/api/v1/forms/{form.pk}", {"name": "Mine"},
                         content_type="application/json"),
               api.delete(f"/api/v1/forms/{form.pk}"),
               api.get(f"/api/v1/forms/{form.pk}/submissions")]
    listing = api.get("/api/v1/forms").json()

    assert [response.status_code for response in answers] == [404] * 7
    assert listing == {"items": [], "next": None}
    with scope(organization=org):
        assert WebForm.objects.get().name == "Contact us"


def test_the_api_creates_changes_lists_and_deletes_forms(org, marketer, api_client_for, in_org):
    api = api_client_for(marketer)

    created = api.post("/api/v1/forms", {
        "name": "Webinar", "creates": "lead",
        "fields": [{"name": "last_name", "label": "Surname", "required": True}],
        "redirect_url": "https://www.example.com/see-you"}, content_type="application/json")
    body = created.json()
    stale = api.patch(f"/api/v1/forms/{body['id']}", {"name": "Late", "version": 0},
                      content_type="application/json")
    changed = api.patch(f"/api/v1/forms/{body['id']}", {"is_active": False, "version": 1},
                        content_type="application/json")
    bad = api.post("/api/v1/forms", {"name": "Bad", "redirect_url": "ftp://example.com",
                                     "fields": [{"name": "salary"}]},
                   content_type="application/json")
    listing = api.get("/api/v1/forms").json()
    deleted = api.delete(f"/api/v1/forms/{body['id']}?version=2")

    assert created.status_code == 201
    assert body["fields"] == [{"name": "email", "label": "E-mail", "required": True},
                              {"name": "last_name", "label": "Surname", "required": True}]
    assert body["submit_url"].endswith(f"/f/{body['public_key']}.json")
    assert stale.status_code == 409
    assert (changed.status_code, changed.json()["is_active"], changed.json()["version"]) == (
        200, False, 2)
    assert bad.status_code == 422
    assert [(error["field"], error["message"]) for error in bad.json()["errors"]] == [
        ("fields[0].name", "Choose a contact field or custom field."),
        ("redirect_url", "Enter a web address starting with http:// or https://.")]
    assert [item["name"] for item in listing["items"]] == ["Webinar"]
    assert deleted.status_code == 204
    with in_org(org):
        assert not WebForm.objects.exists()


def test_the_api_lists_a_forms_submissions_newest_first(org, form, marketer, api_client_for,
                                                         in_org):
    for number in range(3):
        Client().post(f"/f/{form.public_key}.json",
                      {"first_name": "P", "email": f"p{number}@example.net",
                       "utm_campaign": "spring"},
                      content_type="application/json", REMOTE_ADDR=f"192.0.2.{number}")
    api = api_client_for(marketer)

    first = api.get(f"/api/v1/forms/{form.pk}/submissions?limit=2").json()
    second = api.get(f"/api/v1/forms/{form.pk}/submissions",
                     {"limit": 2, "cursor": first["next"]}).json()

    assert [item["data"]["email"] for item in first["items"] + second["items"]] == [
        "p2@example.net", "p1@example.net", "p0@example.net"]
    assert first["items"][0]["utm"] == {"utm_campaign": "spring"}
    assert first["items"][0]["ip"] == "192.0.2.2"
    assert second["next"] is None
    with in_org(org):
        assert WebFormSubmission.objects.count() == 3


def test_a_token_with_read_scope_may_list_forms_but_not_create_them(org, marketer, in_org):
    with in_org(org):
        _, raw = create_token(org, marketer.user, name="read", scopes=["forms:read"])
    api = Client(headers={"Authorization": f"Bearer {raw}"})

    listed = api.get("/api/v1/forms")
    refused = api.post("/api/v1/forms", {"name": "X"}, content_type="application/json")

    assert listed.status_code == 200
    assert (refused.status_code, refused.json()["missing_scope"]) == (403, "forms:write")


def test_a_read_only_member_may_not_create_forms_through_the_api(org, make_member,
                                                                 api_client_for):
    reader = make_member(org, Role.READ_ONLY)

    response = api_client_for(reader).post("/api/v1/forms", {"name": "X"},
                                           content_type="application/json")

    assert response.status_code == 403


def test_submissions_show_only_records_and_custom_fields_the_reader_may_see(
        org, admin, make_member, client_for, api_client_for, in_org):
    seller = make_member(org, Role.SALES, full_name="Sam Seller")
    colleague = make_member(org, Role.SALES, full_name="Cleo Colleague")
    with in_org(org):
        CustomField.objects.create(organization=org, entity="contact", key="diagnosis",
                                   label="Diagnosis", field_type="text",
                                   hidden_from_roles=["sales"])
        visibility.update_visibility(org, admin.user, roles={Role.SALES: {"contacts": "own"}})
        for email, owner in (("mine@example.net", seller), ("theirs@example.net", colleague)):
            customer_services.create_contact(org, admin.user, data={
                "email": email, "owner": owner.user_id})
        form = webforms.create_form(org, admin.user, data={
            "name": "Clinic", "fields": [{"name": "first_name"}, {"name": "cf_diagnosis"}]})
    for email in ("mine@example.net", "theirs@example.net", "gone@example.net"):
        Client().post(f"/f/{form.public_key}.json", {
            "first_name": "P", "email": email, "cf_diagnosis": "asthma"},
            content_type="application/json", REMOTE_ADDR="192.0.2.9")
    with in_org(org):
        # The contact of the last one was deleted since; nothing links it to a record.
        Contact.objects.filter(email="gone@example.net").delete()

    as_seller = api_client_for(seller).get(f"/api/v1/forms/{form.pk}/submissions").json()
    as_admin = api_client_for(admin).get(f"/api/v1/forms/{form.pk}/submissions").json()
    page = client_for(seller).get(f"/campaigns/forms/{form.pk}/").content.decode()

    assert [item["data"] for item in as_seller["items"]] == [
        {"email": "mine@example.net", "first_name": "P"}]
    assert [(item["data"]["email"], item["data"]["cf_diagnosis"])
            for item in as_admin["items"]] == [
        ("gone@example.net", "asthma"), ("theirs@example.net", "asthma"),
        ("mine@example.net", "asthma")]
    assert "mine@example.net" in page
    assert "theirs@example.net" not in page
    assert "gone@example.net" not in page


def test_the_designer_neither_offers_nor_takes_custom_fields_hidden_from_the_role(
        org, admin, marketer, client_for, api_client_for, in_org):
    with in_org(org):
        for key, hidden in (("income", ["marketing"]), ("industry_focus", [])):
            CustomField.objects.create(organization=org, entity="contact", key=key,
                                       label=key.title(), field_type="text",
                                       hidden_from_roles=hidden)
    api = api_client_for(marketer)
    made = api_client_for(admin).post("/api/v1/forms", {
        "name": "Survey", "fields": [{"name": "cf_income"}]},
        content_type="application/json").json()

    designer = client_for(marketer).get("/campaigns/forms/new/").content.decode()
    refused = api.post("/api/v1/forms", {"name": "Leaky", "fields": [{"name": "cf_income"}]},
                       content_type="application/json")
    changed = api.patch(f"/api/v1/forms/{made['id']}", {
        "fields": [{"name": "first_name"}], "version": made["version"]},
        content_type="application/json")

    assert 'name="use_cf_industry_focus"' in designer
    assert 'name="use_cf_income"' not in designer
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "fields[0].name"
    assert [item["name"] for item in changed.json()["fields"]] == ["email", "first_name"]
    with in_org(org):
        # The field the marketer cannot see stays on the form the admin made.
        assert [item["name"] for item in WebForm.objects.get(pk=made["id"]).fields] == [
            "email", "first_name", "cf_income"]
