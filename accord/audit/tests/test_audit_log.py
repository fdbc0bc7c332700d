import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accord.audit import services as audit
from accord.audit.history import field_history
from accord.audit.models import Action, AuditEntry
from accord.customers import services as customers
from accord.identity.models import Role
from accord.integrations.models import ImportJob

LOG_URL = reverse("audit:log")


@pytest.fixture
def changes(org, admin, member, in_org):
    """Admin creates a contact and a company; the sales member then edits the contact."""
    with in_org(org):
        contact = customers.create_contact(org, admin.user, data={"first_name": "Ada"})
        company = customers.create_company(org, admin.user, data={"name": "Contoso Ltd"})
        customers.update_contact(org, member.user, contact,
                                 data={"lifecycle_stage": "customer", "owner": member.user.pk})
    return contact, company


def shown(response) -> list[tuple[str, str, int]]:
    return [(e.entity, e.action, e.object_id) for e in response.context["entries"]]


@pytest.mark.parametrize("role", [Role.SALES, Role.READ_ONLY, Role.MARKETING, Role.SUPPORT])
def test_audit_log_is_refused_to_roles_without_audit_access(org, make_member, client_for, role):
    response = client_for(make_member(org, role)).get(LOG_URL)

    assert response.status_code == 403


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MANAGER])
def test_admins_and_managers_browse_the_audit_log_newest_first(
    org, changes, make_member, client_for, role
):
    contact, company = changes

    response = client_for(make_member(org, role)).get(LOG_URL)

    assert response.status_code == 200
    assert shown(response)[:3] == [
        ("contact", "update", contact.pk),
        ("company", "create", company.pk),
        ("contact", "create", contact.pk),
    ]


def test_audit_log_filters_by_actor_type_action_and_record(
    org, admin, member, changes, client_for
):
    contact, company = changes
    client = client_for(admin)

    by_actor = client.get(LOG_URL, {"actor": member.user.pk})
    by_type = client.get(LOG_URL, {"entity": "company"})
    by_action = client.get(LOG_URL, {"action": "update"})
    by_record = client.get(LOG_URL, {"entity": "contact", "object_id": contact.pk})

    assert shown(by_actor) == [("contact", "update", contact.pk)]
    assert shown(by_type) == [("company", "create", company.pk)]
    assert shown(by_action) == [("contact", "update", contact.pk)]
    assert shown(by_record) == [("contact", "update", contact.pk),
                                ("contact", "create", contact.pk)]


def test_audit_log_filters_by_days_in_the_viewers_time_zone(org, admin, client_for, in_org):
    admin.user.time_zone = "Pacific/Auckland"
    admin.user.save()
    with in_org(org):
        entry = audit.record(org, admin.user, Action.ACCESS, entity="api_token", object_id=7,
                             object_repr="token")
    # 2025-03-01 20:00 UTC is already 2 March in Auckland (UTC+13).
    AuditEntry.unscoped.filter(pk=entry.pk).update(
        created_at=dt.datetime(2025, 3, 1, 20, 0, tzinfo=dt.UTC))
    client = client_for(admin)

    on_second = client.get(LOG_URL, {"date_from": "2025-03-02", "date_to": "2025-03-02"})
    on_first = client.get(LOG_URL, {"date_from": "2025-03-01", "date_to": "2025-03-01"})

    assert shown(on_second) == [("api_token", "access", 7)]
    assert shown(on_first) == []
    assert "No entries match these filters." in on_first.text


def test_audit_log_explains_a_reversed_date_range(admin, client_for):
    response = client_for(admin).get(LOG_URL, {"date_from": "2025-03-02",
                                               "date_to": "2025-03-01"})

    assert response.status_code == 422
    assert response.context["form"].errors == {
        "date_to": ["Choose an end date on or after the start date."]
    }


def test_audit_log_pages_by_cursor(org, admin, client_for, in_org):
    with in_org(org):
        for number in range(55):
            audit.record(org, admin.user, Action.ACCESS, entity="api_token", object_id=number,
                         object_repr=f"token {number}")
    client = client_for(admin)

    first = client.get(LOG_URL, {"entity": "api_token"})
    second = client.get(first.context["next_url"])

    assert [e.object_id for e in first.context["entries"]] == list(range(54, 4, -1))
    assert [e.object_id for e in second.context["entries"]] == [4, 3, 2, 1, 0]
    assert "entity=api_token" in first.context["next_url"]
    assert second.context["next_url"] is None


def test_audit_log_rejects_a_forged_cursor(admin, client_for):
    response = client_for(admin).get(LOG_URL, {"cursor": "not-a-cursor"})

    assert response.status_code == 422
    assert "This cursor is not valid for this list; start again without it." in response.text


def test_audit_log_escapes_recorded_values(org, admin, client_for, in_org):
    with in_org(org):
        customers.create_contact(org, admin.user, data={"first_name": "<img src=x onerror=1>"})

    response = client_for(admin).get(LOG_URL)

    assert "<img src=x onerror=1>" not in response.text
    assert "&lt;img src=x onerror=1&gt;" in response.text


def test_audit_log_shows_only_its_own_organization(
    org, other_org, changes, make_member, client_for
):
    stranger = client_for(make_member(other_org, Role.ADMIN))

    response = stranger.get(LOG_URL, {"entity": "contact"})

    assert shown(response) == []


def test_audit_log_exports_csv_without_formulas(org, admin, client_for, in_org):
    with in_org(org):
        customers.create_contact(org, admin.user, data={"first_name": "=HYPERLINK(1)"})

    response = client_for(admin).get(LOG_URL, {"entity": "contact", "export": "csv"})

    lines = b"".join(response.streaming_content).decode().splitlines()
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert lines[0] == ("Entry,When (UTC),Who,Through,IP address,Action,Record type,Record id,"
                        "Record,Field,Old value,New value")
    assert any(",'=HYPERLINK(1),First name,,'=HYPERLINK(1)" in line for line in lines)


def test_field_history_names_fields_and_shows_readable_values(
    org, member, changes, in_org
):
    contact, _ = changes

    with in_org(org):
        history = field_history("contact", contact.pk)

    newest = [(c.label, c.old, c.new, c.actor_label, c.via_label, c.action_label)
              for c in history if c.entry_id == history[0].entry_id]
    assert sorted(newest) == [
        ("Lifecycle stage", "Lead", "Customer", "Sam Seller", "System", "Changed"),
        ("Owner", "Admin 1", "Sam Seller", "Sam Seller", "System", "Changed"),
    ]


def test_field_history_is_limited_and_newest_first(org, admin, in_org):
    with in_org(org):
        contact = customers.create_contact(org, admin.user, data={"first_name": "Ada"})
        for title in ("CTO", "CEO", "Chair"):
            customers.update_contact(org, admin.user, contact, data={"title": title})

        history = field_history("contact", contact.pk, limit=2)

    assert [(c.label, c.old, c.new) for c in history] == [
        ("Job title", "CEO", "Chair"), ("Job title", "CTO", "CEO")]


def test_field_history_template_escapes_values(org, admin, in_org):
    with in_org(org):
        contact = customers.create_contact(org, admin.user, data={"first_name": "Ada"})
        customers.update_contact(org, admin.user, contact, data={"title": "<b>Boss</b>"})
        history = field_history("contact", contact.pk)
    with timezone.override(dt.UTC):
        html = render_to_string("audit/_field_history.html", {"history": history})

    assert "→ &lt;b&gt;Boss&lt;/b&gt;</td>" in html
    assert "<b>Boss</b>" not in html


def test_field_history_of_a_record_without_changes_says_so(org, in_org):
    with in_org(org):
        history = field_history("contact", 999)

    assert history == []
    assert "No changes recorded yet." in render_to_string("audit/_field_history.html",
                                                           {"history": history})


@pytest.fixture
def case_file(org, admin, in_org):
    """A custom record whose income field is hidden from managers, created then changed."""
    from accord.records import services as records

    with in_org(org):
        kind = records.save_type(org, admin.user, {
            "key": "case", "singular": "Case", "plural": "Cases", "title_field": "name",
            "fields": [{"key": "name", "label": "Name", "type": "text", "required": True},
                       {"key": "income", "label": "Income", "type": "number",
                        "hidden_from_roles": ["manager"]}]})
        record = records.create_record(org, admin.user, kind, data={
            "values": {"name": "Oakridge", "income": 48213}})
        records.update_record(org, admin.user, record, data={"values": {"income": 51977}})
    return record


def test_audit_log_leaves_out_custom_record_values_hidden_from_the_reader(
    org, make_member, client_for, api_client_for, case_file
):
    manager = make_member(org, Role.MANAGER)
    browser = client_for(manager)

    page = browser.get(LOG_URL, {"entity": "record"}).content.decode()
    exported = b"".join(browser.get(LOG_URL, {"entity": "record", "export": "csv"})
                        .streaming_content).decode()
    from_api = api_client_for(manager).get("/api/v1/audit-log", {"entity": "record"}).text

    assert "Oakridge" in page
    assert "Oakridge" in exported
    assert "Oakridge" in from_api
    for text in (page, exported, from_api):
        assert "48213" not in text
        assert "51977" not in text


def test_admins_read_the_hidden_custom_record_values_in_the_audit_log(
    org, admin, client_for, case_file
):
    page = client_for(admin).get(LOG_URL, {"entity": "record"}).content.decode()

    assert "48213" in page
    assert "51977" in page


def test_values_of_a_custom_record_whose_type_is_gone_are_not_shown_to_managers(
    org, admin, make_member, client_for, case_file, in_org
):
    from accord.records.models import Record

    with in_org(org):
        Record.unscoped.filter(pk=case_file.pk).delete()

    page = client_for(make_member(org, Role.MANAGER)).get(LOG_URL, {"entity": "record"})

    text = page.content.decode()
    assert page.status_code == 200
    assert "48213" not in text
    assert "51977" not in text


def test_an_import_entry_links_to_the_import_only_for_readers_who_may_open_it(
    org, admin, make_member, client_for, in_org
):
    manager = make_member(org, Role.MANAGER)
    for member, name in ((admin, "R&D <admins>.csv"), (manager, "managers.csv")):
        client_for(member).post("/imports/new/", {
            "file": SimpleUploadedFile(name, b"Name\r\nContoso Ltd\r\n"), "entity": "company"})
    with in_org(org):
        admins = ImportJob.objects.get(created_by=admin.user)
        managers = ImportJob.objects.get(created_by=manager.user)
    admins_url = reverse("integrations:import_detail", args=[admins.pk])
    managers_url = reverse("integrations:import_detail", args=[managers.pk])

    as_admin = client_for(admin).get(LOG_URL, {"entity": "import"})
    as_manager = client_for(manager).get(LOG_URL, {"entity": "import"})

    assert f'<a href="{admins_url}"><span class="muted small">Import #{admins.pk}</span>' in (
        as_admin.text)
    assert "R&amp;D &lt;admins&gt;.csv" in as_admin.text
    assert f'href="{managers_url}"' in as_admin.text
    assert f'href="{managers_url}"' in as_manager.text
    assert f"Import #{admins.pk}" in as_manager.text
    assert f'href="{admins_url}"' not in as_manager.text
