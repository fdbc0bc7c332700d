"""The conflict check a record goes through before it is opened, for types with party fields.

A record names its parties in the type's party fields: the text of a text
field, a linked contact (its name and e-mail domain) or a linked company
(its name and domain). Each name is looked up among the organisation's
contacts, companies and the type's existing records, and every match is a
hit with the reason it matched:

- names are compared as words: lower case, accents and punctuation taken
  off, "&" read as "and", and company suffixes (Ltd, GmbH, Inc, ...) and a
  leading "The" ignored, so "ACME Holdings GmbH" is "acme holdings";
- the same words are "the same name"; all the words of one inside the
  other ("Acme" in "Acme Holdings") are "a similar name", when the shorter
  one has at least four letters;
- an e-mail address or domain matches contacts with an address at that
  domain and companies with that domain ("the same e-mail domain"), except
  the domains of public mail services, which say nothing about whom a
  person works for;
- a record of the type is a hit when one of its party fields names a
  matching party, and says which field ("named as Opposing party").

Contacts, companies and records the member may not see (a colleague's
client, a confidential matter) are hits too, so that nobody misses a
conflict they may not read about, but only as a kind and a reason: no id,
name or link, and a reason that names the party the member gave, never the
hidden row.
"""

import re
import unicodedata
from dataclasses import asdict, dataclass

from django.db.models import Q
from django.utils.translation import gettext as _

from accord import search
from accord.customers.models import Company, Contact, ContactEmail
from accord.errors import InvalidInput
from accord.identity.visibility import can_see, visible

from .models import Record, RecordLink, RecordType, RelationType

MAX_HITS = 50  # a longer list is not read; the check says more were found
CANDIDATES = 200  # rows read per looked-up word before the names are compared
MAX_PARTIES = 20  # names one check looks for
SHORTEST_PARTIAL = 4  # letters a name needs before it matches inside a longer one
SUFFIXES = {
    "ab", "ag", "as", "bv", "co", "company", "corp", "corporation", "gbr", "gmbh", "inc",
    "incorporated", "kg", "kgaa", "limited", "llc", "llp", "lp", "ltd", "nv", "oy", "plc",
    "pty", "sa", "sarl", "sas", "se", "spa", "srl", "ug",
}
FREE_MAIL = {
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "yahoo.com",
    "icloud.com", "me.com", "aol.com", "gmx.de", "gmx.net", "web.de", "proton.me",
    "protonmail.com", "mail.com", "yandex.com",
}
DOMAIN = re.compile(r"^(?:[a-z0-9-]+\.)+[a-z]{2,}$")


@dataclass(frozen=True)
class Party:
    """One party a record names: where it is named, its name and its domain."""

    field: str
    name: str
    domain: str = ""


@dataclass
class Hit:
    kind: str  # contact, company or record
    id: int | None  # None, like name and url, for a row the member may not see
    name: str
    url: str
    party: str  # the party's name as the record gives it
    reason: str
    hidden: bool = False


def words(name: str) -> tuple[str, ...]:
    """A name as the words it is compared by (see the module's description)."""
    text = unicodedata.normalize("NFKD", str(name or "")).casefold()
    text = "".join(char for char in text if not unicodedata.combining(char))
    text = text.replace("&", " and ")
    found = re.findall(r"[a-z0-9]+", text)
    while found and found[-1] in SUFFIXES:
        found.pop()
    if found and found[0] == "the":
        found = found[1:]
    return tuple(found)


def domain_of(text: str) -> str:
    """The domain of an e-mail address or of a bare domain; empty for a public mail
    service or anything else."""
    text = str(text or "").strip().lower()
    domain = text.rpartition("@")[2] if "@" in text else text.removeprefix("www.")
    if not DOMAIN.match(domain) or domain in FREE_MAIL:
        return ""
    return domain


def compare(party: tuple[str, ...], other: tuple[str, ...]) -> str:
    """Why two names (as words) match: the same name, a similar one, or "" when not."""
    if not party or not other:
        return ""
    if party == other:
        return _("the same name")
    shorter, longer = sorted((party, other), key=len)
    if set(shorter) <= set(longer) and len("".join(shorter)) >= SHORTEST_PARTIAL:
        return _("a similar name")
    return ""


def parties_of(record_type: RecordType, values: dict, names: list | None = None, *,
               viewer=None) -> list[Party]:
    """The parties a record's values name in the type's party fields, plus `names` given
    as plain text; InvalidInput names a value that is not a party, or (for a `viewer`)
    a contact or company the member may not see, as if it did not exist."""
    fields = {field.key: field for field in record_type.fields.filter(
        key__in=record_type.party_fields)}
    found: list[Party] = []
    errors = {}
    for key in record_type.party_fields:
        field = fields.get(key)
        value = (values or {}).get(key)
        if field is None or value in (None, "", []):
            continue
        if field.field_type == RelationType.CONTACT:
            ids = value if isinstance(value, list) else [value]
            contacts = _seen(Contact.objects.filter(pk__in=[_id(item) for item in ids]),
                             viewer, "contacts")
            if len(contacts) != len(set(ids)):
                errors[f"values.{key}"] = "Choose an existing contact."
            found += [Party(field.label, contact.full_name or contact.email,
                            domain_of(contact.email)) for contact in contacts]
        elif field.field_type == RelationType.COMPANY:
            ids = value if isinstance(value, list) else [value]
            companies = _seen(Company.objects.filter(pk__in=[_id(item) for item in ids]),
                              viewer, "companies")
            if len(companies) != len(set(ids)):
                errors[f"values.{key}"] = "Choose an existing company."
            found += [Party(field.label, company.name, domain_of(company.domain))
                      for company in companies]
        else:
            found.append(Party(field.label, str(value)[:300], domain_of(str(value))))
    for name in names or []:
        found.append(Party(_("Name"), str(name)[:300], domain_of(str(name))))
    if errors:
        raise InvalidInput(errors)
    if len(found) > MAX_PARTIES:
        raise InvalidInput({"names": f"Check at most {MAX_PARTIES} names at once."})
    return [party for party in found if words(party.name) or party.domain]


def _seen(queryset, viewer, area: str):
    """The rows of `queryset` the member sees; all of them for code acting for the
    organisation."""
    return queryset if viewer is None else visible(queryset, viewer, area)


def _name_words(party: Party) -> tuple[str, ...]:
    """The words a party is compared by; none for an e-mail address, which is compared by
    its domain only."""
    return () if "@" in party.name else words(party.name)


def _id(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _candidates(model, party: Party, base=None):
    """Rows of `model` the search index finds by any of the party's words."""
    queryset = base if base is not None else model.objects.all()
    ids: set[int] = set()
    for word in _name_words(party):
        if len(word) >= 2:
            ids.update(search.search(queryset, word).values_list("pk", flat=True)[:CANDIDATES])
    return queryset.filter(pk__in=ids)


def check(record_type: RecordType, parties: list[Party], viewer) -> tuple[list[Hit], bool]:
    """The hits for `parties` and whether more than MAX_HITS were found; rows the
    `viewer` (a Membership; None for code acting for the organisation) may not see are
    hits without their id, name or link, listed after the others of their kind."""
    hits: dict[tuple[str, int], Hit] = {}
    areas = {"contact": "contacts", "company": "companies", "record": "records"}

    known: dict[tuple[str, int], bool] = {}

    def seen(kind, row) -> bool:
        if (kind, row.pk) not in known:
            known[kind, row.pk] = viewer is None or can_see(viewer, row, areas[kind])
        return known[kind, row.pk]

    def add(kind, row, name, party, reason):
        if (kind, row.pk) in hits:
            return
        if seen(kind, row):
            hits[kind, row.pk] = Hit(kind, row.pk, str(name), row.get_absolute_url(),
                                     party.name, reason)
        else:
            hits[kind, row.pk] = Hit(kind, None, "", "", party.name, reason, hidden=True)

    # The contacts and companies found, with the party each was found for and why.
    contacts: dict[int, tuple[Party, str]] = {}
    companies: dict[int, tuple[Party, str]] = {}
    for party in parties:
        wanted = _name_words(party)
        for contact in _candidates(Contact, party):
            reason = compare(wanted, words(contact.full_name))
            if reason:
                contacts.setdefault(contact.pk, (party, reason))
                add("contact", contact, contact, party, reason)
        for company in _candidates(Company, party):
            reason = compare(wanted, words(company.name))
            if reason:
                companies.setdefault(company.pk, (party, reason))
                add("company", company, company.name, party, reason)
        if party.domain:
            same = _("the same e-mail domain")
            addresses = ContactEmail.objects.filter(
                address__iendswith=f"@{party.domain}").values("contact_id")
            for contact in Contact.objects.filter(pk__in=addresses)[:CANDIDATES]:
                contacts.setdefault(contact.pk, (party, same))
                add("contact", contact, contact, party, same)
            for company in Company.objects.filter(domain__iexact=party.domain)[:CANDIDATES]:
                companies.setdefault(company.pk, (party, same))
                add("company", company, company.name, party, same)
    for record, party, reason in _record_hits(record_type, parties, contacts, companies,
                                              seen):
        add("record", record, record, party, reason)

    ordered = sorted(hits.values(), key=lambda hit: (
        ("record", "company", "contact").index(hit.kind), hit.hidden))
    return ordered[:MAX_HITS], len(ordered) > MAX_HITS


def _record_hits(record_type: RecordType, parties: list[Party], contacts: dict,
                 companies: dict, seen):
    """(record, party, reason) for each record of the type that names a matching party; a
    linked contact or company is named in the reason only when `seen(kind, row)`."""
    fields = {field.key: field for field in record_type.fields.filter(
        key__in=record_type.party_fields)}
    labels = {field.pk: field.label for field in fields.values()}
    records = Record.objects.filter(record_type=record_type).select_related("record_type")
    for party in parties:
        wanted = _name_words(party)
        for record in _candidates(Record, party, base=records):
            for key, field in fields.items():
                value = record.values.get(key)
                if field.field_type not in RelationType.values and value:
                    reason = compare(wanted, words(str(value)))
                    if reason:
                        yield record, party, _("%(reason)s, named as %(field)s") % {
                            "reason": reason, "field": field.label}
    linked = (RecordLink.objects.filter(record__record_type=record_type, field__in=labels,
                                        record__deleted_at__isnull=True)
              .filter(contact__in=list(contacts)) |
              RecordLink.objects.filter(record__record_type=record_type, field__in=labels,
                                        record__deleted_at__isnull=True)
              .filter(company__in=list(companies)))
    for link in linked.select_related("record__record_type", "contact", "company")[:CANDIDATES]:
        kind, other = ("contact", link.contact) if link.contact_id else ("company", link.company)
        party, why = contacts.get(link.contact_id) or companies[link.company_id]
        # A hidden contact or company is described by how it matched the party,
        # so the reason says no more than the party the member gave.
        name = str(other) if seen(kind, other) else why
        yield link.record, party, _("%(name)s, named as %(field)s") % {
            "name": name, "field": labels[link.field_id]}


def run(record_type: RecordType, viewer, *, values: dict, names: list | None = None,
        strict: bool = True) -> dict:
    """The check as the API and the form show it: what was looked for and what was found.

    InvalidInput when the type has no party fields, or, when `strict`, when the
    values name no party.
    """
    if not record_type.party_fields:
        raise InvalidInput({"type": "This record type has no party fields to check."})
    parties = parties_of(record_type, values, names, viewer=viewer)
    if not parties and strict:
        raise InvalidInput({"values": "Name at least one party to check."})
    hits, more = check(record_type, parties, viewer)
    return {"query": [asdict(party) for party in parties],
            "hits": [asdict(hit) for hit in hits], "truncated": more}


KEPT_AREAS = {"contact": (Contact, "contacts"), "company": (Company, "companies"),
              "record": (Record, "records")}


def hits_for(viewer, hits: list[dict]) -> list[dict]:
    """Conflict-check hits kept on a timeline, as `viewer` may read them.

    The hits were worked out for the member who ran the check; someone who
    reads the record later may see less. A hit on a row this viewer may not
    see keeps only its kind and party, as the check itself answers such hits;
    a hit on a record they see names the contacts and companies that record
    links to and that are hidden from them by kind alone in its reason.
    """
    wanted: dict[str, set[int]] = {}
    for hit in hits:
        if hit.get("kind") in KEPT_AREAS and isinstance(hit.get("id"), int):
            wanted.setdefault(hit["kind"], set()).add(hit["id"])
    seen: set[tuple[str, int]] = set()
    for kind, ids in wanted.items():
        model, area = KEPT_AREAS[kind]
        rows = visible(model._base_manager.filter(pk__in=ids), viewer, area)
        seen.update((kind, pk) for pk in rows.values_list("pk", flat=True))
    linked = _hidden_links(viewer, [pk for kind, pk in seen if kind == "record"])
    shown = []
    for hit in hits:
        if hit.get("id") is None:
            # Hidden from whoever ran the check already: its reason names nobody.
            shown.append(hit)
        elif (hit.get("kind"), hit.get("id")) in seen:
            hidden = linked.get(hit["id"], {}) if hit.get("kind") == "record" else {}
            shown.append({**hit, "reason": _unnamed(hit.get("reason", ""), hidden)})
        else:
            shown.append({"kind": hit.get("kind", ""), "id": None, "name": "",
                          "party": hit.get("party", ""), "reason": "", "hidden": True})
    return shown


def _unnamed(text: str, hidden: dict[str, str]) -> str:
    """`text` with each name in `hidden` ({name: kind}) replaced by its kind."""
    # Longer names first, so that a name inside another is not left half shown.
    for name in sorted(hidden, key=len, reverse=True):
        if name:
            text = text.replace(name, hidden_label(hidden[name]))
    return text


def kept_check_for(viewer, record: Record | None, data: dict) -> dict:
    """A conflict check kept on `record`'s timeline (the entry's data) as `viewer` may
    read it: its hits as `hits_for` gives them, and each party the record links to that
    the viewer may not see named by its kind alone, in what was looked for and as the
    party of each hit. The stored entry keeps every name."""
    hits = hits_for(viewer, data.get("hits") or [])
    hidden = hidden_parties(viewer, record)

    def named(name):
        return hidden_label(hidden[name]) if name in hidden else name

    return {**data, "query": [named(name) for name in data.get("query") or []],
            "hits": [{**hit, "party": named(hit.get("party", ""))} for hit in hits]}


def hidden_parties(viewer, record: Record | None) -> dict[str, str]:
    """{name: kind} of the contacts and companies `record` links to that `viewer` may not
    see, named as the check names a party."""
    if record is None:
        return {}
    return _hidden_links(viewer, [record.pk]).get(record.pk, {})


def _hidden_links(viewer, record_ids: list[int]) -> dict[int, dict[str, str]]:
    """{record id: {name: kind}} of the contacts and companies each record links to that
    `viewer` may not see: three queries whatever the number of records."""
    if not record_ids:
        return {}
    links = list(RecordLink.objects.filter(record_id__in=record_ids).filter(
        Q(contact__isnull=False) | Q(company__isnull=False)).select_related(
        "contact", "company"))
    contacts = {link.contact_id: link.contact for link in links if link.contact_id}
    companies = {link.company_id: link.company for link in links if link.company_id}
    seen_contacts = set(visible(Contact._base_manager.filter(pk__in=contacts), viewer,
                                "contacts").values_list("pk", flat=True))
    seen_companies = set(visible(Company._base_manager.filter(pk__in=companies), viewer,
                                 "companies").values_list("pk", flat=True))
    hidden: dict[int, dict[str, str]] = {}
    for link in links:
        names = hidden.setdefault(link.record_id, {})
        if link.contact_id and link.contact_id not in seen_contacts:
            names[link.contact.full_name or link.contact.email] = "contact"
        if link.company_id and link.company_id not in seen_companies:
            names[link.company.name] = "company"
    return hidden


def hidden_label(kind: str) -> str:
    """How a hit the reader may not see is named."""
    return {"contact": _("a contact you cannot see"),
            "company": _("a company you cannot see")}.get(kind, _("a record you cannot see"))
