"""Many people at once: no update is lost, a stale one answers 409, and SQLite's
single write lock never reaches anyone as an error.

Each test arranges its data, then starts the production web server (gunicorn
with threaded workers, as `accord serve` runs it) in a child process against
that data, and sends it requests from a pool of threads. On SQLite the server
works on a file copy of the test database, because the in-memory database
pytest-django shares with its own live server is one connection used by every
thread, which neither locks nor isolates the way a file does. On PostgreSQL it
works on the test database itself.

The clients of the lost-update test each send a fixed number of versioned
changes, whatever the answers: with fifty of them on one record most changes
meet a newer version and answer 409, so insisting on twenty that land for each
client would take tens of thousands of requests.
"""

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from django.conf import settings
from django.db import connection
from django.test import Client
from django_scopes import scope

import accord
from accord.customers import services as customers
from accord.identity.services import create_token
from conftest import free_port, sqlite_file_copy

START_TIMEOUT = 90  # seconds; it takes under ten even on a loaded machine
REQUEST_TIMEOUT = 30  # seconds; above SQLite's 20 s busy timeout, so a wait shows as such
CLIENTS = 50
UPDATES = 20  # versioned PATCHes per client, whether they succeed or meet a 409
RUN_LIMIT = 150  # seconds; past this the clients stop and the test fails instead of hanging
WRITERS = 8
READERS = 32
LOAD_SECONDS = 8  # long enough for every writer and reader to meet the others many times
REPO = Path(accord.__file__).resolve().parent.parent


class Server:
    """gunicorn serving Accord from a child process with threaded workers, as `accord serve`
    runs it; the app is loaded once before forking, which halves the start."""

    def __init__(self, tmp_path: Path, database_url: str):
        self.url = f"http://127.0.0.1:{free_port()}"
        self.log = tmp_path / "server.log"
        env = {key: value for key, value in os.environ.items()
               if key not in ("HOST", "PORT", "DEMO_PASSWORD")}
        env |= {
            "ACCORD_VAR_DIR": str(tmp_path),
            "DATABASE_URL": database_url,
            "BROKER_URL": "filesystem://",
            "DJANGO_SETTINGS_MODULE": "accord.settings",
            # Tokens and sessions made by the test must check out in the server.
            "SECRET_KEY": settings.SECRET_KEY,
            "API_RATE_LIMIT": str(10**7),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO),
                                                        os.environ.get("PYTHONPATH")])),
        }
        with self.log.open("w") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and server
                [sys.executable, "-m", "gunicorn", "accord.wsgi",
                 "--bind", self.url.removeprefix("http://"),
                 "--workers", "2", "--worker-class", "gthread", "--threads", "6", "--preload",
                 "--graceful-timeout", "5",
                 "--control-socket", str(tmp_path / "gunicorn.ctl")],
                env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
            )
        self._wait_until_ready()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                if requests.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"the server did not start:\n{self.output}")
            time.sleep(0.3)

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    @property
    def tail(self) -> str:
        """The end of the server's log, for a failure message."""
        return self.output[-4000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # gunicorn's quick shutdown
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def serve(transactional_db, tmp_path):
    """`serve()` starts a server on everything the test has committed so far."""
    started = []

    def start() -> Server:
        if connection.vendor == "sqlite":
            url = f"sqlite:///{sqlite_file_copy(tmp_path / 'accord.sqlite3')}"
        else:
            db = connection.settings_dict
            user, password = quote(db["USER"], safe=""), quote(db["PASSWORD"] or "", safe="")
            url = (f"postgres://{user}:{password}@{db['HOST'] or '127.0.0.1'}:"
                   f"{db['PORT'] or 5432}/{db['NAME']}")
        started.append(Server(tmp_path, url))
        return started[-1]

    yield start
    for server in started:
        server.stop()


def bearer(org, admin) -> dict:
    with scope(organization=org):
        _, raw = create_token(org, admin.user, name="concurrency")
    return {"Authorization": f"Bearer {raw}"}


def test_concurrent_versioned_updates_lose_nothing_and_stale_ones_answer_409(
        serve, org, admin):
    with scope(organization=org):
        for number in range(CLIENTS):
            customers.create_custom_field(org, admin.user, data={
                "entity": "contact", "key": f"c{number}", "label": f"Client {number}",
                "field_type": "number"})
        contact = customers.create_contact(org, admin.user, data={"first_name": "Shared"})
    headers = bearer(org, admin)
    address = f"/api/v1/contacts/{contact.pk}"
    server = serve()
    deadline = time.monotonic() + RUN_LIMIT

    def client(number: int) -> dict:
        """UPDATES versioned changes of this client's own field, re-reading after a 409."""
        outcome = {"applied": 0, "stale": 0, "wrong": []}
        with requests.Session() as session:
            session.headers.update(headers)
            version = session.get(server.url + address, timeout=REQUEST_TIMEOUT).json()["version"]
            for _ in range(UPDATES):
                if time.monotonic() > deadline:
                    outcome["wrong"].append("ran out of time")
                    break
                response = session.patch(server.url + address, timeout=REQUEST_TIMEOUT, json={
                    "version": version,
                    "custom_fields": {f"c{number}": outcome["applied"] + 1}})
                if response.status_code == 200:
                    outcome["applied"] += 1
                    if response.json()["version"] != version + 1:
                        outcome["wrong"].append(f"version {version} became "
                                                f"{response.json()['version']}")
                    version = response.json()["version"]
                elif (response.status_code == 409
                        and response.json()["current_version"] > version):
                    outcome["stale"] += 1
                    read = session.get(server.url + address, timeout=REQUEST_TIMEOUT)
                    version = read.json()["version"]
                else:
                    outcome["wrong"].append(f"{response.status_code} for version {version}: "
                                            f"{response.text[:300]}")
        return outcome

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        outcomes = list(pool.map(client, range(CLIENTS)))
    elapsed = time.monotonic() - started
    final = requests.get(server.url + address, headers=headers, timeout=REQUEST_TIMEOUT).json()

    applied = sum(outcome["applied"] for outcome in outcomes)
    stale = sum(outcome["stale"] for outcome in outcomes)
    assert [outcome["wrong"] for outcome in outcomes if outcome["wrong"]] == [], server.tail
    assert applied + stale == CLIENTS * UPDATES
    # Every update that answered 200 is in the record, and no stale one is.
    assert final["custom_fields"] == {
        f"c{number}": str(outcome["applied"])
        for number, outcome in enumerate(outcomes) if outcome["applied"]}
    assert final["version"] == 1 + applied
    # The clients really overlapped: some of them met a newer version.
    assert applied > 0
    assert stale > 0, f"{applied} updates in {elapsed:.1f} s and none met another"
    assert "Traceback" not in server.output, server.tail


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's single write lock")
def test_sqlite_under_many_writers_and_readers_answers_every_request_without_a_lock_error(
        serve, org, admin):
    with scope(organization=org):
        seeded = [customers.create_contact(org, admin.user, data={
            "first_name": f"Seed{number}", "last_name": "Reader"}).pk for number in range(20)]
    headers = bearer(org, admin)
    browser = Client()
    browser.force_login(admin.user)
    cookies = {settings.SESSION_COOKIE_NAME: browser.cookies[settings.SESSION_COOKIE_NAME].value}
    server = serve()
    stop = threading.Event()
    answers: Counter = Counter()
    wrong: list[str] = []

    def check(response: requests.Response, expected: int) -> requests.Response:
        answers[response.status_code] += 1
        if response.status_code != expected or "database is locked" in response.text:
            wrong.append(f"{response.request.method} {response.request.path_url}: "
                         f"{response.status_code} {response.text[:300]}")
        return response

    def writer(number: int) -> tuple[list[int], list[int]]:
        created, notes = [], []
        with requests.Session() as session:
            session.headers.update(headers)
            while not stop.is_set():
                made = check(session.post(f"{server.url}/api/v1/contacts", json={
                    "first_name": f"Writer{number}", "last_name": f"Row{len(created)}"},
                    timeout=REQUEST_TIMEOUT), 201)
                if made.status_code != 201:
                    continue
                contact = made.json()
                created.append(contact["id"])
                check(session.patch(f"{server.url}/api/v1/contacts/{contact['id']}", json={
                    "version": contact["version"], "title": "Changed"},
                    timeout=REQUEST_TIMEOUT), 200)
                logged = check(session.post(f"{server.url}/api/v1/activities", json={
                    "kind": "note", "body": f"Note from writer {number}",
                    "contact_id": random.choice([*seeded, contact["id"]])},  # noqa: S311
                    timeout=REQUEST_TIMEOUT), 201)
                if logged.status_code != 201:
                    continue
                note = logged.json()
                notes.append(note["id"])
                check(session.patch(f"{server.url}/api/v1/activities/{note['id']}", json={
                    "version": note["version"], "body": f"Note from writer {number}, edited"},
                    timeout=REQUEST_TIMEOUT), 200)
        return created, notes

    def reader(number: int) -> None:
        with requests.Session() as session:
            session.headers.update(headers)
            session.cookies.update(cookies)
            while not stop.is_set():
                check(session.get(f"{server.url}/api/v1/contacts", params={"limit": 50},
                                  timeout=REQUEST_TIMEOUT), 200)
                check(session.get(f"{server.url}/contacts/{random.choice(seeded)}/",  # noqa: S311
                                  timeout=REQUEST_TIMEOUT), 200)
                check(session.get(f"{server.url}/api/v1/contacts",
                                  params={"q": random.choice(["Writer", "Seed", "Reader"])},  # noqa: S311
                                  timeout=REQUEST_TIMEOUT), 200)
                check(session.get(f"{server.url}/search", params={"q": f"Writer{number % 8}"},
                                  timeout=REQUEST_TIMEOUT), 200)

    with ThreadPoolExecutor(max_workers=WRITERS + READERS) as pool:
        writing = [pool.submit(writer, number) for number in range(WRITERS)]
        reading = [pool.submit(reader, number) for number in range(READERS)]
        try:
            time.sleep(LOAD_SECONDS)
        finally:
            stop.set()
        written = [future.result() for future in writing]
        for future in reading:
            future.result()
    created = [contact for contacts, _ in written for contact in contacts]
    notes = [note for _, notes in written for note in notes]

    assert wrong == [], server.tail
    assert "database is locked" not in server.output, server.tail
    assert len(created) >= WRITERS, answers
    assert set(created) <= every_id(server.url + "/api/v1/contacts", headers)
    assert set(notes) <= every_id(server.url + "/api/v1/activities", headers)


def every_id(url: str, headers: dict) -> set[int]:
    """The ids of every item of an API list, read page by page."""
    found, cursor = set(), None
    while True:
        page = requests.get(url, headers=headers, timeout=REQUEST_TIMEOUT,
                            params={"limit": 500, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        found |= {item["id"] for item in page.json()["items"]}
        cursor = page.json()["next"]
        if not cursor:
            return found
