import pytest

from accord.customers import services
from accord.customers.services import create_custom_field
from accord.identity.models import Role


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


def patch(client, url, body):
    return client.patch(url, body, content_type="application/json")


def make_company(org, actor, in_org, **data):
    with in_org(org):
        return services.create_company(org, actor, data=data)


@pytest.fixture
def contract_field(org, admin, in_org):
    with in_org(org):
        return create_custom_field(org, admin.user, data={
            "entity": "company", "key": "contract_value", "label": "Contract value",
            "field_type": "money", "currency": "EUR",
        })


def test_create_company_keeps_money_as_a_decimal_string_with_its_currency(
    org, admin, contract_field, in_org, api_client_for
):
    parent = make_company(org, admin.user, in_org, name="Acme Holdings")

    response = post(api_client_for(admin), "/api/v1/companies", {
        "name": "Acme", "website": "https://www.acme.example/about", "industry": "Software",
        "size": "50-249", "employees": 120, "annual_revenue": "1250000.5",
        "currency": "eur", "phone": "+49 30 901820", "description": "Makes everything.",
        "parent_id": parent.pk, "owner_id": admin.user_id, "city": "Berlin", "country": "DE",
        "tags": ["partner"], "custom_fields": {"contract_value": "9000"},
    })

    assert response.status_code == 201
    body = response.json()
    for key in ("id", "created_at", "updated_at"):
        body.pop(key)
    assert body == {
        "name": "Acme", "domain": "acme.example", "website": "https://www.acme.example/about",
        "industry": "Software", "size": "50-249", "employees": 120,
        "annual_revenue": "1250000.50", "currency": "EUR", "phone": "+4930901820",
        "description": "Makes everything.", "parent_id": parent.pk,
        "owner_id": admin.user_id, "source": "", "street": "", "city": "Berlin",
        "region": "", "postal_code": "", "country": "DE", "tags": ["partner"],
        "custom_fields": {"contract_value": {"amount": "9000.00", "currency": "EUR"}},
        "version": 1,
        "possible_duplicates": [],
    }


def test_revenue_sent_as_a_number_answers_422(admin, api_client_for):
    response = post(api_client_for(admin), "/api/v1/companies",
                    {"name": "Acme", "annual_revenue": 1250000.5})

    assert response.status_code == 422
    assert response.json()["errors"] == [{
        "field": "annual_revenue", "code": "value_error",
        "message": 'Send the amount as a decimal string, such as "1250.00".',
    }]


def test_revenue_without_currency_takes_the_organization_base_currency(admin, api_client_for):
    response = post(api_client_for(admin), "/api/v1/companies",
                    {"name": "Acme", "annual_revenue": "10"})

    assert (response.json()["annual_revenue"], response.json()["currency"]) == ("10.00", "USD")


def test_company_without_a_name_answers_422(admin, api_client_for):
    response = post(api_client_for(admin), "/api/v1/companies", {"industry": "Retail"})

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "name", "code": "required", "message": "Give the company a name."}
    ]


def test_company_list_filters_searches_and_orders(org, admin, in_org, api_client_for):
    make_company(org, admin.user, in_org, name="Globex", industry="Energy", employees=900,
                 tags=["partner"])
    make_company(org, admin.user, in_org, name="Initech", industry="Software", employees=50)
    make_company(org, admin.user, in_org, name="Hooli", industry="Software", employees=5000,
                 tags=["partner"])
    client = api_client_for(admin)

    def names(query: str) -> list[str]:
        response = client.get("/api/v1/companies?" + query)
        assert response.status_code == 200, response.content
        return [c["name"] for c in response.json()["items"]]

    assert names("") == ["Globex", "Hooli", "Initech"]
    assert names("industry=software&ordering=-employees") == ["Hooli", "Initech"]
    assert names("tag=partner") == ["Globex", "Hooli"]
    assert names("q=hoo") == ["Hooli"]


def test_patch_company_with_a_stale_version_answers_409_and_changes_nothing(
    org, admin, in_org, api_client_for
):
    company = make_company(org, admin.user, in_org, name="Acme")
    client = api_client_for(admin)
    patch(client, f"/api/v1/companies/{company.pk}", {"version": 1, "industry": "Retail"})

    stale = patch(client, f"/api/v1/companies/{company.pk}", {"version": 1, "name": "Other"})

    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2
    current = client.get(f"/api/v1/companies/{company.pk}").json()
    assert (current["name"], current["industry"], current["version"]) == ("Acme", "Retail", 2)


def test_parent_of_another_organization_answers_422_naming_parent_id(
    org, other_org, admin, in_org, api_client_for
):
    company = make_company(org, admin.user, in_org, name="Acme")
    foreign = make_company(other_org, None, in_org, name="Contoso")

    response = patch(api_client_for(admin), f"/api/v1/companies/{company.pk}",
                     {"version": 1, "parent_id": foreign.pk})

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "parent_id", "code": "invalid", "message": "Choose an existing company."}
    ]


def test_company_of_another_organization_answers_404_on_every_route(
    org, other_org, admin, in_org, api_client_for
):
    foreign = make_company(other_org, None, in_org, name="Contoso")
    client = api_client_for(admin)
    url = f"/api/v1/companies/{foreign.pk}"

    answers = [client.get(url), patch(client, url, {"version": 1, "name": "x"}),
               client.delete(url), client.get(url + "/history"), client.post(url + "/restore")]

    assert [answer.status_code for answer in answers] == [404] * 5
    assert answers[0].json()["detail"] == "No company with this id."


def test_delete_and_restore_a_company(org, admin, make_member, in_org, api_client_for):
    company = make_company(org, admin.user, in_org, name="Acme")
    client = api_client_for(admin)
    url = f"/api/v1/companies/{company.pk}"

    support_delete = api_client_for(make_member(org, Role.SUPPORT)).delete(url)
    deleted = client.delete(url)
    listed = client.get("/api/v1/companies").json()["items"]
    restored = client.post(url + "/restore")

    assert support_delete.status_code == 403
    assert deleted.status_code == 204
    assert listed == []
    assert (restored.status_code, restored.json()["version"]) == (200, 2)


def test_company_history_shows_each_changed_field(org, admin, in_org, api_client_for):
    company = make_company(org, admin.user, in_org, name="Acme")
    client = api_client_for(admin)
    patch(client, f"/api/v1/companies/{company.pk}",
          {"version": 1, "annual_revenue": "99.5", "currency": "GBP"})

    history = client.get(f"/api/v1/companies/{company.pk}/history").json()["items"]

    assert history[0]["action"] == "update"
    assert history[0]["changes"] == [
        {"field": "annual_revenue", "old": None, "new": "99.5"},
        {"field": "currency", "old": "", "new": "GBP"},
    ]


def test_tags_and_custom_field_definitions_are_listed(
    org, admin, member, contract_field, in_org, api_client_for
):
    make_company(org, admin.user, in_org, name="Acme", tags=["partner", "Beta"])
    client = api_client_for(member)

    tags = client.get("/api/v1/tags")
    searched = client.get("/api/v1/tags", {"q": "PART"})
    fields = client.get("/api/v1/custom-fields", {"entity": "company"})
    contact_fields = client.get("/api/v1/custom-fields", {"entity": "contact"})
    one = client.get(f"/api/v1/custom-fields/{contract_field.pk}")

    assert [(t["name"], t["color"]) for t in tags.json()["items"]] == [
        ("Beta", "#64748b"), ("partner", "#64748b")
    ]
    assert [t["name"] for t in searched.json()["items"]] == ["partner"]
    assert contact_fields.json() == {"items": [], "next": None}
    assert fields.json()["items"] == [one.json()]
    assert one.json() | {"created_at": None, "updated_at": None} == {
        "id": contract_field.pk, "entity": "company", "key": "contract_value",
        "label": "Contract value", "field_type": "money", "choices": [], "currency": "EUR",
        "required": False, "help_text": "", "position": 1, "is_active": True,
        "hidden_from_roles": [], "encrypted": False,
        "created_at": None, "updated_at": None, "version": 1,
    }


def test_custom_field_of_another_organization_answers_404(
    other_org, admin, make_member, in_org, api_client_for
):
    with in_org(other_org):
        foreign_admin = make_member(other_org, Role.ADMIN)
        field = create_custom_field(other_org, foreign_admin.user, data={
            "entity": "contact", "key": "secret", "label": "Secret", "field_type": "text",
        })

    response = api_client_for(admin).get(f"/api/v1/custom-fields/{field.pk}")

    assert response.status_code == 404
