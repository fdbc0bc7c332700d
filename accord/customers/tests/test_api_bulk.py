"""Many contacts and companies in one API call: each written or refused on its own."""

from django_scopes import scope

from accord.customers import services
from accord.customers.models import Company, Contact
from accord.identity.models import Role


def bulk(client, path, items):
    return client.post(path, {"items": items}, content_type="application/json")


def test_each_record_is_created_changed_or_refused_with_its_reason(org, admin, other_org,
                                                                   api_client_for):
    with scope(organization=org):
        kept = services.create_contact(org, admin.user, data={"first_name": "Kim"})
        stale = services.create_contact(org, admin.user, data={"first_name": "Lu"})
        services.update_contact(org, admin.user, stale, data={"title": "CFO"})
    with scope(organization=other_org):
        foreign = services.create_contact(other_org, admin.user, data={"first_name": "X"})

    answer = bulk(api_client_for(admin), "/api/v1/contacts/bulk", [
        {"first_name": "Ada", "email": "ada@example.com"},
        {"first_name": "Bo", "email": "not-an-address"},
        {"id": kept.pk, "version": kept.version, "title": "Buyer"},
        {"id": stale.pk, "version": 1, "title": "CEO"},
        {"id": foreign.pk, "version": 1, "title": "Spy"},
        {"first_name": "Cy", "organization_id": other_org.pk},
    ])

    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["created"], body["changed"], body["failed"]) == (1, 1, 4)
    assert [item["status"] for item in body["items"]] == [201, 422, 200, 409, 404, 422]
    assert body["items"][1]["errors"][0]["field"] == "email"
    assert body["items"][5]["errors"][0]["field"] == "organization_id"
    with scope(organization=org):
        assert Contact.objects.get(pk=body["items"][0]["id"]).email == "ada@example.com"
        assert Contact.objects.get(pk=kept.pk).title == "Buyer"
        assert body["items"][2]["version"] == Contact.objects.get(pk=kept.pk).version
        assert Contact.objects.get(pk=stale.pk).title == "CFO"
        assert not Contact.objects.filter(first_name__in=["Bo", "Cy"]).exists()
    with scope(organization=other_org):
        assert Contact.objects.get(pk=foreign.pk).title == ""


def test_companies_too_and_the_limits_hold(org, admin, make_member, api_client_for):
    client = api_client_for(admin)

    made = bulk(client, "/api/v1/companies/bulk", [{"name": f"Firm {n}"} for n in range(3)])
    too_many = bulk(client, "/api/v1/companies/bulk", [{"name": "x"}] * 1001)
    empty = bulk(client, "/api/v1/companies/bulk", [])
    reader = api_client_for(make_member(org, Role.READ_ONLY))
    refused = bulk(reader, "/api/v1/contacts/bulk", [{"first_name": "Nope"}])

    assert made.json()["created"] == 3
    with scope(organization=org):
        assert Company.objects.count() == 3
    assert too_many.status_code == 422
    assert too_many.json()["errors"][0]["field"] == "items"
    assert empty.status_code == 422
    assert refused.status_code == 403


def test_an_item_that_is_not_an_object_is_refused_alone(org, admin, api_client_for):
    answer = bulk(api_client_for(admin), "/api/v1/contacts/bulk", [
        {"first_name": "Ada"}, "Grace", 7, {"first_name": "Edsger"}])

    body = answer.json()
    assert answer.status_code == 200, answer.content
    assert [item["status"] for item in body["items"]] == [201, 422, 422, 201]
    assert body["items"][1]["errors"][0]["message"] == "Give the record as an object."
    with scope(organization=org):
        assert sorted(Contact.objects.values_list("first_name", flat=True)) == ["Ada", "Edsger"]
