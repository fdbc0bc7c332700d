"""Secrets Accord has to read back, such as a mailbox password, encrypted at rest.

Passwords people sign in with are hashed, never encrypted; this is for
values Accord itself must present to another system. Values are encrypted
with Fernet (AES-128-CBC with HMAC-SHA256) from the `cryptography` package.
The keys come from `ENCRYPTION_KEYS` (comma-separated Fernet keys: the first
encrypts, every one decrypts, so a new key is added in front and the old
one dropped once `accord rotate_secrets` has re-encrypted the stored
values); without it a key derived from `SECRET_KEY` encrypts. That derived
key always decrypts as the last resort, so values stored before
`ENCRYPTION_KEYS` was first set stay readable until they are rotated.
"""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


def _keys() -> list[Fernet]:
    keys = [key.strip() for key in settings.ENCRYPTION_KEYS if key.strip()]
    digest = hashlib.sha256(b"accord-encryption:" + settings.SECRET_KEY.encode()).digest()
    derived = base64.urlsafe_b64encode(digest).decode()
    if derived not in keys:
        keys.append(derived)
    return [Fernet(key) for key in keys]


def encrypt(text: str) -> str:
    """`text` encrypted with the first key; "" stays "" so that empty means unset."""
    if not text:
        return ""
    return MultiFernet(_keys()).encrypt(text.encode()).decode()


def decrypt(token: str) -> str:
    """The text of `token`; ValueError when no key opens it (a key was dropped too early)."""
    if not token:
        return ""
    try:
        return MultiFernet(_keys()).decrypt(token.encode()).decode()
    except InvalidToken:
        raise ValueError("No encryption key opens this value; was a key removed from "
                         "ENCRYPTION_KEYS before the values were rotated?") from None


def rotate(token: str) -> str:
    """`token` re-encrypted with the first key; ValueError when no key opens it."""
    if not token:
        return ""
    try:
        return MultiFernet(_keys()).rotate(token.encode()).decode()
    except InvalidToken:
        raise ValueError("No encryption key opens a stored value; was a key removed from "
                         "ENCRYPTION_KEYS before the values were rotated?") from None
