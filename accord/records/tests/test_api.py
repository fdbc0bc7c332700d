import pytest

from accord.customers import services as customers
from accord.errors import Conflict, InvalidInput
from accord.identity.models import Role
from accord.identity.visibility import update_visibility
from accord.records import services
from accord.records.models import Record

PROPERTY = {
    "key": "property", "singular": "Property", "plural": "Properties",
    "title_field": "address",
    "fields": [
        {"key": "address", "label": "Address", "type": "text", "required": True},
        {"key": "price", "label": "Price", "type": "money", "currency": "EUR"},
        {"key": "status", "label": "Status", "type": "choice",
         "choices": ["Available", "Sold"]},
        {"key": "seller", "label": "Seller", "type": "contact"},
        {"key": "neighbours", "type": "record", "target": "property", "many": True},
        {"key": "income", "type": "money", "hidden_from_roles": ["sales"]},
    ],
}


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


def patch(client, url, body):
    return client.patch(url, body, content_type="application/json")


@pytest.fixture
def property_type(org, admin, in_org):
    with in_org(org):
        return services.save_type(org, admin.user, PROPERTY)


@pytest.fixture
def seller(org, admin, in_org):
    with in_org(org):
        return customers.create_contact(org, admin.user, data={
            "first_name": "Ada", "last_name": "Lovelace"})


def test_saving_the_same_spec_twice_changes_nothing(org, admin, property_type, in_org):
    with in_org(org):
        again = services.save_type(org, admin.user, PROPERTY)

        assert again.pk == property_type.pk
        assert again.version == property_type.version
        assert [field.key for field in services.fields_of(again)] == [
            "address", "price", "status", "seller", "neighbours", "income"]


def test_admin_creates_a_type_through_the_api(admin, api_client_for):
    api = api_client_for(admin)

    fields = [*PROPERTY["fields"][:4], {**PROPERTY["fields"][4], "target": "policy"},
              PROPERTY["fields"][5]]

    response = post(api, "/api/v1/record-types", {**PROPERTY, "key": "policy",
                                                  "fields": fields})

    assert response.status_code == 201
    body = response.json()
    assert body["key"] == "policy"
    assert [field["type"] for field in body["fields"]] == [
        "text", "money", "choice", "contact", "record", "money"]
    assert body["fields"][4]["target"] == "policy"


def test_a_bad_field_spec_names_the_field(admin, api_client_for):
    api = api_client_for(admin)

    response = post(api, "/api/v1/record-types", {
        "key": "matter", "singular": "Matter", "plural": "Matters",
        "fields": [{"key": "stage", "type": "choice"}, {"key": "x", "type": "colour"}]})

    assert response.status_code == 422
    errors = {error["field"]: error["message"] for error in response.json()["errors"]}
    assert errors == {"fields.0.choices": "Give at least one choice, one per line.",
                      "fields.1.type": "Choose one of: text, long_text, number, money, date, "
                                       "datetime, choice, multi_choice, boolean, url, email, "
                                       "phone, contact, company, deal, record."}


def test_sales_member_may_not_manage_types(member, api_client_for, property_type):
    api = api_client_for(member)

    response = patch(api, "/api/v1/record-types/property", {"plural": "Homes", "version": 1})

    assert response.status_code == 403


def test_records_are_created_listed_and_filtered(admin, api_client_for, property_type, seller):
    api = api_client_for(admin)

    first = post(api, "/api/v1/records/property", {"values": {
        "address": "1 Main St", "price": "250000", "status": "Available",
        "seller": seller.pk}})
    post(api, "/api/v1/records/property", {"values": {"address": "2 Side St",
                                                      "status": "Sold"}})
    listed = api.get("/api/v1/records/property", {"cf.status": "Available"})
    by_seller = api.get("/api/v1/records/property", {"cf.seller": seller.pk})

    assert first.status_code == 201
    assert first.json()["values"] == {
        "address": "1 Main St", "price": {"amount": "250000.00", "currency": "EUR"},
        "status": "Available", "seller": seller.pk, "neighbours": []}
    assert first.json()["title"] == "1 Main St"
    assert [item["title"] for item in listed.json()["items"]] == ["1 Main St"]
    assert [item["title"] for item in by_seller.json()["items"]] == ["1 Main St"]


def test_invalid_values_are_named_by_field(admin, api_client_for, property_type):
    api = api_client_for(admin)

    response = post(api, "/api/v1/records/property", {"values": {
        "price": "cheap", "status": "Let", "seller": 999999, "colour": "red"}})

    assert response.status_code == 422
    errors = {error["field"]: error["message"] for error in response.json()["errors"]}
    assert errors == {
        "values.colour": "There is no field with this key.",
        "values.price": "Enter an amount, such as 1250.00.",
        "values.status": "Choose one of: Available, Sold.",
        "values.address": "Address is required.",
        "values.seller": "Choose an existing contact.",
    }


def test_hidden_field_is_neither_shown_nor_writable_for_sales(
        org, admin, member, api_client_for, property_type, in_org):
    with in_org(org):
        record = services.create_record(org, admin.user, property_type, data={
            "values": {"address": "1 Main St", "income": {"amount": "900",
                                                          "currency": "EUR"}}})
    api = api_client_for(member)

    read = api.get(f"/api/v1/records/property/{record.pk}")
    listed = api.get("/api/v1/records/property")
    written = patch(api, f"/api/v1/records/property/{record.pk}",
                    {"values": {"income": "1"}, "version": record.version})
    described = api.get("/api/v1/record-types/property")

    assert read.status_code == 200
    assert "income" not in read.json()["values"]
    assert "income" not in listed.json()["items"][0]["values"]
    assert written.status_code == 422
    assert written.json()["errors"][0]["field"] == "values.income"
    assert "income" not in [field["key"] for field in described.json()["fields"]]


def test_stale_patch_answers_409(org, admin, api_client_for, property_type, in_org):
    with in_org(org):
        record = services.create_record(org, admin.user, property_type,
                                        data={"values": {"address": "1 Main St"}})
    api = api_client_for(admin)
    patch(api, f"/api/v1/records/property/{record.pk}",
          {"values": {"status": "Sold"}, "version": 1})

    response = patch(api, f"/api/v1/records/property/{record.pk}",
                     {"values": {"status": "Available"}, "version": 1})

    assert response.status_code == 409
    assert response.headers["Content-Type"] == "application/problem+json"


def test_record_of_another_organization_answers_404(
        org, admin, other_org, make_member, api_client_for, property_type, in_org):
    with in_org(org):
        record = services.create_record(org, admin.user, property_type,
                                        data={"values": {"address": "1 Main St"}})
    outsider = make_member(other_org, Role.ADMIN)
    api = api_client_for(outsider)

    response = api.get(f"/api/v1/records/property/{record.pk}")

    assert response.status_code == 404


def test_deleting_a_type_with_records_needs_consent(
        org, admin, api_client_for, property_type, in_org):
    with in_org(org):
        services.create_record(org, admin.user, property_type,
                               data={"values": {"address": "1 Main St"}})
    api = api_client_for(admin)

    refused = api.delete("/api/v1/record-types/property")
    deleted = api.delete("/api/v1/record-types/property?delete_records=true")

    assert refused.status_code == 409
    assert refused.json()["detail"] == ("This record type has 1 records. Delete them too, "
                                        "or keep the type and deactivate it instead.")
    assert deleted.status_code == 204
    with in_org(org):
        assert not Record.with_deleted.exists()


def test_deleted_record_leaves_the_list(org, admin, api_client_for, property_type, in_org):
    with in_org(org):
        record = services.create_record(org, admin.user, property_type,
                                        data={"values": {"address": "1 Main St"}})
    api = api_client_for(admin)

    response = api.delete(f"/api/v1/records/property/{record.pk}")

    assert response.status_code == 204
    assert api.get("/api/v1/records/property").json()["items"] == []
    assert api.get(f"/api/v1/records/property/{record.pk}").status_code == 404


def test_members_who_see_only_their_own_records_get_404_for_others(
        org, admin, member, api_client_for, property_type, in_org):
    with in_org(org):
        update_visibility(org, admin.user, roles={"sales": {"records": "own"}})
        theirs = services.create_record(org, admin.user, property_type,
                                        data={"values": {"address": "1 Main St"}})
        mine = services.create_record(org, member.user, property_type,
                                      data={"values": {"address": "2 Side St"}})
    api = api_client_for(member)

    listed = api.get("/api/v1/records/property")

    assert [item["id"] for item in listed.json()["items"]] == [mine.pk]
    assert api.get(f"/api/v1/records/property/{theirs.pk}").status_code == 404


def test_a_note_is_logged_on_a_record_through_the_activities_api(
        org, admin, api_client_for, property_type, in_org):
    with in_org(org):
        record = services.create_record(org, admin.user, property_type,
                                        data={"values": {"address": "1 Main St"}})
    api = api_client_for(admin)

    logged = post(api, "/api/v1/activities", {"kind": "note", "body": "Roof needs work",
                                              "custom_record_id": record.pk})
    listed = api.get("/api/v1/activities", {"custom_record_id": record.pk})
    refused = post(api, "/api/v1/activities", {"kind": "note", "body": "Lost",
                                               "custom_record_id": record.pk + 1000})

    assert logged.status_code == 201
    assert logged.json()["custom_record_id"] == record.pk
    assert [item["body"] for item in listed.json()["items"]] == ["Roof needs work"]
    assert refused.status_code == 422
    assert refused.json()["errors"][0] == {"field": "custom_record_id", "code": "invalid",
                                           "message": "Choose an existing record."}


def test_global_search_finds_records_by_title(org, admin, client_for, property_type, in_org):
    with in_org(org):
        services.create_record(org, admin.user, property_type,
                               data={"values": {"address": "17 Quayside Lane"}})

    response = client_for(admin).get("/search", {"q": "quaysi"})

    assert [str(record) for record in response.context["records"]] == ["17 Quayside Lane"]


def test_a_title_field_that_cannot_name_a_record_is_refused(org, admin, in_org):
    with in_org(org), pytest.raises(InvalidInput) as raised:
        services.save_type(org, admin.user, {
            "key": "deed", "singular": "Deed", "plural": "Deeds", "title_field": "owner",
            "fields": [{"key": "owner", "type": "contact"}]})

    assert raised.value.as_dict() == {
        "title_field": "Choose one of the type's text, number, date or choice fields."}


def test_a_field_type_cannot_change(org, admin, property_type, in_org):
    with in_org(org), pytest.raises(InvalidInput) as raised:
        services.save_type(org, admin.user, {**PROPERTY, "fields": [
            {"key": "address", "type": "number"}]})

    assert raised.value.as_dict() == {
        "fields.0.type": "A field's type cannot change; add a new field instead."}


def test_a_type_others_link_to_cannot_be_deleted(org, admin, property_type, in_org):
    with in_org(org):
        services.save_type(org, admin.user, {
            "key": "viewing", "singular": "Viewing", "plural": "Viewings",
            "fields": [{"key": "property", "type": "record", "target": "property"}]})

        with pytest.raises(Conflict) as raised:
            services.delete_type(org, admin.user, property_type)

    assert raised.value.detail == ("Fields of other record types link to this one "
                                   "(Viewings); delete or change those fields first.")
