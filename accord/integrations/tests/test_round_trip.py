"""Accord's own CSV export imports back into the same values."""

from accord.customers import services as customers
from accord.customers.models import Contact, CustomField
from accord.integrations import engine, services

COLUMNS = ["first_name", "last_name", "email", "phone", "title", "company", "lifecycle_stage",
           "tags", "city", "country", "cf.interests", "cf.customer_since", "cf.vip"]


def define_fields(org):
    CustomField.objects.create(organization=org, entity="contact", key="interests",
                               label="Interests", field_type="multi_choice",
                               choices=["Pumps", "Valves", "Service"])
    CustomField.objects.create(organization=org, entity="contact", key="customer_since",
                               label="Customer since", field_type="date")
    CustomField.objects.create(organization=org, entity="contact", key="vip", label="VIP",
                               field_type="boolean")


def snapshot(contact):
    return (contact.first_name, contact.last_name, contact.email, contact.phone,
            contact.title, contact.company.name if contact.company_id else "",
            contact.lifecycle_stage, sorted(link.tag.name for link in contact.tag_links.all()),
            contact.city, contact.country, contact.custom_fields)


def test_an_exported_contact_list_imports_into_another_organisation_unchanged(
    org, admin, other_org, make_member, client_for, in_org, tmp_path
):
    with in_org(org):
        define_fields(org)
        company = customers.create_company(org, admin.user, data={"name": "Hollow Oak Ltd"})
        customers.create_contact(org, admin.user, data={
            "first_name": "Dana", "last_name": "Kirsch", "email": "dana@hollow.example",
            "phone": "+44 20 7946 0102", "title": "-10% agreed", "company": company.pk,
            "lifecycle_stage": "customer", "tags": ["Trade fair", "Key account"],
            "city": "Leeds", "country": "GB",
            "custom_fields": {"interests": ["Pumps", "Service"],
                              "customer_since": "2020-02-01", "vip": True}})
        before = [snapshot(contact) for contact in Contact.objects.all()]
    export = client_for(admin).get("/contacts/export.csv", {"columns": COLUMNS})
    path = tmp_path / "contacts.csv"
    path.write_bytes(b"".join(export.streaming_content))
    other_admin = make_member(other_org, "admin")

    with in_org(other_org):
        define_fields(other_org)
        job = services.create_job(other_org, other_admin.user, entity="contact", path=path)
        job = engine.run_job(other_org, other_admin.user, job)
        after = [snapshot(contact) for contact in Contact.objects.all()]

    assert (job.created_count, job.failed_count) == (1, 0)
    assert set(job.options["mapping"].values()) == {
        "first_name", "last_name", "email", "phone", "title", "company", "lifecycle_stage",
        "tags", "city", "country", "cf.interests", "cf.customer_since", "cf.vip"}
    assert after == before


def test_a_full_export_keeps_every_e_mail_and_phone_through_import(
    org, admin, other_org, make_member, in_org, tmp_path
):
    from accord.integrations.exports import services as exports

    def channels(contact):
        return (sorted(email.address for email in contact.emails.all()),
                sorted(phone.raw for phone in contact.phones.all()),
                contact.emails.get(is_primary=True).address)

    with in_org(org):
        customers.create_contact(org, admin.user, data={
            "first_name": "Femke", "last_name": "Achterberg",
            "emails": [{"address": "femke.a@mail.example", "kind": "home", "is_primary": True},
                       {"address": "f.achterberg@polder.example", "kind": "work"},
                       {"address": "facturen@polder.example", "kind": "other"}],
            "phones": [{"number": "+31 6 12345678", "kind": "mobile"},
                       {"number": "+31 10 123 4567", "kind": "work"}]})
        before = [channels(contact) for contact in Contact.objects.all()]
        path = tmp_path / "contacts.csv"
        with path.open("wb") as stream:
            exports.write_export("contacts", "csv", stream)
    other_admin = make_member(other_org, "admin")

    with in_org(other_org):
        job = services.create_job(other_org, other_admin.user, entity="contact", path=path)
        job = engine.run_job(other_org, other_admin.user, job)
        after = [channels(contact) for contact in Contact.objects.all()]

    assert (job.created_count, job.failed_count) == (1, 0)
    assert after == before


def test_an_id_from_another_system_survives_export_and_import(
    org, admin, other_org, make_member, in_org, tmp_path
):
    from accord.integrations.exports import services as exports
    from accord.integrations.models import ExternalId

    with in_org(org):
        contact = customers.create_contact(org, admin.user, data={
            "first_name": "Lena", "email": "lena@example.com"})
        ExternalId.objects.create(organization=org, entity="contact", record_id=contact.pk,
                                  system="import", value="17850")
        path = tmp_path / "contacts.csv"
        with path.open("wb") as stream:
            exports.write_export("contacts", "csv", stream)
    other_admin = make_member(other_org, "admin")

    with in_org(other_org):
        job = services.create_job(other_org, other_admin.user, entity="contact", path=path)
        engine.run_job(other_org, other_admin.user, job)
        copied = Contact.objects.get()
        ids = list(ExternalId.objects.values_list("record_id", "system", "value"))

    # The export's own ID is kept too, under its own system, for its activities file.
    assert sorted(ids) == [(copied.pk, "accord", str(contact.pk)),
                           (copied.pk, "import", "17850")]
