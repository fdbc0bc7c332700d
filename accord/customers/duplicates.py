"""Finding contacts and companies that are likely the same person or company.

Candidates come from SQL by blocking keys: the same e-mail address (any of a
contact's, case-insensitively), the same E.164 phone number, the same folded
name, the same looser name key (last name and first initial; a company's first
word) and, for companies, the same domain. Only records sharing a key are
scored, with rapidfuzz for names, so a scan never compares all pairs. Each
pair found is kept as a `DuplicatePair` with its score and the reasons behind
it; people review them, nothing is merged automatically.
"""

import logging
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _
from rapidfuzz import fuzz

from accord.audit import services as audit
from accord.audit.models import Action
from accord.errors import NotFound
from accord.identity.models import Area
from accord.identity.visibility import visible
from accord.search import fold

from .models import (
    Company,
    Contact,
    ContactEmail,
    ContactPhone,
    DuplicatePair,
    DuplicateStatus,
    Entity,
)

logger = logging.getLogger(__name__)

MIN_SCORE = 60  # below this a pair is noise: a similar name and nothing else
NAME_SIMILARITY = 80  # rapidfuzz ratio from which two names count as similar
# A key shared by more records than this is a switchboard number or a shared
# mailbox, not one person; pairing all of them would only bury real matches.
EXACT_BLOCK_LIMIT = 50
# Name blocks are compared pairwise: 200 records are 19,900 comparisons,
# a few milliseconds with rapidfuzz.
NAME_BLOCK_LIMIT = 200
CHUNK = 500  # ids per IN (...) list, well inside SQLite's variable limit

SIGNAL_SCORES = {"email": 95, "phone": 80, "domain": 90, "company_phone": 75}
NAME_WEIGHT = 0.75  # an identical name alone scores 75: possible, not certain
SAME_COMPANY_BONUS = 20
SAME_DOMAIN_BONUS = 10

# Legal forms dropped from the end of a company name before comparing, so
# "Northwind Traders Ltd" and "Northwind Traders Limited" are one name.
LEGAL_SUFFIXES = frozenset({
    "ltd", "limited", "plc", "llc", "llp", "lp", "inc", "incorporated", "corp",
    "corporation", "co", "company", "gmbh", "mbh", "ag", "kg", "ohg", "ug", "ev", "eg",
    "bv", "nv", "sa", "sas", "sarl", "srl", "spa", "sl", "slu", "se", "oy", "oyj", "ab",
    "as", "asa", "aps", "kk", "pty", "pvt", "pte", "kft", "zrt", "sro", "spzoo", "doo",
})
# Addresses at these domains say nothing about where someone works.
FREE_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "yahoo.com", "hotmail.com", "outlook.com", "live.com",
    "msn.com", "icloud.com", "me.com", "aol.com", "gmx.de", "gmx.net", "web.de",
    "proton.me", "protonmail.com", "mail.ru", "yandex.ru",
})
_WORD = re.compile(r"[^\W_]+")


def _words(text: str) -> list[str]:
    return _WORD.findall(fold(text or "").replace(".", ""))


def contact_name_keys(first_name: str, last_name: str) -> tuple[str, str]:
    """(name key, block key) of a person: "José Ibáñez" gives ("ibanez jose", "ibanez j").

    The name key sorts the words, so a first and last name typed the other
    way round still meet; the block key needs both names.
    """
    first, last = _words(first_name), _words(last_name)
    name_key = " ".join(sorted(first + last))[:200]
    block_key = f"{''.join(last)} {first[0][0]}"[:110] if first and last else ""
    return name_key, block_key


def company_name_keys(name: str) -> tuple[str, str]:
    """(name key, block key) of a company: its folded words without a trailing legal form."""
    words = _words(name)
    kept = list(words)
    while len(kept) > 1 and kept[-1] in LEGAL_SUFFIXES:
        kept.pop()
    name_key = " ".join(kept)[:200]
    block_key = kept[0][:110] if kept and len(kept[0]) >= 3 else " ".join(kept[:2])[:110]
    return name_key, block_key


# What scoring reads about one record.


@dataclass
class Features:
    id: int
    name: str
    company_id: int | None = None
    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    domains: set[str] = field(default_factory=set)


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    ids = list(ids)
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def _contact_features(ids: Iterable[int] | None) -> dict[int, Features]:
    """What scoring reads about these contacts; every live contact when `ids` is None.

    A full scan reads the whole organisation in three streamed queries,
    which is far quicker than a hundred thousand ids sent in chunks.
    """
    features: dict[int, Features] = {}
    live = {"contact__deleted_at__isnull": True, "contact__merged_into__isnull": True}
    batches = [None] if ids is None else [{"pk__in": chunk} for chunk in _chunks(ids)]
    for batch in batches:
        records = Contact.objects.filter(**(batch or {}))
        related = {"contact_id__in": batch["pk__in"]} if batch else live
        for pk, name_key, company_id in records.values_list(
                "pk", "name_key", "company_id").iterator(chunk_size=5000):
            features[pk] = Features(pk, name_key, company_id)
        emails = ContactEmail.objects.filter(**related).annotate(key=Lower("address"))
        for contact_id, address in emails.values_list("contact_id", "key").iterator(
                chunk_size=5000):
            if contact_id in features:
                features[contact_id].emails.add(address)
                domain = address.rpartition("@")[2]
                if domain not in FREE_MAIL_DOMAINS:
                    features[contact_id].domains.add(domain)
        phones = ContactPhone.objects.filter(**related).exclude(number="")
        for contact_id, number in phones.values_list("contact_id", "number").iterator(
                chunk_size=5000):
            if contact_id in features:
                features[contact_id].phones.add(number)
    return features


def _company_features(ids: Iterable[int] | None) -> dict[int, Features]:
    features: dict[int, Features] = {}
    batches = [{}] if ids is None else [{"pk__in": chunk} for chunk in _chunks(ids)]
    for batch in batches:
        rows = Company.objects.filter(**batch).values_list("pk", "name_key", "domain", "phone")
        for pk, name_key, domain, phone in rows.iterator(chunk_size=5000):
            features[pk] = Features(
                pk, name_key, domains={domain.lower()} if domain else set(),
                phones={phone} if phone.startswith("+") else set(),
            )
    return features


def _name_signal(a: Features, b: Features, *, people: bool) -> dict | None:
    if not a.name or not b.name:
        return None
    similarity = round(fuzz.token_sort_ratio(a.name, b.name))
    if similarity < NAME_SIMILARITY:
        return None
    score = round(similarity * NAME_WEIGHT)
    signal = "name"
    if people and a.company_id and a.company_id == b.company_id:
        score, signal = score + SAME_COMPANY_BONUS, "name_company"
    elif people and a.domains & b.domains:
        score, signal = score + SAME_DOMAIN_BONUS, "name_domain"
    return {"signal": signal, "score": min(score, 99), "value": similarity}


def score_pair(entity: str, a: Features, b: Features) -> tuple[int, list[dict]]:
    """The pair's score (0–100) and its reasons, strongest first.

    Each signal has its own score; together they count like independent
    evidence, 1 − ∏(1 − sᵢ), so two signals score above either alone.
    """
    reasons = []
    people = entity == Entity.CONTACT
    if people:
        for address in sorted(a.emails & b.emails)[:1]:
            reasons.append({"signal": "email", "score": SIGNAL_SCORES["email"],
                            "value": address})
        for number in sorted(a.phones & b.phones)[:1]:
            reasons.append({"signal": "phone", "score": SIGNAL_SCORES["phone"],
                            "value": number})
    else:
        for domain in sorted(a.domains & b.domains)[:1]:
            reasons.append({"signal": "domain", "score": SIGNAL_SCORES["domain"],
                            "value": domain})
        for number in sorted(a.phones & b.phones)[:1]:
            reasons.append({"signal": "phone", "score": SIGNAL_SCORES["company_phone"],
                            "value": number})
    name = _name_signal(a, b, people=people)
    if name is not None:
        reasons.append(name)
    if not reasons:
        return 0, []
    remaining = 1.0
    for reason in reasons:
        remaining *= 1 - reason["score"] / 100
    reasons.sort(key=lambda reason: -reason["score"])
    return round(100 * (1 - remaining)), reasons


def describe_reason(reason: dict) -> str:
    """One reason as a sentence a person reads."""
    value = reason.get("value")
    signal = reason.get("signal")
    if signal == "email":
        return _("Same e-mail address (%(value)s)") % {"value": value}
    if signal == "phone":
        return _("Same phone number (%(value)s)") % {"value": value}
    if signal == "domain":
        return _("Same website domain (%(value)s)") % {"value": value}
    if signal == "name":
        if value == 100:
            return _("Same name")
        return _("Similar name (%(value)s%% alike)") % {"value": value}
    if signal == "name_company":
        return _("Similar name at the same company (%(value)s%% alike)") % {"value": value}
    if signal == "name_domain":
        return _("Similar name with the same e-mail domain (%(value)s%% alike)") % {
            "value": value}
    return str(signal)


# Blocking keys, in SQL.


def _model(entity: str):
    return Contact if entity == Entity.CONTACT else Company


def area_of(model) -> str:
    """The visibility area of contacts or companies."""
    return Area.CONTACTS if model is Contact else Area.COMPANIES


def _entity(model) -> str:
    return Entity.CONTACT if model is Contact else Entity.COMPANY


def _key_sources(entity: str) -> list[tuple]:
    """(queryset, key expression, record id column, block limit) per blocking key."""
    live = {"contact__deleted_at__isnull": True, "contact__merged_into__isnull": True}
    if entity == Entity.CONTACT:
        return [
            (ContactEmail.objects.filter(**live), Lower("address"), "contact_id",
             EXACT_BLOCK_LIMIT),
            (ContactPhone.objects.filter(**live).exclude(number=""), F("number"), "contact_id",
             EXACT_BLOCK_LIMIT),
            (Contact.objects.exclude(name_key=""), F("name_key"), "id", EXACT_BLOCK_LIMIT),
            (Contact.objects.exclude(block_key=""), F("block_key"), "id", NAME_BLOCK_LIMIT),
        ]
    return [
        (Company.objects.exclude(domain=""), Lower("domain"), "id", EXACT_BLOCK_LIMIT),
        (Company.objects.filter(phone__startswith="+"), F("phone"), "id", EXACT_BLOCK_LIMIT),
        (Company.objects.exclude(name_key=""), F("name_key"), "id", EXACT_BLOCK_LIMIT),
        (Company.objects.exclude(block_key=""), F("block_key"), "id", NAME_BLOCK_LIMIT),
    ]


def _members(queryset, key, id_column: str, values: Iterable[str],
             limit: int) -> list[list[int]]:
    """The records sharing each key value, leaving out blocks larger than `limit`."""
    blocks: dict[str, set[int]] = defaultdict(set)
    for chunk in _chunks(values):
        rows = queryset.annotate(block=key).filter(block__in=chunk).values_list(
            "block", id_column)
        for value, record_id in rows:
            blocks[value].add(record_id)
    return [sorted(ids) for ids in blocks.values() if 1 < len(ids) <= limit]


def _pairs_in(blocks: Iterable[list[int]], around: set[int] | None = None) -> set[tuple]:
    pairs = set()
    for ids in blocks:
        for index, low in enumerate(ids):
            for high in ids[index + 1:]:
                if around is None or low in around or high in around:
                    pairs.add((low, high))
    return pairs


def _candidates_for(entity: str, ids: set[int],
                    too_large: dict[int, set] | None = None) -> set[tuple[int, int]]:
    """Pairs of these records with the records sharing a key with them.

    `too_large` remembers, per key source, the key values whose blocks are
    over the limit: a caller going through many records in batches passes
    the same dict each time, so a common name is counted once rather than
    having its thousands of records read again for every batch.
    """
    too_large = {} if too_large is None else too_large
    pairs = set()
    for source, (queryset, key, id_column, limit) in enumerate(_key_sources(entity)):
        values = set()
        for chunk in _chunks(ids):
            values |= set(
                queryset.annotate(block=key).filter(**{f"{id_column}__in": chunk})
                .values_list("block", flat=True)
            )
        values.discard("")
        skipped = too_large.setdefault(source, set())
        values -= skipped
        sizes = _block_sizes(queryset, key, id_column, values)
        skipped.update(value for value, size in sizes.items() if size > limit)
        small = [value for value, size in sizes.items() if size <= limit]
        pairs |= _pairs_in(_members(queryset, key, id_column, small, limit), around=ids)
    return pairs


def _block_sizes(queryset, key, id_column: str, values: Iterable[str]) -> dict[str, int]:
    """How many records share each key value."""
    sizes = {}
    for chunk in _chunks(values):
        sizes.update(queryset.annotate(block=key).filter(block__in=chunk).values("block")
                     .annotate(records=Count(id_column, distinct=True))
                     .values_list("block", "records"))
    return sizes


def _all_candidates(entity: str) -> set[tuple[int, int]]:
    pairs = set()
    for queryset, key, id_column, limit in _key_sources(entity):
        shared = (
            queryset.annotate(block=key).values("block")
            .annotate(records=Count(id_column, distinct=True))
            .filter(records__gt=1, records__lte=limit)
            .values_list("block", flat=True)
        )
        pairs |= _pairs_in(_members(queryset, key, id_column, list(shared), limit))
    return pairs


def refresh_name_keys(model, ids: Iterable[int] | None = None) -> int:
    """Recompute the name keys of these records (all when None); returns how many changed.

    `save()` keeps the keys current; this catches rows written in bulk.
    """
    queryset = model.objects.all() if ids is None else model.objects.filter(pk__in=list(ids))
    if model is Contact:
        rows = queryset.values_list("pk", "name_key", "block_key", "first_name", "last_name")
        keys_of = contact_name_keys
    else:
        rows = queryset.values_list("pk", "name_key", "block_key", "name")
        keys_of = company_name_keys
    changed = [
        (*keys, pk) for pk, name_key, block_key, *names in rows.iterator(chunk_size=2000)
        if (keys := keys_of(*names)) != (name_key, block_key)
    ]
    # One prepared UPDATE run for every row: a first scan of 100,000 bulk-loaded
    # contacts writes all their keys, which bulk_update's CASE statements make
    # several times slower.
    # The only text put into the SQL is the model's own table name.
    table = connection.ops.quote_name(model._meta.db_table)
    sql = f"UPDATE {table} SET name_key = %s, block_key = %s WHERE id = %s"  # noqa: S608
    with connection.cursor() as cursor:
        for start in range(0, len(changed), CHUNK * 10):
            cursor.executemany(sql, changed[start:start + CHUNK * 10])
    return len(changed)


# Keeping pairs.


def _score_all(entity: str, pairs: set[tuple[int, int]], *,
               everyone: bool = False) -> dict[tuple, tuple[int, list]]:
    ids = None if everyone else {record_id for pair in pairs for record_id in pair}
    load = _contact_features if entity == Entity.CONTACT else _company_features
    features = load(ids)
    scored = {}
    for low, high in pairs:
        if low in features and high in features:
            score, reasons = score_pair(entity, features[low], features[high])
            if score >= MIN_SCORE:
                scored[(low, high)] = (score, reasons)
    return scored


def _store(org, entity: str, scored: dict, considered: set[tuple], *,
           drop_unseen: bool) -> None:
    """Write new pairs, refresh open ones, drop open ones that no longer hold.

    Dismissed and merged pairs are never touched, so a dismissal outlives
    every later scan. The pairs are read as plain values and written a batch
    per transaction: an import can find hundreds of thousands, and on SQLite
    one transaction for all of them held the database's only write lock for
    seconds, while other people's requests waited for it.
    """
    now = timezone.now()
    columns = ("pk", "low_id", "high_id", "status", "score", "reasons")
    pairs = DuplicatePair.objects.filter(entity=entity)
    if drop_unseen:
        rows = pairs.values_list(*columns).iterator(chunk_size=CHUNK * 4)
    else:
        lows = {low for low, _high in considered}
        rows = (row for chunk in _chunks(lows)
                for row in pairs.filter(low_id__in=chunk).values_list(*columns)
                if (row[1], row[2]) in considered)
    existing = {(low, high): (pk, status, score, reasons)
                for pk, low, high, status, score, reasons in rows}

    new, changed, stale = [], [], []
    as_json = DuplicatePair._meta.get_field("reasons").get_db_prep_save
    found_at = DuplicatePair._meta.get_field("found_at").get_db_prep_save(now, connection)
    for key, (score, reasons) in scored.items():
        found = existing.get(key)
        if found is None:
            new.append((org.pk, entity, key[0], key[1], score, as_json(reasons, connection),
                        DuplicateStatus.OPEN, found_at))
        elif found[1] == DuplicateStatus.OPEN and found[2:] != (score, reasons):
            changed.append(DuplicatePair(pk=found[0], score=score, reasons=reasons))
    for key, (pk, status, _score, _reasons) in existing.items():
        if status == DuplicateStatus.OPEN and key not in scored and (
                key in considered or drop_unseen):
            stale.append(pk)
    from .bulk import insert_rows  # it builds on this module's name keys

    for batch in _chunks(new):
        with transaction.atomic():
            # A pair another run stored meanwhile is left as that run wrote it.
            insert_rows(DuplicatePair, ("organization_id", "entity", "low_id", "high_id", "score",
                                        "reasons", "status", "found_at"),
                        batch, now=now, skip_taken=True)
    for batch in _chunks(changed):
        with transaction.atomic():
            DuplicatePair.objects.bulk_update(batch, ["score", "reasons"])
    for batch in _chunks(stale):
        with transaction.atomic():
            # One dismissed meanwhile stays, with its dismissal.
            DuplicatePair.objects.filter(pk__in=batch, status=DuplicateStatus.OPEN).delete()


def look_for_duplicates(org, model, ids: Iterable[int], *,
                        too_large: dict[int, set] | None = None) -> None:
    """Find, score and keep the likely duplicates of these contacts or companies.

    Call inside the organisation's scope, after the records and their
    e-mails and phones are written. Safe to call again: existing pairs are
    refreshed, dismissed ones kept.
    """
    ids = {int(pk) for pk in ids}
    if not ids:
        return
    entity = _entity(model)
    with transaction.atomic():
        refresh_name_keys(model, ids)
    # Open pairs of these records are scored again too, so one that no
    # longer holds after an edit is dropped. Finding and scoring only read,
    # so they run before any write: on SQLite a write takes the database's
    # one write lock, which other people's requests then wait for.
    considered = _candidates_for(entity, ids, too_large) | open_pair_keys(entity, ids)
    _store(org, entity, _score_all(entity, considered), considered, drop_unseen=False)


def find_duplicates_for(org, model, ids: Iterable[int], *,
                        too_large: dict[int, set] | None = None) -> list[DuplicatePair]:
    """Look for duplicates of these contacts or companies; returns their open pairs."""
    ids = {int(pk) for pk in ids}
    look_for_duplicates(org, model, ids, too_large=too_large)
    found = open_pairs(_entity(model), ids)
    if found:
        logger.info("duplicates.found", extra={
            "organization_id": org.id, "entity": _entity(model), "count": len(found)})
    return found


def scan(org, model) -> int:
    """Look for duplicates among every live contact or company of `org`.

    Idempotent: a second run finds the same pairs and changes nothing. Open
    pairs that no longer hold are removed; dismissed ones stay dismissed.
    Returns the number of open pairs afterwards.
    """
    entity = _entity(model)
    started = timezone.now()
    with transaction.atomic():
        refresh_name_keys(model)
    pairs = _all_candidates(entity)
    _store(org, entity, _score_all(entity, pairs, everyone=True), pairs, drop_unseen=True)
    count = DuplicatePair.objects.filter(entity=entity, status=DuplicateStatus.OPEN).count()
    logger.info("duplicates.scanned", extra={
        "organization_id": org.id, "entity": entity, "candidates": len(pairs),
        "open": count, "ms": int((timezone.now() - started).total_seconds() * 1000)})
    return count


# Reading and resolving pairs.


def open_pair_keys(entity: str, ids: Iterable[int]) -> set[tuple[int, int]]:
    """(low id, high id) of the open pairs that involve any of these records."""
    keys = set()
    for chunk in _chunks(ids):
        keys.update(DuplicatePair.objects.filter(
            Q(low_id__in=chunk) | Q(high_id__in=chunk), entity=entity,
            status=DuplicateStatus.OPEN,
        ).values_list("low_id", "high_id"))
    return keys


def count_open_pairs(model, ids: Iterable[int]) -> int:
    """How many open pairs involve any of these contacts or companies, each counted once."""
    return len(open_pair_keys(_entity(model), ids))


def open_pairs(entity: str, ids: Iterable[int]) -> list[DuplicatePair]:
    """The open pairs that involve any of these records, best first."""
    ids = list(ids)
    if not ids:
        return []
    found = {}
    for chunk in _chunks(ids):
        query = DuplicatePair.objects.filter(
            Q(low_id__in=chunk) | Q(high_id__in=chunk), entity=entity,
            status=DuplicateStatus.OPEN,
        )
        found.update((pair.pk, pair) for pair in query)
    return sorted(found.values(), key=lambda pair: (-pair.score, pair.pk))


def possible_duplicates(record, viewer) -> list[tuple[DuplicatePair, object]]:
    """(pair, other record) for each open pair of this live record whose other record
    the viewer sees, best first."""
    model = type(record)
    pairs = open_pairs(_entity(model), [record.pk])
    seen = visible(model.objects.all(), viewer, area_of(model))
    others = seen.in_bulk([pair.other_id(record.pk) for pair in pairs])
    return [(pair, others[pair.other_id(record.pk)]) for pair in pairs
            if pair.other_id(record.pk) in others]


def as_api_items(record, viewer) -> list[dict]:
    """What the API's `possible_duplicates` lists: [{id, score, reasons}], of the records
    the viewer sees."""
    return [
        {"id": other.pk, "score": pair.score, "reasons": api_reasons(pair)}
        for pair, other in possible_duplicates(record, viewer)
    ]


def api_reasons(pair: DuplicatePair) -> list[dict]:
    return [{"signal": reason.get("signal", ""), "score": reason.get("score", 0),
             "reason": describe_reason(reason)} for reason in pair.reasons]


def get_pair(pair_id, *, entity: str | None = None) -> DuplicatePair:
    """The pair with this id in the current organisation, or NotFound."""
    try:
        pair_id = int(pair_id)
    except (TypeError, ValueError):
        pair_id = None
    query = DuplicatePair.objects.filter(pk=pair_id)
    if entity is not None:
        query = query.filter(entity=entity)
    pair = query.first() if pair_id is not None else None
    if pair is None:
        raise NotFound("No possible duplicate with this id.")
    return pair


def visible_pairs(queryset: QuerySet, viewer) -> QuerySet:
    """Narrow a queryset of pairs to those whose two records the viewer sees.

    Records in the trash or merged away count by their owner like live ones,
    so the merged and dismissed pairs of the queue follow the same rule.
    """
    seen = Q(pk__in=[])
    for entity in (Entity.CONTACT, Entity.COMPANY):
        model = _model(entity)
        ids = visible(model.with_deleted.all(), viewer, area_of(model)).values("pk")
        seen |= Q(entity=entity, low_id__in=ids, high_id__in=ids)
    return queryset.filter(seen)


def live_pairs(queryset: QuerySet, entity: str) -> QuerySet:
    """Narrow a queryset of one entity's pairs to those whose two records are live: a
    record moved to the trash (an undone import's, say) leaves its open pairs until the
    next scan drops them, and they cannot be merged meanwhile."""
    ids = _model(entity).objects.values("pk")
    return queryset.filter(low_id__in=ids, high_id__in=ids)


def get_visible_pair(pair_id, viewer) -> DuplicatePair:
    """The pair with this id when the viewer sees both its records; NotFound otherwise,
    as for an id that does not exist."""
    pair = get_pair(pair_id)
    if not visible_pairs(DuplicatePair.objects.filter(pk=pair.pk), viewer).exists():
        raise NotFound("No possible duplicate with this id.")
    return pair


def pair_records(pair: DuplicatePair) -> tuple:
    """The pair's two live records, lower id first; NotFound when either is gone."""
    model = _model(pair.entity)
    records = model.objects.in_bulk([pair.low_id, pair.high_id])
    if len(records) != 2:
        raise NotFound("One of these records no longer exists.")
    return records[pair.low_id], records[pair.high_id]


@transaction.atomic
def dismiss_pair(org, actor, pair: DuplicatePair) -> DuplicatePair:
    """Mark a pair as not a duplicate; later scans leave it dismissed."""
    pair = DuplicatePair.objects.select_for_update().get(pk=pair.pk)
    if pair.status != DuplicateStatus.OPEN:
        return pair
    pair.status = DuplicateStatus.DISMISSED
    pair.resolved_by = actor if getattr(actor, "pk", None) else None
    pair.resolved_at = timezone.now()
    pair.save(update_fields=["status", "resolved_by", "resolved_at"])
    records = _model(pair.entity).with_deleted.in_bulk(pair.record_ids)
    for record_id, record in records.items():
        audit.record(org, actor, Action.UPDATE, record,
                     changes={"not_a_duplicate_of": [None, pair.other_id(record_id)]})
    logger.info("duplicates.dismissed",
                extra={"organization_id": org.id, "pair_id": pair.pk, "entity": pair.entity})
    return pair
