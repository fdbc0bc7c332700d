"""CSV export gives choice fields as the labels people see on screen."""

import csv
import io

from django.urls import reverse

from accord.customers import services


def read_csv(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


def test_contact_export_writes_the_lifecycle_stage_label(org, admin, client_for, in_org):
    with in_org(org):
        services.create_contact(org, admin.user, data={
            "first_name": "Ann", "lifecycle_stage": "mql", "email": "ann@example.com"})
        services.create_contact(org, admin.user, data={
            "first_name": "=Ben", "lifecycle_stage": "lead"})

    response = client_for(admin).get(reverse("customers:contact_export"), {
        "columns": ["first_name", "email", "lifecycle_stage"], "ordering": "first_name",
    })

    assert read_csv(response) == [
        ["First name", "E-mail", "Lifecycle stage"],
        ["'=Ben", "", "Lead"],
        ["Ann", "ann@example.com", "Marketing-qualified lead"],
    ]


def test_contact_export_of_the_default_columns_matches_the_screen(org, admin, client_for,
                                                                  in_org):
    with in_org(org):
        services.create_contact(org, admin.user, data={"first_name": "Ann",
                                                       "lifecycle_stage": "lead"})
    client = client_for(admin)

    shown = client.get(reverse("customers:contact_list")).content.decode()
    exported = read_csv(client.get(reverse("customers:contact_export")))

    assert '<span class="badge stage-lead">Lead</span>' in shown
    assert exported[0][3] == "Lifecycle stage"
    assert exported[1][3] == "Lead"


def test_company_export_writes_the_size_label(org, admin, client_for, in_org):
    with in_org(org):
        services.create_company(org, admin.user, data={"name": "Acme", "size": "1000+",
                                                       "employees": 1200})
        services.create_company(org, admin.user, data={"name": "Bolt", "size": "1-9"})

    response = client_for(admin).get(reverse("customers:company_export"), {
        "columns": ["name", "size", "employees"], "ordering": "name",
    })

    assert read_csv(response) == [
        ["Name", "Size", "Employees"],
        ["Acme", "1,000+", "1200"],
        ["Bolt", "1–9", ""],
    ]
