"""Helpers for identity tests: links in mail, and codes from an authenticator."""

import re
import time
from types import SimpleNamespace

import pyotp
import pytest

from accord.identity import twofactor


def link_path(body: str) -> str:
    """The path of the one link in a mail body sent while serving the test client."""
    return re.search(r"http://testserver(/\S+)", body).group(1)


def code_for(secret: str, steps_ahead: int = 0) -> str:
    """The code an authenticator app shows now, or `steps_ahead` 30-second steps later.

    Each accepted code must be of a later step than the one before, so a test
    that uses two codes takes the second one step ahead, inside the drift the
    server allows.
    """
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


@pytest.fixture
def enrolled(member):
    """The `member` fixture with two-factor on: its secret and its ten recovery codes."""
    device = twofactor.begin_two_factor(member.user)
    codes = twofactor.confirm_two_factor(member.user, code=code_for(device.secret))
    return SimpleNamespace(membership=member, user=member.user, secret=device.secret,
                           codes=codes)
