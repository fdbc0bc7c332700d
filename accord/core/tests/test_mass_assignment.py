"""No write operation takes a field its caller must not set.

Every mutating API operation is found in the OpenAPI description: one that
reads a JSON body must refuse every field it does not declare (so
`organization_id`, `id`, `created_by` and the like answer 422 naming the
field), and none may declare such a field. Operations are listed by kind, so a
new one that accepts unknown fields fails here until it refuses them too. The
fields that legitimately name a person (`owner_id`, a quota's `user_id`) are
checked to refuse anyone who is not an active member of the caller's
organisation (quotas: test_api_rates_and_quotas.py).
"""

import json

import pytest
from django_scopes import scope

from accord.api import api
from accord.audit.models import AuditEntry
from accord.customers import services as customers
from accord.customers.models import Contact
from accord.identity.models import Membership

WRITE_METHODS = {"post", "put", "patch", "delete"}
# Fields a client must never set: who the record belongs to, who made it,
# when, its identity, or anyone's standing.
NEVER_DECLARED = {"organization", "organization_id", "created_by", "created_by_id",
                  "created_at", "updated_at", "is_staff", "is_superuser", "is_active_member",
                  "password", "password_hash", "key_hash", "token_hash"}
# Bulk operations take a list of records, each checked against the entity's own
# input schema inside the call (one savepoint per record); "id" there names the
# record to change. They are covered by the bulk test below.
BULK_SUFFIX = "/bulk"
# The one multipart operation: an import's file and its settings, each read by name.
MULTIPART = {("post", "/api/v1/imports")}
INJECTED = {"organization_id": 1, "organization": 1, "id": 987654, "created_by": 1,
            "created_at": "2001-01-01T00:00:00Z", "updated_at": "2001-01-01T00:00:00Z",
            "is_superuser": True}


def openapi() -> dict:
    return api.get_openapi_schema()


def operations() -> list[tuple[str, str, dict]]:
    return [(method, path, operation) for path, methods in openapi()["paths"].items()
            for method, operation in methods.items() if method in WRITE_METHODS]


def resolve(schema: dict, components: dict) -> dict:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def object_schemas(schema: dict, components: dict, seen=None):
    """Every object schema with declared properties reachable from `schema`."""
    seen = set() if seen is None else seen
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return
        seen.add(name)
        yield from object_schemas(components[name], components, seen)
        return
    if schema.get("properties"):
        yield schema
    for value in schema.get("properties", {}).values():
        yield from object_schemas(value, components, seen)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from object_schemas(schema[key], components, seen)
    for key in ("anyOf", "oneOf", "allOf"):
        for part in schema.get(key, []):
            yield from object_schemas(part, components, seen)


def json_body(operation: dict) -> dict | None:
    content = (operation.get("requestBody") or {}).get("content", {})
    return content.get("application/json", {}).get("schema")


def test_every_write_operation_is_of_a_known_kind_and_json_bodies_refuse_unknown_fields():
    components = openapi()["components"]["schemas"]
    permissive, declaring, unknown_kind = [], [], []
    for method, path, operation in operations():
        body = json_body(operation)
        if body is None:
            content = (operation.get("requestBody") or {}).get("content", {})
            if content and (method, path) not in MULTIPART:
                unknown_kind.append((method, path, sorted(content)))
            continue
        for schema in object_schemas(body, components):
            if schema.get("additionalProperties") is not False and not path.endswith(
                    BULK_SUFFIX):
                permissive.append((method, path, schema.get("title")))
            declared = set(schema["properties"]) & NEVER_DECLARED
            if declared:
                declaring.append((method, path, sorted(declared)))

    assert len(operations()) > 100  # the walk found the API
    assert permissive == []
    assert declaring == []
    assert unknown_kind == []


@pytest.fixture
def northwind(org, admin, in_org):
    with in_org(org):
        contact = customers.create_contact(org, admin.user, data={"first_name": "Ada"})
        field = customers.create_custom_field(org, admin.user, data={
            "entity": "contact", "key": "tier", "label": "Tier", "field_type": "text"})
    return contact, field


def errors_of(response) -> set[str]:
    return {error["field"] for error in response.json().get("errors", [])}


def test_injected_fields_are_refused_by_name_and_change_nothing(
        org, admin, other_org, api_client_for, northwind, in_org):
    contact, field = northwind
    api = api_client_for(admin)
    with in_org(org):
        before = AuditEntry.objects.count()
    calls = [
        ("post", "/api/v1/contacts", {"first_name": "Eve"}),
        ("patch", f"/api/v1/contacts/{contact.pk}", {"first_name": "Eve", "version": 1}),
        ("post", "/api/v1/companies", {"name": "Evil Corp"}),
        ("post", "/api/v1/deals", {"name": "Evil deal"}),
        ("post", "/api/v1/tickets", {"subject": "Evil", "contact_id": contact.pk}),
        ("post", "/api/v1/activities", {"kind": "note", "body": "x",
                                        "contact_id": contact.pk}),
        ("patch", f"/api/v1/custom-fields/{field.pk}", {"label": "Rank"}),
        ("patch", "/api/v1/organization", {"name": "Renamed"}),
    ]

    answers = {}
    for method, path, body in calls:
        sent = {**body, **INJECTED, "organization_id": other_org.pk}
        response = getattr(api, method)(path, json.dumps(sent), content_type="application/json")
        answers[(method, path)] = (response.status_code, errors_of(response))

    for call, (status, fields) in answers.items():
        assert status == 422, call
        assert set(INJECTED) <= fields, call
    with in_org(org):
        assert AuditEntry.objects.count() == before
        assert list(Contact.objects.values_list("first_name", flat=True)) == ["Ada"]
        field.refresh_from_db()
        assert field.label == "Tier"


def test_a_custom_fields_fixed_settings_cannot_be_sent_to_be_changed(
        admin, api_client_for, northwind):
    _contact, field = northwind

    response = api_client_for(admin).patch(
        f"/api/v1/custom-fields/{field.pk}",
        json.dumps({"key": "renamed", "entity": "deal", "field_type": "date"}),
        content_type="application/json")

    assert response.status_code == 422
    assert errors_of(response) == {"key", "entity", "field_type"}


def test_bulk_records_refuse_fields_their_entity_does_not_take(
        org, admin, other_org, api_client_for, in_org):
    response = api_client_for(admin).post("/api/v1/contacts/bulk", json.dumps({"items": [
        {"first_name": "Eve", "organization_id": other_org.pk, "created_by": 1},
    ]}), content_type="application/json")

    result = response.json()["items"][0]
    assert result["status"] == 422
    assert {"organization_id", "created_by"} <= {error["field"] for error in result["errors"]}
    with in_org(org):
        assert not Contact.objects.filter(first_name="Eve").exists()
    with scope(organization=other_org):
        assert not Contact.objects.filter(first_name="Eve").exists()


@pytest.mark.parametrize(("path", "body"), [
    ("/api/v1/contacts", {"first_name": "Eve"}),
    ("/api/v1/companies", {"name": "Evil Corp"}),
    ("/api/v1/deals", {"name": "Evil deal"}),
    ("/api/v1/leads", {"first_name": "Eve", "email": "eve@example.com"}),
])
def test_an_owner_from_another_organisation_is_refused(
        org, admin, other_org, api_client_for, path, body, in_org):
    with scope(organization=other_org):
        stranger = Membership.unscoped.get(organization=other_org).user

    response = api_client_for(admin).post(
        path, json.dumps({**body, "owner_id": stranger.pk}), content_type="application/json")

    assert response.status_code == 422
    assert errors_of(response) == {"owner_id"}
