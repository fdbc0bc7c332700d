import datetime as dt

import pytest
from django_scopes import scope

from accord.activities import services as activity_services
from accord.commerce import orders
from accord.customers import services as customer_services
from accord.service import services as service_services

NAME = ("Zelda", "Quixotic")
EMAIL = "zelda.quixotic@private.example"
PHONE = "+44 20 7946 0001"
OTHER_EMAIL = "otto.other@elsewhere.example"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def person(org, admin):
    """A contact with a timeline, a ticket, an order and a consent, and another contact."""
    user = admin.user
    with scope(organization=org):
        contact = customer_services.create_contact(org, user, data={
            "first_name": NAME[0], "last_name": NAME[1], "email": EMAIL, "phone": PHONE,
            "tags": ["vip"], "city": "Lisbon"})
        customer_services.record_consent(org, user, contact, channel="email",
                                         purpose="newsletter", status="granted",
                                         method="verbal")
        activity_services.log_activity(org, user, data={
            "kind": "note", "body": f"Called {NAME[0]}; write to {EMAIL}.", "contact": contact})
        service_services.create_ticket(org, user, data={
            "subject": "Broken kettle", "contact": contact.pk},
            body=f"My kettle broke. Reach me on {PHONE}.")
        orders.create_order(org, user, data={
            "number": "A-1", "contact": contact.pk, "currency": "EUR",
            "placed_at": dt.datetime(2025, 2, 1, 9, tzinfo=dt.UTC),
            "lines": [{"sku": "K", "quantity": "2", "unit_price": "24.50"}]})
        other = customer_services.create_contact(org, user, data={
            "first_name": "Otto", "last_name": "Other", "email": OTHER_EMAIL})
        activity_services.log_activity(org, user, data={
            "kind": "note", "body": "Otto's own note.", "contact": other})
    return contact, other
