"""Record visibility of deals and leads: lists, board, exports, record pages and the API."""

from types import SimpleNamespace

import pytest
from django_scopes import scope

from accord.identity import services as identity_services
from accord.identity import visibility
from accord.identity.models import Role
from accord.sales import leads
from accord.sales import services as sales_services


def patch(client, url, body):
    return client.patch(url, body, content_type="application/json")


@pytest.fixture
def people(org, admin, make_member):
    seller = make_member(org, Role.SALES, full_name="Sam Seller")
    teammate = make_member(org, Role.SALES, full_name="Tess Teammate")
    outsider = make_member(org, Role.SALES, full_name="Olga Outsider")
    with scope(organization=org):
        identity_services.save_team(org, admin.user, name="East", members=[seller, teammate])
    return SimpleNamespace(admin=admin, seller=seller, teammate=teammate, outsider=outsider)


@pytest.fixture
def deals(org, people):
    """A deal per seller, named after its owner, in one pipeline."""
    with scope(organization=org):
        pipeline = sales_services.create_pipeline(org, people.admin.user, name="New business")
        made = {key: sales_services.create_deal(org, getattr(people, key).user,
                                                data={"name": f"{key.title()} laptops"})
                for key in ("seller", "teammate", "outsider")}
    return SimpleNamespace(pipeline=pipeline, **made)


@pytest.fixture
def lead_rows(org, people):
    with scope(organization=org):
        return SimpleNamespace(**{
            key: leads.create_lead(org, getattr(people, key).user,
                                   data={"first_name": key.title(), "last_name": "Quill",
                                         "company_name": f"{key.title()} Ltd"})
            for key in ("seller", "teammate", "outsider")
        })


def set_scope(org, actor, area, scope_name):
    with scope(organization=org):
        visibility.update_visibility(org, actor, roles={Role.SALES: {area: scope_name}})


def shown(text: str, suffix: str = "laptops") -> set[str]:
    """Whose records a page shows, told by the record names (members' names are in menus)."""
    return {key for key in ("Seller", "Teammate", "Outsider") if f"{key} {suffix}" in text}


def test_own_deals_narrow_the_list_board_export_and_search(org, people, deals, client_for):
    set_scope(org, people.admin.user, "deals", "own")
    browser = client_for(people.seller)

    listed = browser.get("/deals/list/").content.decode()
    board = browser.get(f"/deals/board/{deals.pipeline.pk}/").content.decode()
    exported = b"".join(browser.get("/deals/export.csv").streaming_content).decode()
    searched = browser.get("/search", {"q": "laptops"}).content.decode()

    assert shown(listed) == {"Seller"}
    assert shown(board) == {"Seller"}
    assert shown(exported) == {"Seller"}
    assert shown(searched) == {"Seller"}


def test_team_deals_include_teammates(org, people, deals, client_for, api_client_for):
    set_scope(org, people.admin.user, "deals", "team")

    listed = client_for(people.seller).get("/deals/list/").content.decode()
    from_api = [item["name"] for item in
                api_client_for(people.seller).get("/api/v1/deals").json()["items"]]

    assert shown(listed) == {"Seller", "Teammate"}
    assert sorted(from_api) == ["Seller laptops", "Teammate laptops"]


def test_a_hidden_deal_answers_404_on_its_page_and_in_the_api(
    org, people, deals, client_for, api_client_for
):
    set_scope(org, people.admin.user, "deals", "own")
    browser, api = client_for(people.seller), api_client_for(people.seller)
    hidden = deals.outsider.pk

    page = browser.get(f"/deals/{hidden}/")
    read = api.get(f"/api/v1/deals/{hidden}")
    changed = patch(api, f"/api/v1/deals/{hidden}", {"name": "Mine now", "version": 1})
    from_api = [item["name"] for item in api.get("/api/v1/deals").json()["items"]]

    assert (page.status_code, read.status_code, changed.status_code) == (404, 404, 404)
    assert read.json()["detail"] == "No deal with this id."
    assert from_api == ["Seller laptops"]
    assert browser.get(f"/deals/{deals.seller.pk}/").status_code == 200
    assert client_for(people.admin).get(f"/deals/{hidden}/").status_code == 200


def test_own_leads_narrow_the_list_export_page_and_api(
    org, people, lead_rows, client_for, api_client_for
):
    set_scope(org, people.admin.user, "leads", "own")
    browser, api = client_for(people.seller), api_client_for(people.seller)
    hidden = lead_rows.outsider.pk

    listed = browser.get("/leads/").content.decode()
    exported = browser.get("/leads/export.csv").content.decode()
    from_api = [item["first_name"] for item in api.get("/api/v1/leads").json()["items"]]

    assert shown(listed, "Ltd") == {"Seller"}
    assert shown(exported, "Ltd") == {"Seller"}
    assert from_api == ["Seller"]
    assert browser.get(f"/leads/{hidden}/").status_code == 404
    assert api.get(f"/api/v1/leads/{hidden}").status_code == 404
    assert patch(api, f"/api/v1/leads/{hidden}", {"first_name": "Mine", "version": 1}
                 ).status_code == 404
    assert api.get(f"/api/v1/leads/{lead_rows.seller.pk}").status_code == 200


def test_leads_follow_their_own_setting_not_the_deals_one(
    org, people, lead_rows, api_client_for
):
    set_scope(org, people.admin.user, "deals", "own")

    from_api = [item["first_name"] for item in
                api_client_for(people.seller).get("/api/v1/leads").json()["items"]]

    assert sorted(from_api) == ["Outsider", "Seller", "Teammate"]


@pytest.fixture
def priced(org, people, deals):
    """Each seller's deal worth 100, 200 or 400 closing today, and a quota of 1,000 each."""
    from accord.sales.forecast import today_for

    today = today_for(org)
    with scope(organization=org):
        for key, amount in (("seller", 100), ("teammate", 200), ("outsider", 400)):
            deal = getattr(deals, key)
            sales_services.update_deal(org, people.admin.user, deal,
                                       data={"amount": str(amount),
                                             "expected_close_date": today.isoformat()})
            sales_services.set_quota(org, people.admin.user, user=getattr(people, key).user.pk,
                                     period="quarter", starts_on=_quarter_start(today),
                                     amount="1000")
    return today


def _quarter_start(day):
    return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)


def test_the_forecast_and_pipeline_report_count_only_the_deals_a_member_sees(
    org, people, deals, priced, client_for, api_client_for
):
    set_scope(org, people.admin.user, "deals", "team")
    api = api_client_for(people.seller)

    forecast = api.get("/api/v1/forecasts", {"period": "quarter"}).json()
    report = api.get(f"/api/v1/sales-reports/pipelines/{deals.pipeline.pk}").json()
    page = client_for(people.seller).get("/forecast/").content.decode()
    everyone = api_client_for(people.admin).get("/api/v1/forecasts",
                                                {"period": "quarter"}).json()

    assert sorted(group["label"] for group in forecast["groups"]) == [
        "Sam Seller", "Tess Teammate"]
    assert (forecast["totals"]["pipeline"], forecast["totals"]["quota"]) == (
        "300.00", "2000.00")
    assert report["created"] == 2
    assert "Olga Outsider" not in page
    assert (everyone["totals"]["pipeline"], everyone["totals"]["quota"]) == (
        "700.00", "3000.00")


def test_a_hidden_record_answers_404_even_to_an_invalid_body(
    org, people, deals, api_client_for
):
    set_scope(org, people.admin.user, "deals", "own")
    api = api_client_for(people.seller)

    hidden = patch(api, f"/api/v1/deals/{deals.outsider.pk}", {"amount": ["not", "money"]})
    made_up = patch(api, "/api/v1/deals/999999", {"amount": ["not", "money"]})
    own = patch(api, f"/api/v1/deals/{deals.seller.pk}", {"amount": ["not", "money"]})

    assert (hidden.status_code, hidden.json()["detail"]) == (
        made_up.status_code, made_up.json()["detail"]) == (404, "No deal with this id.")
    assert own.status_code == 422
