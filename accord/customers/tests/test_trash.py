"""The trash page: deleted records listed, restorable, and purged after retention."""

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from accord.customers import services
from accord.customers.models import Company, Contact
from accord.identity.models import Membership, Role

TRASH = reverse("customers:trash")


def trashed_contact(org, admin, in_org, **data):
    with in_org(org):
        contact = services.create_contact(org, admin.user, data=data)
        services.delete_contact(org, admin.user, contact)
        return Contact.with_deleted.get(pk=contact.pk)


def test_trash_lists_deleted_contacts_with_their_purge_date(org, admin, client_for, in_org):
    ada = trashed_contact(org, admin, in_org, first_name="Ada", email="ada@example.com")
    with in_org(org):
        services.create_contact(org, admin.user, data={"first_name": "Alive"})
    purge_on = timezone.localtime(ada.deleted_at + dt.timedelta(days=30)).date()

    body = client_for(admin).get(TRASH).content.decode()

    assert "stay here for 30 days and can be restored; after that they are deleted for good" in (
        body)
    assert "<td>Ada</td>" in body
    assert "Alive" not in body
    assert f"<td>{purge_on:%m/%d/%Y}</td>" in body
    assert f'action="/trash/contacts/{ada.pk}/restore/"' in body


def test_trash_lists_deleted_companies_on_their_tab(org, admin, client_for, in_org):
    with in_org(org):
        acme = services.create_company(org, admin.user, data={"name": "Acme"})
        services.delete_company(org, admin.user, acme)

    body = client_for(admin).get(TRASH, {"type": "companies"}).content.decode()

    assert "<td>Acme</td>" in body
    assert f'action="/trash/companies/{acme.pk}/restore/"' in body


def test_restore_brings_a_contact_back(org, admin, client_for, in_org):
    ada = trashed_contact(org, admin, in_org, first_name="Ada")
    client = client_for(admin)

    response = client.post(reverse("customers:contact_restore", args=[ada.pk]))

    assert response["Location"] == f"/contacts/{ada.pk}/"
    assert client.get(response["Location"]).status_code == 200
    with in_org(org):
        assert Contact.objects.filter(pk=ada.pk).exists()


def test_restore_brings_a_company_back(org, admin, client_for, in_org):
    with in_org(org):
        acme = services.create_company(org, admin.user, data={"name": "Acme"})
        services.delete_company(org, admin.user, acme)

    client_for(admin).post(reverse("customers:company_restore", args=[acme.pk]))

    with in_org(org):
        assert Company.objects.filter(pk=acme.pk).exists()


def test_empty_trash_says_so(org, admin, client_for):
    assert "The trash is empty." in client_for(admin).get(TRASH).content.decode()


def test_trash_is_for_roles_that_may_see_it(org, admin, make_member, client_for, in_org):
    ada = trashed_contact(org, admin, in_org, first_name="Ada")
    seller = client_for(make_member(org, Role.SALES))

    assert seller.get(TRASH).status_code == 403
    assert seller.post(reverse("customers:contact_restore", args=[ada.pk])).status_code == 403


def test_manager_sees_the_trash_and_restores(org, admin, make_member, client_for, in_org):
    ada = trashed_contact(org, admin, in_org, first_name="Ada")
    manager = client_for(make_member(org, Role.MANAGER))

    assert manager.get(TRASH).status_code == 200
    assert manager.post(reverse("customers:contact_restore", args=[ada.pk])).status_code == 302


def test_trash_of_another_organisation_is_not_shown(org, other_org, admin, client_for,
                                                    in_org):
    outsider = Membership.unscoped.get(organization=other_org)
    trashed_contact(other_org, outsider, in_org, first_name="Them")

    assert "Them" not in client_for(admin).get(TRASH).content.decode()
