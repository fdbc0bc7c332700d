"""Product feeds: a catalogue file read from an address on a schedule, as an import."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django_scopes import scope

from accord.commerce import feeds, tasks
from accord.commerce import services as catalogue
from accord.commerce.models import Product, ProductFeed, ProductFeedRun
from accord.identity.models import Role

pytestmark = pytest.mark.django_db

CATALOGUE = (b"Item code,Name,Price,Currency,Category\r\n"
             b"LAN-1,Lantern,12.50,EUR,Lights\r\n"
             b"CAN-2,Candle,3.00,EUR,Lights\r\n"
             b"BAD-3,Broken price,twelve,EUR,Lights\r\n")


class Publisher:
    """A web server on loopback that serves whatever file the test puts up."""

    def __init__(self):
        self.body, self.status = b"", 200
        publisher = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's hook name
                self.send_response(publisher.status)
                self.send_header("Content-Length", str(len(publisher.body)))
                self.end_headers()
                self.wfile.write(publisher.body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/catalogue"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def publisher(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    server = Publisher()
    yield server
    server.close()


def make_feed(org, admin, url: str, **data) -> ProductFeed:
    with scope(organization=org):
        return feeds.create_feed(org, admin.user, data={"name": "PIM", "url": url, **data})


def test_a_feed_adds_and_updates_products_and_names_each_refused_row(org, admin, publisher):
    publisher.body = CATALOGUE
    feed = make_feed(org, admin, publisher.url)
    with scope(organization=org):
        catalogue.create_product(org, admin.user, data={
            "sku": "CAN-2", "name": "Old candle", "unit_price": "2", "currency": "EUR"})

        run = feeds.run_feed(org, feed)

        products = {p.sku: (p.name, str(p.unit_price), p.category)
                    for p in Product.objects.all()}
        job = run.import_job
    assert run.status == "done"
    assert (job.created_count, job.updated_count, job.failed_count) == (1, 1, 1)
    assert products == {"LAN-1": ("Lantern", "12.5000", "Lights"),
                        "CAN-2": ("Candle", "3.0000", "Lights")}


def test_a_json_feed_and_products_dropped_from_it_are_switched_off(org, admin, publisher):
    publisher.body = json.dumps({"products": [
        {"sku": "LAN-1", "name": "Lantern", "unit_price": "12.5", "currency": "EUR",
         "attributes": {"colour": "red"}}]}).encode()
    feed = make_feed(org, admin, publisher.url, format="json", deactivate_missing=True)
    with scope(organization=org):
        catalogue.create_product(org, admin.user, data={
            "sku": "OLD-9", "name": "Retired", "unit_price": "2", "currency": "EUR"})

        run = feeds.run_feed(org, feed)

        active = dict(Product.objects.values_list("sku", "is_active"))
    assert (run.status, run.deactivated) == ("done", 1)
    assert active == {"LAN-1": True, "OLD-9": False}


def test_an_empty_file_switches_nothing_off(org, admin, publisher):
    publisher.body = b"sku,name,unit_price\r\n"
    feed = make_feed(org, admin, publisher.url, deactivate_missing=True)
    with scope(organization=org):
        catalogue.create_product(org, admin.user, data={
            "sku": "KEEP-1", "name": "Kept", "unit_price": "2", "currency": "EUR"})

        run = feeds.run_feed(org, feed)

        assert Product.objects.get(sku="KEEP-1").is_active
    assert run.deactivated == 0


def test_a_feed_that_cannot_be_read_fails_with_the_reason(org, admin, publisher, settings):
    publisher.status = 404
    feed = make_feed(org, admin, publisher.url)
    with scope(organization=org):
        missing = feeds.run_feed(org, feed)
        settings.WEBHOOK_ALLOWED_HOSTS = []
        private = feeds.run_feed(org, feed)
        settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
        publisher.status = 200
        publisher.body = b"[1, 2]"
        feed.format = "json"
        not_products = feeds.run_feed(org, feed)

    assert (missing.status, missing.error) == ("failed", "The address answered 404 Not Found.")
    assert private.status == "failed"
    assert "private, loopback or link-local" in private.error
    assert (not_products.error, not_products.bytes) == (
        "Items 1, 2 of the JSON feed are not product objects; nothing was imported.", 6)


def test_a_json_feed_names_the_item_that_is_not_a_product(org, admin, publisher):
    items = [{"sku": "A-1", "name": "Tea", "unit_price": "4"}, "stray",
             {"sku": "A-2", "name": "Cup", "unit_price": "9"}]
    publisher.body = json.dumps(items).encode()
    feed = make_feed(org, admin, publisher.url, format="json")
    with scope(organization=org):
        run = feeds.run_feed(org, feed)
        made = Product.objects.count()

    assert (run.status, run.error) == (
        "failed", "Item 2 of the JSON feed is not a product object; nothing was imported.")
    assert run.bytes == len(publisher.body)
    assert made == 0


def test_the_scheduler_runs_due_feeds_once(org, admin, publisher, monkeypatch):
    publisher.body = CATALOGUE
    hourly = make_feed(org, admin, publisher.url, schedule="hourly")
    make_feed(org, admin, publisher.url, schedule="manual")
    queued = []
    monkeypatch.setattr(tasks.run_product_feed, "delay", queued.append)

    first = tasks.run_due_product_feeds()
    second = tasks.run_due_product_feeds()

    assert (first, second) == (1, 0)
    assert queued == [hourly.pk]
    assert tasks.run_product_feed(hourly.pk) == "done"


def test_an_admin_sets_up_a_feed_and_runs_it_from_the_settings(
        org, admin, publisher, client_for, monkeypatch, make_member):
    publisher.body = CATALOGUE
    monkeypatch.setattr(tasks.run_product_feed, "delay", tasks.run_product_feed)
    client = client_for(admin)

    refused = client.post("/settings/product-feeds/new/", {
        "name": "PIM", "url": "ftp://pim.example/x", "format": "csv", "schedule": "daily"})
    created = client.post("/settings/product-feeds/new/", {
        "name": "PIM", "url": publisher.url, "format": "csv", "schedule": "daily",
        "mapping": '{"Item code": "sku", "Name": "name", "Price": "unit_price"}',
        "is_active": "on"})
    feed_url = created["Location"]
    client.post(feed_url + "run")
    page = client.get(feed_url).content.decode()
    seller = client_for(make_member(org, Role.SALES)).get("/settings/product-feeds/")

    assert refused.status_code == 422
    assert "Use an http:// or https:// address." in refused.content.decode()
    assert created.status_code == 302
    assert 'id="feed-runs"' in page
    assert "Done" in page
    with scope(organization=org):
        assert ProductFeedRun.objects.get().import_job.created_count == 2
    assert seller.status_code == 403


def test_the_api_adds_runs_and_lists_a_feeds_runs(org, admin, publisher, api_client_for,
                                                  monkeypatch, other_org, make_member):
    publisher.body = CATALOGUE
    monkeypatch.setattr(tasks.run_product_feed, "delay", tasks.run_product_feed)
    api = api_client_for(admin)

    created = api.post("/api/v1/product-feeds", {"name": "PIM", "url": publisher.url},
                       content_type="application/json")
    feed_id = created.json()["id"]
    started = api.post(f"/api/v1/product-feeds/{feed_id}/run")
    runs = api.get(f"/api/v1/product-feeds/{feed_id}/runs").json()["items"]
    stranger = api_client_for(make_member(other_org, Role.ADMIN))

    assert created.status_code == 201
    assert started.status_code == 202
    assert [(run["status"], run["created"], run["failed"]) for run in runs] == [
        ("done", 2, 1)]
    assert stranger.get(f"/api/v1/product-feeds/{feed_id}").status_code == 404


@pytest.mark.parametrize("address", [
    "http://169.254.169.254/latest/meta-data", "http://10.0.0.1/x", "http://localhost/x",
    "http://[::1]/x", "http://0x7f000001/x", "http://127.1/x"])
def test_a_private_address_is_refused_when_the_feed_is_saved(org, admin, api_client_for,
                                                              settings, address):
    settings.WEBHOOK_ALLOWED_HOSTS = []

    answer = api_client_for(admin).post("/api/v1/product-feeds", {"name": "PIM", "url": address},
                                        content_type="application/json")

    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "url"
    assert "private, loopback or link-local" in answer.json()["errors"][0]["message"]
