"""Time other users' requests while a big contact import runs, against the same requests idle.

Run by hand, never in the suite:

    .venv/bin/python bench/import_load.py [--rows N] [--existing N] [--rounds N]
                                          [--database-url URL]

It builds a throwaway SQLite database under var/bench/ (or uses the database
--database-url names), loads --existing contacts into an organisation, writes
a CSV of N new contacts (default 1,000,000; the file bench/import_contacts.py
generates) and starts gunicorn (two workers) on a free 127.0.0.1 port. A
signed-in member then sends a fixed round of requests, one at a time: the
contact list, a contact's page, the search box, the contact API and a note
added through the API (a write). It times
--rounds rounds with nothing else running, then starts `accord import` of the
file into the same organisation in a process of its own and keeps sending
rounds until the import ends. It prints the median, 95th percentile and worst
time of each request idle and during the import, the ratio of the p95s, the
requests that failed (with how long each took), and how long the import took.
"""

import argparse
import json
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from contact_list import insert_contacts, setup_django  # noqa: E402
from import_contacts import write_csv  # noqa: E402
from search_http import PASSWORD, Session, server_env, start_server  # noqa: E402

BENCH_DIR = ROOT / "var" / "bench"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000,
                        help="contacts in the imported file (default 1,000,000)")
    parser.add_argument("--existing", type=int, default=20_000,
                        help="contacts loaded before the import (default 20,000)")
    parser.add_argument("--rounds", type=int, default=50,
                        help="idle rounds of requests to time (default 50)")
    parser.add_argument("--database-url", default="",
                        help="a database to use instead of a throwaway SQLite file")
    return parser.parse_args()


def requests_of(contact_id: int, token: str) -> dict[str, tuple[str, dict, dict | None]]:
    """The round a member sends: what each request is called, its path, headers and the
    JSON body it posts (None for a GET)."""
    api = {"Authorization": f"Bearer {token}"}
    return {
        "contact list": ("/contacts/", {}, None),
        "contact page": (f"/contacts/{contact_id}/", {}, None),
        "search box": ("/search?q=" + urllib.parse.quote("Müller"), {"HX-Request": "true"},
                       None),
        "contact API": ("/api/v1/contacts?limit=50", api, None),
        # A write, which on SQLite waits for the import's chunk to commit.
        "note (API)": ("/api/v1/activities", api,
                       {"kind": "note", "body": "Called back.", "contact_id": contact_id}),
    }


def one_round(session: Session, round_: dict, times: dict[str, list[float]],
              failures: list[str]) -> None:
    """Send each request once; a failed one is told in `failures`, with how long it took."""
    for name, (path, headers, body) in round_.items():
        started = time.perf_counter()
        try:
            times[name].append(session.get(path, headers, body))
        except urllib.error.HTTPError as exc:
            failures.append(f"{name}: {exc.code} after "
                            f"{(time.perf_counter() - started) * 1000:.0f} ms")


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * 0.95) - 1)]


def line(values: list[float]) -> str:
    return (f"median {statistics.median(values):7.1f} ms   p95 {p95(values):7.1f} ms   "
            f"max {max(values):7.1f} ms   ({len(values)} requests)")


def main() -> None:
    args = parse_args()
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    database_url = setup_django(args.database_url, name="load")
    from django.core.management import call_command
    from django.db import connection
    from django_scopes import scope

    from accord.customers.models import Contact
    from accord.identity.services import create_organization, create_token

    call_command("migrate", verbosity=0)
    email = f"load-{time.time_ns()}@bench.example"
    org, admin = create_organization("Bench load", admin_email=email,
                                     admin_password=PASSWORD, admin_name="Load")
    insert_contacts(org.id, admin.id, args.existing)
    with scope(organization=org):
        _, token = create_token(org, admin, name="bench")
        contact_id = Contact.objects.order_by("pk").values_list("pk", flat=True)[
            args.existing // 2]
    connection.close()

    source = BENCH_DIR / f"load-{args.rows}.csv"
    if not source.exists():
        write_csv(source, args.rows)

    server, base = start_server(database_url)
    importer = None
    try:
        session = Session(base)
        session.sign_in(email)
        round_ = requests_of(contact_id, token)
        failures: list[str] = []
        one_round(session, round_, {name: [] for name in round_}, failures)  # warm up
        idle = {name: [] for name in round_}
        for _ in range(args.rounds):
            one_round(session, round_, idle, failures)
        failed_idle, failures = failures, []

        busy = {name: [] for name in round_}
        started = time.perf_counter()
        importer = subprocess.Popen(  # noqa: S603 - our own command
            [str(Path(sys.executable).parent / "accord"), "import", str(source), "--org", org.slug,
             "--entity", "contact", "--date-order", "dmy"],
            env=server_env(database_url), cwd=ROOT, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True)
        while importer.poll() is None:
            one_round(session, round_, busy, failures)
        took = time.perf_counter() - started
        result = json.loads(importer.stdout.read().strip().splitlines()[-1])
    finally:
        if importer is not None and importer.poll() is None:
            importer.kill()
        server.terminate()
        server.wait(timeout=30)

    print(f"Imported {args.rows:,} rows into an organisation of {args.existing:,} contacts "
          f"in {took:.0f} s ({args.rows / took:,.0f} rows/s): {result}")
    everything_idle, everything_busy = [], []
    for name in round_:
        everything_idle += idle[name]
        everything_busy += busy[name]
        print(f"{name:>13} idle    {line(idle[name])}")
        print(f"{'':>13} import  {line(busy[name])}")
    print(f"{'all':>13} idle    {line(everything_idle)}")
    print(f"{'':>13} import  {line(everything_busy)}")
    for when, failed in (("idle", failed_idle), ("during the import", failures)):
        print(f"Requests that failed {when}: {len(failed)}",
              *failed[:10], sep="\n  ")
    print(f"p95 during the import is {p95(everything_busy) / p95(everything_idle):.2f} times "
          "the idle p95 (the goal is at most 2).")
    if not args.database_url:
        for leftover in BENCH_DIR.glob("load.sqlite3*"):
            leftover.unlink()


if __name__ == "__main__":
    main()
