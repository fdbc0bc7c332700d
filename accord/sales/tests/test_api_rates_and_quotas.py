"""Exchange rates and quotas through `/api/v1/exchange-rates` and `/api/v1/quotas`."""

from django_scopes import scope

from accord.audit.models import AuditEntry
from accord.identity.models import Role
from accord.sales.models import ExchangeRate, Quota


def put(client, url, body):
    return client.put(url, body, content_type="application/json")


def test_put_a_days_rate_then_change_it(org, admin, api_client_for):
    client = api_client_for(admin)

    first = put(client, "/api/v1/exchange-rates",
                {"currency": "eur", "valid_on": "2026-01-02", "rate": "1.0825"})
    second = put(client, "/api/v1/exchange-rates",
                 {"currency": "EUR", "valid_on": "2026-01-02", "rate": "1.09"})
    listed = client.get("/api/v1/exchange-rates", {"currency": "eur"}).json()

    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json()["id"] == first.json()["id"]
    assert {key: first.json()[key] for key in ("currency", "valid_on", "rate",
                                               "base_currency")} == {
        "currency": "EUR", "valid_on": "2026-01-02", "rate": "1.0825", "base_currency": "USD"}
    assert [(r["currency"], r["rate"]) for r in listed["items"]] == [("EUR", "1.09")]
    with scope(organization=org):
        assert ExchangeRate.objects.count() == 1
        assert list(AuditEntry.objects.filter(entity="exchangerate").order_by("id")
                    .values_list("action", flat=True)) == ["create", "update"]


def test_rates_list_by_day_and_page_by_cursor(org, admin, api_client_for):
    client = api_client_for(admin)
    for day, rate in (("2026-01-01", "1.08"), ("2026-01-02", "1.09"), ("2026-01-03", "1.1")):
        put(client, "/api/v1/exchange-rates", {"currency": "EUR", "valid_on": day, "rate": rate})

    first = client.get("/api/v1/exchange-rates", {"limit": 2}).json()
    rest = client.get("/api/v1/exchange-rates", {"limit": 2, "cursor": first["next"]}).json()
    window = client.get("/api/v1/exchange-rates", {"valid_from": "2026-01-02",
                                                   "valid_to": "2026-01-02"}).json()

    assert [r["valid_on"] for r in first["items"] + rest["items"]] == [
        "2026-01-03", "2026-01-02", "2026-01-01"]
    assert [r["rate"] for r in window["items"]] == ["1.09"]


def test_a_bad_rate_names_each_field(admin, api_client_for):
    response = put(api_client_for(admin), "/api/v1/exchange-rates",
                   {"currency": "USD", "valid_on": "2026-01-02", "rate": "-1"})

    assert response.status_code == 422
    assert [(e["field"], e["message"]) for e in response.json()["errors"]] == [
        ("currency", "The base currency needs no rate."),
        ("rate", "Must be at least 1E-10."),
    ]


def test_put_a_quota_then_replace_it(org, admin, member, api_client_for):
    client = api_client_for(admin)
    body = {"user_id": member.user_id, "period": "quarter", "starts_on": "2026-04-01",
            "amount": "50000"}

    first = put(client, "/api/v1/quotas", body)
    second = put(client, "/api/v1/quotas", {**body, "amount": "60000.50"})
    listed = client.get("/api/v1/quotas", {"user_id": member.user_id,
                                           "period": "quarter"}).json()

    assert first.status_code == 200
    assert (first.json()["amount"], first.json()["currency"], first.json()["version"]) == (
        "50000.00", "USD", 1)
    assert (second.json()["amount"], second.json()["version"]) == ("60000.50", 2)
    assert [(q["starts_on"], q["amount"]) for q in listed["items"]] == [
        ("2026-04-01", "60000.50")]
    with scope(organization=org):
        assert Quota.objects.count() == 1


def test_a_quota_for_someone_outside_the_organization_answers_422(
    other_org, admin, make_member, api_client_for
):
    stranger = make_member(other_org, Role.SALES)

    response = put(api_client_for(admin), "/api/v1/quotas", {
        "user_id": stranger.user_id, "period": "month", "starts_on": "2026-04-02",
        "amount": "100"})

    assert response.status_code == 422
    assert [(e["field"], e["message"]) for e in response.json()["errors"]] == [
        ("user_id", "Choose a member of this organisation."),
        ("starts_on", "A period starts on the first day of a month or quarter."),
    ]


def test_sales_members_read_rates_and_quotas_but_set_neither(org, member, api_client_for):
    client = api_client_for(member)

    answers = [
        client.get("/api/v1/exchange-rates"), client.get("/api/v1/quotas"),
        put(client, "/api/v1/exchange-rates",
            {"currency": "EUR", "valid_on": "2026-01-02", "rate": "1.1"}),
        put(client, "/api/v1/quotas", {"user_id": member.user_id, "period": "month",
                                       "starts_on": "2026-04-01", "amount": "1"}),
    ]

    assert [answer.status_code for answer in answers] == [200, 200, 403, 403]


def test_rates_and_quotas_of_another_organization_stay_out_of_sight(
    org, other_org, admin, make_member, api_client_for
):
    stranger = make_member(other_org, Role.ADMIN)
    theirs = api_client_for(stranger)
    put(theirs, "/api/v1/exchange-rates",
        {"currency": "EUR", "valid_on": "2026-01-02", "rate": "1.1"})
    put(theirs, "/api/v1/quotas", {"user_id": stranger.user_id, "period": "month",
                                   "starts_on": "2026-04-01", "amount": "1"})
    client = api_client_for(admin)

    assert client.get("/api/v1/exchange-rates").json() == {"items": [], "next": None}
    assert client.get("/api/v1/quotas").json() == {"items": [], "next": None}
