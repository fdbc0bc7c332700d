"""The bulk bar's pickers start empty and a missing value is refused beside its field."""

import re

from django.urls import reverse

from accord.customers import services
from accord.customers.models import Contact

BULK = reverse("customers:contact_bulk")
OWNER_MISSING = "Choose an owner, or “Unassigned” to clear the owner."


def make_contact(org, actor, in_org, **data):
    with in_org(org):
        return services.create_contact(org, actor.user, data=data)


def select(body: str, select_id: str) -> str:
    return re.search(rf'<select[^>]* id="{select_id}".*?</select>', body, re.DOTALL).group(0)


def options(select_html: str) -> list[str]:
    return re.findall(r"<option[^>]*>[^<]*</option>", select_html)


def field_block(body: str, name: str) -> str:
    """The form field wrapper holding the named input, with its label and errors."""
    found = re.search(rf'<div class="field[^"]*">\s*<label for="id_{name}">.*?</div>', body,
                      re.DOTALL)
    return found.group(0) if found else ""


def test_bulk_bar_pickers_start_on_choose(org, admin, member, client_for):
    body = client_for(admin).get(reverse("customers:contact_list")).content.decode()

    owner = options(select(body, "bulk-owner"))
    stage = options(select(body, "bulk-stage"))
    assert owner[:2] == ['<option value="" selected>Choose…</option>',
                         '<option value="none">Unassigned</option>']
    assert f'<option value="{member.user.pk}">Sam Seller</option>' in owner
    assert stage[:2] == ['<option value="" selected>Choose…</option>',
                         '<option value="subscriber">Subscriber</option>']
    assert sum("selected" in option for option in owner + stage) == 2


def test_company_bulk_bar_owner_picker_starts_on_choose(org, admin, client_for):
    body = client_for(admin).get(reverse("customers:company_list")).content.decode()

    assert options(select(body, "bulk-owner"))[0] == '<option value="" selected>Choose…</option>'
    assert 'name="lifecycle_stage"' not in body


def test_assign_owner_without_a_choice_is_refused_beside_the_owner_field(
    org, admin, member, client_for, in_org
):
    ann = make_contact(org, admin, in_org, first_name="Ann", owner=member.user.pk)

    response = client_for(admin).post(BULK, {"next": "/contacts/", "action": "assign_owner",
                                             "owner": "", "lifecycle_stage": "",
                                             "ids": [ann.pk]})

    body = response.content.decode()
    assert response.status_code == 422
    block = field_block(body, "owner")
    assert '<div class="field has-error">' in block
    assert f'<p class="error" id="id_owner_error">{OWNER_MISSING}</p>' in block
    assert options(select(block, "id_owner"))[:2] == [
        '<option value="" selected>Choose…</option>',
        '<option value="none">Unassigned</option>']
    assert 'name="confirm"' not in body
    assert "Change the owner of" not in body
    with in_org(org):
        assert Contact.objects.get(pk=ann.pk).owner_id == member.user.pk


def test_confirming_an_owner_change_without_an_owner_changes_nothing(
    org, admin, member, client_for, in_org
):
    ann = make_contact(org, admin, in_org, first_name="Ann", owner=member.user.pk)

    response = client_for(admin).post(BULK, {"next": "/contacts/", "action": "assign_owner",
                                             "owner": "", "ids": [ann.pk], "confirm": "1"})

    assert response.status_code == 422
    assert OWNER_MISSING in response.content.decode()
    with in_org(org):
        assert Contact.objects.get(pk=ann.pk).owner_id == member.user.pk


def test_the_refusal_page_lets_the_owner_be_picked_and_confirmed_without_javascript(
    org, admin, member, client_for, in_org
):
    ann = make_contact(org, admin, in_org, first_name="Ann")
    client = client_for(admin)
    refused = client.post(BULK, {"next": "/contacts/", "action": "assign_owner", "owner": "",
                                 "ids": [ann.pk]}).content.decode()
    fix = re.search(r'<form method="post" action="/contacts/bulk/" novalidate>.*?</form>',
                    refused, re.DOTALL).group(0)
    hidden = dict(re.findall(r'<input type="hidden" name="(next|action|ids)" value="([^"]*)">',
                             fix))

    asked = client.post(BULK, {**hidden, "owner": member.user.pk})
    done = client.post(BULK, {**hidden, "owner": member.user.pk, "confirm": "1"})

    assert hidden == {"next": "/contacts/", "action": "assign_owner", "ids": str(ann.pk)}
    assert asked.status_code == 200
    assert "Change the owner of 1 contact?" in asked.content.decode()
    assert done.status_code == 302
    with in_org(org):
        assert Contact.objects.get(pk=ann.pk).owner_id == member.user.pk


def test_unassigned_is_an_explicit_choice(org, admin, member, client_for, in_org):
    ann = make_contact(org, admin, in_org, first_name="Ann", owner=member.user.pk)

    response = client_for(admin).post(BULK, {"next": "/contacts/", "action": "assign_owner",
                                             "owner": "none", "ids": [ann.pk],
                                             "confirm": "1"})

    assert response.status_code == 302
    with in_org(org):
        assert Contact.objects.get(pk=ann.pk).owner_id is None


def test_change_stage_without_a_choice_is_refused_beside_the_stage_field(
    org, admin, client_for, in_org
):
    ann = make_contact(org, admin, in_org, first_name="Ann", lifecycle_stage="lead")

    response = client_for(admin).post(BULK, {"next": "/contacts/", "action": "set_stage",
                                             "owner": "", "lifecycle_stage": "",
                                             "ids": [ann.pk]})

    body = response.content.decode()
    assert response.status_code == 422
    block = field_block(body, "lifecycle_stage")
    assert '<p class="error" id="id_lifecycle_stage_error">Choose a lifecycle stage.</p>' in block
    assert options(select(block, "id_lifecycle_stage"))[0] == (
        '<option value="" selected>Choose…</option>')
    assert 'name="owner"' not in body
    with in_org(org):
        assert Contact.objects.get(pk=ann.pk).lifecycle_stage == "lead"
