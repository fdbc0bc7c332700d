"""The audit log leaves out entries about a custom field definition hidden from the
reader's role: the field's key and label say what it holds, so for that role the field is
not in the log (page, CSV and API), as it is on no other page. Admins read them."""

import pytest

from accord.customers.models import CustomField
from accord.identity.models import Role

LOG_URL = "/settings/audit-log/"
HIDDEN_KEY = "mgr_hidden_income"
HIDDEN_LABEL = "Household income 51f3"
CASE_KEY = "case_hidden_wealth"
CASE_LABEL = "Declared wealth 8c2d"


@pytest.fixture
def manager(org, make_member):
    return make_member(org, Role.MANAGER, full_name="Mia Manager")


@pytest.fixture
def hidden_fields(org, admin, client_for, in_org):
    """A contact field hidden from managers, made on the settings page, a field everyone
    sees, and a custom record type with a field hidden from managers."""
    from accord.records import services as records

    made = client_for(admin).post("/settings/custom-fields/new", {
        "entity": "contact", "label": HIDDEN_LABEL, "key": HIDDEN_KEY,
        "field_type": "money", "currency": "EUR", "hidden_from_roles": ["manager"],
        "position": ""})
    shown = client_for(admin).post("/settings/custom-fields/new", {
        "entity": "contact", "label": "Shoe size", "key": "shoe_size",
        "field_type": "number", "position": ""})
    assert made.status_code == shown.status_code == 302
    with in_org(org):
        records.save_type(org, admin.user, {
            "key": "case", "singular": "Case", "plural": "Cases", "title_field": "name",
            "fields": [{"key": "name", "label": "Name", "type": "text", "required": True},
                       {"key": CASE_KEY, "label": CASE_LABEL, "type": "number",
                        "hidden_from_roles": ["manager"]}]})


def read_log(client, api_client) -> dict[str, str]:
    return {
        "page": client.get(LOG_URL).content.decode(),
        "csv": b"".join(client.get(LOG_URL, {"export": "csv"}).streaming_content).decode(),
        "api": api_client.get("/api/v1/audit-log", {"limit": 500}).text,
    }


def test_the_audit_log_leaves_out_field_definitions_hidden_from_the_readers_role(
    manager, hidden_fields, client_for, api_client_for
):
    log = read_log(client_for(manager), api_client_for(manager))

    for text in log.values():
        assert HIDDEN_KEY not in text
        assert HIDDEN_LABEL not in text
        assert CASE_KEY not in text
        assert CASE_LABEL not in text
        assert "shoe_size" in text
    assert "Shoe size" in log["page"]


def test_admins_read_the_hidden_field_definitions_in_the_audit_log(
    admin, hidden_fields, client_for, api_client_for
):
    log = read_log(client_for(admin), api_client_for(admin))

    for text in log.values():
        assert HIDDEN_KEY in text
        assert CASE_KEY in text


def test_a_hidden_field_definition_deleted_since_stays_out_of_the_log(
    org, manager, hidden_fields, client_for, api_client_for, in_org
):
    with in_org(org):
        CustomField.objects.filter(key=HIDDEN_KEY).delete()

    log = read_log(client_for(manager), api_client_for(manager))

    for text in log.values():
        assert HIDDEN_KEY not in text
        assert HIDDEN_LABEL not in text


def test_segments_and_reports_on_a_hidden_field_show_the_reader_no_key_or_value(
    admin, manager, hidden_fields, client_for, api_client_for
):
    admins = api_client_for(admin)
    condition = {"all": [{"field": f"cf.{HIDDEN_KEY}", "op": "gt", "value": "90000"}]}
    segment = admins.post("/api/v1/segments", {"name": "Rich", "conditions": condition},
                          content_type="application/json")
    report = admins.post("/api/v1/reports", {
        "name": "Rich by stage", "is_shared": True,
        "definition": {"entity": "contacts", "conditions": condition}},
        content_type="application/json")
    assert (segment.status_code, report.status_code) == (201, 201), (segment.json(),
                                                                     report.json())

    log = read_log(client_for(manager), api_client_for(manager))
    whole = read_log(client_for(admin), admins)

    for text in log.values():
        assert HIDDEN_KEY not in text
        assert "90000" not in text
    assert "Rich by stage" in log["api"]
    assert HIDDEN_KEY in whole["api"]
    assert "90000" in whole["api"]
