"""What an import writes in bulk reads back as the single-record services write it.

Contacts go in by a path of their own on each database (on PostgreSQL their ids
come from the table's sequence and the rows go in by COPY), so these checks run
on both: every contact gets the values of its own row, its JSON columns hold
objects, and search finds it.
"""

import io
import json

import pytest
from django.core.management import call_command

from accord import search
from accord.activities.models import Activity
from accord.audit.models import AuditEntry
from accord.core.models import SearchEntry
from accord.customers import services as customers
from accord.customers.models import Contact, ContactEmail, ContactPhone

PEOPLE = [("Ada", "Lovelace", "ada@example.org", "+44 20 7946 0958"),
          ("Jörg", "Weiß", "jorg@example.de", "+49 30 901820"),
          ("Siobhán", "O'Rourke", "siobhan@example.ie", "+353 1 234 5678")]


def import_people(tmp_path, org, rows) -> dict:
    path = tmp_path / "people.csv"
    lines = ["First name,Last name,Email,Phone,Company"]
    lines += [f"{first},{last},{address},{phone},Acme" for first, last, address, phone in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = io.StringIO()
    call_command("import", str(path), org=org.slug, entity="contact", stdout=out,
                 stderr=io.StringIO())
    return json.loads(out.getvalue().splitlines()[-1])


@pytest.mark.django_db
def test_each_imported_contact_holds_its_own_rows_values(tmp_path, org, in_org):
    # A contact made before the import, so the new ids do not start at 1.
    with in_org(org):
        customers.create_contact(org, None, data={"first_name": "Earlier"})
    assert import_people(tmp_path, org, PEOPLE)["created"] == 3

    with in_org(org):
        for first, last, address, _phone in PEOPLE:
            contact = Contact.objects.get(first_name=first)
            assert contact.last_name == last
            assert contact.email == address
            assert list(ContactEmail.objects.filter(contact=contact)
                        .values_list("address", flat=True)) == [address]
            assert ContactPhone.objects.filter(contact=contact).count() == 1
            assert contact.company.name == "Acme"
            assert contact.custom_fields == {}
            event = Activity.objects.get(contact=contact, event="contact.created")
            assert event.data == {}
            entry = AuditEntry.objects.get(entity="contact", object_id=contact.pk)
            assert entry.changes["first_name"] == [None, first]
            assert search.search(Contact.objects.all(), last).get() == contact


@pytest.mark.django_db
def test_contacts_made_after_an_import_take_ids_the_import_did_not(tmp_path, org, in_org):
    import_people(tmp_path, org, PEOPLE)
    with in_org(org):
        later = customers.create_contact(org, None, data={"first_name": "Later"})
        imported = set(Contact.objects.exclude(pk=later.pk).values_list("pk", flat=True))
    assert later.pk > max(imported)


@pytest.mark.django_db
def test_reindexing_imported_contacts_replaces_their_entries(tmp_path, org, in_org):
    import_people(tmp_path, org, PEOPLE)
    with in_org(org):
        ada = Contact.objects.get(first_name="Ada")
        Contact.objects.filter(pk=ada.pk).update(last_name="Byron")
        search.reindex(Contact, [ada.pk])
        assert SearchEntry.objects.filter(entity="contacts", record_id=ada.pk).count() == 1
        assert search.search(Contact.objects.all(), "Byron").get() == ada
        assert not search.search(Contact.objects.all(), "Lovelace").exists()
