"""The browser fixtures of the core tests, for the board's browser tests."""

from accord.core.tests.browser.conftest import browser, page  # noqa: F401 - fixtures
