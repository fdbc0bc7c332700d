"""Articles through `/api/v1/articles`: the collection contract, drafts of published
articles, stale versions, roles and other organisations."""

import pytest
from django_scopes import scope

from accord.identity.models import Role
from accord.service import knowledge
from accord.service.models import Article


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


def patch(client, url, body):
    return client.patch(url, body, content_type="application/json")


@pytest.fixture
def agent(org, make_member):
    return make_member(org, Role.SUPPORT, full_name="Ada Agent")


@pytest.fixture
def client(agent, api_client_for):
    return api_client_for(agent)


def test_create_answers_201_with_sanitised_body_as_a_draft(client):
    response = post(client, "/api/v1/articles", {
        "title": "Reset a password",
        "body": '<p data-x="1" hx-get="/a">Go to <a href="/settings" onclick="x()">settings'
                "</a></p><script>alert(1)</script>",
        "visibility": "public",
    })

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["title"] == "Reset a password"
    assert body["body"] == ('<p>Go to <a href="/settings" rel="noopener noreferrer">settings'
                            "</a></p>")
    assert body["status"] == "draft"
    assert body["visibility"] == "public"
    assert body["current_version"] is None
    assert body["draft"] is None
    assert body["version"] == 1


def test_patching_a_published_article_returns_a_draft_and_publish_makes_it_current(client):
    created = post(client, "/api/v1/articles", {
        "title": "Opening hours", "body": "<p>9 to 5</p>", "status": "published"}).json()
    url = f"/api/v1/articles/{created['id']}"

    changed = patch(client, url, {"body": "<p>8 to 6</p>", "version": created["version"]})

    assert changed.status_code == 200, changed.content
    body = changed.json()
    assert body["body"] == "<p>9 to 5</p>"
    assert body["status"] == "published"
    assert body["current_version"] == 1
    assert body["draft"]["number"] == 2
    assert body["draft"]["body"] == "<p>8 to 6</p>"

    published = post(client, f"{url}/publish", {"version": body["version"]})

    assert published.status_code == 200
    assert published.json()["body"] == "<p>8 to 6</p>"
    assert published.json()["current_version"] == 2
    assert published.json()["draft"] is None


def test_patch_with_a_stale_version_answers_409_problem(client):
    created = post(client, "/api/v1/articles", {"title": "Delivery"}).json()
    url = f"/api/v1/articles/{created['id']}"
    patch(client, url, {"title": "Delivery times", "version": created["version"]})

    response = patch(client, url, {"title": "Mine", "version": created["version"]})

    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["current_version"] == created["version"] + 1
    assert client.get(url).json()["title"] == "Delivery times"


def test_bad_fields_answer_422_naming_each(client):
    response = post(client, "/api/v1/articles", {
        "title": " ", "visibility": "everyone", "status": "live", "category_id": 99999})

    assert response.status_code == 422
    assert {(e["field"], e["message"]) for e in response.json()["errors"]} == {
        ("title", "Give the article a title."),
        ("visibility", "Choose one of: internal, public."),
        ("status", "Choose one of: draft, published."),
        ("category_id", "Choose an existing category."),
    }


def test_list_filters_by_search_category_and_status_and_pages_by_cursor(org, agent, client):
    with scope(organization=org):
        billing = knowledge.create_category(org, agent.user, data={"name": "Billing"})
    for title, category, status in [("Paying by card", billing.pk, "published"),
                                    ("Paying by transfer", billing.pk, "draft"),
                                    ("Paying at the desk", None, "published")]:
        post(client, "/api/v1/articles", {"title": title, "category_id": category,
                                          "status": status})

    def titles(**params):
        return sorted(item["title"] for item in
                      client.get("/api/v1/articles", params).json()["items"])

    assert titles(q="pay card") == ["Paying by card"]
    assert titles(category_id=billing.pk) == ["Paying by card", "Paying by transfer"]
    assert titles(category_id="none") == ["Paying at the desk"]
    assert titles(status="published", q="paying") == ["Paying at the desk", "Paying by card"]
    first = client.get("/api/v1/articles", {"limit": 2, "ordering": "title"}).json()
    second = client.get("/api/v1/articles", {"limit": 2, "ordering": "title",
                                             "cursor": first["next"]}).json()
    assert [item["title"] for item in first["items"] + second["items"]] == [
        "Paying at the desk", "Paying by card", "Paying by transfer"]
    assert second["next"] is None


def test_delete_answers_204_then_404(client):
    created = post(client, "/api/v1/articles", {"title": "Gone soon"}).json()
    url = f"/api/v1/articles/{created['id']}"

    response = client.delete(url)

    assert response.status_code == 204
    assert client.get(url).status_code == 404


def test_sales_may_read_but_not_write(org, make_member, api_client_for, client):
    created = post(client, "/api/v1/articles", {"title": "Readable"}).json()
    seller = api_client_for(make_member(org, Role.SALES))

    assert seller.get(f"/api/v1/articles/{created['id']}").status_code == 200
    assert post(seller, "/api/v1/articles", {"title": "Mine"}).status_code == 403
    assert patch(seller, f"/api/v1/articles/{created['id']}",
                 {"title": "x", "version": created["version"]}).status_code == 403
    assert seller.delete(f"/api/v1/articles/{created['id']}").status_code == 403


def test_article_of_another_organisation_answers_404(other_org, make_member, api_client_for,
                                                     client):
    theirs = api_client_for(make_member(other_org, Role.SUPPORT))
    created = post(theirs, "/api/v1/articles", {"title": "Theirs"}).json()
    url = f"/api/v1/articles/{created['id']}"

    assert client.get(url).status_code == 404
    assert patch(client, url, {"title": "x", "version": 1}).status_code == 404
    assert client.delete(url).status_code == 404
    assert client.get("/api/v1/articles").json()["items"] == []
    with scope(organization=other_org):
        assert Article.objects.get(pk=created["id"]).title == "Theirs"
