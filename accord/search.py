"""The one place that decides how text is found.

Every searchable record has one `SearchEntry` row: its organisation, its
entity ("contacts", "companies", ...), its id, a title as shown to people and
its words folded for matching: lower case, accents removed, NFC-normalised,
letters such as "ł" and "ø" mapped to their base letter, e-mails split into
their parts and phones also written as plain digits. A query is folded the
same way and every one of its words must begin a word of the record, so
"jose" finds "José", "lodz" finds "Łódź", "holt" finds "mira.holt@example.org"
and "020 7946" finds "+44 20 7946 0958".

The index behind the rows depends on the database, and nothing outside this
module knows which:

- SQLite: an FTS5 table (`search_fts`, prefix indexes for 2-4 letters) kept
  in step with `core_searchentry` by triggers. Each word is indexed with its
  organisation and entity in front of it (`scope`), so a lookup finds only
  the organisation's records of that kind, and never combines its words with
  a term every one of them holds. A longer beginning is looked up by its first
  four letters and checked on the rows found.
- PostgreSQL: a stored tsvector column with a GIN index; the rows it finds
  are then narrowed to the organisation and entity. A small organisation's
  query starts from its own rows through the (organisation, entity) index
  instead, and the search box first tries a sample of a large one's rows for
  a beginning of a few letters.

The search box skips the kinds of records an organisation has none of.

A typing mistake is forgiven the same way on both: when nothing matches, each
word of four letters or more is also looked up as every word one mistake away
(a letter missing, added or changed, two neighbours swapped), a few hundred
exact index lookups. The few spellings with a letter missing or two swapped
are asked for first, and the rest only when those leave places in the box.
Trigram similarity (pg_trgm) was tried and left out: it misses swapped
letters in short names ("hlot" for "holt") and has no SQLite counterpart, so
the two databases would answer differently.

Whoever writes a searchable record calls `reindex(Model, ids)` afterwards;
it brings the entries of those ids up to date, dropping those of records that
are gone, deleted or merged away.
"""

import functools
import re
import string
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import connection
from django.db.models import BooleanField, Expression, F, Model, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower
from django.db.models.lookups import In
from django.db.models.sql.where import AND, WhereNode
from django_scopes import get_scope, scopes_disabled

from accord.pg_copy import copy_rows

# Letters that do not decompose into a base letter plus a combining mark.
_FOLD = str.maketrans({
    "ł": "l", "Ł": "l", "ø": "o", "Ø": "o", "đ": "d", "Đ": "d", "ß": "ss", "æ": "ae",
    "Æ": "ae", "œ": "oe", "Œ": "oe", "þ": "th", "Þ": "th", "ı": "i", "ħ": "h",
})
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
# A query such as "+44 (0)20 7946-0958": digits with the punctuation phones are written with.
_PHONE_QUERY = re.compile(r"^\+?[\d\s().\-/]*\d[\d\s().\-/]*$")
MAX_TERMS = 8
# Words shorter than this are never corrected: too many words are one edit away.
TYPO_MIN_LENGTH = 4


# Names, titles and companies repeat across the records an import indexes;
# long texts (descriptions, articles) are not kept, so the cache stays small.
FOLD_REMEMBERED_LENGTH = 120


def fold(text: str) -> str:
    if text.isascii():
        # Nothing to decompose or map: what remains below is the casefold,
        # which for ASCII is lower().
        return text.lower()
    if len(text) <= FOLD_REMEMBERED_LENGTH:
        return _fold_short(text)
    return _fold(text)


@functools.lru_cache(maxsize=4096)
def _fold_short(text: str) -> str:
    return _fold(text)


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.translate(_FOLD))
    text = "".join(char for char in text if not unicodedata.combining(char))
    return unicodedata.normalize("NFC", text).casefold()


def words(text: str) -> list[str]:
    """The folded words of `text` as the index stores them."""
    return _WORD.findall(fold(text))


def build_search_text(*parts: str) -> str:
    return " ".join(word for part in parts if part for word in words(part))


def phone_words(*numbers: str) -> list[str]:
    """Digit strings a phone is found by: as typed, and without its leading zeros or '+'."""
    found = []
    for number in numbers:
        digits = re.sub(r"\D", "", number or "")
        if digits:
            found += [digits, digits.lstrip("0")]
    return [digits for digits in dict.fromkeys(found) if digits]


# Beginnings of words up to this length have their own index entries (FTS5
# prefixes of a scope and 2, 3 or 4 letters); a longer beginning makes SQLite
# gather every word it starts.
PREFIX_INDEXED = 4


class Whole(str):
    """A word the query has finished typing: more of the same token follows it, as
    "fischer" in "anna.fischer@bench.example". It is matched whole even where
    beginnings of words are asked for, so a word shared by most records (an
    e-mail domain) does not make the search gather all its spellings."""


class Tail(str):
    """The last word of a token whose other words are finished ("exampl" in
    "anna.fischer@bench.exampl"): still a beginning, but mostly of a domain or
    ending that many records share."""


def terms(query: str) -> list[str]:
    """The words a query asks for; a phone-shaped query is one run of digits."""
    query = query.strip()
    if _PHONE_QUERY.match(query) and sum(char.isdigit() for char in query) >= 3:
        digits = re.sub(r"\D", "", query)
        return [digits.lstrip("0") or digits]
    found: list[str] = []
    for token in query.split():
        parts = words(token)
        found += [Whole(part) if at < len(parts) - 1 and len(part) > PREFIX_INDEXED
                  else Tail(part) if at and at == len(parts) - 1 else part
                  for at, part in enumerate(parts)]
    return found[:MAX_TERMS]


@dataclass(frozen=True)
class Kind:
    entity: str
    text_of: Callable[[Model], str]
    title_of: Callable[[Model], str]
    # Narrows the records to index: related rows to load with them, and
    # which ones are live (deleted or merged records have no entry).
    live: Callable[[QuerySet], QuerySet]
    # Text fields whose words are all words of the entry: a list sorted by one,
    # lower-cased, holds the records a beginning finds in it in one run.
    sorted_words: tuple[str, ...] = ()


_KINDS: dict[type[Model], Kind] = {}


def register(model: type[Model], entity: str, *, text_of: Callable[[Model], str],
             title_of: Callable[[Model], str] = str,
             live: Callable[[QuerySet], QuerySet] = lambda queryset: queryset,
             sorted_words: tuple[str, ...] = ()) -> None:
    # SQLite's index tells kinds apart by the first three letters of their names.
    taken = {kind.entity[:SCOPED_LETTERS]: kind.entity for kind in _KINDS.values()}
    if (not re.fullmatch(r"[a-z]{3,32}", entity)
            or taken.get(entity[:SCOPED_LETTERS], entity) != entity):
        raise ValueError(f"A searchable kind needs a lower-case name of three letters or more "
                         f"whose first three are its own; {entity!r} is not one.")
    _KINDS[model] = Kind(entity, text_of, title_of, live, sorted_words)


# The letters of an entity's name that SQLite's index keeps in front of its words.
SCOPED_LETTERS = 3


def scope(organization_id: int, entity: str) -> str:
    """What SQLite's index puts in front of each word of an entry: the organisation's
    id in eight hex digits and the entity's first three letters, so that every scope
    is as long and the prefix indexes serve every organisation (the triggers of
    `core` migration 0005 write the same)."""
    return f"{int(organization_id):08x}{entity[:SCOPED_LETTERS]}"


def entity_of(model: type[Model]) -> str:
    return _KINDS[model].entity


REINDEX_CHUNK = 500


def reindex(model: type[Model], ids: Iterable[int]) -> None:
    """Bring the search entries of these records up to date, after any write to them."""
    kind = _KINDS[model]
    ids = list(dict.fromkeys(int(pk) for pk in ids))
    # Works by id for whichever organisations the records belong to; the
    # callers have already decided which records those are.
    with scopes_disabled():
        for start in range(0, len(ids), REINDEX_CHUNK):
            chunk = ids[start:start + REINDEX_CHUNK]
            _write(kind, chunk, list(kind.live(model._base_manager.filter(pk__in=chunk))))


def index(model: type[Model], records: list[Model]) -> None:
    """Write the entries of live records already in memory, holding what their text needs
    (related rows prefetched); for bulk writers that have just saved them."""
    kind = _KINDS[model]
    for start in range(0, len(records), REINDEX_CHUNK):
        chunk = records[start:start + REINDEX_CHUNK]
        _write(kind, [record.pk for record in chunk], chunk)


def index_texts(model: type[Model], entries: list[tuple[Model, str]]) -> None:
    """Write the entries of live records already in memory from their text, made by the
    caller with the function the model's `text_of` uses; for bulk writers that hold
    what the text needs in plain values rather than in related rows."""
    kind = _KINDS[model]
    for start in range(0, len(entries), REINDEX_CHUNK):
        chunk = entries[start:start + REINDEX_CHUNK]
        _write_rows(kind, [record.pk for record, _ in chunk],
                    [(record.organization_id, kind.entity, record.pk, text[:4000],
                      str(kind.title_of(record))[:300]) for record, text in chunk])


def _write(kind: Kind, ids: list[int], records: list[Model]) -> None:
    _write_rows(kind, ids, [(record.organization_id, kind.entity, record.pk,
                             kind.text_of(record)[:4000], str(kind.title_of(record))[:300])
                            for record in records])


# What `_write_rows` is given of each entry, in this order.
ENTRY_COLUMNS = ("organization_id", "entity", "record_id", "text", "title")


def _write_rows(kind: Kind, ids: list[int], rows: list[tuple]) -> None:
    from accord.core.models import SearchEntry

    table = connection.ops.quote_name(SearchEntry._meta.db_table)
    if connection.vendor == "postgresql":
        # The ids as one array literal, and one COPY: with a parameter per id,
        # and an INSERT per row, the driver's work cost more than the database's.
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} "  # noqa: S608 - the model's own table
                           "WHERE entity = %s AND record_id = ANY(%s::bigint[])",
                           [kind.entity, "{" + ",".join(str(int(pk)) for pk in ids) + "}"])
        if rows:
            copy_rows(SearchEntry._meta.db_table, ENTRY_COLUMNS, rows)
        return
    SearchEntry.unscoped.filter(entity=kind.entity, record_id__in=ids).delete()
    if not rows:
        return
    # One prepared statement for the whole chunk: building entries and an
    # INSERT with a few thousand parameters cost more than writing them.
    # Only the model's own table name is put into the SQL.
    sql = (f"INSERT INTO {table} ({', '.join(ENTRY_COLUMNS)}) "  # noqa: S608
           f"VALUES ({', '.join(['%s'] * len(ENTRY_COLUMNS))})")
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def rebuild(model: type[Model], *, organization_id: int | None = None,
            missing_only: bool = False) -> int:
    """Index every live record of `model` (of one organisation if given); the count indexed."""
    from accord.core.models import SearchEntry

    queryset = model._base_manager.all()
    if organization_id is not None:
        queryset = queryset.filter(organization_id=organization_id)
    if missing_only:
        indexed = SearchEntry.unscoped.filter(entity=_KINDS[model].entity)
        queryset = queryset.exclude(pk__in=indexed.values("record_id"))
    with scopes_disabled():
        ids = list(_KINDS[model].live(queryset).values_list("pk", flat=True).order_by("pk"))
    reindex(model, ids)
    return len(ids)


def registered_models() -> list[type[Model]]:
    return list(_KINDS)


# Reading


def _organization_id() -> int:
    organization = get_scope().get("organization")
    if organization is None:
        raise RuntimeError("search needs the organisation scope to be open")
    return organization.pk if hasattr(organization, "pk") else int(organization)


def search(queryset: QuerySet, query: str) -> QuerySet:
    """Narrow `queryset` to records in which every word of `query` begins a word."""
    found = terms(query)
    if not found:
        return queryset
    backend, organization_id = _backend(), _organization_id()
    entity = entity_of(queryset.model)
    entries = backend.entries_for_matching(organization_id, [entity]).get(entity)
    sql, params = backend.matching(organization_id, entity, found, prefix=True,
                                   entries=entries)
    return queryset.filter(pk__in=_Found(backend.ids(sql), params,
                                         _entry_test(organization_id, entity, found), found,
                                         entries))


def _parts(query: str) -> list[str]:
    """The parts of `query` matched one at a time: its words, or the whole of a phone
    number, whose digits are one word of the index."""
    query = query.strip()
    if _PHONE_QUERY.match(query):
        return [query]
    return query.split()[:MAX_TERMS]


def search_through(queryset: QuerySet, query: str, field: str, related: QuerySet) -> QuerySet:
    """Narrow `queryset` to records in which every word of `query` begins a word of the
    record or of the record its foreign key `field` points to, that record counting only
    when it is one of `related`: the words of related records stay out of a record's own
    entry, so who may see them is decided when reading, and a new name is found at once.

    It asks the index which related records each word begins while narrowing; a word
    that begins none is looked up with the others like it, as `search` does.
    """
    backend, organization_id = _backend(), _organization_id()
    entity, linked = entity_of(queryset.model), entity_of(related.model)
    parts = [found for found in map(terms, _parts(query)) if found]
    # What the lookups of both kinds need to know of the organisation, asked
    # once for every word rather than once for each lookup.
    entries = backend.entries_for_matching(organization_id, [entity, linked]) if parts else {}
    own_only: list[str] = []
    for found in parts:
        linked_sql, linked_params = backend.matching(organization_id, linked, found,
                                                     prefix=True, entries=entries.get(linked))
        found_related = related.filter(
            pk__in=RawSQL(backend.ids(linked_sql), linked_params))  # noqa: S611
        if not found_related.exists():
            # Most words begin no related record's word: those are asked of the
            # record's own entries together, in one lookup, as `search` does.
            own_only += found
            continue
        own_sql, own_params = backend.matching(organization_id, entity, found, prefix=True,
                                               entries=entries.get(entity))
        # The related ids are already the organisation's, so the records pointing at
        # them are read through the foreign key's index alone.
        through = queryset.model._base_manager.filter(
            **{f"{field}__in": found_related.values("pk")})
        through_sql, through_params = through.values("pk").order_by().query.sql_with_params()
        # One list of ids per word, from both sides, so the records are looked up by
        # id as `search` does rather than each tested against two lists.
        test, test_params = _entry_test(organization_id, entity, found)
        queryset = queryset.filter(pk__in=_Found(
            backend.ids(f"{own_sql} UNION ALL {through_sql}"), [*own_params, *through_params],
            (f"({test} OR {{record}} IN ({through_sql}))", [*test_params, *through_params]),
            entries=entries.get(entity)))
    if own_only:
        own_only = own_only[:MAX_TERMS]
        sql, params = backend.matching(organization_id, entity, own_only, prefix=True,
                                       entries=entries.get(entity))
        queryset = queryset.filter(pk__in=_Found(
            backend.ids(sql), params, _entry_test(organization_id, entity, own_only), own_only,
            entries.get(entity)))
    return queryset


class _Found(RawSQL):
    """The ids of the records a search finds, gathered as one list; it also holds the
    same test put to one record at a time (`{record}` standing for its id), which
    `first_rows` uses to walk a list in its order. Its SQL is one of this module's
    statements, every value in it a bound parameter."""

    def __init__(self, sql: str, params: list, per_record: tuple[str, list],
                 own_words: list[str] | None = None, entries: int | None = None):
        super().__init__(sql, params)
        self.per_record = per_record
        # The words when the record's own entry alone is searched.
        self.own_words = own_words
        # How many entries of the kind the organisation has, where the lookup counted
        # them (up to a bound of the backend's).
        self.entries = entries


class _RecordMatches(Expression):
    """True for a row whose record `_Found.per_record` finds, tested on that row alone."""

    conditional = True

    def __init__(self, record, sql: str, params: list):
        super().__init__(output_field=BooleanField())
        self.record, self.sql, self.params = record, sql, params

    def get_source_expressions(self):
        return [self.record]

    def set_source_expressions(self, expressions):
        (self.record,) = expressions

    def as_sql(self, compiler, connection):
        record_sql, record_params = compiler.compile(self.record)
        if record_params:
            raise ValueError("a record's id column takes no parameters")
        return self.sql.replace("{record}", record_sql), list(self.params)


def _entry_test(organization_id: int, entity: str, found: list[str]) -> tuple[str, list]:
    """SQL true when the entry of the record `{record}` holds a beginning of a word for
    each of `found` (the whole word for a `Whole`), as the index matches them."""
    from accord.core.models import SearchEntry

    tests = " AND ".join(_is_a_word("text") if isinstance(term, Whole)
                         else _begins_a_word("text") for term in found)
    table = connection.ops.quote_name(SearchEntry._meta.db_table)
    # OFFSET 0 keeps PostgreSQL from turning the test into a join that reads every
    # entry the words match; SQLite takes it as it stands.
    fence = " OFFSET 0" if connection.vendor == "postgresql" else ""
    return (f"EXISTS (SELECT 1 FROM {table} WHERE record_id = {{record}} "  # noqa: S608
            f"AND entity = %s AND organization_id = %s AND {tests}{fence})",
            [entity, organization_id, *found])


# An organisation with more entries of a kind than this is large: a searched list
# of its records is first read in the list's order (`first_rows`).
LARGE = 2000
# A list searched in a large organisation reads up to this many of its records
# in the list's order, testing each, before it gathers every record found.
WALKED = 8000
# A search that finds at least this many records in a large organisation mostly
# finds enough of them among the first WALKED records of a list, unless the
# list's order groups them (a list by name searched for a name).
DENSE = 10000


def first_rows(queryset: QuerySet, count: int, sorted_by=None, *,
               descending: bool = False) -> list[Model]:
    """The first `count` rows of `queryset`, which is ordered by the expression
    `sorted_by` (`descending` or not, ties by id) and may be narrowed by a search
    (`search`, `search_through`).

    Gathering every record a search finds and sorting them costs as much as the
    search finds: for a beginning of a few letters, tens of thousands of a large
    organisation's records, to show fifty. Two cheaper ways are tried first, each
    testing records one by one in the list's order and stopping at `count`, so that
    what they return is the list's beginning:

    - A list sorted by a field such as the last name holds the records whose
      field begins with a searched word in one run. When the query is that one
      word and the index finds it in no other record, the list is read from
      that run.
    - When the search finds many records (counted where a count is cheap, for words
      no longer than the prefix indexes), the list is read up to its WALKED-th
      record without the search; when `count` of those pass, they are the first
      `count`, as every record before the last one read was tested.
    """
    per_record, searched = _rewritten(queryset.query.where, per_record=True)
    searches = [child.rhs for child in _searches(queryset.query.where)]
    # How many entries of the kind the organisation has, where the lookup counted them.
    entries = searches[0].entries if searches else None
    if not searched or not _large(queryset.model, entries):
        return list(queryset[:count])
    walked = queryset.all()
    walked.query.where = per_record
    # The query's words, when it is one lookup of the records' own entries (no
    # related record found by any word).
    own_words = searches[0].own_words if len(searches) == 1 else None
    found = _Counted(queryset.model, own_words, entries)
    word = _sorted_run(queryset.model, sorted_by, found)
    if word is not None:
        return list(walked.filter(_run_of(word, "_sort_key"))[:count])
    # A beginning longer than the prefix indexes costs as much to count as to gather
    # (on SQLite, `matching` narrows it by the rows its first letters find).
    if own_words and not any(_long(term, True) for term in own_words) \
            and found.at_least(own_words, DENSE):
        unsearched = queryset.all()
        unsearched.query.where = _rewritten(queryset.query.where, per_record=False)[0]
        last = list(unsearched.values_list("_sort_key", flat=True)[WALKED - 1:WALKED])
        if not last:
            # Fewer records than WALKED are left in the list: all of them are read.
            return list(walked[:count])
        if last[0] is not None:
            bound = "_sort_key__gte" if descending else "_sort_key__lte"
            rows = list(walked.filter(**{bound: last[0]})[:count])
            if len(rows) == count:
                return rows
    return list(queryset[:count])


class _Counted:
    """How many of the organisation's entries of `model` the index finds for some words,
    each counted once, as far as asked."""

    def __init__(self, model: type[Model], own_words: list[str] | None,
                 entries: int | None):
        self.model, self.own_words, self.entries = model, own_words, entries
        self.counts: dict[tuple[str, ...], tuple[int, int]] = {}

    def at_least(self, words: list[str], wanted: int) -> bool:
        key = tuple(words)
        found, limit = self.counts.get(key, (0, 0))
        if found < limit or limit >= wanted:
            return found >= wanted
        # Counted up to the larger of what is asked now and DENSE, as the same words
        # are mostly asked about again for DENSE.
        limit = max(wanted, DENSE)
        found = _backend().count(_organization_id(), entity_of(self.model), list(words), limit,
                                 entries=self.entries)
        self.counts[key] = (found, limit)
        return found >= wanted


def _large(model: type[Model], entries: int | None) -> bool:
    """Whether the organisation has more entries of `model` than LARGE, given the count
    a search's lookup made (on PostgreSQL, up to SMALL + 1), or None to count them."""
    if entries is not None:
        return entries > LARGE
    return _entries(_organization_id(), [entity_of(model)], LARGE + 1)[0] > LARGE


def _searches(node: WhereNode):
    for child in node.children:
        if isinstance(child, In) and isinstance(child.rhs, _Found):
            yield child
        elif isinstance(child, WhereNode):
            yield from _searches(child)


def _run_of(word: str, key: str) -> Q:
    """Rows whose (lower-cased) `key` begins with `word`, as a range its index seeks."""
    run = Q(**{f"{key}__gte": word, f"{key}__lt": word + "\U0010ffff"})
    if connection.vendor == "postgresql":
        # Under a collation other than C, the range alone may hold other values.
        run &= Q(**{f"{key}__startswith": word})
    return run


def _sorted_run(model: type[Model], sorted_by, found: _Counted) -> str | None:
    """The first searched word, when a list sorted by `sorted_by` holds every record the
    index finds for it in one run (the records whose sorted field begins with it);
    else None."""
    # Several words narrow by all of them, so few records match and gathering them
    # costs less than counting what one of them finds (on PostgreSQL, through GIN).
    if not found.own_words or len(found.own_words) != 1 or not isinstance(sorted_by, Lower):
        return None
    (field,) = sorted_by.get_source_expressions()
    word = found.own_words[0]
    if (not isinstance(field, F) or field.name not in _KINDS[model].sorted_words
            or isinstance(word, Whole) or not word.isascii() or not word.isalnum()):
        return None
    # Every record of the run holds the word, as its field begins with it and the
    # field's words are the entry's: when the index finds no more records than the
    # run holds, it finds no other.
    records = _KINDS[model].live(model._base_manager.filter(
        organization_id=_organization_id())).annotate(_run_key=sorted_by)
    in_run = records.filter(_run_of(word, "_run_key")).values("pk").order_by().count()
    if not in_run or found.at_least([word], in_run + 1):
        return None
    return word


def _rewritten(node: WhereNode, *, per_record: bool) -> tuple[WhereNode, bool]:
    """A copy of the condition `node` in which each search among the conditions that
    must all hold is tested per record (`per_record`) or left out; and whether there
    was one. A search under OR or NOT stays as it is."""
    if node.connector != AND or node.negated:
        return node, False
    searched = False
    children = []
    for child in node.children:
        if isinstance(child, In) and isinstance(child.rhs, _Found):
            searched = True
            if per_record:
                children.append(_RecordMatches(child.lhs, *child.rhs.per_record))
            continue
        if isinstance(child, WhereNode):
            child, inner = _rewritten(child, per_record=per_record)
            searched = searched or inner
        children.append(child)
    return WhereNode(children, node.connector, node.negated), searched


@dataclass(frozen=True)
class Hit:
    record_id: int
    title: str
    rank: int  # 1: whole words; 2: beginnings of words; 3: corrected typing mistakes


def entry_counts(models: Iterable[type[Model]]) -> dict[type[Model], int]:
    """For each of `models`, whether the organisation keeps entries of it (0 when not),
    asked in one statement; each is what `find` takes as `entries`."""
    models = list(models)
    if not models:
        return {}
    return dict(zip(models, _backend().entries_of(
        _organization_id(), [entity_of(model) for model in models]), strict=True))


def find(model: type[Model], query: str, *, limit: int = 8,
         entries: int | None = None) -> list[Hit]:
    """The best `limit` records for a search box; `entries` is what `entry_counts`
    answered for the model, when the caller has asked already.

    Whole words first, then beginnings of words, then, when neither finds
    anything in a query of up to three words that is no e-mail address, words
    one typing mistake away (swapped and missing letters first); within each,
    records whose title holds the query exactly as typed (accents included)
    first, then in the order the index yields them.
    """
    found = terms(query)
    if not found:
        return []
    backend, organization_id, entity = _backend(), _organization_id(), entity_of(model)
    if entries is None:
        entries = backend.entries_of(organization_id, [entity])[0]
    if not entries:
        # An organisation that keeps no records of this kind: nothing to rank,
        # and no spellings to try.
        return []
    hits: dict[int, Hit] = {}

    def top(found, *, prefix):
        return backend.top(organization_id, entity, found, prefix=prefix, limit=limit,
                           entries=entries)

    def add(rows, rank):
        for record_id, title in rows:
            if record_id not in hits and len(hits) < limit:
                hits[record_id] = Hit(record_id, title, rank)

    add(top(found, prefix=False), 1)
    if len(hits) < limit:
        add(top(found, prefix=True), 2)
    if not hits and _may_correct(query, found):
        # Swapped and missing letters give a few spellings per word and are
        # tried first: when they fill the box, the few hundred spellings with a
        # letter changed or added, each one more lookup, are not asked for.
        for mistakes in (_slips, _variants):
            corrected = _corrections(found, mistakes)
            if corrected and len(hits) < limit:
                add(top(corrected, prefix=False), 3)
    typed = unicodedata.normalize("NFC", query.strip()).casefold()
    return sorted(hits.values(), key=lambda hit: (
        hit.rank, typed not in unicodedata.normalize("NFC", hit.title).casefold()
    ))


def _variants(term: str) -> tuple[str, ...]:
    """Every word one typing mistake from `term`: a letter missing, added, changed, or
    two neighbours swapped."""
    letters = sorted(set(string.ascii_lowercase) | set(term)
                     | (set(string.digits) if any(c.isdigit() for c in term) else set()))
    found = set()
    for at in range(len(term) + 1):
        found.update(term[:at] + letter + term[at:] for letter in letters)
    for at in range(len(term)):
        found.add(term[:at] + term[at + 1:])
        found.update(term[:at] + letter + term[at + 1:] for letter in letters)
    for at in range(len(term) - 1):
        found.add(term[:at] + term[at + 1] + term[at] + term[at + 2:])
    found.discard(term)
    return tuple(sorted(found))


def _slips(term: str) -> tuple[str, ...]:
    """The words `term` is when one of its letters is missing or two neighbours are
    swapped: the part of `_variants` that grows with the word's length alone."""
    found = {term[:at] + term[at + 1:] for at in range(len(term))}
    found.update(term[:at] + term[at + 1] + term[at] + term[at + 2:]
                 for at in range(len(term) - 1))
    found.discard(term)
    return tuple(sorted(found))


# Longer queries and e-mail addresses are not corrected: each word widens to
# hundreds of spellings, and an address with a typing mistake is another one.
MAX_CORRECTED_TERMS = 3


def _may_correct(query: str, found: list[str]) -> bool:
    return "@" not in query and len(found) <= MAX_CORRECTED_TERMS


def _corrections(found: list[str], mistakes: Callable[[str], tuple[str, ...]]) -> list:
    """The query with each long enough word widened to itself or the words `mistakes`
    makes of it; empty when no word can be corrected."""
    corrected = [(term, *mistakes(term)) if len(term) >= TYPO_MIN_LENGTH
                 and not term.isdigit() else term for term in found]
    return corrected if corrected != found else []


def _star(term: str, prefix: bool, star: str) -> str:
    return star if prefix and not isinstance(term, Whole) else ""


def _long(term, prefix: bool) -> bool:
    """A beginning of a word longer than the prefix indexes hold ("exampl"): looked up
    as it stands, the index gathers every word it starts, all of them at once."""
    return (prefix and isinstance(term, str) and not isinstance(term, Whole)
            and len(term) > PREFIX_INDEXED)


def _begins_a_word(column: str) -> str:
    """SQL true when the bound word begins a word of `column` (words are space-separated)."""
    return f"{_find()}(' ' || {column}, ' ' || %s) > 0"


def _is_a_word(column: str) -> str:
    """SQL true when the bound word is a whole word of `column`."""
    return f"{_find()}(' ' || {column} || ' ', ' ' || %s || ' ') > 0"


def _find() -> str:
    # instr on SQLite and strpos on PostgreSQL take the same arguments.
    return "strpos" if connection.vendor == "postgresql" else "instr"


def _backend():
    return _POSTGRES if connection.vendor == "postgresql" else _SQLITE


class _Sqlite:
    """FTS5: `search_fts(text)`, contentless, rowid = core_searchentry.id, each word
    written with its `scope` in front.

    A beginning longer than the prefix indexes ("exampl") is not handed to
    FTS5 as it stands: FTS5 would first gather every row holding a word it
    starts, which for a word most records share ("example" in an e-mail
    domain) is every row of the index. The query asks for its first
    PREFIX_INDEXED letters instead, and the entries it finds are kept when
    one of their words begins with the whole of it. When that leaves too many
    rows to read (the short beginning is common, the long one is not), the
    long beginning is looked up as it stands after all, which is then cheap.
    """

    # Rows matched by the short beginnings that are read to check the long ones.
    NARROWED_ROWS = 500

    def expression(self, organization_id: int, entity: str, found, *, prefix: bool,
                   shortened: bool = False) -> str:
        scoped = scope(organization_id, entity)

        def word(term) -> str:
            # Terms are folded words or digits only, so quoting them is enough.
            if isinstance(term, tuple):
                return "(" + " OR ".join(f'"{scoped}{variant}"' for variant in term) + ")"
            if shortened and _long(term, prefix):
                return f'"{scoped}{term[:PREFIX_INDEXED]}"*'
            return f'"{scoped}{term}"{_star(term, prefix, "*")}'

        return " AND ".join(word(term) for term in found)

    def entries_of(self, organization_id, entities: list[str]) -> list[int]:
        """For each entity, 1 when the organisation has entries of it, else 0."""
        return _entries(organization_id, entities, 1)

    def entries_for_matching(self, organization_id, entities: list[str]) -> dict[str, int]:
        """What `matching` takes as `entries` for each entity: nothing, as the index is
        looked up the same way for every organisation."""
        return {}

    def _count(self, expression: str, at_most: int) -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM (SELECT rowid FROM search_fts "
                           "WHERE search_fts MATCH %s LIMIT %s)", [expression, at_most])
            return cursor.fetchone()[0]

    def ids(self, matching: str) -> str:
        return matching

    def count(self, organization_id, entity, found, at_most: int, *, entries=None) -> int:
        """How many entries match `found` as beginnings of words, counting up to `at_most`."""
        if not any(_long(term, True) for term in found):
            return self._count(self.expression(organization_id, entity, found, prefix=True),
                               at_most)
        # A long beginning is counted as `matching` looks it up, which avoids
        # gathering every word it starts where it can.
        sql, params = self.matching(organization_id, entity, found, prefix=True)
        with connection.cursor() as cursor:
            # One of this class's statements; every value in it is a parameter.
            cursor.execute(f"SELECT count(*) FROM ({sql} LIMIT %s)",  # noqa: S608
                           [*params, at_most])
            return cursor.fetchone()[0]

    def matching(self, organization_id, entity, found, *, prefix, entries=None):
        long = [term for term in found if _long(term, prefix)]
        shortened = self.expression(organization_id, entity, found, prefix=prefix,
                                    shortened=True)
        if long and self._count(shortened, self.NARROWED_ROWS + 1) <= self.NARROWED_ROWS:
            return (
                "SELECT record_id FROM core_searchentry WHERE id IN "  # noqa: S608 - constant SQL
                "(SELECT rowid FROM search_fts WHERE search_fts MATCH %s) AND "
                + " AND ".join(_begins_a_word("text") for _ in long),
                [shortened, *long],
            )
        # Driven from the FTS side: SQLite looks the matching rowids up, never
        # walks the organisation's rows to test each against the index.
        return (
            "SELECT record_id FROM core_searchentry WHERE id IN "
            "(SELECT rowid FROM search_fts WHERE search_fts MATCH %s)",
            [self.expression(organization_id, entity, found, prefix=prefix)],
        )

    def top(self, organization_id, entity, found, *, prefix, limit, entries):
        long = [term for term in found if _long(term, prefix)]
        if long:
            shortened = self.expression(organization_id, entity, found, prefix=prefix,
                                        shortened=True)
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT e.record_id, e.title FROM "  # noqa: S608 - constant SQL
                    "(SELECT rowid FROM search_fts WHERE search_fts MATCH %s LIMIT %s) AS m "
                    "CROSS JOIN core_searchentry e ON e.id = m.rowid WHERE "
                    + " AND ".join(_begins_a_word("e.text") for _ in long) + " LIMIT %s",
                    [shortened, self.NARROWED_ROWS, *long, limit],
                )
                rows = cursor.fetchall()
            if len(rows) == limit or self._count(shortened, self.NARROWED_ROWS) < \
                    self.NARROWED_ROWS:
                return rows
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT e.record_id, e.title FROM "
                "(SELECT rowid FROM search_fts WHERE search_fts MATCH %s LIMIT %s) AS m "
                "CROSS JOIN core_searchentry e ON e.id = m.rowid",
                [self.expression(organization_id, entity, found, prefix=prefix), limit],
            )
            return cursor.fetchall()


class _Postgres:
    """A tsvector GIN index; the rows it finds are narrowed to the organisation and entity.

    GIN gathers every row holding a word that a beginning starts before it
    combines the words of a query. The end of an address ("exampl" in
    "anna.fischer@bench.exampl") mostly begins a domain many records share,
    so when the query has other words it is left to a check of the rows those
    words find. A small organisation's rows are read through the
    (organisation, entity) index and each tested, which costs less than the
    index of every organisation's words.
    """

    # Up to this many entries of an entity, an organisation counts as small.
    SMALL = 5000
    # Corrected words with up to this many spellings in all (a letter missing
    # or two swapped, in up to three words) are tested on a small
    # organisation's rows: the words index would first gather every
    # organisation's rows holding a common name such as "eriksen".
    TESTED_SPELLINGS = 64

    def tsquery(self, found, *, prefix: bool) -> str:
        return " & ".join(
            "(" + " | ".join(f"'{word}'" for word in term) + ")"
            if isinstance(term, tuple) else f"'{term}'{_star(term, prefix, ':*')}"
            for term in found
        )

    def entries_of(self, organization_id, entities: list[str]) -> list[int]:
        """For each entity, how many entries the organisation has of it, counting up to
        SMALL + 1."""
        return _entries(organization_id, entities, self.SMALL + 1)

    def entries_for_matching(self, organization_id, entities: list[str]) -> dict[str, int]:
        """What `matching` takes as `entries` for each entity, in one statement."""
        return dict(zip(entities, self.entries_of(organization_id, entities), strict=True))

    def ids(self, matching: str) -> str:
        """The matching ids gathered before the records are read. Left to join them to
        the records, the planner may walk a list in its order (by name) testing each
        record, and a beginning that matches few records, or only late in that order
        ("schm"), then reads most of a large organisation's."""
        return f"SELECT unnest(ARRAY({matching}))"

    def count(self, organization_id, entity, found, at_most: int, *, entries=None) -> int:
        """How many entries match `found` as beginnings of words, counting up to `at_most`;
        `entries` as `matching` takes it."""
        sql, params = self.matching(organization_id, entity, found, prefix=True,
                                    entries=entries)
        with connection.cursor() as cursor:
            # One of this class's statements; every value in it is a parameter. Planned
            # apart, as in `top`: a small limit would make reading the organisation's
            # entries until enough match look cheap.
            cursor.execute(f"WITH found AS MATERIALIZED ({sql}) "  # noqa: S608
                           "SELECT count(*) FROM (SELECT 1 FROM found LIMIT %s) AS counted",
                           [*params, at_most])
            return cursor.fetchone()[0]

    def _test(self, found, *, prefix) -> tuple[str, list]:
        """The condition an entry of the query's words meets, and its parameters."""
        checked = [term for term in found if isinstance(term, Tail) and _long(term, prefix)]
        indexed = [term for term in found if term not in checked] or found
        checked = [term for term in checked if term not in indexed]
        return ("words @@ to_tsquery('simple'::regconfig, %s)"
                + "".join(" AND " + _begins_a_word("text") for _ in checked),
                [self.tsquery(indexed, prefix=prefix), *checked])

    def matching(self, organization_id, entity, found, *, prefix, entries=None):
        if entries is None:
            entries = self.entries_of(organization_id, [entity])[0]
        test, params = self._test(found, prefix=prefix)
        params = [organization_id, entity, *params]
        spellings = sum(len(term) for term in found if isinstance(term, tuple))
        if entries > self.SMALL or spellings > self.TESTED_SPELLINGS:
            return ("SELECT record_id FROM core_searchentry WHERE organization_id = %s "  # noqa: S608
                    f"AND entity = %s AND {test}", params)
        # OFFSET 0 keeps the planner from answering the test from the words
        # index. (Not for the hundreds of spellings of every possible mistake:
        # testing each row against them costs more than looking them up.)
        return ("SELECT record_id FROM (SELECT record_id, title, text, words "  # noqa: S608
                "FROM core_searchentry WHERE organization_id = %s AND entity = %s OFFSET 0) "
                f"AS own WHERE {test}", params)

    # Entries of a large organisation tested as they are stored before the
    # index is asked, when a query has a beginning of a few letters: such a
    # beginning mostly matches enough of them, and GIN would first gather
    # every row of every organisation that it starts.
    SAMPLED = 1000

    def top(self, organization_id, entity, found, *, prefix, limit, entries):
        if prefix and entries > self.SMALL and any(
                isinstance(term, str) and not isinstance(term, Whole)
                and len(term) <= PREFIX_INDEXED for term in found):
            test, params = self._test(found, prefix=prefix)
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT record_id, title FROM (SELECT record_id, title, text, words "  # noqa: S608
                    "FROM core_searchentry WHERE organization_id = %s AND entity = %s "
                    f"LIMIT %s) AS sampled WHERE {test} LIMIT %s",
                    [organization_id, entity, self.SAMPLED, *params, limit])
                rows = cursor.fetchall()
            if len(rows) == limit:
                return rows
        sql, params = self.matching(organization_id, entity, found, prefix=prefix,
                                    entries=entries)
        sql = sql.replace("SELECT record_id", "SELECT record_id, title", 1)
        # Planned as a whole, "LIMIT 8" makes reading the table until eight rows
        # match look cheap, and a rare word then reads all of it. Planned
        # apart, the matching rows come from the index; the limit still stops
        # reading them early.
        with connection.cursor() as cursor:
            cursor.execute(f"WITH found AS MATERIALIZED ({sql}) "  # noqa: S608 - constant SQL
                           "SELECT record_id, title FROM found LIMIT %s", [*params, limit])
            return cursor.fetchall()


def _entries(organization_id, entities: list[str], at_most: int) -> list[int]:
    """How many entries the organisation has of each entity, counting up to `at_most`."""
    # Only placeholders are put into the SQL, one group per entity.
    counted = ", ".join("(SELECT count(*) FROM (SELECT 1 FROM core_searchentry "  # noqa: S608
                        f"WHERE organization_id = %s AND entity = %s LIMIT %s) AS e{at})"
                        for at in range(len(entities)))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {counted}",  # noqa: S608
                       [value for entity in entities
                        for value in (organization_id, entity, at_most)])
        return list(cursor.fetchone())


_SQLITE = _Sqlite()
_POSTGRES = _Postgres()
