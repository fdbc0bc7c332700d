"""Amounts read with two decimals and their currency, kept together on one line."""

import re

from django.urls import reverse

from accord.customers import services


def stylesheet(client) -> str:
    response = client.get("/static/accord/accord.css")
    assert response.status_code == 200
    return b"".join(response.streaming_content).decode()


def test_company_page_keeps_the_revenue_and_its_currency_together(org, admin, client_for,
                                                                  in_org):
    with in_org(org):
        acme = services.create_company(org, admin.user, data={
            "name": "Acme", "annual_revenue": "1669800", "currency": "USD"})
    client = client_for(admin)

    body = client.get(acme.get_absolute_url()).content.decode()

    assert ('<dt>Annual revenue</dt><dd><span class="amount">1,669,800.00 USD</span></dd>'
            in body)
    assert ".amount { white-space: nowrap; font-variant-numeric: tabular-nums; }" in (
        stylesheet(client))


def test_company_list_shows_the_revenue_with_two_decimals_and_currency(org, admin,
                                                                       client_for, in_org):
    with in_org(org):
        services.create_company(org, admin.user, data={
            "name": "Acme", "annual_revenue": "1669800.5", "currency": "GBP"})

    body = client_for(admin).get(reverse("customers:company_list"), {
        "columns": ["name", "annual_revenue"]}).content.decode()

    assert re.findall(r'<td class="num">(.*?)</td>', body) == ["1,669,800.50 GBP"]
