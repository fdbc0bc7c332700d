import datetime as dt
from decimal import Decimal

import pytest
from django_scopes import scope

from accord.customers.models import Contact, CustomField
from accord.customers.services import create_contact
from accord.identity.models import Role
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


__all__ = ["Decimal", "at"]
