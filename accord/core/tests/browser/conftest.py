"""Playwright against Debian's chromium, driving the app served by `live_server`.

Browser tests are marked `browser`. Without /usr/bin/chromium they are
skipped with the reason, unless ACCORD_REQUIRE_BROWSER is set (as in CI),
in which case they fail: a CI run must not pass by skipping them.
"""

import os
from pathlib import Path

import pytest

# Playwright's sync API runs an asyncio loop in this thread, and Django
# refuses database access from a thread with a running loop unless told to.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking"]
TIMEOUT_MS = 10_000


def browser_required() -> bool:
    return os.environ.get("ACCORD_REQUIRE_BROWSER", "").strip().lower() in {
        "1", "true", "yes", "on"}


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is not installed (apt-get install chromium)"
        if browser_required():
            pytest.fail(f"{message}, and ACCORD_REQUIRE_BROWSER is set", pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server):
    """A page in a fresh browser context; relative URLs go to the live server."""
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    yield tab
    context.close()
