"""Fixtures shared by every app's tests: organisations, members and clients."""

import email
import os
import socket
import threading
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.test import Client
from django_scopes import scope, scopes_disabled

from accord.identity.models import Membership, Role
from accord.identity.services import create_organization, create_token

PASSWORD = "correct-horse-battery-staple"


def pytest_configure(config):
    """Settings of every test process: its own Celery queue and a fast hasher.

    Tasks carry ids of rows in one process's test database; a worker started by
    another process must never pick them up.
    """
    from django.conf import settings

    from accord.celery import app

    app.conf.task_default_queue = f"accord-tests-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    # Nearly every test makes users with passwords; the production hasher's
    # million rounds cost about half a second each on a small machine, which
    # was most of the suite's time. Only tests run this weak hasher.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    from django.db.backends.signals import connection_created

    connection_created.connect(_readers_take_no_table_locks)


def _readers_take_no_table_locks(sender, connection, **kwargs):
    """On SQLite the test database lives in memory, in one cache shared by the test's
    thread and a worker's. There a reader holds a lock on each table it reads, and a
    writer that meets it fails at once with "database table is locked" (busy_timeout
    does not apply between connections of one cache). An install's file database
    has no such locks, so test connections read without taking them."""
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        connection.connection.execute("PRAGMA read_uncommitted = 1")


@pytest.fixture(autouse=True)
def empty_task_queue(request):
    """Tests whose data a worker can see start with this process's queue empty.

    A task queued by an earlier test names rows of a database that has since been
    emptied, and on SQLite a new row may take the same id; a worker started later
    would run it against the wrong record. Only transactional tests commit what a
    worker reads, so only they pay for the purge.
    """
    marker = request.node.get_closest_marker("django_db")
    transactional = (marker is not None and marker.kwargs.get("transaction")) or {
        "transactional_db", "live_server"} & set(request.fixturenames)
    if transactional:
        from accord.celery import app

        app.control.purge()


@pytest.fixture(autouse=True)
def generous_api_rate_limit(settings):
    """Tests call the API far faster than a client would; the limit has its own tests."""
    settings.API_RATE_LIMIT = 100_000


@pytest.fixture
def make_org(db):
    counter = iter(range(1, 1000))

    def make(name: str | None = None, admin_email: str | None = None):
        number = next(counter)
        org, admin = create_organization(
            name or f"Org {number}",
            admin_email=admin_email or f"admin{number}-{id(counter)}@example.com",
            admin_password=PASSWORD, admin_name=f"Admin {number}",
        )
        return org

    return make


@pytest.fixture
def org(make_org):
    return make_org("Northwind")


@pytest.fixture
def other_org(make_org):
    return make_org("Contoso")


@pytest.fixture
def make_member(db, django_user_model):
    def make(org, role: str = Role.SALES, email: str | None = None, full_name: str = ""):
        email = email or f"{role}-{org.slug}-{Membership.unscoped.count()}@example.com"
        user = django_user_model.objects.filter(email=email).first()
        if user is None:
            user = django_user_model.objects.create_user(email, PASSWORD, full_name=full_name)
        with scope(organization=org):
            return Membership.objects.create(organization=org, user=user, role=role)

    return make


@pytest.fixture
def admin(org):
    with scopes_disabled():
        return Membership.unscoped.get(organization=org, role=Role.ADMIN)


@pytest.fixture
def member(org, make_member):
    return make_member(org, Role.SALES, full_name="Sam Seller")


@pytest.fixture
def client_for():
    """A test client signed in as the membership's user."""

    def make(membership) -> Client:
        client = Client()
        client.force_login(membership.user)
        return client

    return make


@pytest.fixture
def search_box():
    """`search_box(client, query, kind)`: the names of the records of `kind` ("contacts",
    "companies", "deals", ...) the search box shows that client for `query`."""

    def find(client, query: str, kind: str) -> list[str]:
        response = client.get("/search", {"q": query})
        assert response.status_code == 200
        return [str(record) for record in response.context[kind]]

    return find


@pytest.fixture
def api_client_for():
    """A test client that sends a fresh bearer token of the membership's user."""

    def make(membership) -> Client:
        with scope(organization=membership.organization):
            _, raw = create_token(membership.organization, membership.user, name="tests")
        return Client(headers={"Authorization": f"Bearer {raw}"})

    return make


@pytest.fixture
def in_org():
    """`with in_org(org):` opens the tenant scope for arranging data in a test."""
    return lambda org: scope(organization=org)


class Inbox:
    """Every message a loopback SMTP server accepted, parsed."""

    def __init__(self):
        self.messages = []
        self.arrived = threading.Event()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((envelope.rcpt_tos, message))
        self.arrived.set()
        return "250 Message accepted for delivery"

    def only(self):
        """The one message received: (recipients, subject, plain-text body)."""
        assert len(self.messages) == 1, self.messages
        recipients, message = self.messages[0]
        return recipients, message["Subject"], message.get_body(("plain",)).get_content()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def sqlite_file_copy(path: Path) -> Path:
    """The test's SQLite database, with what the test committed, copied to a file at
    `path` in WAL mode, so that a server or command in another process can use it as an
    install would."""
    import sqlite3

    from django.db import connection

    connection.ensure_connection()
    copy = sqlite3.connect(path)
    try:
        connection.connection.backup(copy)
        copy.execute("PRAGMA journal_mode=WAL")
    finally:
        copy.close()
    return path


@pytest.fixture
def smtp_inbox(settings):
    """A real SMTP server on 127.0.0.1 that Django's mail goes to for this test."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    yield inbox
    controller.stop()


# Browser tests: Playwright against Debian's chromium, driving the app served
# by `live_server`. They are marked `browser`. Without /usr/bin/chromium they
# are skipped with the reason, unless ACCORD_REQUIRE_BROWSER is set (as in
# CI), in which case they fail: a CI run must not pass by skipping them. The
# fixtures live here, not beside one app's tests, because a second session
# browser in the same process would start a second Playwright loop, which
# Playwright refuses.

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

    # Playwright's sync API runs an asyncio loop in this thread, and Django
    # refuses database access from a thread with a running loop unless told to.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
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
