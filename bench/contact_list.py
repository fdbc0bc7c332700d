"""Time the contact list at 100,000 contacts in one organisation.

Run by hand, never in the suite:

    .venv/bin/python bench/contact_list.py [--contacts N] [--database-url URL] [--keep]

Without --database-url it builds a throwaway SQLite database under
var/bench/ (deleted first). With one, it migrates that database, adds a bench
organisation and deletes it again at the end (unless --keep). Contacts are
inserted in bulk (executemany on SQLite, COPY on PostgreSQL), then the list
query the UI and the API run is timed: `accord.pagination.paginate` over
contacts in the default "name" ordering, for the first page, a deep page
reached by cursor, and searches through `accord.search`.
"""

import argparse
import logging
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PAGE = 50  # the API's and the UI's default page size
REPEATS = 7
STAGES = ["subscriber", "lead", "mql", "sql", "opportunity", "customer", "evangelist", "other"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--database-url", default="",
                        help="a database to use instead of a throwaway SQLite file")
    parser.add_argument("--keep", action="store_true",
                        help="keep the bench organisation (and the SQLite file) afterwards")
    return parser.parse_args()


def setup_django(database_url: str, name: str = "contacts") -> str:
    """Point Django at `database_url`, or at a new SQLite file var/bench/<name>.sqlite3;
    returns the URL, for servers and commands the bench starts."""
    if not database_url:
        bench_dir = ROOT / "var" / "bench"
        bench_dir.mkdir(parents=True, exist_ok=True)
        path = bench_dir / f"{name}.sqlite3"
        for leftover in bench_dir.glob(f"{name}.sqlite3*"):
            leftover.unlink()
        database_url = f"sqlite:///{path}"
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "accord.settings")
    import django

    django.setup()
    # Every service logs its writes at INFO; the table is what matters here.
    logging.disable(logging.INFO)
    return database_url


def contact_rows(org_id: int, owner_id: int, count: int, now):
    """Plain tuples in `columns()` order; names drawn from the demo word lists."""
    from accord.core.demo import words
    from accord.customers.duplicates import contact_name_keys

    rng = random.Random(7)
    for number in range(count):
        first, last = rng.choice(words.FIRST_NAMES), rng.choice(words.LAST_NAMES)
        email = f"{first}.{last}.{number}@bench.example".lower()
        phone = f"+1201555{number % 10000:04d}"
        name_key, block_key = contact_name_keys(first, last)
        yield {
            "organization_id": org_id, "created_at": now, "updated_at": now, "version": 1,
            "street": "", "city": "", "region": "", "postal_code": "", "country": "US",
            "owner_id": owner_id, "source": "bench", "custom_fields": "{}",
            "deleted_at": None, "first_name": first, "last_name": last, "title": "",
            "email": email, "phone": phone, "company_id": None,
            "lifecycle_stage": rng.choice(STAGES), "birthday": None, "time_zone": "",
            "do_not_contact": False, "merged_into_id": None, "name_key": name_key,
            "block_key": block_key,
        }


def insert_contacts(org_id: int, owner_id: int, count: int) -> float:
    """Bulk-insert `count` contacts; returns the seconds it took."""
    from django.db import connection, transaction
    from django.utils import timezone

    from accord.customers.models import Contact

    columns = [field.column for field in Contact._meta.concrete_fields if field.column != "id"]
    table = Contact._meta.db_table
    rows = contact_rows(org_id, owner_id, count, timezone.now())
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            names = ", ".join(columns)
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([row[column] for column in columns])
        else:
            sql = (f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608 - model columns
                   f"VALUES ({', '.join(['%s'] * len(columns))})")
            adapt = connection.ops.adapt_datetimefield_value
            batch: list[list] = []
            for row in rows:
                row["created_at"] = row["updated_at"] = adapt(row["created_at"])
                batch.append([row[column] for column in columns])
                if len(batch) == 5000:
                    cursor.executemany(sql, batch)
                    batch = []
            if batch:
                cursor.executemany(sql, batch)
        index_contacts(cursor, org_id)
    with connection.cursor() as cursor:
        # What autovacuum does soon after a bulk load on PostgreSQL (statistics, and
        # the visibility map index-only scans need); SQLite takes statistics only.
        analyse = "VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE"
        cursor.execute(f"{analyse} {table}")
        cursor.execute(f"{analyse} core_searchentry")
    return time.perf_counter() - started


def index_contacts(cursor, org_id: int) -> None:
    """Search entries for the inserted contacts, the words `accord.search` would store."""
    from accord.customers.phones import national_digits
    from accord.search import build_search_text, phone_words

    cursor.execute("SELECT id, first_name, last_name, email, phone FROM customers_contact "
                   "WHERE organization_id = %s", [org_id])
    entries = [
        [org_id, "contacts", pk, f"{first} {last}",
         " ".join([build_search_text(first, last, email),
                   *phone_words(phone, national_digits(phone))])]
        for pk, first, last, email, phone in cursor.fetchall()
    ]
    sql = ("INSERT INTO core_searchentry (organization_id, entity, record_id, title, text) "
           "VALUES (%s, %s, %s, %s, %s)")
    for start in range(0, len(entries), 5000):
        cursor.executemany(sql, entries[start:start + 5000])


def timed(run) -> tuple[float, float, int]:
    """Median and worst milliseconds over REPEATS runs, and the rows of the last."""
    times, rows = [], 0
    for _ in range(REPEATS):
        started = time.perf_counter()
        rows = run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times), rows


def measure(org) -> list[tuple[str, float, float, int]]:
    from django_scopes import scope

    from accord.customers.models import Contact
    from accord.customers.queries import CONTACT_ORDERINGS
    from accord.pagination import make_cursor, ordered, paginate, parse_ordering
    from accord.search import find, search

    results = []
    with scope(organization=org):
        ordering = parse_ordering(None, CONTACT_ORDERINGS, "name")
        contacts = Contact.objects.all()
        total = contacts.count()

        def page(queryset, cursor=None):
            return lambda: len(paginate(queryset, ordering, cursor=cursor, limit=PAGE)[0])

        # The cursor a reader holds after paging 90% of the way through.
        deep = (contacts.annotate(_sort_key=ordering.expression)
                .order_by("_sort_key", "id").values_list("_sort_key", "id")[total * 9 // 10])
        deep_cursor = make_cursor(ordering, deep[0], deep[1])
        common = Contact.objects.values_list("last_name", flat=True).first().lower()[:4]
        rare = Contact.objects.order_by("-id").values_list("email", flat=True).first()

        results.append(("first page, by name", *timed(page(contacts))))
        results.append(("page at 90%, by cursor", *timed(page(contacts, deep_cursor))))
        results.append((f"search '{common}' (common prefix)", *timed(page(search(contacts,
                                                                                 common)))))
        results.append(("search one exact e-mail", *timed(page(search(contacts, rare)))))
        results.append(("search with no match", *timed(page(search(contacts, "zzqx")))))
        results.append((f"search box '{common}'", *timed(lambda: len(find(Contact, common)))))
        results.append(("search box, one exact e-mail",
                         *timed(lambda: len(find(Contact, rare)))))
        results.append(("search box, a typing mistake",
                         *timed(lambda: len(find(Contact, rare.split(".")[0] + "x")))))
        results.append(("search box, phone digits",
                         *timed(lambda: len(find(Contact, "201 555 01")))))
        results.append(("count(*) of the organisation", *timed(contacts.count)))
        plan = ordered(contacts, ordering)[: PAGE + 1].explain()
    return results, plan


def main() -> None:
    args = parse_args()
    setup_django(args.database_url)
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from accord.identity.models import Membership, Organization
    from accord.identity.services import create_organization

    call_command("migrate", verbosity=0)
    org, admin = create_organization(
        "Bench", admin_email=f"bench-{time.time_ns()}@bench.example", admin_name="Bench"
    )
    try:
        seconds = insert_contacts(org.id, admin.id, args.contacts)
        print(f"{connection.vendor}: inserted {args.contacts:,} contacts in {seconds:.1f} s "
              f"({args.contacts / seconds:,.0f} rows/s)")
        print()
        print(f"{'query (limit ' + str(PAGE) + ')':<40} {'median ms':>10} {'max ms':>8} "
              f"{'rows':>7}")
        results, plan = measure(org)
        for name, median, worst, rows in results:
            print(f"{name:<40} {median:>10.1f} {worst:>8.1f} {rows:>7}")
        print(f"\nPlan of the first page:\n{plan}")
    finally:
        if args.keep:
            print(f"\nKept the bench organisation (id {org.id}) in "
                  f"{connection.settings_dict['NAME']}.")
        elif not args.database_url:
            connection.close()
            for path in (ROOT / "var" / "bench").glob("contacts.sqlite3*"):
                path.unlink()
        else:
            users = list(Membership.unscoped.filter(organization=org)
                         .values_list("user", flat=True))
            Organization.objects.filter(pk=org.pk).delete()
            get_user_model().objects.filter(pk__in=users).delete()


if __name__ == "__main__":
    main()
