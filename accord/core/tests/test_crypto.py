"""Secrets encrypted at rest, and key rotation through `accord rotate_secrets`."""

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django_scopes import scope

from accord import crypto
from accord.service import queues
from accord.service.models import Queue

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def test_values_round_trip_and_empty_means_unset(settings):
    settings.ENCRYPTION_KEYS = [OLD]

    token = crypto.encrypt("hunter2")

    assert token != "hunter2"
    assert crypto.decrypt(token) == "hunter2"
    assert crypto.encrypt("") == ""
    assert crypto.decrypt("") == ""


def test_without_keys_one_is_derived_from_the_secret_key(settings):
    settings.ENCRYPTION_KEYS = []

    assert crypto.decrypt(crypto.encrypt("x")) == "x"


def test_values_stored_without_keys_rotate_to_the_first_key_set(settings):
    settings.ENCRYPTION_KEYS = []
    token = crypto.encrypt("x")
    settings.ENCRYPTION_KEYS = [NEW]

    rotated = crypto.rotate(token)
    settings.SECRET_KEY = "another secret key entirely, so the derived key changes"

    assert crypto.decrypt(rotated) == "x"


def test_a_value_no_key_opens_says_what_went_wrong(settings):
    settings.ENCRYPTION_KEYS = [OLD]
    token = crypto.encrypt("x")
    settings.ENCRYPTION_KEYS = [NEW]

    with pytest.raises(ValueError, match="No encryption key opens this value"):
        crypto.decrypt(token)


def test_rotation_re_encrypts_stored_secrets_with_the_new_key(org, admin, settings):
    settings.ENCRYPTION_KEYS = [OLD]
    with scope(organization=org):
        queue = queues.create_queue(org, admin.user, data={
            "name": "Help", "imap_host": "imap.example.com", "imap_username": "help",
            "imap_password": "hunter2"})
    settings.ENCRYPTION_KEYS = [NEW, OLD]
    out = io.StringIO()

    call_command("rotate_secrets", stdout=out)
    settings.ENCRYPTION_KEYS = [NEW]

    with scope(organization=org):
        queue = Queue.objects.get(pk=queue.pk)
    assert out.getvalue().strip() == "Re-encrypted 1 secrets."
    assert crypto.decrypt(queue.imap_password) == "hunter2"
