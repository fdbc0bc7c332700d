"""Time exporting 100,000 contacts in each format, with the peak memory it took.

Run by hand, never in the suite:

    .venv/bin/python bench/export_contacts.py [--contacts N] [--database-url URL]

Without --database-url it builds a throwaway SQLite database under
var/bench/ (deleted first), loaded the way bench/contact_list.py loads its
contacts. Each format is written to a temporary file through
`accord.integrations.exports.write_export`, the code the export job and the
`accord export` command run. Memory is the resident set size, sampled while
the export runs; a streaming export keeps it flat whatever the row count.
"""

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

FORMATS = ["csv", "xlsx", "jsonl", "vcf"]
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--database-url", default="",
                        help="a database to use instead of a throwaway SQLite file")
    return parser.parse_args()


def resident_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE_SIZE / 2**20


class PeakMemory:
    """The highest resident set size seen, sampled every 20 ms on a thread."""

    def __enter__(self):
        self.peak = resident_mib()
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self) -> None:
        while self.running:
            self.peak = max(self.peak, resident_mib())
            time.sleep(0.02)

    def __exit__(self, *exc_info):
        self.running = False
        self.thread.join()


def main() -> None:
    args = parse_args()
    from contact_list import insert_contacts, setup_django

    setup_django(args.database_url)
    from django.core.management import call_command
    from django.db import connection
    from django_scopes import scope

    from accord.identity.models import Organization
    from accord.identity.services import create_organization
    from accord.integrations.exports import write_export

    call_command("migrate", verbosity=0)
    org, admin = create_organization(
        "Bench", admin_email=f"bench-{time.time_ns()}@bench.example", admin_name="Bench"
    )
    try:
        seconds = insert_contacts(org.id, admin.id, args.contacts)
        print(f"{connection.vendor}: inserted {args.contacts:,} contacts in {seconds:.1f} s")
        print(f"resident memory before exporting: {resident_mib():.0f} MiB\n")
        print(f"{'format':<8} {'seconds':>8} {'rows/s':>9} {'MiB file':>9} {'peak MiB':>9}")
        for format in FORMATS:
            with tempfile.TemporaryFile() as target, PeakMemory() as memory, \
                    scope(organization=org):
                started = time.perf_counter()
                rows = write_export("contacts", format, target)
                elapsed = time.perf_counter() - started
                size = target.tell() / 2**20
            print(f"{format:<8} {elapsed:>8.1f} {rows / elapsed:>9,.0f} {size:>9.1f} "
                  f"{memory.peak:>9.0f}")
    finally:
        if not args.database_url:
            connection.close()
            for path in (ROOT / "var" / "bench").glob("contacts.sqlite3*"):
                path.unlink()
        else:
            Organization.objects.filter(pk=org.pk).delete()


if __name__ == "__main__":
    main()
