"""Record visibility in the audit log: private saved reports and dashboards.

A private report's definition may name a contact its reader may not see (an
e-mail address in a condition), so the entries about it are read by its owner
and admins only, in the API, on the page and in the CSV; a shared report's
entries stay readable by everyone who reads the log. Dashboards are their
owner's alone, and so are the entries about them.
"""

from types import SimpleNamespace

import pytest
from django_scopes import scope

from accord.identity import visibility
from accord.identity.models import Role
from accord.reports import services as reports

SECRET = "hilda@hidden.example"


def definition(address: str) -> dict:
    return {"entity": "contacts",
            "conditions": {"all": [{"field": "email", "op": "equals", "value": address}]}}


@pytest.fixture
def world(org, admin, make_member):
    """A sales member's private report naming a hidden contact's address, a shared report
    and a dashboard of theirs; a manager reads the audit log."""
    seller = make_member(org, Role.SALES, full_name="Sam Seller")
    manager = make_member(org, Role.MANAGER, full_name="Mia Manager")
    with scope(organization=org):
        visibility.update_visibility(org, admin.user, roles={Role.SALES: {"contacts": "own"},
                                                             Role.MANAGER: {"contacts": "team"}})
        private = reports.create_report(org, seller.user, seller, data={
            "name": "Private watch", "definition": definition(SECRET)})
        shared = reports.create_report(org, admin.user, admin, data={
            "name": "Shared pipeline", "is_shared": True,
            "definition": definition("everyone@shared.example")})
        own = reports.create_report(org, manager.user, manager, data={
            "name": "Manager's own", "definition": definition("mia@own.example")})
        dashboard = reports.create_dashboard(org, seller.user, name="Seller desk")
    return SimpleNamespace(org=org, admin=admin, seller=seller, manager=manager,
                           private=private, shared=shared, own=own, dashboard=dashboard)


def logged(api, entity: str) -> set[int]:
    response = api.get("/api/v1/audit-log", {"entity": entity})
    assert response.status_code == 200, response.content
    return {item["object_id"] for item in response.json()["items"]}


def test_api_shows_a_private_reports_entries_to_its_owner_and_admins_only(world,
                                                                           api_client_for):
    manager, admin = api_client_for(world.manager), api_client_for(world.admin)

    assert logged(manager, "savedreport") == {world.shared.pk, world.own.pk}
    assert logged(manager, "dashboard") == set()
    assert logged(admin, "savedreport") == {world.private.pk, world.shared.pk, world.own.pk}
    assert logged(admin, "dashboard") == {world.dashboard.pk}


def test_page_and_csv_leave_out_a_private_reports_definition(world, client_for):
    manager, admin = client_for(world.manager), client_for(world.admin)

    for client, shown in ((manager, False), (admin, True)):
        page = client.get("/settings/audit-log/").content.decode()
        export = client.get("/settings/audit-log/", {"export": "csv"})
        csv = b"".join(export.streaming_content).decode("utf-8-sig")
        for text in (page, csv):
            assert "Shared pipeline" in text
            assert ("Private watch" in text) is shown
            assert (SECRET in text) is shown
            assert ("Seller desk" in text) is shown


def test_a_report_made_private_again_hides_its_entries(world, api_client_for):
    with scope(organization=world.org):
        reports.update_report(world.org, world.admin.user, world.admin, world.shared,
                              data={"is_shared": False})

    assert world.shared.pk not in logged(api_client_for(world.manager), "savedreport")
