"""The deal page, its forms, trash, contacts and line items, through the test client."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from accord.activities.models import Activity
from accord.commerce.models import Product
from accord.customers.services import create_company, create_contact
from accord.identity.models import Membership, Role
from accord.sales import services
from accord.sales.models import Deal, DealContact, LineItem


@pytest.fixture
def pipeline(org, admin, in_org):
    with in_org(org):
        return services.create_pipeline(org, admin.user, name="New business")


def make_deal(org, actor, in_org, **data):
    with in_org(org):
        return services.create_deal(org, actor.user, data=data)


def field_error(body: str, name: str) -> str:
    """The error message shown next to the field whose input is named `name`."""
    match = re.search(
        rf'<div class="field has-error">\s*<label[^>]*>[^<]*</label>\s*<[^>]*name="{name}"'
        r'[^>]*>(?:.|\n)*?<p class="error"[^>]*>([^<]*)</p>', body)
    assert match, f"no error shown next to {name}"
    return match.group(1)


def test_new_deal_form_creates_a_deal_with_contacts_and_roles(org, admin, member, client_for,
                                                              pipeline, in_org):
    with in_org(org):
        acme = create_company(org, admin.user, data={"name": "Acme"})
        ada = create_contact(org, admin.user, data={"first_name": "Ada", "last_name": "Byron"})
        meeting = pipeline.stages.get(name="Meeting")
    client = client_for(admin)

    page = client.get(reverse("sales:deal_create"), {"company": acme.pk})
    response = client.post(reverse("sales:deal_create"), {
        "name": "Forty laptops", "stage": meeting.pk, "amount": "1200.50", "currency": "EUR",
        "expected_close_date": "2027-03-31", "owner": member.user.pk, "company": acme.pk,
        "forecast_category": "commit", "next_step": "Send quote",
        "contacts_0_contact": ada.pk, "contacts_0_role": "Decision maker",
    })

    assert f'<option value="{acme.pk}" selected>Acme</option>' in page.content.decode()
    with in_org(org):
        deal = Deal.objects.get()
        assert response["Location"] == f"/deals/{deal.pk}/"
        assert (deal.stage, deal.amount, deal.currency, deal.owner, deal.company) == (
            meeting, Decimal("1200.50"), "EUR", member.user, acme)
        assert deal.forecast_category == "commit"
        link = DealContact.objects.get(deal=deal)
        assert (link.contact, link.role) == (ada, "Decision maker")


def test_new_deal_form_shows_each_error_next_to_its_field(org, admin, client_for, pipeline,
                                                          in_org):
    with in_org(org):
        first = pipeline.stages.first()

    response = client_for(admin).post(reverse("sales:deal_create"), {
        "name": "Bad", "stage": first.pk, "amount": "12.345678", "currency": "ABC",
        "forecast_category": "pipeline"})

    body = response.content.decode()
    assert response.status_code == 422
    assert field_error(body, "amount") == "Use at most 4 decimal places."
    assert field_error(body, "currency") == "Use a three-letter ISO 4217 code such as EUR."


def test_editing_a_deal_someone_saved_meanwhile_answers_409(org, admin, client_for, pipeline,
                                                            in_org):
    deal = make_deal(org, admin, in_org, name="Renewal")
    with in_org(org):
        services.update_deal(org, admin.user, deal, data={"next_step": "Call"})
    client = client_for(admin)

    response = client.post(reverse("sales:deal_edit", args=[deal.pk]), {
        "version": deal.version, "name": "Renewal 2027", "currency": "EUR",
        "forecast_category": "pipeline"})

    assert response.status_code == 409
    assert "This record was changed by someone else since you opened it." in (
        response.content.decode())
    with in_org(org):
        assert Deal.objects.get(pk=deal.pk).name == "Renewal"


def test_the_deal_page_shows_facts_timeline_contacts_line_items_and_stage_history(
    org, admin, client_for, pipeline, in_org
):
    with in_org(org):
        ada = create_contact(org, admin.user, data={"first_name": "Ada", "last_name": "Byron"})
    deal = make_deal(org, admin, in_org, name="Forty laptops",
                     contacts=[{"contact": ada.pk, "role": "Champion"}],
                     line_items=[{"name": "Laptop", "quantity": "2", "unit_price": "500",
                                  "tax_percent": "20"}])
    with in_org(org):
        services.move_deal_to_stage(org, admin.user, deal, pipeline.stages.get(name="Meeting"))

    body = client_for(admin).get(reverse("sales:deal", args=[deal.pk])).content.decode()

    assert "<h1>Forty laptops</h1>" in body
    assert 'id="deal-timeline"' in body
    assert f'name="deal" value="{deal.pk}"' in body
    assert "Byron" in body
    assert "Champion" in body
    assert re.search(r'id="totals-net">1,000.00 \w{3}<', body)
    assert re.search(r'id="totals-tax">200.00 \w{3}<', body)
    assert re.search(r'id="totals-total">1,200.00 \w{3}<', body)
    assert "<strong>Qualification</strong>: 0 minutes" in body
    assert "<strong>Meeting</strong>: 0 minutes so far" in body


def test_a_note_from_the_deal_page_lands_on_the_deals_timeline(org, admin, client_for,
                                                               pipeline, in_org):
    deal = make_deal(org, admin, in_org, name="Forty laptops")
    client = client_for(admin)

    response = client.post(reverse("activities:create"), {
        "kind": "note", "deal": deal.pk, "body": "Asked for a discount."})
    body = client.get(reverse("sales:deal", args=[deal.pk])).content.decode()

    assert response["Location"] == f"/deals/{deal.pk}/"
    assert "Asked for a discount." in body
    with in_org(org):
        assert Activity.objects.get(kind="note").deal_id == deal.pk


def test_line_items_editor_adds_a_product_row_and_removes_another(org, admin, client_for,
                                                                  pipeline, in_org):
    deal = make_deal(org, admin, in_org, name="Kit", line_items=[
        {"name": "Old cable", "quantity": "1", "unit_price": "5"}])
    with in_org(org):
        dock = Product.objects.create(organization=org, sku="DK-1", name="Dock",
                                      unit_price=Decimal("80"), currency=org.base_currency)
    client = client_for(admin)

    page = client.get(reverse("sales:deal", args=[deal.pk])).content.decode()
    response = client.post(reverse("sales:deal_line_items", args=[deal.pk]), {
        "version": deal.version,
        "items_0_name": "Old cable", "items_0_quantity": "1", "items_0_unit_price": "5",
        "items_0_remove": "on",
        "items_1_product": dock.pk, "items_1_quantity": "3",
    })

    assert f'<option value="{dock.pk}">Dock (DK-1)</option>' in page
    assert response.status_code == 302
    with in_org(org):
        [item] = LineItem.objects.filter(deal=deal)
        assert (item.name, item.quantity, item.unit_price) == ("Dock", 3, Decimal("80"))
        assert Deal.objects.get(pk=deal.pk).amount == Decimal("240")


def test_a_bad_line_item_value_is_shown_in_its_row(org, admin, client_for, pipeline, in_org):
    deal = make_deal(org, admin, in_org, name="Kit")

    response = client_for(admin).post(reverse("sales:deal_line_items", args=[deal.pk]), {
        "version": deal.version, "items_0_name": "Cable", "items_0_quantity": "1",
        "items_0_unit_price": "5", "items_1_name": "Desk", "items_1_quantity": "-2",
        "items_1_unit_price": "100"})

    assert response.status_code == 422
    assert field_error(response.content.decode(), "items_1_quantity") == "Must be at least 0.001."


def test_contacts_are_added_with_a_role_and_removed(org, admin, client_for, pipeline, in_org):
    deal = make_deal(org, admin, in_org, name="Kit")
    with in_org(org):
        ada = create_contact(org, admin.user, data={"first_name": "Ada", "last_name": "Byron"})
    client = client_for(admin)

    client.post(reverse("sales:deal_contact_add", args=[deal.pk]),
                {"contact": ada.pk, "role": "Billing"})
    with in_org(org):
        added = list(DealContact.objects.filter(deal=deal).values_list("role", flat=True))
    client.post(reverse("sales:deal_contact_remove", args=[deal.pk, ada.pk]))

    assert added == ["Billing"]
    with in_org(org):
        assert not DealContact.objects.filter(deal=deal).exists()


def test_lose_from_the_deal_page_needs_a_reason(org, admin, client_for, pipeline, in_org):
    deal = make_deal(org, admin, in_org, name="Kit")
    with in_org(org):
        lost = pipeline.stages.get(name="Lost")
    client = client_for(admin)
    url = reverse("sales:deal_move", args=[deal.pk])

    without = client.post(url, {"stage": lost.pk, "version": deal.version,
                                "next": deal.get_absolute_url()})
    with_reason = client.post(url, {"stage": lost.pk, "version": deal.version,
                                    "reason": "No budget", "next": deal.get_absolute_url()})

    assert without.status_code == 422
    assert field_error(without.content.decode(), "reason") == "Say why the deal was lost."
    assert with_reason["Location"] == deal.get_absolute_url()


def test_delete_moves_the_deal_to_the_trash_and_restore_brings_it_back(
    org, admin, client_for, pipeline, in_org
):
    deal = make_deal(org, admin, in_org, name="Kit")
    client = client_for(admin)

    client.post(reverse("sales:deal_delete", args=[deal.pk]), {"version": deal.version})
    trashed = client.get(reverse("sales:deal", args=[deal.pk])).content.decode()
    board = client.get(reverse("sales:board", args=[pipeline.pk])).content.decode()
    client.post(reverse("sales:deal_restore", args=[deal.pk]))

    assert "This deal is in the trash." in trashed
    assert "Kit" not in board
    with in_org(org):
        assert Deal.objects.filter(pk=deal.pk).exists()


def test_a_read_only_member_sees_the_deal_without_actions(org, admin, make_member, client_for,
                                                          pipeline, in_org):
    deal = make_deal(org, admin, in_org, name="Kit")
    client = client_for(make_member(org, Role.READ_ONLY))

    body = client.get(reverse("sales:deal", args=[deal.pk])).content.decode()

    assert "<h1>Kit</h1>" in body
    assert reverse("sales:deal_edit", args=[deal.pk]) not in body
    assert reverse("sales:deal_move", args=[deal.pk]) not in body
    assert client.get(reverse("sales:deal_edit", args=[deal.pk])).status_code == 403
    assert client.post(reverse("sales:deal_delete", args=[deal.pk])).status_code == 403


def test_another_organizations_deal_answers_404_on_every_page(org, other_org, admin,
                                                              client_for, pipeline, in_org):
    deal = make_deal(org, admin, in_org, name="Ours")
    with in_org(other_org):
        stranger = Membership.objects.get(organization=other_org, role=Role.ADMIN)
    client = client_for(stranger)

    for name in ("sales:deal", "sales:deal_edit", "sales:deal_delete"):
        assert client.get(reverse(name, args=[deal.pk])).status_code == 404, name
    assert client.post(reverse("sales:deal_line_items", args=[deal.pk])).status_code == 404
    assert client.post(reverse("activities:create"), {
        "kind": "note", "deal": deal.pk, "body": "x"}).status_code == 404


def test_company_and_contact_pages_list_their_deals_with_a_prefilled_new_deal_link(
    org, admin, client_for, pipeline, in_org
):
    with in_org(org):
        acme = create_company(org, admin.user, data={"name": "Acme"})
        ada = create_contact(org, admin.user, data={"first_name": "Ada", "last_name": "Byron",
                                                    "company": acme.pk})
    make_deal(org, admin, in_org, name="Open one", company=acme.pk,
              contacts=[{"contact": ada.pk}])
    client = client_for(admin)

    company_page = client.get(acme.get_absolute_url()).content.decode()
    contact_page = client.get(ada.get_absolute_url()).content.decode()
    new_deal = client.get(reverse("sales:deal_create"),
                          {"contact": ada.pk, "company": acme.pk}).content.decode()

    assert "Open one" in company_page
    assert f'href="/deals/new/?company={acme.pk}"' in company_page
    assert "Open one" in contact_page
    assert f'href="/deals/new/?contact={ada.pk}&amp;company={acme.pk}"' in contact_page
    assert re.search(rf'name="contacts_0_contact"[^>]*>.*?<option value="{ada.pk}" selected>',
                     new_deal, re.S)
    assert f'<option value="{acme.pk}" selected>Acme</option>' in new_deal


def test_deal_custom_fields_are_edited_and_shown(org, admin, client_for, pipeline, in_org):
    from accord.customers.models import CustomField

    with in_org(org):
        CustomField.objects.create(organization=org, entity="deal", key="po_number",
                                   label="PO number", field_type="text")
    deal = make_deal(org, admin, in_org, name="Kit")
    client = client_for(admin)

    client.post(reverse("sales:deal_edit", args=[deal.pk]), {
        "version": deal.version, "name": "Kit", "forecast_category": "pipeline",
        "cf_po_number": "PO-7781"})
    body = client.get(reverse("sales:deal", args=[deal.pk])).content.decode()

    assert "<dt>PO number</dt><dd>PO-7781</dd>" in body
    with in_org(org):
        assert Deal.objects.get(pk=deal.pk).custom_fields == {"po_number": "PO-7781"}
