"""Import N generated contacts through the import engine; compare with a plain bulk load.

Run by hand, never in the suite:

    .venv/bin/python bench/import_contacts.py [--rows N] [--database-url URL] [--keep]

It writes a CSV of N contacts (name, e-mail, phone, job title, company out of
a few hundred, city, country, birthday day-first) under var/bench/, builds a
throwaway SQLite database there unless --database-url names another one, and
then, on the same database and so the same tables, indexes, search triggers
and connection settings:

1. loads the same rows, parsed beforehand, with nothing but `executemany`
   (SQLite) or `COPY` (PostgreSQL) into the tables that hold what the file
   says: the companies it names, the contacts (linked to their company, with
   their primary e-mail and phone), their e-mail and phone rows, their
   company affiliations, and the search entries of both, with the text the
   importer gives them, committing every 500 rows as the importer does (on PostgreSQL
   without waiting for the log flush, as the importer does too), in
   a child process of its own so its memory does not count below;
2. imports the file with the engine the worker and the `import` command use
   (chunks, ledger, validation, duplicate matching, e-mails, phones, company
   links, timeline, audit entries, search text).

It prints both rates, their ratio, and the importer's resident memory before
the import, after 10% and 50% of the rows, and at its peak.
"""

import argparse
import csv
import datetime as dt
import multiprocessing
import os
import random
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from contact_list import setup_django  # noqa: E402

FIRST = ["Ada", "Ömer", "Siobhán", "Jörg", "Mira", "Tomás", "Anke", "Lotte", "Ravi", "Ines"]
LAST = ["Lovelace", "Özdemir", "O'Rourke", "Weiß", "Holt", "Reyes", "Vos", "Peeters", "Menon"]
CITIES = [("Berlin", "DE"), ("Lyon", "FR"), ("Utrecht", "NL"), ("Leeds", "GB"), ("Graz", "AT")]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database-url", default="",
                        help="a database to use instead of a throwaway SQLite file")
    parser.add_argument("--keep", action="store_true",
                        help="keep the bench organisation (and the SQLite file) afterwards")
    return parser.parse_args()


def write_csv(path: Path, rows: int) -> None:
    randomly = random.Random(7)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["First name", "Last name", "E-mail Address", "Mobile Phone",
                         "Job Title", "Company", "City", "Country", "Birthday"])
        for number in range(rows):
            city, country = randomly.choice(CITIES)
            writer.writerow([
                randomly.choice(FIRST), randomly.choice(LAST), f"person{number}@example.com",
                f"+49 30 {number:07d}", randomly.choice(["Buyer", "CFO", "Engineer", ""]),
                f"Customer {randomly.randrange(300)} GmbH", city, country,
                f"{randomly.randint(1, 28):02d}/{randomly.randint(1, 12):02d}/"
                f"{randomly.randint(1950, 2000)}",
            ])


def current_rss() -> float:
    """Resident memory now, in MiB (Linux); SQLite's page cache counts in it too."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def parse_rows(path: Path) -> tuple[list[tuple], list[str]]:
    """The file's rows as the baseline loads them: typed, with keys and search text made,
    and the names of the companies they link to, in order of first use."""
    from accord.customers.duplicates import contact_name_keys
    from accord.search import build_search_text, phone_words

    rows, companies = [], {}
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader)
        for first, last, email, phone, title, company, city, country, birthday in reader:
            day, month, year = birthday.split("/")
            number = "+49" + phone.replace(" ", "")[3:]
            name_key, block_key = contact_name_keys(first, last)
            text = " ".join([build_search_text(first, last, email, title),
                             *phone_words(number, "0" + number[3:])])
            companies.setdefault(company, len(companies))
            rows.append((first, last, email, title, city, country,
                         dt.date(int(year), int(month), int(day)), name_key, block_key,
                         text, f"{first} {last}", number, phone, companies[company]))
    return rows, list(companies)


CONTACT_COLUMNS = ("id", "organization_id", "created_at", "updated_at", "version", "street",
                   "city", "region", "postal_code", "country", "source", "custom_fields",
                   "name_key", "block_key", "first_name", "last_name", "title", "email",
                   "phone", "lifecycle_stage", "birthday", "time_zone", "do_not_contact",
                   "company_id")
EMAIL_COLUMNS = ("organization_id", "contact_id", "address", "kind", "label", "is_primary")
PHONE_COLUMNS = ("organization_id", "contact_id", "number", "raw", "extension", "kind",
                 "label", "is_primary")
AFFILIATION_COLUMNS = ("organization_id", "contact_id", "company_id", "title", "is_primary")
ENTRY_COLUMNS = ("organization_id", "entity", "record_id", "text", "title")
TABLES = (("customers_contact", CONTACT_COLUMNS), ("customers_contactemail", EMAIL_COLUMNS),
          ("customers_contactphone", PHONE_COLUMNS),
          ("customers_affiliation", AFFILIATION_COLUMNS),
          ("core_searchentry", ENTRY_COLUMNS))
COMPANY_COLUMNS = ("id", "organization_id", "created_at", "updated_at", "version", "street",
                   "city", "region", "postal_code", "country", "source", "custom_fields",
                   "name_key", "block_key", "name", "domain", "website", "industry", "size",
                   "currency", "phone", "description")


def baseline(organization_id: int, path: Path, results) -> None:
    """Load the pre-parsed rows with the database's plainest bulk path; put rows/s in results.

    Runs in a child process. Ids are given, from the table's current end,
    as a bulk loader that owns the table for a while would; PostgreSQL's
    sequence is moved past them afterwards.
    """
    from django.db import connection, transaction
    from django.utils import timezone

    from accord.customers.duplicates import company_name_keys
    from accord.integrations.engine import CHUNK
    from accord.search import build_search_text

    rows, names = parse_rows(path)
    now = timezone.now()
    postgres = connection.vendor == "postgresql"
    stamp = now if postgres else connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM customers_contact")
        (next_id,) = cursor.fetchone()
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM customers_company")
        (next_company,) = cursor.fetchone()
    companies = [(next_company + at + 1, name, *company_name_keys(name))
                 for at, name in enumerate(names)]

    started = time.perf_counter()
    # The companies first, as the importer makes each before the first row
    # that links to it.
    with transaction.atomic():
        _load(connection, (
            ("customers_company", COMPANY_COLUMNS),
            ("core_searchentry", ENTRY_COLUMNS),
        ), (
            [(pk, organization_id, stamp, stamp, 1, "", "", "", "", "", "", "{}", name_key,
              block_key, name, "", "", "", "", "", "", "")
             for pk, name, name_key, block_key in companies],
            [(organization_id, "companies", pk, build_search_text(name), name)
             for pk, name, _, _ in companies],
        ))
    for start in range(0, len(rows), CHUNK):
        tables = ([], [], [], [], [])
        for offset, row in enumerate(rows[start:start + CHUNK]):
            first, last, email, title, city, country, birthday, name_key, block_key = row[:9]
            number, raw, company = row[11:]
            pk = next_id + start + offset + 1
            company_id = companies[company][0]
            tables[0].append((pk, organization_id, stamp, stamp, 1, "", city, "", "", country,
                              "", "{}", name_key, block_key, first, last, title, email, number,
                              "lead", birthday if postgres else birthday.isoformat(), "",
                              False, company_id))
            tables[1].append((organization_id, pk, email, "work", "", True))
            tables[2].append((organization_id, pk, number, raw, "", "mobile", "", True))
            tables[3].append((organization_id, pk, company_id, title, True))
            tables[4].append((organization_id, "contacts", pk, row[9], row[10]))
        with transaction.atomic():
            _load(connection, TABLES, tables)
    elapsed = time.perf_counter() - started
    if postgres:
        with connection.cursor() as cursor:
            for table in ("customers_contact", "customers_company"):
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                               f"(SELECT MAX(id) FROM {table}))")
    results.put(len(rows) / elapsed)


def _load(connection, tables, values) -> None:
    if connection.vendor == "postgresql":
        # As the importer's chunks do, commit without waiting for the log flush.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        _copy(connection, tables, values)
        return
    with connection.cursor() as cursor:
        for (table, columns), rows in zip(tables, values, strict=True):
            cursor.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608
                f"VALUES ({', '.join(['%s'] * len(columns))})", rows)


def _copy(connection, tables, tables_rows) -> None:
    with connection.connection.cursor() as cursor:
        for (table, columns), rows in zip(tables, tables_rows, strict=True):
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)


def run_baseline(organization_id: int, path: Path) -> float:
    """Rows per second of the plain load, measured in a child process."""
    from django.db import connections

    # The child opens its own connection; a shared one would break both.
    connections.close_all()
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    child = context.Process(target=baseline, args=(organization_id, path, results))
    child.start()
    rate = results.get()
    child.join()
    if child.exitcode:
        raise SystemExit(f"the baseline load failed ({child.exitcode})")
    return rate


def main() -> None:
    args = parse_args()
    bench_dir = ROOT / "var" / "bench"
    bench_dir.mkdir(parents=True, exist_ok=True)
    setup_django(args.database_url, name="import")

    from django.core.management import call_command
    from django_scopes import scope

    from accord.audit.context import channel
    from accord.identity.models import Organization
    from accord.identity.services import create_organization
    from accord.integrations import engine, services

    call_command("migrate", verbosity=0)
    path = bench_dir / "contacts.csv"
    write_csv(path, args.rows)
    organizations = []
    try:
        org, admin = create_organization(
            "Import bench", admin_email="bench@example.com",
            admin_password="bench-password-long-enough",  # noqa: S106 - a throwaway org
            admin_name="Bench")
        organizations.append(org)
        plain, _ = create_organization("Import baseline", admin_email="bench@example.com")
        organizations.append(plain)
        plain_rate = run_baseline(plain.pk, path)

        with scope(organization=org), channel("cli"):
            job = services.create_job(org, admin, entity="contact", path=path)
            samples = {}

            def sample(job):
                share = job.rows_done * 10 // job.total_rows
                samples.setdefault(share, current_rss())

            before = current_rss()
            started = time.perf_counter()
            job = engine.run_job(org, admin, job, after_chunk=sample)
            elapsed = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        database = "PostgreSQL" if args.database_url.startswith("postgres") else "SQLite"
        plain_name = "COPY" if database == "PostgreSQL" else "executemany"
        rate = job.rows_done / elapsed
        print(f"{database}, {args.rows} rows")
        print(f"importer: {job.rows_done} rows in {elapsed:.1f} s = {rate:.0f} rows/s; "
              f"created {job.created_count}, failed {job.failed_count}")
        print(f"plain {plain_name} (companies, contacts, e-mails, phones, affiliations, "
              "search entries): "
              f"{plain_rate:.0f} rows/s; importer/plain = {rate / plain_rate:.0%}")
        print(f"importer RSS (MiB): before {before:.0f}, 10% {samples.get(1, 0):.0f}, "
              f"50% {samples.get(5, 0):.0f}, peak {peak:.0f}")
        print("RSS by tenth of the file (MiB):",
              " ".join(f"{share * 10}%={rss:.0f}" for share, rss in sorted(samples.items())))
    finally:
        # A throwaway SQLite file is simply replaced by the next run.
        if args.database_url and not args.keep:
            Organization.objects.filter(pk__in=[o.pk for o in organizations]).delete()


if __name__ == "__main__":
    main()
