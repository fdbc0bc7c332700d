"""Custom field values encrypted at rest.

An encrypted value is stored in the record's `custom_fields` JSON as
`{"$sealed": "<token>"}` in place of the value. The token is a Fernet token
(AES-128-CBC with HMAC-SHA256, from the `cryptography` package) of the
value's canonical JSON, so money amounts, lists and booleans come back with
their type. Fernet authenticates what it decrypts: a value changed in the
database, or one sealed under a key that is gone, is refused, never read as
something else.

Keys come from `FIELD_ENCRYPTION_KEYS` (comma-separated Fernet keys: the
first encrypts, every one decrypts). Without it, a key derived from
`SECRET_KEY` encrypts; that derived key always decrypts last, so values
sealed before the setting was first given stay readable until
`accord rotate_field_keys` has re-encrypted them. These keys are separate
from `ENCRYPTION_KEYS` (see accord/crypto.py), so customer data and
Accord's own secrets are rotated on their own schedules.
"""

import base64
import hashlib
import json
import logging

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core import checks
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)

SEALED = "$sealed"


class Unreadable(str):
    """A sealed value no configured key opens, standing in for it in memory.

    It reads as a placeholder wherever a value is shown, and saving the record
    writes the original token back, so a missing key never loses data.
    """

    token: str

    def __new__(cls, token: str):
        text = super().__new__(cls, str(_("(cannot be decrypted)")))
        text.token = token
        return text


def derived_key() -> str:
    """The key made from SECRET_KEY, used when FIELD_ENCRYPTION_KEYS is not set."""
    digest = hashlib.sha256(b"accord-field-encryption:" + settings.SECRET_KEY.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


def _keys() -> list[str]:
    keys = [key.strip() for key in settings.FIELD_ENCRYPTION_KEYS if key.strip()]
    if derived_key() not in keys:
        keys.append(derived_key())
    return keys


def _cipher() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in _keys()])


def is_sealed(value) -> bool:
    """Whether `value` is a stored encrypted value (or one that could not be opened)."""
    return isinstance(value, Unreadable) or (
        isinstance(value, dict) and len(value) == 1 and isinstance(value.get(SEALED), str))


def seal(value) -> dict:
    """`value` (any JSON value) encrypted with the first key; a sealed value stays as it is."""
    if isinstance(value, Unreadable):
        return {SEALED: value.token}
    if is_sealed(value):
        return value
    plain = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return {SEALED: _cipher().encrypt(plain.encode()).decode()}


def unseal(value):
    """The plain value of a sealed `value`, `Unreadable` when no key opens it; any other
    value is returned as it is."""
    if isinstance(value, Unreadable) or not is_sealed(value):
        return value
    try:
        return json.loads(_cipher().decrypt(value[SEALED].encode()))
    except (InvalidToken, ValueError):
        logger.warning("field_crypto.unreadable")
        return Unreadable(value[SEALED])


def reseal(value) -> dict:
    """A sealed `value` encrypted again with the first key; ValueError when no key opens it."""
    token = value.token if isinstance(value, Unreadable) else value[SEALED]
    try:
        return {SEALED: _cipher().rotate(token.encode()).decode()}
    except InvalidToken:
        raise ValueError("No key in FIELD_ENCRYPTION_KEYS opens this value; was a key "
                         "removed before the values were re-encrypted?") from None


def uses_first_key(value) -> bool:
    """Whether a sealed `value` is already encrypted with the first key, so a rotation
    that stopped half-way can skip it."""
    token = value.token if isinstance(value, Unreadable) else value[SEALED]
    try:
        Fernet(_keys()[0]).decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def unseal_all(values: dict | None) -> dict:
    """A copy of a `custom_fields` object with every sealed value opened."""
    return {key: unseal(value) for key, value in (values or {}).items()}


def seal_keys(values: dict | None, keys) -> dict:
    """A copy of a `custom_fields` object with the values of `keys` sealed; a value no
    key could open keeps its token whatever its key, so saving never loses it."""
    return {key: seal(value) if key in keys or isinstance(value, Unreadable) else value
            for key, value in (values or {}).items()}


@checks.register(checks.Tags.security)
def check_field_encryption_keys(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """Refuse a FIELD_ENCRYPTION_KEYS entry that is not a Fernet key."""
    problems = []
    for position, key in enumerate(settings.FIELD_ENCRYPTION_KEYS, start=1):
        try:
            Fernet(key.strip())
        except ValueError:
            problems.append(checks.Error(
                f"Key {position} in FIELD_ENCRYPTION_KEYS is not a Fernet key.",
                hint="Make one with: python -c 'from cryptography.fernet import Fernet; "
                     "print(Fernet.generate_key().decode())'",
                id="accord.E010",
            ))
    return problems


@checks.register(checks.Tags.security, deploy=True)
def check_field_encryption_keys_set(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """Warn when production relies on the key derived from SECRET_KEY."""
    if settings.FIELD_ENCRYPTION_KEYS:
        return []
    return [checks.Warning(
        "FIELD_ENCRYPTION_KEYS is not set, so encrypted custom fields use a key derived "
        "from SECRET_KEY; changing SECRET_KEY would make them unreadable.",
        hint="Set FIELD_ENCRYPTION_KEYS to a Fernet key stored apart from the database "
             "and its backups, then run `accord rotate_field_keys`.",
        id="accord.W010",
    )]
