import re

import pytest

from accord.core import ratelimit
from accord.customers import services
from accord.customers.models import Contact
from accord.customers.services import create_custom_field
from accord.errors import InvalidInput
from accord.identity.models import Membership, Role

UTC_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


def patch(client, url, body):
    return client.patch(url, body, content_type="application/json")


@pytest.fixture
def tier_field(org, admin, in_org):
    with in_org(org):
        return create_custom_field(org, admin.user, data={
            "entity": "contact", "key": "tier", "label": "Tier", "field_type": "choice",
            "choices": ["gold", "silver"],
        })


@pytest.fixture
def seats_field(org, admin, in_org):
    with in_org(org):
        return create_custom_field(org, admin.user, data={
            "entity": "contact", "key": "seats", "label": "Seats", "field_type": "number",
        })


@pytest.fixture
def acme(org, admin, in_org):
    with in_org(org):
        return services.create_company(org, admin.user, data={"name": "Acme"})


def make_contact(org, actor, in_org, **data):
    with in_org(org):
        return services.create_contact(org, actor, data=data)


def test_create_contact_answers_201_with_the_full_record(
    org, admin, member, acme, tier_field, in_org, api_client_for
):
    client = api_client_for(member)

    response = post(client, "/api/v1/contacts", {
        "first_name": "Ada", "last_name": "Lovelace", "title": "Analyst",
        "emails": [{"address": "ada@Example.com", "kind": "work"},
                   {"address": "ada@home.example", "kind": "home", "label": "Private"}],
        "phones": [{"number": "+44 20 7946 0958 ext. 12", "kind": "work"},
                   {"number": "07700 900123", "kind": "mobile"}],
        "company_id": acme.pk, "owner_id": admin.user_id, "lifecycle_stage": "customer",
        "source": "referral", "street": "1 Bridge St", "city": "London",
        "postal_code": "SW1A 1AA", "country": "gb", "birthday": "1815-12-10",
        "time_zone": "Europe/London", "do_not_contact": True, "tags": ["VIP", "analytics"],
        "custom_fields": {"tier": "gold"},
    })

    assert response.status_code == 201
    body = response.json()
    contact_id = body.pop("id")
    assert UTC_STAMP.match(body.pop("created_at"))
    assert UTC_STAMP.match(body.pop("updated_at"))
    assert body == {
        "first_name": "Ada", "last_name": "Lovelace", "title": "Analyst",
        "email": "ada@example.com", "phone": "+442079460958",
        "company_id": acme.pk, "lifecycle_stage": "customer", "owner_id": admin.user_id,
        "source": "referral", "street": "1 Bridge St", "city": "London", "region": "",
        "postal_code": "SW1A 1AA", "country": "GB", "birthday": "1815-12-10",
        "time_zone": "Europe/London", "do_not_contact": True,
        "emails": [
            {"address": "ada@example.com", "kind": "work", "label": "", "is_primary": True},
            {"address": "ada@home.example", "kind": "home", "label": "Private",
             "is_primary": False},
        ],
        "phones": [
            {"number": "+442079460958", "raw": "+44 20 7946 0958 ext. 12", "extension": "12",
             "kind": "work", "label": "", "is_primary": True},
            {"number": "+447700900123", "raw": "07700 900123", "extension": "",
             "kind": "mobile", "label": "", "is_primary": False},
        ],
        "tags": ["VIP", "analytics"],
        "custom_fields": {"tier": "gold"},
        "affiliations": [
            {"company_id": acme.pk, "company_name": "Acme", "title": "Analyst",
             "is_primary": True},
        ],
        "version": 1,
        "possible_duplicates": [],
    }
    with in_org(org):
        assert Contact.objects.get(pk=contact_id).owner_id == admin.user_id


def test_contact_list_answers_items_and_next_cursor(org, admin, in_org, api_client_for):
    for first in ("Cleo", "Ada", "Bea"):
        make_contact(org, admin.user, in_org, first_name=first, last_name="Smith")
    client = api_client_for(admin)

    first_page = client.get("/api/v1/contacts", {"limit": 2, "ordering": "first_name"})
    second_page = client.get("/api/v1/contacts",
                             {"limit": 2, "ordering": "first_name",
                              "cursor": first_page.json()["next"]})

    assert first_page.status_code == 200
    assert [c["first_name"] for c in first_page.json()["items"]] == ["Ada", "Bea"]
    assert first_page.json()["next"]
    assert [c["first_name"] for c in second_page.json()["items"]] == ["Cleo"]
    assert second_page.json()["next"] is None


def test_contact_list_filters_by_repeated_params_tags_and_custom_fields(
    org, admin, tier_field, seats_field, in_org, api_client_for
):
    make_contact(org, admin.user, in_org, first_name="Ada", lifecycle_stage="lead",
                 tags=["vip"], custom_fields={"tier": "gold", "seats": 10})
    make_contact(org, admin.user, in_org, first_name="Bea", lifecycle_stage="customer",
                 tags=["vip"], custom_fields={"tier": "silver", "seats": 50})
    make_contact(org, admin.user, in_org, first_name="Cleo", lifecycle_stage="mql",
                 custom_fields={"tier": "gold", "seats": 99})
    client = api_client_for(admin)

    def names(query: str) -> list[str]:
        response = client.get("/api/v1/contacts?ordering=first_name&" + query)
        assert response.status_code == 200, response.content
        return [c["first_name"] for c in response.json()["items"]]

    assert names("lifecycle_stage=lead&lifecycle_stage=customer") == ["Ada", "Bea"]
    assert names("tag=vip&cf.tier=gold") == ["Ada"]
    assert names("cf.seats.gte=20") == ["Bea", "Cleo"]
    assert names("q=cle") == ["Cleo"]
    assert names("ordering=-cf.seats") == ["Cleo", "Bea", "Ada"]


def test_contact_list_with_unknown_filter_value_answers_422_naming_the_parameter(
    org, admin, api_client_for
):
    client = api_client_for(admin)

    response = client.get("/api/v1/contacts", {"lifecycle_stage": "nobody"})

    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert response.json() == {
        "type": "https://accord.invalid/problems/invalid-input", "title": "Invalid input",
        "status": 422, "detail": "Some fields are not valid.",
        "errors": [{"field": "lifecycle_stage", "code": "invalid",
                    "message": "This filter value is not valid."}],
    }


@pytest.mark.parametrize(("query", "field", "message"), [
    ("limit=501", "limit", "Ask for between 1 and 500 items."),
    ("limit=many", "limit", "Input should be a valid integer, unable to parse string as an "
                            "integer."),
    ("ordering=shoe_size", "ordering",
     "Sort by one of: city, company, country, created_at, email, first_name, last_name, "
     "lifecycle_stage, name, owner, updated_at (prefix - for descending)."),
    ("cursor=forged", "cursor", "This cursor is not valid for this list; start again "
                                "without it."),
    ("cf.nothing=1", "cf.nothing", "There is no custom field with this key."),
])
def test_bad_list_parameters_answer_422_naming_the_parameter(
    admin, api_client_for, query, field, message
):
    response = api_client_for(admin).get("/api/v1/contacts?" + query)

    assert response.status_code == 422
    assert [(e["field"], e["message"]) for e in response.json()["errors"]] == [(field, message)]


def test_contact_list_of_50_runs_a_fixed_number_of_queries(
    org, admin, tier_field, in_org, api_client_for, django_assert_num_queries
):
    for number in range(50):
        make_contact(
            org, admin.user, in_org, first_name=f"Person {number}", tags=["a", "b"],
            emails=[f"p{number}@example.com", f"p{number}@home.example"],
            phones=["+44 20 7946 0958", "+49 30 901820"], custom_fields={"tier": "gold"},
        )
    client = api_client_for(admin)
    client.get("/api/v1/me")  # the token's first use stamps last_used_at once

    # Token, membership, custom field orderings, the page, then one query each
    # for e-mails, phones and tags, however long the page; and the rate-limit
    # count where it is kept in the database rather than in Redis.
    with django_assert_num_queries(7 if ratelimit._redis() else 8):
        response = client.get("/api/v1/contacts", {"limit": 50})

    assert response.status_code == 200
    items = response.json()["items"]
    assert len(items) == 50
    assert all(item["tags"] == ["a", "b"] and len(item["phones"]) == 2 for item in items)


def test_patch_changes_only_the_fields_sent_and_bumps_the_version(
    org, admin, tier_field, seats_field, in_org, api_client_for
):
    contact = make_contact(org, admin.user, in_org, first_name="Ada", email="ada@example.com",
                           tags=["vip"], custom_fields={"tier": "gold", "seats": 3})
    client = api_client_for(admin)

    response = patch(client, f"/api/v1/contacts/{contact.pk}",
                     {"version": 1, "last_name": "Lovelace", "custom_fields": {"seats": 5}})

    assert response.status_code == 200
    body = response.json()
    assert (body["first_name"], body["last_name"], body["email"]) == (
        "Ada", "Lovelace", "ada@example.com")
    assert body["tags"] == ["vip"]
    assert body["custom_fields"] == {"tier": "gold", "seats": "5"}
    assert body["version"] == 2


def test_patch_with_a_stale_version_answers_409(org, admin, in_org, api_client_for):
    contact = make_contact(org, admin.user, in_org, first_name="Ada")
    client = api_client_for(admin)
    patch(client, f"/api/v1/contacts/{contact.pk}", {"version": 1, "title": "CTO"})

    response = patch(client, f"/api/v1/contacts/{contact.pk}", {"version": 1, "title": "CEO"})

    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert response.json() == {
        "type": "https://accord.invalid/problems/stale-version",
        "title": "Record changed by someone else", "status": 409,
        "detail": "This record was changed by someone else since you opened it. Reload it to "
                  "see their changes, then apply yours again.",
        "current_version": 2,
    }


def test_patch_without_version_answers_422_naming_version(org, admin, in_org, api_client_for):
    contact = make_contact(org, admin.user, in_org, first_name="Ada")

    response = patch(api_client_for(admin), f"/api/v1/contacts/{contact.pk}", {"title": "CTO"})

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "version", "code": "missing", "message": "This field is required."}
    ]


def test_invalid_contact_input_names_every_bad_field(org, admin, tier_field, api_client_for):
    response = post(api_client_for(admin), "/api/v1/contacts", {
        "first_name": "Ada", "email": "not-an-address", "country": "England",
        "custom_fields": {"tier": "bronze", "shoe": 42},
    })

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "country", "code": "invalid",
         "message": "Use the two-letter country code, such as GB or DE."},
        {"field": "email", "code": "invalid",
         "message": "Enter a valid e-mail address, such as name@example.com."},
        {"field": "custom_fields.shoe", "code": "unknown",
         "message": "There is no custom field with this key."},
        {"field": "custom_fields.tier", "code": "invalid",
         "message": "Choose one of: gold, silver."},
    ]


def test_unknown_and_mistyped_body_fields_answer_422(admin, api_client_for):
    response = post(api_client_for(admin), "/api/v1/contacts",
                    {"first_name": "Ada", "nickname": "A", "lifecycle_stage": None,
                     "emails": [{"kind": "work"}]})

    assert response.status_code == 422
    assert sorted((e["field"], e["message"]) for e in response.json()["errors"]) == [
        ("emails.0.address", "This field is required."),
        ("lifecycle_stage", "Input should be 'subscriber', 'lead', 'mql', 'sql', "
                            "'opportunity', 'customer', 'evangelist' or 'other'."),
        ("nickname", "This field is not accepted here."),
    ]


def test_contact_of_another_organization_answers_404_on_every_route(
    org, other_org, admin, in_org, make_member, api_client_for
):
    stranger = make_contact(other_org, None, in_org, first_name="Eve")
    client = api_client_for(admin)
    url = f"/api/v1/contacts/{stranger.pk}"

    answers = [
        client.get(url), patch(client, url, {"version": 1, "title": "x"}), client.delete(url),
        client.get(url + "/history"), client.get(url + "/consents"),
        post(client, url + "/consents",
             {"channel": "email", "purpose": "marketing", "status": "granted"}),
        client.post(url + "/restore"),
    ]

    assert [answer.status_code for answer in answers] == [404] * 7
    assert answers[0].json() == {
        "type": "https://accord.invalid/problems/not-found", "title": "Not found",
        "status": 404, "detail": "No contact with this id.",
    }
    with in_org(other_org):
        assert Contact.objects.get(pk=stranger.pk).version == 1


def test_ids_of_another_organization_in_the_body_answer_422_naming_the_field(
    org, other_org, admin, in_org, api_client_for
):
    with in_org(other_org):
        foreign_company = services.create_company(other_org, None, data={"name": "Contoso"})
    foreign_admin = Membership.unscoped.get(organization=other_org)

    response = post(api_client_for(admin), "/api/v1/contacts", {
        "first_name": "Ada", "company_id": foreign_company.pk,
        "owner_id": foreign_admin.user_id,
    })

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "owner_id", "code": "invalid",
         "message": "Choose a member of this organisation."},
        {"field": "company_id", "code": "invalid", "message": "Choose an existing company."},
    ]


def test_read_only_member_can_read_but_gets_403_on_writes(
    org, admin, make_member, in_org, api_client_for
):
    contact = make_contact(org, admin.user, in_org, first_name="Ada")
    client = api_client_for(make_member(org, Role.READ_ONLY))
    url = f"/api/v1/contacts/{contact.pk}"

    answers = [
        post(client, "/api/v1/contacts", {"first_name": "Bea"}),
        patch(client, url, {"version": 1, "title": "CTO"}), client.delete(url),
        post(client, url + "/consents",
             {"channel": "email", "purpose": "marketing", "status": "granted"}),
        client.post(url + "/restore"),
    ]

    assert client.get(url).status_code == 200
    assert [answer.status_code for answer in answers] == [403] * 5
    assert answers[0].json() == {
        "type": "https://accord.invalid/problems/not-permitted", "title": "Not permitted",
        "status": 403, "detail": "Your role does not allow this action.",
    }


def test_delete_moves_the_contact_to_trash_and_restore_brings_it_back(
    org, admin, member, in_org, api_client_for
):
    contact = make_contact(org, admin.user, in_org, first_name="Ada")
    client = api_client_for(admin)
    url = f"/api/v1/contacts/{contact.pk}"

    deleted = client.delete(url)
    hidden = client.get(url)
    sales_restore = api_client_for(member).post(url + "/restore")
    restored = client.post(url + "/restore")

    assert deleted.status_code == 204
    assert deleted.content == b""
    assert hidden.status_code == 404
    assert sales_restore.status_code == 403
    assert restored.status_code == 200
    assert (restored.json()["first_name"], restored.json()["version"]) == ("Ada", 2)
    assert client.get(url).status_code == 200


def test_delete_with_a_stale_version_answers_409(org, admin, in_org, api_client_for):
    contact = make_contact(org, admin.user, in_org, first_name="Ada")

    response = api_client_for(admin).delete(f"/api/v1/contacts/{contact.pk}?version=7")

    assert response.status_code == 409
    assert response.json()["current_version"] == 1


def test_consents_record_events_and_list_the_current_state(org, admin, in_org, api_client_for):
    contact = make_contact(org, admin.user, in_org, first_name="Ada")
    client = api_client_for(admin)
    url = f"/api/v1/contacts/{contact.pk}/consents"

    granted = post(client, url, {"channel": "email", "purpose": "newsletter",
                                 "status": "granted", "method": "web_form",
                                 "recorded_at": "2026-01-05T10:00:00+01:00",
                                 "evidence": "signup form"})
    post(client, url, {"channel": "email", "purpose": "newsletter", "status": "withdrawn"})
    current = client.get(url)

    assert granted.status_code == 201
    assert granted.json() | {"id": 0} == {
        "id": 0, "channel": "email", "purpose": "newsletter", "status": "granted",
        "method": "web_form", "recorded_at": "2026-01-05T09:00:00Z",
        "evidence": "signup form", "recorded_by_id": admin.user_id,
    }
    assert [(c["purpose"], c["status"], c["method"]) for c in current.json()["items"]] == [
        ("newsletter", "withdrawn", "api")
    ]
    assert current.json()["next"] is None


def test_consent_with_an_unknown_channel_answers_422(org, admin, in_org, api_client_for):
    contact = make_contact(org, admin.user, in_org, first_name="Ada")

    response = post(api_client_for(admin), f"/api/v1/contacts/{contact.pk}/consents",
                    {"channel": "pigeon", "purpose": "marketing", "status": "granted"})

    assert response.status_code == 422
    assert response.json()["errors"] == [{
        "field": "channel", "code": "enum",
        "message": "Input should be 'email', 'sms', 'phone' or 'post'.",
    }]


def test_contact_history_lists_field_changes_newest_first(org, admin, in_org, api_client_for):
    contact = make_contact(org, admin.user, in_org, first_name="Ada")
    client = api_client_for(admin)
    patch(client, f"/api/v1/contacts/{contact.pk}", {"version": 1, "title": "CTO"})

    response = client.get(f"/api/v1/contacts/{contact.pk}/history")

    assert response.status_code == 200
    entries = response.json()["items"]
    assert [(e["action"], e["via"], e["actor_id"]) for e in entries] == [
        ("update", "api", admin.user_id), ("create", "system", admin.user_id),
    ]
    assert entries[0]["changes"] == [{"field": "title", "old": "", "new": "CTO"}]
    assert {"field": "first_name", "old": None, "new": "Ada"} in entries[1]["changes"]


def test_record_consent_with_an_unknown_channel_raises_invalid_input(org, admin, in_org):
    contact = make_contact(org, admin.user, in_org, first_name="Ada")

    with in_org(org), pytest.raises(InvalidInput) as caught:
        services.record_consent(org, admin.user, contact, channel="pigeon",
                                purpose="marketing", status="granted", method="api")

    assert caught.value.as_dict() == {"channel": "Value 'pigeon' is not a valid choice."}


def test_invalid_body_for_a_contact_of_another_organization_still_answers_404(
    org, other_org, admin, in_org, api_client_for
):
    stranger = make_contact(other_org, None, in_org, first_name="Eve")
    client = api_client_for(admin)
    url = f"/api/v1/contacts/{stranger.pk}"

    answers = [patch(client, url, {}), post(client, url + "/consents", {"channel": "pigeon"}),
               client.get("/api/v1/contacts/not-a-number")]

    assert [answer.status_code for answer in answers] == [404, 404, 404]
    assert answers[0].json()["detail"] == "No contact with this id."


def test_the_lists_refuse_a_filter_they_do_not_know(org, admin, in_org, api_client_for):
    with in_org(org):
        services.create_custom_field(org, admin.user, data={
            "entity": "contact", "key": "tier", "label": "Tier", "field_type": "text"})
    api = api_client_for(admin)

    contacts = api.get("/api/v1/contacts", {"foo": "bar", "emial": "a@example.com"})
    companies = api.get("/api/v1/companies", {"colour": "red"})

    assert contacts.status_code == 422
    assert {error["field"] for error in contacts.json()["errors"]} == {"foo", "emial"}
    assert companies.status_code == 422
    assert {error["field"] for error in companies.json()["errors"]} == {"colour"}
    for known in ({"cf.tier": "gold"}, {"company_id": 1}, {"q": "ada", "limit": 5},
                  {"tag": "vip", "ordering": "-created_at"}):
        assert api.get("/api/v1/contacts", known).status_code == 200, known
    assert api.get("/api/v1/companies", {"parent_id": 1}).status_code == 200
