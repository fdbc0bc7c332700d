"""The product catalogue through `/api/v1/products` and its services."""

from django_scopes import scope

from accord.audit.models import AuditEntry
from accord.commerce import services
from accord.commerce.models import Product
from accord.core.models import DomainEvent
from accord.identity.models import Role


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


def patch(client, url, body):
    return client.patch(url, body, content_type="application/json")


def make_product(org, actor, **data):
    with scope(organization=org):
        return services.create_product(org, actor, data={
            "sku": "LAP-14", "name": "Laptop 14", "unit_price": "999", **data})


def test_create_a_product_with_prices_per_currency(org, admin, api_client_for):
    response = post(api_client_for(admin), "/api/v1/products", {
        "sku": "LAP-14", "name": "Laptop 14", "category": "Hardware", "unit_price": "999.9",
        "currency": "eur", "attributes": {"colour": "grey"},
        "prices": [{"currency": "usd", "unit_price": "1099"},
                   {"currency": "JPY", "unit_price": "160000"}],
    })

    assert response.status_code == 201
    body = response.json()
    for key in ("id", "created_at", "updated_at"):
        body.pop(key)
    assert body == {
        "sku": "LAP-14", "name": "Laptop 14", "description": "", "category": "Hardware",
        "unit_price": "999.90", "currency": "EUR",
        "prices": [{"currency": "JPY", "unit_price": "160000"},
                   {"currency": "USD", "unit_price": "1099.00"}],
        "attributes": {"colour": "grey"}, "is_active": True, "version": 1,
    }
    with scope(organization=org):
        entry = AuditEntry.objects.get(entity="product", action="create")
        event = DomainEvent.objects.get(entity="product")
    assert entry.changes["prices"] == [None, ["160000 JPY", "1099 USD"]]
    assert (event.type, event.data["sku"], event.data["unit_price"]) == (
        "product.created", "LAP-14", "999.9")


def test_a_sku_is_unique_in_the_organization_only(org, other_org, admin, make_member,
                                                   api_client_for):
    make_product(org, admin.user)
    stranger = make_member(other_org, Role.ADMIN)
    make_product(other_org, stranger.user, sku="DESK-1")

    taken = post(api_client_for(admin), "/api/v1/products",
                 {"sku": "lap-14", "name": "Another laptop", "unit_price": "10"})
    theirs_too = post(api_client_for(stranger), "/api/v1/products",
                      {"sku": "LAP-14", "name": "Their laptop", "unit_price": "10"})

    assert taken.status_code == 422
    assert [(e["field"], e["message"]) for e in taken.json()["errors"]] == [
        ("sku", "Another product has this SKU.")]
    assert theirs_too.status_code == 201


def test_missing_and_bad_values_are_named_field_by_field(admin, api_client_for):
    response = post(api_client_for(admin), "/api/v1/products", {
        "name": "", "unit_price": "-1", "currency": "EURO",
        "prices": [{"currency": "USD", "unit_price": "1"}],
    })
    bad_prices = post(api_client_for(admin), "/api/v1/products", {
        "sku": "X", "name": "X", "unit_price": "1", "currency": "USD",
        "prices": [{"currency": "USD", "unit_price": "1"}, {"currency": "EUR",
                                                            "unit_price": "abc"}],
    })
    as_number = post(api_client_for(admin), "/api/v1/products",
                     {"sku": "X", "name": "X", "unit_price": 1.5})

    assert response.status_code == 422
    assert [(e["field"], e["message"]) for e in response.json()["errors"]] == [
        ("sku", "Give the product a SKU."), ("name", "Give the product a name."),
        ("unit_price", "Must be at least 0."),
        ("currency", "Use a three-letter ISO 4217 code such as EUR."),
    ]
    assert [(e["field"], e["message"]) for e in bad_prices.json()["errors"]] == [
        ("prices.0.currency", "This is the product's own currency; set unit_price."),
        ("prices.1.unit_price", "Enter a number such as 1250.50."),
    ]
    assert as_number.status_code == 422


def test_list_filters_by_words_sku_category_and_activity(org, admin, api_client_for):
    make_product(org, admin.user, category="Hardware")
    make_product(org, admin.user, sku="DESK-1", name="Standing desk", category="Furniture",
                 unit_price="450")
    make_product(org, admin.user, sku="CHR-1", name="Chair", category="Furniture",
                 is_active=False)
    client = api_client_for(admin)

    def skus(**params):
        response = client.get("/api/v1/products", params)
        assert response.status_code == 200, response.json()
        return [product["sku"] for product in response.json()["items"]]

    assert skus() == ["CHR-1", "LAP-14", "DESK-1"]
    assert skus(q="desk") == ["DESK-1"]
    assert skus(q="lap") == ["LAP-14"]
    assert skus(sku="desk-1") == ["DESK-1"]
    assert skus(category="furniture") == ["CHR-1", "DESK-1"]
    assert skus(active="false") == ["CHR-1"]
    assert skus(ordering="-unit_price", active="true") == ["LAP-14", "DESK-1"]


def test_patch_changes_prices_and_checks_the_version(org, admin, api_client_for):
    product = make_product(org, admin.user, prices=[{"currency": "EUR", "unit_price": "900"}])
    client = api_client_for(admin)
    url = f"/api/v1/products/{product.pk}"

    changed = patch(client, url, {"version": 1, "name": "Laptop 14 Pro",
                                  "prices": [{"currency": "GBP", "unit_price": "800"}]})
    stale = patch(client, url, {"version": 1, "name": "Laptop"})

    assert changed.status_code == 200
    assert (changed.json()["name"], changed.json()["version"]) == ("Laptop 14 Pro", 2)
    assert changed.json()["prices"] == [{"currency": "GBP", "unit_price": "800.00"}]
    assert stale.status_code == 409
    with scope(organization=org):
        event = DomainEvent.objects.filter(type="product.updated").get()
    assert event.data["changed"] == ["name", "prices"]


def test_delete_deactivates_the_product(org, admin, api_client_for):
    product = make_product(org, admin.user)
    client = api_client_for(admin)

    response = client.delete(f"/api/v1/products/{product.pk}")

    assert response.status_code == 204
    assert client.get(f"/api/v1/products/{product.pk}").json()["is_active"] is False
    with scope(organization=org):
        assert Product.objects.filter(pk=product.pk).exists()
        assert AuditEntry.objects.filter(entity="product", action="update").count() == 1


def test_body_fields_the_server_keeps_are_refused(org, admin, other_org, api_client_for):
    response = post(api_client_for(admin), "/api/v1/products", {
        "sku": "X", "name": "X", "unit_price": "1", "organization_id": other_org.pk,
        "id": 5, "version": 3,
    })

    assert response.status_code == 422
    assert sorted(e["field"] for e in response.json()["errors"]) == [
        "id", "organization_id", "version"]


def test_sales_members_read_the_catalogue_but_do_not_change_it(
    org, admin, member, api_client_for
):
    product = make_product(org, admin.user)
    client = api_client_for(member)

    answers = [
        client.get("/api/v1/products"), client.get(f"/api/v1/products/{product.pk}"),
        post(client, "/api/v1/products", {"sku": "X", "name": "X", "unit_price": "1"}),
        patch(client, f"/api/v1/products/{product.pk}", {"version": 1, "name": "X"}),
        client.delete(f"/api/v1/products/{product.pk}"),
    ]

    assert [answer.status_code for answer in answers] == [200, 200, 403, 403, 403]


def test_another_organizations_product_answers_404(other_org, admin, make_member,
                                                   api_client_for):
    stranger = make_member(other_org, Role.ADMIN)
    theirs = make_product(other_org, stranger.user)
    client = api_client_for(admin)
    url = f"/api/v1/products/{theirs.pk}"

    answers = [client.get(url), patch(client, url, {"version": 1, "name": "x"}),
               client.delete(url)]

    assert [answer.status_code for answer in answers] == [404] * 3
    assert client.get("/api/v1/products").json() == {"items": [], "next": None}
