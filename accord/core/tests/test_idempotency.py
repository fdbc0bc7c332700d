"""A POST retried with the same Idempotency-Key writes once and answers the same."""

import datetime as dt
import hashlib
import json

from django.test import Client
from django.utils import timezone
from django_scopes import scope

from accord.core.idempotency import forget_old_requests
from accord.core.models import IdempotentRequest
from accord.customers.models import Contact
from accord.identity.services import create_token

CONTACTS = "/api/v1/contacts"


def post(api, body, key, path=CONTACTS):
    return api.post(path, body, content_type="application/json",
                    headers={"Idempotency-Key": key})


def test_a_retry_is_answered_from_the_first_request(org, admin, api_client_for):
    api = api_client_for(admin)
    first = post(api, {"first_name": "Ada"}, "create-ada-1")
    again = post(api, {"first_name": "Ada"}, "create-ada-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Contact.unscoped.filter(organization=org).count() == 1


def test_a_token_without_the_scope_gets_no_replay(org, admin, api_client_for):
    first = post(api_client_for(admin), {"first_name": "Ada"}, "create-ada-2")
    with scope(organization=org):
        _, raw = create_token(org, admin.user, name="events only", scopes=["events:read"])
    narrow = Client(headers={"Authorization": f"Bearer {raw}"})

    again = post(narrow, {"first_name": "Ada"}, "create-ada-2")

    assert first.status_code == 201
    assert again.status_code == 403
    assert again.json()["missing_scope"] == "contacts:write"
    assert "Idempotent-Replayed" not in again
    assert "Ada" not in again.content.decode()


def test_a_new_key_makes_a_new_record(org, admin, api_client_for):
    api = api_client_for(admin)
    post(api, {"first_name": "Ada"}, "key-a")
    post(api, {"first_name": "Ada"}, "key-b")
    assert Contact.unscoped.filter(organization=org).count() == 2


def test_a_key_reused_for_another_request_is_refused(org, admin, api_client_for):
    api = api_client_for(admin)
    post(api, {"first_name": "Ada"}, "same-key")
    other = post(api, {"first_name": "Grace"}, "same-key")
    assert other.status_code == 422
    assert other.json()["type"].endswith("/idempotency-key-reused")
    assert Contact.unscoped.filter(organization=org).count() == 1


def test_a_request_still_running_answers_409(org, admin, api_client_for):
    body = json.dumps({"first_name": "Ada"}).encode()
    fingerprint = hashlib.sha256(f"POST {CONTACTS}\n".encode() + body).hexdigest()
    IdempotentRequest.unscoped.create(organization=org, user=admin.user, key="busy",
                                      method="POST", path=CONTACTS, fingerprint=fingerprint)
    answer = post(api_client_for(admin), {"first_name": "Ada"}, "busy")
    assert answer.status_code == 409
    assert answer.json()["type"].endswith("/idempotency-in-progress")


def test_validation_errors_are_replayed_too(org, admin, api_client_for):
    api = api_client_for(admin)
    first = post(api, {"email": "not-an-address"}, "bad-1")
    assert first.status_code == 422
    again = post(api, {"email": "not-an-address"}, "bad-1")
    assert (again.status_code, again.json()) == (422, first.json())


def test_keys_are_per_user_and_organisation(org, other_org, admin, make_member,
                                            api_client_for):
    post(api_client_for(admin), {"first_name": "Ada"}, "shared-key")
    colleague = make_member(org)
    answer = post(api_client_for(colleague), {"first_name": "Ada"}, "shared-key")
    assert answer.status_code == 201
    assert "Idempotent-Replayed" not in answer
    assert Contact.unscoped.filter(organization=org).count() == 2


def test_an_unusable_key_is_named(admin, api_client_for):
    answer = post(api_client_for(admin), {"first_name": "Ada"}, "x" * 256)
    assert answer.status_code == 400
    assert "Idempotency-Key of 1 to 255" in answer.json()["detail"]


def test_kept_answers_expire_after_a_day(org, admin, api_client_for):
    api = api_client_for(admin)
    post(api, {"first_name": "Ada"}, "old-key")
    IdempotentRequest.unscoped.update(created_at=timezone.now() - dt.timedelta(hours=25))
    assert forget_old_requests() == 1
    assert post(api, {"first_name": "Ada"}, "old-key").status_code == 201
    assert Contact.unscoped.filter(organization=org).count() == 2
