"""Time searches over HTTP with a large and a small organisation in one database.

Run by hand, never in the suite:

    .venv/bin/python bench/search_http.py [--contacts N] [--small N] [--queries N]
                                          [--database-url URL] [--port PORT]
                                          [--keep] [--reuse]

It loads N contacts (default 1,000,000) into a "big" organisation and a few
thousand into a "small" one sharing the database (bulk inserts plus their
search entries, as bench/contact_list.py does), starts gunicorn on a free
127.0.0.1 port (or --port), and sends the same mix of queries to both
organisations one after another, drawn from their contacts the same way on
every run: beginnings of names, full names, exact e-mails, phone digits
and names with two letters swapped. It prints the median, 95th percentile and
worst time of the search box (`/search`, signed in) and of the contact API
(`/api/v1/contacts?q=`, with a token). Without --database-url the data goes to
a throwaway SQLite file under var/bench/ (kept with --keep); in a database
given by URL the bench organisations stay. --reuse times the newest bench
organisations already in the database instead of loading new ones, e.g.
`--reuse --database-url sqlite:///$PWD/var/bench/contacts.sqlite3` after a
run with --keep.
"""

import argparse
import http.cookiejar
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from contact_list import insert_contacts, setup_django  # noqa: E402

PASSWORD = "bench-password-1234"  # noqa: S105 - a throwaway bench account


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=2_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--port", type=int, default=0,
                        help="the 127.0.0.1 port for gunicorn (default: any free one)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the throwaway SQLite file afterwards")
    parser.add_argument("--reuse", action="store_true",
                        help="time the bench organisations already in --database-url")
    args = parser.parse_args()
    if args.reuse and not args.database_url:
        parser.error("--reuse needs --database-url: the database that holds the bench data")
    return args


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


SHAPES = ["name beginning", "full name", "exact e-mail", "phone digits", "swapped letters"]


def queries(org, count: int) -> list[str]:
    """A fixed mix drawn from the organisation's own contacts."""
    from django_scopes import scope

    from accord.customers.models import Contact

    rng = random.Random(11)
    with scope(organization=org):
        # The same contacts on every run over the same data, so that runs compare.
        ids = list(Contact.objects.order_by("pk").values_list("pk", flat=True))
        picked = rng.sample(ids, min(count, len(ids)))
        rows = Contact.objects.in_bulk(picked)
        sample = [(rows[pk].first_name, rows[pk].last_name, rows[pk].email, rows[pk].phone)
                  for pk in picked]
    mixed = []
    for number, (first, last, email, phone) in enumerate(sample):
        shape = number % len(SHAPES)
        if shape == 0:
            mixed.append(last[: rng.randint(2, 4)])
        elif shape == 1:
            mixed.append(f"{first} {last}")
        elif shape == 2:
            mixed.append(email)
        elif shape == 3:
            digits = re.sub(r"\D", "", phone)[1:]
            mixed.append(f"{digits[:3]} {digits[3:6]} {digits[6:]}")
        else:
            at = rng.randrange(1, len(last) - 1)
            mixed.append(last[:at] + last[at + 1] + last[at] + last[at + 2:])
    return mixed


def loaded(name: str):
    """The newest bench organisation of this name and its admin."""
    from django_scopes import scopes_disabled

    from accord.identity.models import Membership, Organization

    with scopes_disabled():
        org = Organization.objects.filter(name=name).order_by("-pk").first()
        if org is None:
            raise SystemExit(f"No organisation named {name!r} to reuse; run without --reuse.")
        return org, Membership.objects.filter(organization=org).get().user


class Session:
    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def sign_in(self, email: str) -> None:
        self.opener.open(self.base + "/login").read()
        token = next(cookie.value for cookie in self.jar if cookie.name == "csrftoken")
        body = urllib.parse.urlencode({"username": email, "password": PASSWORD,
                                       "csrfmiddlewaretoken": token}).encode()
        request = urllib.request.Request(  # noqa: S310 - the bench server on loopback
            self.base + "/login", data=body,
            headers={"Referer": self.base + "/login"})
        self.opener.open(request).read()

    def get(self, path: str, headers: dict | None = None, body: dict | None = None) -> float:
        """Milliseconds to GET `path`, or to POST `body` to it as JSON when given."""
        headers = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(  # noqa: S310 - the bench server on loopback
            self.base + path, headers=headers, data=data)
        started = time.perf_counter()
        with self.opener.open(request) as response:
            response.read()
            if response.status not in (200, 201):
                raise RuntimeError(f"{path} answered {response.status}")
        return (time.perf_counter() - started) * 1000


def server_env(database_url: str) -> dict:
    """The environment the bench's server and commands run with."""
    from django.conf import settings

    return {**os.environ, "DATABASE_URL": database_url, "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_COOKIES": "false", "ACCORD_VAR_DIR": str(settings.VAR_DIR)}


def start_server(database_url: str, port: int = 0) -> tuple[subprocess.Popen, str]:
    """Start gunicorn (two workers) on 127.0.0.1 and wait until it answers; (process, base URL)."""
    port = port or free_port()
    server = subprocess.Popen(  # noqa: S603 - our own gunicorn, on loopback
        [str(Path(sys.executable).parent / "gunicorn"), "accord.wsgi", "-b", f"127.0.0.1:{port}",
         "-w", "2", "--log-level", "warning"], env=server_env(database_url), cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(60):
        try:
            urllib.request.urlopen(base + "/healthz").read()  # noqa: S310 - loopback
            break
        except OSError:
            time.sleep(0.5)
    return server, base


def summary(times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return (f"median {statistics.median(ordered):6.1f} ms   p95 {p95:6.1f} ms   "
            f"max {ordered[-1]:6.1f} ms")


def main() -> None:
    args = parse_args()
    setup_django(args.database_url)
    from django.core.management import call_command
    from django.db import connection
    from django_scopes import scope

    from accord.identity.services import create_organization, create_token

    call_command("migrate", verbosity=0)
    stamp = time.time_ns()
    orgs = {}
    for name, count in (("big", args.contacts), ("small", args.small)):
        if args.reuse:
            org, admin = loaded(f"Bench {name}")
            email = admin.email
            print(f"{name}: reusing {org.name} #{org.pk}")
        else:
            email = f"{name}-{stamp}@bench.example"
            org, admin = create_organization(f"Bench {name}", admin_email=email,
                                             admin_password=PASSWORD, admin_name=name)
            seconds = insert_contacts(org.id, admin.id, count)
            print(f"{name}: {count:,} contacts loaded in {seconds:.0f} s")
        with scope(organization=org):
            _, token = create_token(org, admin, name="bench")
        orgs[name] = (org, email, token)
    url = connection.settings_dict["NAME"]
    database_url = args.database_url or f"sqlite:///{url}"
    connection.close()

    server, base = start_server(database_url, args.port)
    try:
        print(f"\n{args.queries} queries per organisation, one at a time:")
        for name, (org, email, token) in orgs.items():
            session = Session(base)
            session.sign_in(email)
            mix = queries(org, args.queries)
            box, api = [], []
            for query in mix:
                quoted = urllib.parse.quote(query)
                box.append(session.get(f"/search?q={quoted}", {"HX-Request": "true"}))
                api.append(session.get(f"/api/v1/contacts?q={quoted}",
                                       {"Authorization": f"Bearer {token}"}))
            print(f"{name:>5} search box   {summary(box)}")
            print(f"{name:>5} contact API  {summary(api)}")
            for number, shape in enumerate(SHAPES):
                print(f"{'':>7}{shape:<16} box {summary(box[number::len(SHAPES)])}")
                print(f"{'':>7}{'':<16} API {summary(api[number::len(SHAPES)])}")
    finally:
        server.terminate()
        server.wait(timeout=30)
        if not args.database_url and not args.keep:
            for path in (ROOT / "var" / "bench").glob("contacts.sqlite3*"):
                path.unlink()


if __name__ == "__main__":
    main()
