import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accord.activities.models import Activity
from accord.audit.models import AuditEntry
from accord.core.models import DomainEvent
from accord.customers import services as customers
from accord.identity.models import Role
from accord.records import services
from accord.records.models import Record, RecordField, RecordType

from .test_api import PROPERTY


@pytest.fixture
def property_type(org, admin, in_org):
    with in_org(org):
        return services.save_type(org, admin.user, PROPERTY)


@pytest.fixture
def seller(org, admin, in_org):
    with in_org(org):
        return customers.create_contact(org, admin.user, data={
            "first_name": "Ada", "last_name": "Lovelace"})


def test_admin_defines_a_type_and_its_fields_in_settings(org, admin, client_for, in_org):
    client = client_for(admin)

    created = client.post(reverse("records:type_create"), {
        "key": "policy", "singular": "Policy", "plural": "Policies", "active": "on"})
    with in_org(org):
        policy = RecordType.objects.get(key="policy")
    added = client.post(reverse("records:field_create", args=[policy.pk]), {
        "label": "Policy number", "type": "text", "required": "on"})
    client.post(reverse("records:field_create", args=[policy.pk]), {
        "label": "Cover", "type": "choice", "choices": "Home\nCar"})
    titled = client.post(reverse("records:type_edit", args=[policy.pk]), {
        "singular": "Policy", "plural": "Policies", "title_field": "policy_number",
        "active": "on"})
    page = client.get(reverse("records:type_edit", args=[policy.pk]))

    assert created.status_code == 302
    assert added.status_code == 302
    assert titled.status_code == 302
    with in_org(org):
        assert [(field.key, field.field_type, field.position)
                for field in RecordField.objects.filter(record_type=policy)] == [
            ("policy_number", "text", 1), ("cover", "choice", 2)]
        assert RecordType.objects.get(key="policy").title_field == "policy_number"
    assert "Policy number" in page.content.decode()


def test_a_field_without_choices_is_refused_next_to_the_field(org, admin, client_for,
                                                              property_type):
    client = client_for(admin)

    response = client.post(reverse("records:field_create", args=[property_type.pk]), {
        "label": "Kind", "type": "choice", "choices": ""})

    assert response.status_code == 422
    assert "Give at least one choice, one per line." in response.content.decode()


def test_fields_are_reordered_and_deactivated(org, admin, client_for, property_type, in_org):
    client = client_for(admin)
    with in_org(org):
        price = property_type.fields.get(key="price")
        address = property_type.fields.get(key="address")

    client.post(reverse("records:field_move", args=[property_type.pk, price.pk]),
                {"direction": "up"})
    refused = client.post(reverse("records:field_active", args=[property_type.pk,
                                                                address.pk]),
                          {"active": "false"}, follow=True)
    client.post(reverse("records:field_active", args=[property_type.pk, price.pk]),
                {"active": "false"})

    with in_org(org):
        assert [field.key for field in services.fields_of(property_type)] == [
            "address", "status", "seller", "neighbours", "income"]
        assert property_type.fields.get(key="price").position == 1
    assert "The title field cannot be deactivated" in refused.content.decode()


def test_active_type_appears_in_the_navigation(member, client_for, property_type):
    response = client_for(member).get(reverse("core:home"))

    assert 'href="/records/property/"' in response.content.decode()


def test_member_creates_a_record_linked_to_a_contact_shown_on_the_contact_page(
        org, member, client_for, property_type, seller, in_org):
    client = client_for(member)

    response = client.post(reverse("records:create", args=["property"]), {
        "v_address": "1 Main St", "v_price": "250000", "v_status": "Available",
        "v_seller": seller.pk, "owner": member.user_id})
    contact_page = client.get(seller.get_absolute_url())

    assert response.status_code == 302
    body = contact_page.content.decode()
    assert "Properties" in body
    assert "1 Main St" in body


def test_invalid_record_form_shows_errors_next_to_fields(member, client_for, property_type):
    client = client_for(member)

    response = client.post(reverse("records:create", args=["property"]), {
        "v_address": "", "v_price": "cheap"})

    assert response.status_code == 422
    body = response.content.decode()
    assert 'id="id_v_address_error">Address is required.' in body
    assert 'id="id_v_price_error">Enter an amount, such as 1250.00.' in body


def test_record_page_shows_values_timeline_and_notes(org, admin, member, client_for,
                                                     property_type, in_org):
    with in_org(org):
        record = services.create_record(org, admin.user, property_type, data={
            "values": {"address": "1 Main St", "status": "Sold"}})
    client = client_for(member)

    added = client.post(reverse("activities:create"), {
        "custom_record": record.pk, "kind": "note", "body": "Viewing went well"})
    page = client.get(record.get_absolute_url())

    assert added.status_code == 302
    with in_org(org):
        assert Activity.objects.get(custom_record=record).body == "Viewing went well"
    body = page.content.decode()
    assert "Viewing went well" in body
    assert "Sold" in body
    assert 'id="custom_record-timeline"' in body


def test_list_searches_filters_and_exports(org, admin, client_for, property_type, in_org):
    with in_org(org):
        for address, status in [("1 Main St", "Available"), ("2 Side St", "Sold"),
                                ("3 Main Rd", "Sold")]:
            services.create_record(org, admin.user, property_type, data={
                "values": {"address": address, "status": status}})
    client = client_for(admin)

    searched = client.get(reverse("records:list", args=["property"]), {"q": "main"})
    filtered = client.get(reverse("records:list", args=["property"]),
                          {"q": "main", "cf.status": "Sold"})
    exported = client.get(reverse("records:export", args=["property"]),
                          {"ordering": "-title"})

    assert "1 Main St" in searched.content.decode()
    assert "3 Main Rd" in searched.content.decode()
    assert "2 Side St" not in searched.content.decode()
    assert "3 Main Rd" in filtered.content.decode()
    assert "1 Main St" not in filtered.content.decode()
    lines = b"".join(exported.streaming_content).decode().splitlines()
    assert [line.split(",")[1] for line in lines] == [
        "Property", "3 Main Rd", "2 Side St", "1 Main St"]


def test_hidden_field_is_not_in_the_list_or_page_for_sales(
        org, admin, member, client_for, property_type, in_org):
    with in_org(org):
        record = services.create_record(org, admin.user, property_type, data={
            "values": {"address": "1 Main St",
                       "income": {"amount": "987654", "currency": "EUR"}}})
    client = client_for(member)

    page = client.get(record.get_absolute_url())
    edit = client.get(reverse("records:edit", args=["property", record.pk]))
    admin_page = client_for(admin).get(record.get_absolute_url())

    assert "987654" not in page.content.decode()
    assert "987,654" not in page.content.decode()
    assert "Income" not in page.content.decode()
    assert "v_income" not in edit.content.decode()
    assert "Income" in admin_page.content.decode()
    assert "987,654" in admin_page.content.decode()


def test_record_of_another_organization_answers_404(
        org, admin, other_org, make_member, client_for, property_type, in_org):
    with in_org(org):
        record = services.create_record(org, admin.user, property_type,
                                        data={"values": {"address": "1 Main St"}})
    outsider = client_for(make_member(other_org, Role.ADMIN))

    assert outsider.get(record.get_absolute_url()).status_code == 404
    assert outsider.get(reverse("records:type_edit", args=[property_type.pk])).status_code \
        == 404


def test_sales_member_may_not_open_record_type_settings(member, client_for, property_type):
    response = client_for(member).get(reverse("records:type_list"))

    assert response.status_code == 403


def test_deleted_record_is_restored_from_the_trash(org, admin, client_for, property_type,
                                                   in_org):
    with in_org(org):
        record = services.create_record(org, admin.user, property_type,
                                        data={"values": {"address": "1 Main St"}})
    client = client_for(admin)

    client.post(reverse("records:delete", args=["property", record.pk]))
    trash = client.get(reverse("records:trash", args=["property"]))
    gone = client.get(record.get_absolute_url())
    restored = client.post(reverse("records:restore", args=["property", record.pk]))

    assert "1 Main St" in trash.content.decode()
    assert gone.status_code == 404
    assert restored.status_code == 302
    assert client.get(record.get_absolute_url()).status_code == 200


def test_trash_is_purged_after_retention(org, admin, property_type, in_org, settings):
    with in_org(org):
        record = services.create_record(org, admin.user, property_type,
                                        data={"values": {"address": "1 Main St"}})
        services.delete_record(org, admin.user, record)
        later = timezone.now() + dt.timedelta(days=settings.TRASH_RETENTION_DAYS + 1)

        purged = services.purge_expired_trash(org, now=later)

        assert purged == 1
        assert not Record.with_deleted.exists()


def test_changes_show_in_field_history_and_audit_and_as_events(
        org, admin, member, client_for, property_type, seller, in_org):
    with in_org(org):
        record = services.create_record(org, admin.user, property_type, data={
            "values": {"address": "1 Main St", "status": "Available",
                       "income": {"amount": "5", "currency": "EUR"}}})
        services.update_record(org, admin.user, record, data={"values": {
            "status": "Sold", "income": {"amount": "6", "currency": "EUR"},
            "seller": seller.pk}})

    page = client_for(member).get(record.get_absolute_url())
    admin_page = client_for(admin).get(record.get_absolute_url())

    with in_org(org):
        assert list(AuditEntry.objects.filter(entity="record", object_id=record.pk)
                    .values_list("action", flat=True).order_by("id")) == ["create", "update"]
        assert list(DomainEvent.objects.filter(entity="record", object_id=record.pk)
                    .values_list("type", flat=True).order_by("id")) == [
            "record.created", "record.updated"]
    history = [(row.label, row.old, row.new) for row in page.context["history"]]
    assert ("Status", "Available", "Sold") in history
    assert ("Seller", "", "Ada Lovelace") in history
    assert not any(label == "Income" for label, _old, _new in history)
    assert any(row.label == "Income" for row in admin_page.context["history"])


def test_export_neutralises_formulas(org, admin, client_for, property_type, in_org):
    with in_org(org):
        services.create_record(org, admin.user, property_type,
                               data={"values": {"address": "=HYPERLINK(\"x\")"}})

    response = client_for(admin).get(reverse("records:export", args=["property"]))

    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[1].split(",")[1] == "\"'=HYPERLINK(\"\"x\"\")\""
