"""`accord import --dry-run` on a SQLite file leaves other people free to write."""

import json
import os
import sqlite3
import subprocess
import sys
import time

import pytest
from django.db import connection

from conftest import sqlite_file_copy

ROWS = 4000  # a few seconds of importing on a small machine


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's single write lock")
def test_a_dry_run_on_sqlite_never_holds_the_write_lock_others_need(
        transactional_db, org, admin, tmp_path):
    database = sqlite_file_copy(tmp_path / "accord.sqlite3")
    csv = tmp_path / "contacts.csv"
    csv.write_text("email,first_name\n" + "".join(
        f"person{number}@example.org,Person {number}\n" for number in range(ROWS)))
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}",
           "ACCORD_VAR_DIR": str(tmp_path), "BROKER_URL": "filesystem://"}

    command = subprocess.Popen(  # noqa: S603 - our own interpreter and command
        [sys.executable, "-m", "accord", "import", str(csv), "--org", org.slug,
         "--entity", "contact", "--dry-run"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    writes, locked = 0, []
    while command.poll() is None:
        other = sqlite3.connect(database, timeout=0.5, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("UPDATE identity_organization SET name = name WHERE id = ?",
                          (org.pk,))
            other.execute("COMMIT")
            writes += 1
        except sqlite3.OperationalError as exc:
            locked.append(str(exc))
        finally:
            other.close()
        time.sleep(0.05)
    out, err = command.communicate()

    assert command.returncode == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert (summary["created"], summary["dry_run"]) == (ROWS, True)
    assert locked == []
    assert writes > 10
    with sqlite3.connect(database) as check:
        assert check.execute("SELECT count(*) FROM customers_contact").fetchone() == (0,)
    assert [path.name for path in tmp_path.glob("import-dry-run-*")] == []
