"""An admin changes the organisation's name, base currency, time zone and tax rounding."""

from django_scopes import scope

from accord.audit.models import AuditEntry
from accord.identity.models import Organization, Role
from accord.sales.services import set_exchange_rate

PAGE = "/settings/organization/"
FORM = {"name": "Northwind Traders", "base_currency": "EUR", "time_zone": "Europe/Berlin",
        "tax_rounding": "document"}


def test_admin_saves_the_settings_and_the_change_is_audited(org, admin, client_for):
    client = client_for(admin)
    assert "Base currency" in client.get(PAGE).content.decode()
    assert client.post(PAGE, FORM).status_code == 302
    org.refresh_from_db()
    assert (org.name, org.base_currency, org.time_zone, org.tax_rounding) == (
        "Northwind Traders", "EUR", "Europe/Berlin", "document")
    entry = AuditEntry.unscoped.get(entity="organization", action="update")
    assert entry.changes["base_currency"] == ["USD", "EUR"]


def test_bad_values_are_named_beside_their_fields(org, admin, client_for):
    answer = client_for(admin).post(PAGE, {**FORM, "base_currency": "EURO"})
    assert answer.status_code == 422
    assert "Ensure this value has at most 3 characters" in answer.content.decode()
    answer = client_for(admin).post(PAGE, {**FORM, "base_currency": "ABC"})
    assert "Use a three-letter ISO 4217 code such as EUR." in answer.content.decode()
    org.refresh_from_db()
    assert org.base_currency == "USD"


def test_the_base_currency_stays_while_rates_are_quoted_in_it(org, admin, api_client_for):
    with scope(organization=org):
        set_exchange_rate(org, admin.user, currency="EUR", valid_on="2026-01-01", rate="1.1")
    answer = api_client_for(admin).patch("/api/v1/organization", {"base_currency": "GBP"},
                                         content_type="application/json")
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "base_currency"
    assert Organization.objects.get(pk=org.pk).base_currency == "USD"


def test_api_reads_for_members_and_writes_for_admins(org, admin, make_member, api_client_for):
    seller = api_client_for(make_member(org, Role.SALES))
    assert seller.get("/api/v1/organization").json()["tax_rounding"] == "line"
    refused = seller.patch("/api/v1/organization", {"time_zone": "Europe/Paris"},
                           content_type="application/json")
    assert refused.status_code == 403
    changed = api_client_for(admin).patch("/api/v1/organization",
                                          {"time_zone": "Europe/Paris", "id": 99},
                                          content_type="application/json")
    assert changed.status_code == 422  # unknown fields such as id are refused, not ignored
    changed = api_client_for(admin).patch("/api/v1/organization", {"time_zone": "Europe/Paris"},
                                          content_type="application/json")
    assert changed.json()["time_zone"] == "Europe/Paris"


def test_other_roles_cannot_open_the_page(org, make_member, client_for):
    assert client_for(make_member(org, Role.MANAGER)).get(PAGE).status_code == 403


def test_the_base_currency_stays_while_quotas_are_set_in_it(org, admin, api_client_for):
    from accord.sales.services import set_quota

    with scope(organization=org):
        set_quota(org, admin.user, user=admin.user.pk, period="month", starts_on="2026-12-01",
                  amount="1000")
    answer = api_client_for(admin).patch("/api/v1/organization", {"base_currency": "EUR"},
                                         content_type="application/json")
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["message"].startswith("Quotas are set in the current")
