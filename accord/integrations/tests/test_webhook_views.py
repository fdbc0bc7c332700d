"""Settings → Webhooks through the web pages."""

import re

import pytest
from django_scopes import scopes_disabled

from accord.identity.models import Role
from accord.integrations import webhooks
from accord.integrations.webhook_models import Webhook, WebhookDelivery

from .test_webhooks import Receiver, create_contact, only_delivery

PAGE = "/settings/webhooks/"


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    server = Receiver()
    yield server
    server.stop()


def text(response) -> str:
    return response.content.decode()


def test_adding_a_webhook_shows_its_secret_once(admin, client_for, receiver):
    client = client_for(admin)
    empty = client.get(PAGE)
    assert "No webhooks yet." in text(empty)

    added = client.post(PAGE, {"url": receiver.url, "events": ["contact.created", "deal.won"],
                               "description": "Shop sync"})
    assert added.status_code == 200
    secret = re.search(r'id="new-secret" type="text" readonly value="([^"]+)"', text(added))
    with scopes_disabled():
        webhook = Webhook.unscoped.get()
    assert secret.group(1) == webhook.secret
    assert webhook.events == ["contact.created", "deal.won"]
    again = client.get(PAGE)
    assert webhook.secret not in text(again)
    assert "Shop sync" in text(again)


def test_a_refused_address_is_named_beside_the_field(admin, client_for, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    answer = client_for(admin).post(PAGE, {"url": "http://10.0.0.7/hook",
                                           "events": ["contact.created"]})
    assert answer.status_code == 422
    assert "points into a private, loopback or link-local network" in text(answer)
    assert not Webhook.unscoped.exists()


def test_the_delivery_log_shows_attempts_and_replays(org, admin, client_for, api_client_for,
                                                     receiver, transactional_db):
    client = client_for(admin)
    client.post(PAGE, {"url": receiver.url, "events": ["contact.created"]})
    create_contact(api_client_for(admin), first_name="Logged")
    delivery = only_delivery()
    receiver.answers = [(503, {})]
    webhooks.attempt_delivery(delivery.pk)

    page = text(client.get(f"{PAGE}{delivery.webhook_id}/"))
    assert "contact.created" in page
    assert "The receiver answered 503." in page
    detail = text(client.get(f"{PAGE}{delivery.webhook_id}/deliveries/{delivery.pk}/"))
    assert "&quot;first_name&quot;:&quot;Logged&quot;" in detail
    assert "503" in detail

    with scopes_disabled():
        WebhookDelivery.unscoped.filter(pk=delivery.pk).update(status="failed")
    replayed = client.post(f"{PAGE}{delivery.webhook_id}/deliveries/{delivery.pk}/replay")
    assert replayed.status_code == 302
    assert only_delivery().status == "pending"


def test_editing_with_an_old_version_is_refused(org, admin, client_for, receiver):
    client = client_for(admin)
    client.post(PAGE, {"url": receiver.url, "events": ["contact.created"]})
    webhook = Webhook.unscoped.get()
    form = {"url": receiver.url, "events": ["company.created"], "is_active": "on",
            "version": webhook.version}
    assert client.post(f"{PAGE}{webhook.pk}/", form).status_code == 302
    stale = client.post(f"{PAGE}{webhook.pk}/", {**form, "events": ["deal.won"]})
    assert stale.status_code == 422
    assert "changed by someone else" in text(stale)
    webhook.refresh_from_db()
    assert webhook.events == ["company.created"]


def test_only_admins_reach_the_pages_and_others_ids_are_404(org, other_org, admin,
                                                             make_member, client_for,
                                                             receiver):
    client_for(admin).post(PAGE, {"url": receiver.url, "events": ["contact.created"]})
    webhook = Webhook.unscoped.get()
    assert client_for(make_member(org, Role.MANAGER)).get(PAGE).status_code == 403
    with scopes_disabled():
        from accord.identity.models import Membership

        stranger = Membership.unscoped.get(organization=other_org, role=Role.ADMIN)
    outsider = client_for(stranger)
    for path in ("", "delete"):
        assert outsider.get(f"{PAGE}{webhook.pk}/{path}").status_code == 404
    assert outsider.post(f"{PAGE}{webhook.pk}/delete").status_code == 404
    assert Webhook.unscoped.filter(pk=webhook.pk).exists()


def test_deleting_asks_first(admin, client_for, receiver):
    client = client_for(admin)
    client.post(PAGE, {"url": receiver.url, "events": ["contact.created"]})
    webhook = Webhook.unscoped.get()
    assert "Delete this webhook?" in text(client.get(f"{PAGE}{webhook.pk}/delete"))
    assert client.post(f"{PAGE}{webhook.pk}/delete").status_code == 302
    assert not Webhook.unscoped.exists()
