"""Sealing custom field values: types survive, tampering and lost keys never read as data."""

import json

import pytest
from cryptography.fernet import Fernet

from accord.core import crypto

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


@pytest.mark.parametrize("value", [
    "Asthma", {"amount": "1250.00", "currency": "EUR"}, ["a", "b"], True, False, "Zoë ✓",
])
def test_each_json_value_comes_back_with_its_type(settings, value):
    settings.FIELD_ENCRYPTION_KEYS = [NEW]

    sealed = crypto.seal(value)

    assert list(sealed) == [crypto.SEALED]
    assert json.dumps(value) not in json.dumps(sealed)
    assert crypto.unseal(sealed) == value


def test_sealing_twice_keeps_one_layer_and_plain_values_pass_through(settings):
    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    sealed = crypto.seal("x")

    assert crypto.seal(sealed) is sealed
    assert crypto.unseal("plain") == "plain"
    assert crypto.unseal({"amount": "1.00", "currency": "EUR"}) == {
        "amount": "1.00", "currency": "EUR"}


def test_without_keys_the_key_derived_from_the_secret_key_seals_and_stays_readable(settings):
    settings.FIELD_ENCRYPTION_KEYS = []
    sealed = crypto.seal("kept")

    settings.FIELD_ENCRYPTION_KEYS = [NEW]

    assert crypto.unseal(sealed) == "kept"
    assert not crypto.uses_first_key(sealed)
    assert crypto.uses_first_key(crypto.reseal(sealed))


def test_a_changed_token_or_a_lost_key_gives_a_placeholder_that_keeps_the_token(settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    sealed = crypto.seal("secret")
    tampered = {crypto.SEALED: sealed[crypto.SEALED][:-4] + "AAAA"}
    settings.FIELD_ENCRYPTION_KEYS = [NEW]

    lost = crypto.unseal(sealed)
    broken = crypto.unseal(tampered)

    assert isinstance(lost, crypto.Unreadable)
    assert str(lost) == "(cannot be decrypted)"
    assert crypto.seal(lost) == sealed
    assert isinstance(broken, crypto.Unreadable)
    assert crypto.seal_keys({"other": lost, "plain": "p"}, set()) == {
        "other": sealed, "plain": "p"}
    with pytest.raises(ValueError, match="No key in FIELD_ENCRYPTION_KEYS opens this value"):
        crypto.reseal(sealed)


def test_only_the_given_keys_are_sealed(settings):
    settings.FIELD_ENCRYPTION_KEYS = [NEW]

    stored = crypto.seal_keys({"health": "ok", "shoe": "38"}, {"health"})

    assert stored["shoe"] == "38"
    assert crypto.is_sealed(stored["health"])
    assert crypto.unseal_all(stored) == {"health": "ok", "shoe": "38"}
