import pytest

from accord.audit.models import AuditEntry
from accord.customers import custom_fields
from accord.customers.models import CustomField, Entity, FieldType
from accord.errors import InvalidInput
from accord.identity.models import Role


def add_field(client, **data):
    form = {"entity": "contact", "label": "", "key": "", "field_type": "text", "choices": "",
            "currency": "", "help_text": "", "position": ""}
    form.update(data)
    return client.post("/settings/custom-fields/new", form)


@pytest.fixture
def admin_client(admin, client_for):
    return client_for(admin)


@pytest.mark.parametrize("field_type", FieldType.values)
def test_admin_adds_a_field_of_every_type(org, admin_client, in_org, field_type):
    extra = {}
    if field_type in ("choice", "multi_choice"):
        extra["choices"] = "Gold\nSilver\n"
    if field_type == "money":
        extra["currency"] = "eur"

    response = add_field(admin_client, label="Loyalty tier", field_type=field_type, **extra)

    assert response.status_code == 302
    assert response["Location"] == "/settings/custom-fields/"
    with in_org(org):
        field = CustomField.objects.get()
    assert (field.entity, field.key, field.label, field.field_type) == (
        "contact", "loyalty_tier", "Loyalty tier", field_type)
    assert field.choices == (["Gold", "Silver"] if extra.get("choices") else [])
    assert field.currency == ("EUR" if field_type == "money" else "")


def test_field_keeps_help_text_required_flag_and_order(org, admin_client, in_org):
    add_field(admin_client, entity="company", label="Contract end", key="contract_end",
              field_type="date", required="on", help_text="When the current contract ends.",
              position="7")

    with in_org(org):
        field = CustomField.objects.get()
    assert (field.entity, field.key, field.required, field.help_text, field.position) == (
        "company", "contract_end", True, "When the current contract ends.", 7)


def test_new_fields_go_to_the_end_of_their_record_type(org, admin_client, in_org):
    add_field(admin_client, label="First", position="4")
    add_field(admin_client, label="Second")
    add_field(admin_client, entity="company", label="Other")

    with in_org(org):
        positions = dict(CustomField.objects.values_list("key", "position"))
    assert positions == {"first": 4, "second": 5, "other": 1}


def test_list_groups_fields_by_record_type_with_empty_states(org, admin_client):
    add_field(admin_client, label="Shoe size", field_type="number")

    html = admin_client.get("/settings/custom-fields/").content.decode()

    assert "Contact fields" in html
    assert "<code>shoe_size</code>" in html
    assert "No company fields yet." in html


def test_choice_field_needs_choices_and_money_needs_a_currency(org, admin_client, in_org):
    no_choices = add_field(admin_client, label="Tier", field_type="choice")
    no_currency = add_field(admin_client, label="Budget", field_type="money", currency="EU")
    comma = add_field(admin_client, label="Tags", field_type="multi_choice",
                      choices="red, green\nblue")

    assert no_choices.status_code == 422
    assert "Give at least one choice, one per line." in no_choices.content.decode()
    assert no_currency.status_code == 422
    assert "Give a three-letter currency code, such as EUR." in no_currency.content.decode()
    assert comma.status_code == 422
    assert "Choices of a multiple-choice field cannot contain commas." in (
        comma.content.decode())
    with in_org(org):
        assert not CustomField.objects.exists()


def test_key_must_be_a_slug_and_unique_per_record_type(org, admin_client, in_org):
    add_field(admin_client, label="Region", key="region")

    bad = add_field(admin_client, label="Bad", key="9 lives")
    clash = add_field(admin_client, label="Region again", key="region")
    other_type = add_field(admin_client, entity="company", label="Region", key="region")

    assert bad.status_code == 422
    assert ("Use lower-case letters, digits and underscores, starting with a letter (at most 50 "
            "characters).") in bad.content.decode()
    assert clash.status_code == 422
    assert "Another field of this record type uses this key already." in clash.content.decode()
    assert other_type.status_code == 302
    with in_org(org):
        assert CustomField.objects.count() == 2


def test_editing_changes_label_and_choices_but_never_key_or_type(org, admin, admin_client,
                                                                 in_org):
    add_field(admin_client, label="Tier", field_type="choice", choices="Gold\nSilver")
    with in_org(org):
        field = CustomField.objects.get()

    page = admin_client.get(f"/settings/custom-fields/{field.pk}/")
    response = admin_client.post(f"/settings/custom-fields/{field.pk}/", {
        "label": "Customer tier", "choices": "Gold\nSilver\nBronze", "required": "on",
        "help_text": "", "position": "2", "key": "hacked", "field_type": "number",
        "entity": "company",
    })

    assert "<code>tier</code>" in page.content.decode()
    assert 'name="key"' not in page.content.decode()
    assert response.status_code == 302
    with in_org(org):
        field.refresh_from_db()
        entry = AuditEntry.objects.filter(entity="custom_field", action="update").get()
    assert (field.key, field.field_type, field.entity) == ("tier", "choice", "contact")
    assert (field.label, field.choices, field.required, field.position) == (
        "Customer tier", ["Gold", "Silver", "Bronze"], True, 2)
    assert entry.actor_id == admin.user.pk
    assert entry.changes == {
        "label": ["Tier", "Customer tier"], "choices": [["Gold", "Silver"],
                                                        ["Gold", "Silver", "Bronze"]],
        "required": [False, True], "position": [1, 2],
    }


def test_field_definition_drives_value_validation(org, admin_client, in_org):
    add_field(admin_client, label="Budget", field_type="money", currency="EUR", required="on")

    with in_org(org):
        fields = custom_fields.active_fields(Entity.CONTACT)
        stored = custom_fields.clean_values(fields, {"budget": "1250.5"}, partial=False)
        with pytest.raises(InvalidInput, match="Some fields are not valid."):
            custom_fields.clean_values(fields, {}, partial=False)
    assert stored == {"budget": {"amount": "1250.50", "currency": "EUR"}}


def test_deactivating_asks_first_and_reactivating_brings_it_back(org, admin_client, in_org):
    add_field(admin_client, label="Legacy id")
    with in_org(org):
        field = CustomField.objects.get()

    confirm = admin_client.get(f"/settings/custom-fields/{field.pk}/deactivate")
    deactivated = admin_client.post(f"/settings/custom-fields/{field.pk}/deactivate")

    assert "Deactivate the field Legacy id?" in confirm.content.decode()
    assert deactivated.status_code == 302
    with in_org(org):
        assert custom_fields.active_fields(Entity.CONTACT) == []
    assert '<span class="badge badge-warn">Inactive</span>' in (
        admin_client.get("/settings/custom-fields/").content.decode())

    reactivated = admin_client.post(f"/settings/custom-fields/{field.pk}/reactivate")

    assert reactivated.status_code == 302
    with in_org(org):
        assert [f.key for f in custom_fields.active_fields(Entity.CONTACT)] == ["legacy_id"]
        changes = [entry.changes for entry in
                   AuditEntry.objects.filter(entity="custom_field").order_by("id")][1:]
    assert changes == [{"is_active": [True, False]}, {"is_active": [False, True]}]


def test_roles_without_the_permission_get_403(org, make_member, client_for, in_org):
    with in_org(org):
        field = CustomField.objects.create(organization=org, entity="contact", key="k",
                                           label="K", field_type="text")
    manager = client_for(make_member(org, Role.MANAGER))

    for path in ["/settings/custom-fields/", "/settings/custom-fields/new",
                 f"/settings/custom-fields/{field.pk}/",
                 f"/settings/custom-fields/{field.pk}/deactivate"]:
        assert manager.get(path).status_code == 403, path
    assert manager.post(f"/settings/custom-fields/{field.pk}/deactivate").status_code == 403
    with in_org(org):
        assert CustomField.objects.get().is_active is True


def test_field_of_another_organization_answers_404(org, other_org, admin_client, in_org):
    with in_org(other_org):
        field = CustomField.objects.create(organization=other_org, entity="contact", key="k",
                                           label="Theirs", field_type="text")

    assert admin_client.get(f"/settings/custom-fields/{field.pk}/").status_code == 404
    assert admin_client.post(f"/settings/custom-fields/{field.pk}/",
                             {"label": "Mine now"}).status_code == 404
    assert admin_client.post(f"/settings/custom-fields/{field.pk}/deactivate").status_code == 404
    assert CustomField.unscoped.get(pk=field.pk).label == "Theirs"
