"""A record page's timeline shows a member only the entries they may see: an entry that
also hangs on a record hidden from them (a note on a colleague's contact at a company
they see, a ticket or order of that contact, a colleague's deal) is left out, on the
page, in the timeline fragment and its older pages, as the activities API leaves it out.
"""

from types import SimpleNamespace

import pytest
from django_scopes import scope

from accord.activities import services
from accord.activities.models import Activity
from accord.commerce import orders
from accord.customers import services as customers
from accord.identity import visibility
from accord.identity.models import Role
from accord.sales import services as sales
from accord.service import services as service

SECRETS = ("Hugo Hiddencanary", "Private salary talk", "Ticket #", "HC-32",
           "Outsider laptops")


@pytest.fixture
def company_world(org, admin, make_member):
    """Milan's company Acme with his own contact Mira, the outsider's contact Hugo there
    with a note, a ticket and an order, the outsider's deal at Acme, and a contact Milan
    created for the outsider; then sales members see only their own records."""
    milan = make_member(org, Role.SALES, full_name="Milan Member")
    outsider = make_member(org, Role.SALES, full_name="Olga Outsider")
    with scope(organization=org):
        org.base_currency = "EUR"
        org.save(update_fields=["base_currency"])
        acme = customers.create_company(org, milan.user, data={"name": "Acme"})
        mira = customers.create_contact(org, milan.user, data={
            "first_name": "Mira", "last_name": "Mine", "company": acme.pk})
        hugo = customers.create_contact(org, outsider.user, data={
            "first_name": "Hugo", "last_name": "Hiddencanary", "company": acme.pk})
        customers.create_contact(org, milan.user, data={
            "first_name": "Handed", "last_name": "On", "company": acme.pk,
            "owner": outsider.user.pk})
        services.log_activity(org, outsider.user, data={
            "kind": "note", "body": "Private salary talk", "contact": hugo, "company": acme})
        services.log_activity(org, milan.user, data={
            "kind": "note", "body": "Mira likes the offer", "contact": mira, "company": acme})
        service.create_ticket(org, outsider.user, data={
            "subject": "Refund please", "contact": hugo.pk})
        orders.create_order(org, outsider.user, data={
            "number": "HC-32", "contact": hugo.pk, "currency": "EUR",
            "lines": [{"sku": "X", "quantity": "1", "unit_price": "999"}]})
        sales.create_pipeline(org, admin.user, name="New business")
        deal = sales.create_deal(org, outsider.user, data={
            "name": "Outsider laptops", "company": acme.pk})
        visibility.update_visibility(org, admin.user, roles={Role.SALES: {
            "contacts": "own", "companies": "own", "deals": "own"}})
    return SimpleNamespace(milan=milan, admin=admin, acme=acme, mira=mira, hugo=hugo,
                           deal=deal)


def test_a_company_timeline_leaves_out_entries_on_records_hidden_from_the_member(
        company_world, client_for):
    acme = company_world.acme
    browser = client_for(company_world.milan)

    page = browser.get(f"/companies/{acme.pk}/").content.decode()
    fragment = browser.get(f"/activities/timeline/company/{acme.pk}/").content.decode()
    admins = client_for(company_world.admin).get(f"/companies/{acme.pk}/").content.decode()

    for text in (page, fragment):
        assert "Mira likes the offer" in text
        assert [secret for secret in SECRETS if secret in text] == []
        assert f'href="/contacts/{company_world.hugo.pk}/"' not in text
        assert text.count("Contact created") == 1  # Mira's alone: no count of hidden ones
    assert [secret for secret in SECRETS if secret not in admins] == []
    assert admins.count("Contact created") == 3


def test_older_pages_of_the_timeline_hold_no_hidden_entries_either(
        company_world, org, client_for):
    acme, hugo = company_world.acme, company_world.hugo
    with scope(organization=org):
        for number in range(25):
            services.log_activity(org, company_world.admin.user, data={
                "kind": "note", "body": f"Hidden note {number}", "contact": hugo,
                "company": acme})
        hidden = Activity.objects.filter(contact=hugo).count()
    browser = client_for(company_world.milan)
    url = f"/activities/timeline/company/{acme.pk}/"

    first = browser.get(url).content.decode()
    admins = client_for(company_world.admin).get(url).content.decode()

    assert "Hidden note" not in first
    assert "?cursor=" not in first  # Milan's few entries fit on one page
    assert "Hidden note" in admins
    assert "?cursor=" in admins
    assert hidden > 25


def test_the_contact_and_deal_timelines_leave_out_entries_on_hidden_records(
        company_world, org, admin, client_for):
    milan, mira = company_world.milan, company_world.mira
    with scope(organization=org):
        own_deal = sales.create_deal(org, milan.user, data={
            "name": "Mira's chairs", "company": company_world.acme.pk})
        services.log_activity(org, admin.user, data={
            "kind": "call", "subject": "Pricing for Outsider laptops", "contact": mira,
            "deal": company_world.deal})
        services.log_activity(org, admin.user, data={
            "kind": "note", "body": "Hugo will sign the chairs", "deal": own_deal,
            "contact": company_world.hugo})
    browser = client_for(milan)

    contact_page = browser.get(f"/contacts/{mira.pk}/").content.decode()
    deal_page = browser.get(f"/deals/{own_deal.pk}/").content.decode()
    admins = client_for(admin)

    assert "Pricing for Outsider laptops" not in contact_page
    assert "Hugo will sign the chairs" not in deal_page
    assert "Pricing for Outsider laptops" in admins.get(f"/contacts/{mira.pk}/").content.decode()
    assert "Hugo will sign the chairs" in admins.get(f"/deals/{own_deal.pk}/").content.decode()
