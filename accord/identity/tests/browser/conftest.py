"""The browser fixtures of the core tests, shared here."""

from accord.core.tests.browser.conftest import browser, page  # noqa: F401 - fixtures
