"""SQLite's search index holds each word with its organisation and kind in front of it.

Before, the organisation and the kind were columns of their own, and every
lookup ANDed them with the words: in an organisation of a million contacts
those two terms each match a million rows, and combining them cost 5-15 ms
a lookup whatever the words found. A word that carries its scope is looked
up alone. The scope is the organisation's id in eight hex digits and the
first three letters of the kind (`accord.search.scope`), so it is as long
for every organisation, and the prefix indexes hold the scope plus two to
four letters. The index is rebuilt from the entries. PostgreSQL's index is
unchanged.
"""

from importlib import import_module

from django.db import migrations


def _scoped(row: str) -> str:
    """SQL for the FTS text of the entry `row` (new or old): every word of its text,
    which are space-separated, with the entry's scope in front."""
    scope = f"(printf('%08x', {row}.organization_id) || substr({row}.entity, 1, 3))"
    return f"{scope} || replace({row}.text, ' ', ' ' || {scope})"


DROPPED = [
    "DROP TRIGGER search_entry_au",
    "DROP TRIGGER search_entry_ad",
    "DROP TRIGGER search_entry_ai",
    "DROP TABLE search_fts",
]

SQLITE = [
    *DROPPED,
    "CREATE VIRTUAL TABLE search_fts USING fts5(text, content='', "
    "prefix='13 14 15', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER search_entry_ai AFTER INSERT ON core_searchentry BEGIN "
    f"INSERT INTO search_fts(rowid, text) VALUES (new.id, {_scoped('new')}); END",
    "CREATE TRIGGER search_entry_ad AFTER DELETE ON core_searchentry BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, text) "
    f"VALUES ('delete', old.id, {_scoped('old')}); END",
    "CREATE TRIGGER search_entry_au AFTER UPDATE ON core_searchentry BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, text) "
    f"VALUES ('delete', old.id, {_scoped('old')}); "
    f"INSERT INTO search_fts(rowid, text) VALUES (new.id, {_scoped('new')}); END",
    f"INSERT INTO search_fts(rowid, text) SELECT id, {_scoped('e')} FROM core_searchentry e",
]

# The migration that made the index first, whose statements and runner this one reuses.
FIRST = import_module("accord.core.migrations.0001_search_entry")

# The index as 0001 made it, filled again from the entries.
SQLITE_REVERSE = [
    *DROPPED,
    *FIRST.SQLITE,
    "INSERT INTO search_fts(rowid, org, kind, text) "
    "SELECT id, 'o' || organization_id, entity, text FROM core_searchentry",
]


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0004_rate_counters"),
    ]

    operations = [
        migrations.RunPython(FIRST._run({"sqlite": SQLITE}),
                             FIRST._run({"sqlite": SQLITE_REVERSE})),
    ]
