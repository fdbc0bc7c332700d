"""Products bought together: counted from orders, suggested on the contact and in texts."""

import datetime as dt

import pytest
from django_scopes import scope

from accord import merge_fields
from accord.commerce import orders
from accord.commerce import services as catalogue
from accord.commerce.models import Product
from accord.customers import services as customers
from accord.identity.models import Role
from accord.insights import recommend, scoring
from accord.insights.models import SimilarProduct

pytestmark = pytest.mark.django_db


def buy(org, actor, contact, number: str, *skus: str, status: str = "placed") -> None:
    orders.create_order(org, actor, data={
        "number": number, "contact": contact.pk, "currency": org.base_currency,
        "status": status, "placed_at": dt.datetime(2025, 3, 1, 9, tzinfo=dt.UTC),
        "lines": [{"sku": sku, "description": f"Item {sku}", "quantity": "1",
                   "unit_price": "5"} for sku in skus]})


@pytest.fixture
def shop(org, admin):
    """Three customers bought a lantern with a candle; one of them also a mug."""
    with scope(organization=org):
        people = [customers.create_contact(org, admin.user, data={"first_name": name})
                  for name in ("Ada", "Bob", "Cy", "Di")]
        ada, bob, cy, di = people
        buy(org, admin.user, ada, "1", "LANTERN", "CANDLE")
        buy(org, admin.user, bob, "2", "LANTERN", "CANDLE", "MUG")
        buy(org, admin.user, cy, "3", "LANTERN")
        buy(org, admin.user, cy, "4", "CANDLE")
        buy(org, admin.user, di, "5", "LANTERN")
        # A cancelled order says nothing about what goes together.
        buy(org, admin.user, di, "6", "VASE", "LANTERN", status="cancelled")
        catalogue.create_product(org, admin.user, data={
            "sku": "CANDLE", "name": "Beeswax candle", "currency": org.base_currency,
            "unit_price": "4"})
        scoring.compute_similar_products(org)
    return {"ada": ada, "bob": bob, "cy": cy, "di": di}


def test_a_customer_is_offered_what_others_bought_with_theirs(org, shop):
    with scope(organization=org):
        offered = scoring.suggestions_for(shop["di"])
        pairs = set(SimilarProduct.objects.values_list("sku", "other_sku", "together"))

    assert [(s["sku"], s["name"], s["because"], s["together"]) for s in offered] == [
        ("CANDLE", "Beeswax candle", "LANTERN", 3), ("MUG", "Item MUG", "LANTERN", 1)]
    assert ("LANTERN", "VASE", 1) not in pairs
    assert ("LANTERN", "CANDLE", 3) in pairs


def test_the_contact_page_and_merge_fields_show_the_suggestions(org, shop, make_member,
                                                                client_for):
    seller = make_member(org, Role.SALES)

    page = client_for(seller).get(f"/contacts/{shop['di'].pk}/").content.decode()
    with scope(organization=org):
        text = merge_fields.render("Try our {{ contact.suggested_products|default:'range' }}.",
                                   merge_fields.person_values(shop["di"]))
        nothing = merge_fields.render("Try our {{ contact.suggested_products|default:'range' }}.",
                                      merge_fields.person_values(shop["bob"]))

    assert 'id="suggested-products"' in page
    assert "Beeswax candle" in page
    assert "bought with Item LANTERN by 3 customers" in page
    assert text == "Try our Beeswax candle and Item MUG."
    # Bob already has everything anyone bought with his things.
    assert nothing == "Try our range."


def test_a_switched_off_product_is_not_suggested(org, admin, shop):
    with scope(organization=org):
        candle = Product.objects.get(sku="CANDLE")
        catalogue.deactivate_product(org, admin.user, candle)

        offered = [s["sku"] for s in scoring.suggestions_for(shop["di"])]

    assert offered == ["MUG"]


def test_best_sellers_do_not_crowd_out_what_fits():
    baskets = [{"BAG", "A", "B"}, {"BAG", "A", "B"}, {"BAG", "C"}, {"BAG", "D"}, {"BAG", "E"},
               {"BAG"}, {"BAG"}]
    similar = recommend.similar_products(baskets)

    # Both customers who bought A also bought B; BAG was bought by everyone.
    assert [product for product, _score, _because in recommend.recommend({"A"}, similar)] == [
        "B", "BAG"]
    assert recommend.most_popular(baskets)[0] == "BAG"


def test_the_api_gives_a_contacts_scores_with_their_reasons(org, shop, make_member,
                                                           api_client_for, other_org):
    seller = api_client_for(make_member(org, Role.SALES))
    stranger = api_client_for(make_member(other_org, Role.ADMIN))

    answer = seller.get(f"/api/v1/contacts/{shop['di'].pk}/scores")
    hidden = stranger.get(f"/api/v1/contacts/{shop['di'].pk}/scores")

    assert answer.status_code == 200
    body = answer.json()
    assert (body["rfm"], body["churn"]) == (None, None)  # not computed yet
    assert [s["sku"] for s in body["suggestions"]] == ["CANDLE", "MUG"]
    assert hidden.status_code == 404
