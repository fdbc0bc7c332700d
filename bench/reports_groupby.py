"""Time a report's group-by over N contacts of one organisation on PostgreSQL.

Run by hand, never in the suite:

    .venv/bin/python bench/reports_groupby.py --contacts 1000000 \
        --database-url postgres://postgres@127.0.0.1:5432/accord_bench [--keep]

It migrates the database, adds a bench organisation, fills it with
`generate_series` in one INSERT ... SELECT (a million rows in well under a
minute), runs ANALYZE, then times `accord.reports.engine.run` as an admin
for: contacts by lifecycle stage, by month of creation in a non-UTC zone,
and by stage and owner. Each is run REPEATS times; the median is printed.
The organisation is deleted at the end unless --keep.
"""

import argparse
import logging
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REPEATS = 5
OWNERS = 5  # members the contacts are spread over
REPORTS = {
    "by lifecycle stage": {"entity": "contacts", "group_by": ["lifecycle_stage"]},
    "by month (Europe/Berlin)": {"entity": "contacts", "group_by": ["created_at:month"]},
    "by stage and owner": {"entity": "contacts", "group_by": ["lifecycle_stage", "owner"]},
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=200_000)
    parser.add_argument("--database-url", required=True,
                        help="a PostgreSQL database of your own (it is migrated)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the bench organisation afterwards")
    return parser.parse_args()


def setup_django(database_url: str) -> None:
    if not database_url.startswith("postgres"):
        sys.exit("This bench fills the table with generate_series: give a PostgreSQL URL.")
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "accord.settings")
    import django

    django.setup()
    logging.disable(logging.INFO)


def fill(org_id: int, owner_ids: list[int], count: int) -> None:
    """`count` contacts created over the last two years, in one statement."""
    from django.db import connection

    from accord.customers.models import Contact

    stages = ["subscriber", "lead", "mql", "sql", "opportunity", "customer", "evangelist",
              "other"]
    stage_array = "ARRAY[" + ",".join(f"'{stage}'" for stage in stages) + "]"
    owner_array = "ARRAY[" + ",".join(str(pk) for pk in owner_ids) + "]::bigint[]"
    created = "now() - (n % 730) * interval '1 day' - (n % 86400) * interval '1 second'"
    values = {
        "organization_id": str(org_id), "created_at": created, "updated_at": created,
        "version": "1", "street": "''", "city": "''", "region": "''", "postal_code": "''",
        "country": "(ARRAY['DE','FR','US','GB'])[1 + n % 4]",
        "owner_id": f"({owner_array})[1 + n % {len(owner_ids)}]", "source": "'bench'",
        "custom_fields": "'{}'::jsonb", "deleted_at": "NULL",
        "first_name": "'Bench'", "last_name": "'Contact ' || n", "title": "''",
        "email": "'bench' || n || '@bench.example'", "phone": "''", "company_id": "NULL",
        "lifecycle_stage": f"({stage_array})[1 + n % {len(stages)}]", "birthday": "NULL",
        "time_zone": "''", "do_not_contact": "false", "merged_into_id": "NULL",
        "name_key": "''", "block_key": "''",
    }
    columns = [field.column for field in Contact._meta.concrete_fields if field.column != "id"]
    missing = set(columns) - set(values)
    if missing:
        sys.exit(f"The bench does not know these contact columns yet: {sorted(missing)}")
    with connection.cursor() as cursor:
        # `%` is the modulo operator here, doubled because the statement has a parameter.
        sql = (
            f"INSERT INTO {Contact._meta.db_table} ({', '.join(columns)}) "  # noqa: S608 - names from the model
            f"SELECT {', '.join(values[column] for column in columns)} "
            f"FROM generate_series(1, %s) AS n")
        cursor.execute(sql.replace(" % ", " %% "), [count])
        cursor.execute(f"ANALYZE {Contact._meta.db_table}")


def main() -> None:
    args = parse_args()
    setup_django(args.database_url)
    from django.core.management import call_command
    from django.db import connection
    from django_scopes import scope

    from accord.customers.models import Contact
    from accord.identity import services as identity_services
    from accord.identity.models import Membership, Role, User
    from accord.reports import engine

    call_command("migrate", verbosity=0)
    org, _admin = identity_services.create_organization(
        f"Reports bench {int(time.time())}", admin_email=f"bench{int(time.time())}@bench.example")
    admin = Membership.unscoped.get(organization=org, role=Role.ADMIN)
    admin.user.time_zone = "Europe/Berlin"
    admin.user.save(update_fields=["time_zone"])
    owners = [admin.user_id]
    for number in range(OWNERS - 1):
        user = User.objects.create_user(email=f"owner{number}.{org.pk}@bench.example")
        Membership.unscoped.create(organization=org, user=user, role=Role.SALES)
        owners.append(user.pk)

    started = time.perf_counter()
    fill(org.pk, owners, args.contacts)
    print(f"inserted {args.contacts:,} contacts in {time.perf_counter() - started:.1f} s")

    try:
        with scope(organization=org):
            for name, definition in REPORTS.items():
                timings, groups = [], 0
                for _repeat in range(REPEATS):
                    began = time.perf_counter()
                    result = engine.run(definition, admin)
                    timings.append(time.perf_counter() - began)
                    groups = len(result.rows)
                median = statistics.median(timings) * 1000
                print(f"{name:28} {groups:4} groups  median {median:8.1f} ms"
                      f"  best {min(timings) * 1000:8.1f} ms")
    finally:
        if not args.keep:
            with connection.cursor() as cursor:
                cursor.execute(f"DELETE FROM {Contact._meta.db_table} "  # noqa: S608 - names from the model
                               "WHERE organization_id = %s", [org.pk])
            org.delete()


if __name__ == "__main__":
    main()
