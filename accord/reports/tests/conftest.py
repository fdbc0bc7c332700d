import datetime as dt
from decimal import Decimal

import pytest
from django_scopes import scope

from accord.customers.models import Contact, CustomField
from accord.customers.services import create_contact
from accord.identity.models import Role
from accord.records import services as records
from accord.sales import services as sales_services
from accord.sales.models import Deal


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


@pytest.fixture
def seller(org, make_member):
    return make_member(org, Role.SALES, email="seller@example.com", full_name="Sam Seller")


@pytest.fixture
def pipeline_deals(org, admin, seller):
    """Five deals: three in Qualification (USD), two in Proposal (USD and EUR)."""
    with scope(organization=org):
        pipeline = sales_services.create_pipeline(org, admin.user, name="New business")
        proposal = pipeline.stages.get(name="Proposal")
        for name, amount, currency, stage, owner in [
            ("Laptops", "100.00", "USD", None, seller.user),
            ("Desks", "200.00", "USD", None, seller.user),
            ("Chairs", "300.50", "USD", None, admin.user),
            ("Servers", "1000.00", "USD", proposal, admin.user),
            ("Cables", "50.00", "EUR", proposal, None),
        ]:
            data = {"name": name, "amount": amount, "currency": currency}
            if stage is not None:
                data["stage"] = stage.pk
            deal = sales_services.create_deal(org, admin.user, data=data)
            Deal.objects.filter(pk=deal.pk).update(owner=owner)
        return pipeline


@pytest.fixture
def berlin_contacts(org, admin, seller):
    """Contacts created around the turn of January in Berlin (UTC+1 in winter).

    22:30 UTC on 31 January is still January in Berlin; 23:30 UTC is already
    1 February there, though still January in UTC.
    """
    with scope(organization=org):
        for email, created, stage, owner in [
            ("jan1@example.com", "2026-01-10T12:00:00+00:00", "lead", seller.user),
            ("jan2@example.com", "2026-01-31T22:30:00+00:00", "lead", admin.user),
            ("feb1@example.com", "2026-01-31T23:30:00+00:00", "customer", seller.user),
            ("feb2@example.com", "2026-02-14T09:00:00+00:00", "customer", seller.user),
            ("mar1@example.com", "2026-03-02T09:00:00+00:00", "lead", None),
        ]:
            contact = create_contact(org, admin.user, data={"email": email,
                                                            "lifecycle_stage": stage})
            Contact.objects.filter(pk=contact.pk).update(created_at=at(created), owner=owner)
    for membership in (admin, seller):
        membership.user.time_zone = "Europe/Berlin"
        membership.user.save(update_fields=["time_zone"])


@pytest.fixture
def secret_tier(org, berlin_contacts):
    """A choice field and a number field on contacts that sales may not see."""
    with scope(organization=org):
        for key, field_type, choices in [("tier", "choice", ["gold", "silver"]),
                                         ("credit", "number", [])]:
            CustomField.objects.create(organization=org, entity="contact", key=key,
                                       label=key.title(), field_type=field_type,
                                       choices=choices, hidden_from_roles=[Role.SALES])
        for contact in Contact.objects.all():
            gold = contact.email.startswith("jan")
            contact.custom_fields = {"tier": "gold" if gold else "silver",
                                     "credit": "10.5" if gold else "1"}
            contact.save(update_fields=["custom_fields"])


PROPERTY = {
    "key": "property", "singular": "Property", "plural": "Properties",
    "title_field": "address",
    "fields": [
        {"key": "address", "label": "Address", "type": "text", "required": True},
        {"key": "status", "label": "Status", "type": "choice",
         "choices": ["Available", "Under offer", "Sold"]},
        {"key": "price", "label": "Price", "type": "money", "currency": "EUR"},
        {"key": "deposit", "label": "Deposit", "type": "money"},
        {"key": "bedrooms", "label": "Bedrooms", "type": "number"},
        {"key": "listed_on", "label": "Listed on", "type": "date"},
        {"key": "viewed_at", "label": "First viewing", "type": "datetime"},
        {"key": "garden", "label": "Garden", "type": "boolean"},
        {"key": "town", "label": "Town", "type": "text"},
        {"key": "seller", "label": "Seller", "type": "contact"},
        {"key": "buyers", "label": "Buyers", "type": "contact", "many": True},
        {"key": "commission", "label": "Commission", "type": "money", "currency": "EUR",
         "hidden_from_roles": ["sales"]},
    ],
}


@pytest.fixture
def properties(org, admin, seller):
    """Four properties (and one in the trash, and a record of another type).

    Owners: 1 and 3 Sam Seller, 2 the admin, 4 nobody. Viewing times sit
    either side of midnight in Berlin on 31 January.
    """
    with scope(organization=org):
        property_type = records.save_type(org, admin.user, PROPERTY)
        records.save_type(org, admin.user, {"key": "office", "singular": "Office",
                                            "plural": "Offices", "fields": [
                                                {"key": "status", "type": "text"}]})
        people = {name: create_contact(org, admin.user, data={
            "first_name": name, "last_name": "Lind"}).pk for name in ("Ada", "Bo", "Ben", "Cy")}
        for owner, values in [
            (seller.user, {"address": "1 Mill Lane", "status": "Available",
                           "price": "400000.00", "deposit": {"amount": "1000", "currency": "EUR"},
                           "bedrooms": "3", "listed_on": "2026-01-15",
                           "viewed_at": "2026-01-31T23:30:00Z", "garden": True,
                           "town": "Lund", "seller": people["Ada"],
                           "buyers": [people["Ben"], people["Cy"]], "commission": "12000"}),
            (admin.user, {"address": "2 Mill Lane", "status": "Available",
                          "price": "500000.00", "deposit": {"amount": "2000", "currency": "GBP"},
                          "bedrooms": "4", "listed_on": "2026-02-03",
                          "viewed_at": "2026-01-31T22:30:00Z", "garden": False,
                          "town": "Lund", "seller": people["Ada"], "buyers": [people["Ben"]],
                          "commission": "15000"}),
            (seller.user, {"address": "3 Quay", "status": "Under offer", "price": "250000.50",
                           "deposit": {"amount": "500", "currency": "EUR"}, "bedrooms": "2",
                           "listed_on": "2026-02-20", "seller": people["Bo"]}),
            (None, {"address": "4 Quay", "status": "Sold"}),
        ]:
            records.create_record(org, admin.user, property_type,
                                  data={"values": values, "owner": owner.pk if owner else None})
        binned = records.create_record(org, admin.user, property_type, data={
            "values": {"address": "5 Bin Street", "status": "Sold", "price": "1.00"}})
        records.delete_record(org, admin.user, binned)
        records.create_record(org, admin.user, records.get_type("office"), data={
            "values": {"status": "Available"}})
    for membership in (admin, seller):
        membership.user.time_zone = "Europe/Berlin"
        membership.user.save(update_fields=["time_zone"])
    return people


__all__ = ["Decimal", "at"]
