"""Contact and company pages and forms, through the test client on real URLs."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from accord.customers import services
from accord.customers.models import Affiliation, Company, Consent, Contact, CustomField
from accord.identity.models import Membership, Role


def create_contact(org, actor, in_org, **data):
    with in_org(org):
        return services.create_contact(org, actor.user, data=data)


def create_company(org, actor, in_org, **data):
    with in_org(org):
        return services.create_company(org, actor.user, data=data)


def field_error(body: str, name: str) -> str:
    """The error message shown next to the field whose input is named `name`."""
    match = re.search(
        rf'<div class="field has-error">\s*<label[^>]*>[^<]*</label>\s*<[^>]*name="{name}"'
        r'[^>]*>(?:.|\n)*?<p class="error"[^>]*>([^<]*)</p>', body)
    assert match, f"no error shown next to {name}"
    return match.group(1)


# Creating and editing


def test_new_contact_form_creates_a_contact_with_emails_phones_and_company(
    org, admin, member, client_for, in_org
):
    acme = create_company(org, admin, in_org, name="Acme")
    client = client_for(admin)

    page = client.get(reverse("customers:contact_create"))
    response = client.post(reverse("customers:contact_create"), {
        "first_name": "Ada", "last_name": "Lovelace", "company": acme.pk,
        "emails_0_address": "ada@acme.example", "emails_0_kind": "work",
        "emails_1_address": "ada@home.example", "emails_1_kind": "home",
        "phones_0_number": "020 7946 0958", "phones_0_kind": "work",
        "country": "GB", "owner": member.user.pk, "lifecycle_stage": "sql",
        "tags": "VIP, London",
    })

    body = page.content.decode()
    assert '<label for="id_first_name">First name</label>' in body
    assert '<label for="id_last_name">Last name</label>' in body
    assert '<label for="id_emails_0_address">E-mail</label>' in body
    assert '<label for="id_company">Company</label>' in body
    assert '<button class="primary" type="submit">Save</button>' in body
    with in_org(org):
        contact = Contact.objects.get()
        assert response["Location"] == f"/contacts/{contact.pk}/"
        assert (contact.first_name, contact.company_id, contact.owner_id) == (
            "Ada", acme.pk, member.user.pk)
        assert [(e.address, e.kind) for e in contact.emails.all()] == [
            ("ada@acme.example", "work"), ("ada@home.example", "home")]
        assert [(p.raw, p.number, p.kind) for p in contact.phones.all()] == [
            ("020 7946 0958", "+442079460958", "work")]
        assert services._tag_names(contact) == ["London", "VIP"]


def test_form_shows_each_service_error_next_to_its_field(org, admin, client_for, in_org):
    with in_org(org):
        CustomField.objects.create(organization=org, entity="contact", key="score",
                                   label="Score", field_type="number")
        CustomField.objects.create(organization=org, entity="contact", key="plan",
                                   label="Plan", field_type="text", required=True)

    response = client_for(admin).post(reverse("customers:contact_create"), {
        "first_name": "Ada", "lifecycle_stage": "lead",
        "emails_0_address": "ok@example.com", "emails_0_kind": "work",
        "emails_1_address": "not-an-address", "emails_1_kind": "work",
        "phones_0_number": "12", "phones_0_kind": "mobile",
        "cf_score": "lots",
    })

    body = response.content.decode()
    assert response.status_code == 422
    assert field_error(body, "emails_1_address") == (
        "Enter a valid e-mail address, such as name@example.com.")
    assert field_error(body, "phones_0_number") == (
        "Enter a phone number, such as +44 20 7946 0958.")
    assert field_error(body, "cf_score") == "Enter a number, such as 42 or 3.5."
    assert field_error(body, "cf_plan") == "Plan is required."
    with in_org(org):
        assert not Contact.objects.exists()


def test_contact_without_name_or_email_is_refused_next_to_first_name(org, admin, client_for):
    response = client_for(admin).post(reverse("customers:contact_create"),
                                      {"lifecycle_stage": "lead"})

    assert response.status_code == 422
    assert field_error(response.content.decode(), "first_name") == (
        "Give the contact a name or an e-mail address.")


def test_custom_fields_get_widgets_by_type(org, admin, client_for, in_org):
    with in_org(org):
        for key, kind, extra in [
            ("renewal", "date", {}), ("budget", "money", {"currency": "EUR"}),
            ("tier", "choice", {"choices": ["gold", "tin"]}), ("active", "boolean", {}),
            ("site", "url", {}), ("topics", "multi_choice", {"choices": ["a", "b"]}),
        ]:
            CustomField.objects.create(organization=org, entity="contact", key=key,
                                       label=key.title(), field_type=kind, **extra)

    body = client_for(admin).get(reverse("customers:contact_create")).content.decode()

    assert '<input type="date" name="cf_renewal"' in body
    assert '<input type="number" name="cf_budget" step="0.01"' in body
    assert '<option value="gold">gold</option>' in body
    assert '<option value="true">Yes</option>' in body
    assert '<input type="url" name="cf_site"' in body
    assert 'type="checkbox" name="cf_topics" value="a"' in body


def test_custom_field_values_are_saved_and_shown(org, admin, client_for, in_org):
    with in_org(org):
        CustomField.objects.create(organization=org, entity="contact", key="budget",
                                   label="Budget", field_type="money", currency="EUR")
        CustomField.objects.create(organization=org, entity="contact", key="active",
                                   label="Active", field_type="boolean")
    client = client_for(admin)

    response = client.post(reverse("customers:contact_create"), {
        "first_name": "Ada", "lifecycle_stage": "lead", "cf_budget": "1250.5",
        "cf_active": "true",
    })
    page = client.get(response["Location"])

    with in_org(org):
        assert Contact.objects.get().custom_fields == {
            "budget": {"amount": "1250.50", "currency": "EUR"}, "active": True}
    body = page.content.decode()
    assert "<dt>Budget</dt><dd>1,250.50 EUR</dd>" in body
    assert "<dt>Active</dt><dd>Yes</dd>" in body


def test_company_picker_offers_only_this_organisations_companies(
    org, other_org, admin, client_for, in_org
):
    create_company(org, admin, in_org, name="Ours")
    outsider = Membership.unscoped.get(organization=other_org)
    theirs = create_company(other_org, outsider, in_org, name="Theirs")
    client = client_for(admin)

    form = client.get(reverse("customers:contact_create")).content.decode()
    picked = client.get(reverse("customers:company_picker"), {"q": "o"}).content.decode()
    by_id = client.get(reverse("customers:company_picker"), {"id": theirs.pk})
    posted = client.post(reverse("customers:contact_create"), {
        "first_name": "Ada", "lifecycle_stage": "lead", "company": theirs.pk})

    assert ">Ours</option>" in form
    assert "Theirs" not in form
    assert ">Ours</option>" in picked
    assert "Theirs" not in picked
    assert by_id.status_code == 404
    assert posted.status_code == 422
    assert field_error(posted.content.decode(), "company").startswith(
        "Select a valid choice.")


def test_owner_picker_offers_only_members(org, other_org, admin, member, client_for):
    outsider = Membership.unscoped.get(organization=other_org).user

    body = client_for(admin).get(reverse("customers:contact_create")).content.decode()

    assert f'<option value="{member.user.pk}">Sam Seller</option>' in body
    assert f'value="{outsider.pk}"' not in body.split('name="owner"')[1].split("</select>")[0]


def test_edit_form_saves_changes_and_bumps_the_version(org, admin, client_for, in_org):
    ada = create_contact(org, admin, in_org, first_name="Ada", email="ada@example.com")
    client = client_for(admin)

    page = client.get(reverse("customers:contact_edit", args=[ada.pk])).content.decode()
    response = client.post(reverse("customers:contact_edit", args=[ada.pk]), {
        "version": 1, "first_name": "Ada", "last_name": "King", "lifecycle_stage": "customer",
        "emails_0_address": "ada@example.com", "emails_0_kind": "home",
        "owner": admin.user.pk,
    })

    assert '<input type="hidden" name="version" value="1" id="id_version">' in page
    assert 'value="ada@example.com"' in page
    assert response["Location"] == f"/contacts/{ada.pk}/"
    with in_org(org):
        ada = Contact.objects.get(pk=ada.pk)
        assert (ada.last_name, ada.lifecycle_stage, ada.version) == ("King", "customer", 2)
        assert [(e.address, e.kind) for e in ada.emails.all()] == [
            ("ada@example.com", "home")]


def test_edit_after_someone_else_saved_answers_409_and_keeps_their_change(
    org, admin, client_for, in_org
):
    ada = create_contact(org, admin, in_org, first_name="Ada")
    with in_org(org):
        services.update_contact(org, admin.user, ada, data={"last_name": "Byron"})

    response = client_for(admin).post(reverse("customers:contact_edit", args=[ada.pk]), {
        "version": 1, "first_name": "Ada", "last_name": "King", "lifecycle_stage": "lead",
    })

    assert response.status_code == 409
    assert ("This record was changed by someone else since you opened it."
            in response.content.decode())
    with in_org(org):
        assert Contact.objects.get(pk=ada.pk).last_name == "Byron"


def test_company_form_creates_and_edits_a_company(org, admin, client_for, in_org):
    parent = create_company(org, admin, in_org, name="Holding")
    client = client_for(admin)

    page = client.get(reverse("customers:company_create")).content.decode()
    created = client.post(reverse("customers:company_create"), {
        "name": "Acme", "website": "acme.example", "employees": "40", "parent": parent.pk,
        "annual_revenue": "1000000", "currency": "EUR",
    })
    with in_org(org):
        acme = Company.objects.get(name="Acme")
    edited = client.post(reverse("customers:company_edit", args=[acme.pk]), {
        "version": 1, "name": "Acme Ltd", "employees": "many",
    })

    assert '<label for="id_name">Name</label>' in page
    assert created["Location"] == f"/companies/{acme.pk}/"
    assert (acme.domain, acme.employees, acme.parent_id) == ("acme.example", 40, parent.pk)
    assert edited.status_code == 422
    assert field_error(edited.content.decode(), "employees") == "Enter a whole number."


def test_company_without_name_is_refused_next_to_name(org, admin, client_for):
    response = client_for(admin).post(reverse("customers:company_create"), {"name": ""})

    assert response.status_code == 422
    assert field_error(response.content.decode(), "name") == "Give the company a name."


# Record pages


def test_contact_page_shows_fields_timeline_related_records_and_history(
    org, admin, client_for, in_org
):
    acme = create_company(org, admin, in_org, name="Acme")
    colleague = create_contact(org, admin, in_org, first_name="Bob", company=acme.pk)
    ada = create_contact(org, admin, in_org, first_name="Ada", company=acme.pk,
                         emails=[{"address": "ada@acme.example", "kind": "work"}],
                         phones=[{"number": "+44 20 7946 0958", "kind": "work"},
                                 {"number": "07700 900123", "kind": "mobile"}],
                         source="Trade fair", tags=["VIP"])
    with in_org(org):
        services.update_contact(org, admin.user, ada, data={"lifecycle_stage": "customer"})

    body = client_for(admin).get(reverse("customers:contact_detail", args=[ada.pk])
                                 ).content.decode()

    assert "<h1>Ada</h1>" in body
    assert f'href="/contacts/{ada.pk}/edit/">Edit</a>' in body
    assert f'href="/contacts/{ada.pk}/delete/">Delete</a>' in body
    assert "ada@acme.example</a> <span class=\"muted small\">(Work)</span>" in body
    assert '<a class="small" href="tel:+442079460958">+442079460958</a>' in body
    assert "07700 900123" in body
    assert "country needed" in body
    assert "Lead → Customer" in body
    assert "Trade fair" in body
    assert f'<a href="/contacts/{colleague.pk}/">Bob</a>' in body
    assert 'id="contact-timeline"' in body
    assert "Field history" in body
    assert "Lifecycle stage" in body


def test_contact_page_escapes_a_script_in_the_name(org, admin, client_for, in_org):
    evil = create_contact(org, admin, in_org, first_name="<script>alert(1)</script>")

    body = client_for(admin).get(reverse("customers:contact_detail", args=[evil.pk])
                                 ).content.decode()

    assert "<script>alert(1)</script>" not in body
    assert "<h1>&lt;script&gt;alert(1)&lt;/script&gt;</h1>" in body


def test_recording_consent_shows_the_current_state(org, admin, client_for, in_org):
    ada = create_contact(org, admin, in_org, first_name="Ada")
    client = client_for(admin)
    url = reverse("customers:contact_consent", args=[ada.pk])

    client.post(url, {"channel": "email", "purpose": "newsletter", "status": "granted",
                      "method": "web_form", "evidence": "Signup form #42",
                      "recorded_at": "2026-01-10T09:00"})
    response = client.post(url, {"channel": "email", "purpose": "newsletter",
                                 "status": "withdrawn", "method": "unsubscribe"})
    body = client.get(reverse("customers:contact_detail", args=[ada.pk])).content.decode()

    assert response["Location"] == f"/contacts/{ada.pk}/#consent"
    with in_org(org):
        assert Consent.objects.count() == 2
        assert [c.status for c in services.current_consents(ada)] == ["withdrawn"]
    assert '<span class="badge badge-danger">Withdrawn</span>' in body


def test_consent_with_an_unknown_channel_is_refused(org, admin, client_for, in_org):
    ada = create_contact(org, admin, in_org, first_name="Ada")

    response = client_for(admin).post(reverse("customers:contact_consent", args=[ada.pk]), {
        "channel": "pigeon", "purpose": "newsletter", "status": "granted", "method": "verbal"})

    assert response.status_code == 422
    assert "Select a valid choice. pigeon is not one of the available choices." in (
        response.content.decode())


def test_adding_and_removing_a_company_affiliation(org, admin, client_for, in_org):
    ada = create_contact(org, admin, in_org, first_name="Ada")
    acme = create_company(org, admin, in_org, name="Acme")
    client = client_for(admin)

    client.post(reverse("customers:contact_affiliation_add", args=[ada.pk]),
                {"company": acme.pk, "title": "Advisor"})
    body = client.get(reverse("customers:contact_detail", args=[ada.pk])).content.decode()
    with in_org(org):
        link = Affiliation.objects.get()
    client.post(reverse("customers:contact_affiliation_remove", args=[ada.pk, link.pk]))

    assert f'<a href="/companies/{acme.pk}/">Acme</a> — Advisor' in body
    with in_org(org):
        assert not Affiliation.objects.exists()


def test_company_page_shows_people_parent_and_subsidiaries(org, admin, client_for, in_org):
    holding = create_company(org, admin, in_org, name="Holding")
    acme = create_company(org, admin, in_org, name="Acme", parent=holding.pk)
    create_company(org, admin, in_org, name="Acme Labs", parent=acme.pk)
    create_contact(org, admin, in_org, first_name="Ada", title="CTO", company=acme.pk)

    body = client_for(admin).get(reverse("customers:company_detail", args=[acme.pk])
                                 ).content.decode()

    assert "<h1>Acme</h1>" in body
    assert ">Ada</a>" in body
    assert f'<p><a href="/companies/{holding.pk}/">Holding</a></p>' in body
    assert ">Acme Labs</a></li>" in body
    assert 'id="company-timeline"' in body


def test_delete_asks_then_moves_the_contact_to_the_trash(org, admin, client_for, in_org):
    ada = create_contact(org, admin, in_org, first_name="Ada")
    client = client_for(admin)
    url = reverse("customers:contact_delete", args=[ada.pk])

    asked = client.get(url)
    response = client.post(url, {"version": 1})

    assert "Move “Ada” to the trash?" in asked.content.decode()
    assert response["Location"] == "/contacts/"
    assert client.get(reverse("customers:contact_detail", args=[ada.pk])).status_code == 404
    with in_org(org):
        assert services.get_contact(ada.pk, with_deleted=True).deleted_at is not None


# Access


@pytest.fixture
def theirs(other_org, in_org):
    """A contact, a company and a consent target in another organisation."""
    outsider = Membership.unscoped.get(organization=other_org)
    company = create_company(other_org, outsider, in_org, name="Theirs")
    contact = create_contact(other_org, outsider, in_org, first_name="Them",
                             company=company.pk)
    with in_org(other_org):
        services.delete_contact(other_org, outsider.user,
                                create_contact(other_org, outsider, in_org, first_name="Gone"))
        affiliation = Affiliation.objects.get(contact=contact)
    return {"contact": contact, "company": company, "affiliation": affiliation}


def test_another_organisations_records_answer_404_on_every_url(org, admin, client_for,
                                                               theirs):
    client = client_for(admin)
    contact, company = theirs["contact"].pk, theirs["company"].pk
    gets = [
        reverse("customers:contact_detail", args=[contact]),
        reverse("customers:contact_edit", args=[contact]),
        reverse("customers:contact_delete", args=[contact]),
        reverse("customers:company_detail", args=[company]),
        reverse("customers:company_edit", args=[company]),
        reverse("customers:company_delete", args=[company]),
        reverse("customers:contact_export") + f"?company_id={company}",
        reverse("customers:contact_list") + f"?company_id={company}",
        reverse("customers:company_picker") + f"?id={company}",
    ]
    posts = [
        (reverse("customers:contact_edit", args=[contact]), {"first_name": "x"}),
        (reverse("customers:contact_delete", args=[contact]), {}),
        (reverse("customers:company_delete", args=[company]), {}),
        (reverse("customers:contact_restore", args=[contact]), {}),
        (reverse("customers:company_restore", args=[company]), {}),
        (reverse("customers:contact_consent", args=[contact]), {"channel": "email"}),
        (reverse("customers:contact_affiliation_add", args=[contact]), {}),
        (reverse("customers:contact_affiliation_remove",
                 args=[contact, theirs["affiliation"].pk]), {}),
        (reverse("customers:contact_bulk"), {"action": "add_tag", "tag": "x",
                                             "ids": [contact]}),
        (reverse("customers:company_bulk"), {"action": "trash", "ids": [company]}),
    ]

    assert {url: client.get(url).status_code for url in gets} == dict.fromkeys(gets, 404)
    assert {url: client.post(url, data).status_code for url, data in posts} == {
        url: 404 for url, _ in posts}


def test_read_only_member_gets_403_on_every_write(org, admin, make_member, client_for,
                                                  in_org):
    ada = create_contact(org, admin, in_org, first_name="Ada")
    acme = create_company(org, admin, in_org, name="Acme")
    with in_org(org):
        link = Affiliation.objects.create(organization=org, contact=ada, company=acme)
        gone = create_contact(org, admin, in_org, first_name="Gone")
        services.delete_contact(org, admin.user, gone)
    client = client_for(make_member(org, Role.READ_ONLY))
    writes = [
        ("get", reverse("customers:contact_create")),
        ("post", reverse("customers:contact_create")),
        ("get", reverse("customers:contact_edit", args=[ada.pk])),
        ("post", reverse("customers:contact_edit", args=[ada.pk])),
        ("post", reverse("customers:contact_delete", args=[ada.pk])),
        ("post", reverse("customers:contact_consent", args=[ada.pk])),
        ("post", reverse("customers:contact_affiliation_add", args=[ada.pk])),
        ("post", reverse("customers:contact_affiliation_remove", args=[ada.pk, link.pk])),
        ("post", reverse("customers:contact_bulk")),
        ("get", reverse("customers:company_create")),
        ("post", reverse("customers:company_create")),
        ("post", reverse("customers:company_edit", args=[acme.pk])),
        ("post", reverse("customers:company_delete", args=[acme.pk])),
        ("post", reverse("customers:company_bulk")),
        ("post", reverse("customers:contact_restore", args=[gone.pk])),
        ("get", reverse("customers:trash")),
        ("get", reverse("customers:contact_export")),
    ]

    statuses = {f"{method} {url}": getattr(client, method)(url).status_code
                for method, url in writes}

    assert statuses == {f"{method} {url}": 403 for method, url in writes}
    with in_org(org):
        assert Contact.objects.get(pk=ada.pk).version == 1


def test_read_only_member_sees_records_without_edit_actions(org, admin, make_member,
                                                            client_for, in_org):
    ada = create_contact(org, admin, in_org, first_name="Ada")

    body = client_for(make_member(org, Role.READ_ONLY)).get(
        reverse("customers:contact_detail", args=[ada.pk])).content.decode()

    assert "<h1>Ada</h1>" in body
    assert f"/contacts/{ada.pk}/edit/" not in body
    assert "Record consent" not in body


def test_posts_without_a_csrf_token_are_refused(org, admin, in_org):
    ada = create_contact(org, admin, in_org, first_name="Ada")
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin.user)

    edit = client.post(reverse("customers:contact_edit", args=[ada.pk]),
                       {"first_name": "Eve", "lifecycle_stage": "lead"})
    bulk = client.post(reverse("customers:contact_bulk"),
                       {"action": "trash", "ids": [ada.pk], "confirm": "1"})

    assert (edit.status_code, bulk.status_code) == (403, 403)
    with in_org(org):
        assert Contact.objects.get(pk=ada.pk).first_name == "Ada"


def test_forms_carry_a_csrf_token(org, admin, client_for, in_org):
    ada = create_contact(org, admin, in_org, first_name="Ada")

    body = client_for(admin).get(reverse("customers:contact_detail", args=[ada.pk])
                                 ).content.decode()

    assert body.count('name="csrfmiddlewaretoken"') >= body.count('method="post"')


def test_signed_out_visitors_are_sent_to_sign_in(db):
    response = Client().get(reverse("customers:contact_list"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("identity:login"))
