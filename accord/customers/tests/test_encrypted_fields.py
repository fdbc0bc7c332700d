"""Custom fields encrypted at rest: sealed in every stored row, plain to those who may see."""

import json

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.test import override_settings

from accord.audit.models import AuditEntry
from accord.core import crypto
from accord.core.models import DomainEvent
from accord.customers import services, tasks
from accord.customers.models import Contact, CustomField

DIAGNOSIS = "Rare condition 7c1e"
OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def raw_custom_fields(table: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT custom_fields FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return str(cursor.fetchone()[0])


def raw_audit_changes(entity: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT changes FROM audit_auditentry WHERE entity = %s "
                       "AND object_id = %s", [entity, pk])
        return " ".join(str(row[0]) for row in cursor.fetchall())


@pytest.fixture
def diagnosis(org, admin, client_for, in_org):
    """A text field on contacts marked encrypted through the settings page."""
    response = client_for(admin).post("/settings/custom-fields/new", {
        "entity": "contact", "label": "Diagnosis", "key": "diagnosis", "field_type": "text",
        "encrypted": "on", "position": "",
    })
    assert response.status_code == 302
    with in_org(org):
        return CustomField.objects.get(key="diagnosis")


@pytest.fixture
def contact(org, admin, diagnosis, in_org):
    with in_org(org):
        return services.create_contact(org, admin.user, data={
            "first_name": "Ada", "last_name": "Lovelace",
            "custom_fields": {"diagnosis": DIAGNOSIS}})


def test_value_saved_through_the_api_is_sealed_in_the_row(org, admin, diagnosis, api_client_for,
                                                           in_org):
    response = api_client_for(admin).post("/api/v1/contacts", {
        "first_name": "Grace", "custom_fields": {"diagnosis": DIAGNOSIS}},
        content_type="application/json")

    assert response.status_code == 201
    assert response.json()["custom_fields"] == {"diagnosis": DIAGNOSIS}
    stored = raw_custom_fields("customers_contact", response.json()["id"])
    assert DIAGNOSIS not in stored
    assert crypto.SEALED in stored
    assert DIAGNOSIS not in raw_audit_changes("contact", response.json()["id"])
    answer = api_client_for(admin).get(f"/api/v1/contacts/{response.json()['id']}").json()
    assert answer["custom_fields"] == {"diagnosis": DIAGNOSIS}
