"""Import N generated contacts from a CSV through the import engine; print rows/s and peak RSS.

Run by hand, never in the suite:

    .venv/bin/python bench/import_contacts.py [--rows N] [--database-url URL] [--keep]

It writes a CSV of N contacts (name, e-mail, phone, job title, company out of
a few hundred, city, country, birthday day-first) under var/bench/, builds a
throwaway SQLite database there unless --database-url names another one,
creates a bench organisation, and imports the file with the engine the
worker and the `import` command use: chunks, ledger, audit entries, search
text. It prints the time, rows per second and the process's resident memory
as the import goes. Rows are streamed, so the import's own memory stays flat;
on SQLite the page cache (cache_size in settings, up to 256 MiB) grows with
the database and shows in the same number.
"""

import argparse
import csv
import logging
import os
import random
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

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


def setup_django(database_url: str, bench_dir: Path) -> None:
    if not database_url:
        path = bench_dir / "import.sqlite3"
        for leftover in bench_dir.glob("import.sqlite3*"):
            leftover.unlink()
        database_url = f"sqlite:///{path}"
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "accord.settings")
    import django

    django.setup()
    # Every write logs at INFO; the numbers are what matters here.
    logging.disable(logging.INFO)


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


def main() -> None:
    args = parse_args()
    bench_dir = ROOT / "var" / "bench"
    bench_dir.mkdir(parents=True, exist_ok=True)
    setup_django(args.database_url, bench_dir)

    from django.core.management import call_command
    from django_scopes import scope

    from accord.audit.context import channel
    from accord.identity.models import Organization
    from accord.identity.services import create_organization
    from accord.integrations import engine, services

    call_command("migrate", verbosity=0)
    path = bench_dir / "contacts.csv"
    write_csv(path, args.rows)
    org, admin = create_organization("Import bench", admin_email="bench@example.com",
                                     admin_password="bench-password-long-enough",  # noqa: S106 - a throwaway org
                                     admin_name="Bench")
    try:
        with scope(organization=org), channel("cli"):
            job = services.create_job(org, admin, entity="contact", path=path)
            samples = {}

            def sample(job):
                share = job.rows_done * 10 // job.total_rows
                samples.setdefault(share, current_rss())

            started = time.perf_counter()
            job = engine.run_job(org, admin, job, after_chunk=sample)
            elapsed = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        database = "PostgreSQL" if args.database_url.startswith("postgres") else "SQLite"
        print(f"{database}: {job.rows_done} rows in {elapsed:.1f} s = "
              f"{job.rows_done / elapsed:.0f} rows/s; created {job.created_count}, "
              f"failed {job.failed_count}; peak RSS {peak:.0f} MiB")
        print("RSS by tenth of the file (MiB):",
              " ".join(f"{share * 10}%={rss:.0f}" for share, rss in sorted(samples.items())))
    finally:
        # A throwaway SQLite file is simply replaced by the next run.
        if args.database_url and not args.keep:
            Organization.objects.filter(pk=org.pk).delete()


if __name__ == "__main__":
    main()
