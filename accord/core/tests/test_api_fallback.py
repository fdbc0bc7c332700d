"""Errors Django answers before any API handler runs still come as problem documents."""

import json

import pytest

pytestmark = pytest.mark.django_db


def test_an_unknown_api_address_answers_a_problem_document(admin, api_client_for):
    response = api_client_for(admin).get("/api/v1/no-such-resource")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert body["status"] == 404
    assert body["type"].endswith("/not-found")


def test_a_method_a_route_does_not_take_answers_405_naming_the_allowed_ones(
        admin, api_client_for):
    response = api_client_for(admin).delete("/api/v1/contacts")

    assert response.status_code == 405
    assert response["Content-Type"] == "application/problem+json"
    assert set(response["Allow"].replace(" ", "").split(",")) == {"GET", "POST"}
    body = json.loads(response.content)
    assert body["type"].endswith("/method-not-allowed")
    assert "DELETE" in body["detail"]
    assert "GET" in body["detail"]


def test_pages_outside_the_api_keep_their_html_not_found_page(admin, client_for):
    response = client_for(admin).get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_handlers_own_not_found_is_left_as_it_was(admin, api_client_for):
    response = api_client_for(admin).get("/api/v1/contacts/999999")

    assert response.status_code == 404
    assert json.loads(response.content)["detail"] == "No contact with this id."
