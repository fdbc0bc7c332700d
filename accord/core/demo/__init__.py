"""The demo organisation: a made-up hardware seller with its customers.

`make_plan` (in `plan`) decides what the demo holds; `load` writes it through
the services. This module knows where the demo's password comes from.
"""

import os
import secrets

from django.conf import settings

DEMO_SLUG = "demo"
DEMO_NAME = "Demo"
DEMO_ADMIN_EMAIL = "demo@example.com"
PASSWORD_FILE = "demo_password"  # noqa: S105 - a file name, not a password


def demo_password(*, create: bool = False) -> str | None:
    """DEMO_PASSWORD when set, else the one kept in var/demo_password.

    With `create`, a missing file is written with a new random password,
    readable by its owner only. Without it, None when there is neither.
    """
    if settings.DEMO_PASSWORD:
        return settings.DEMO_PASSWORD
    path = settings.VAR_DIR / PASSWORD_FILE
    if path.exists():
        return path.read_text().strip()
    if not create:
        return None
    password = secrets.token_urlsafe(12)
    # O_EXCL: two loads started at once must not each keep a different password.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(password + "\n")
    return password
