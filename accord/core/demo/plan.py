"""The demo organisation as plain data, generated from a seed.

`make_plan` decides every person, company, contact, consent and timeline
entry before anything is written, so the same seed and the same moment give
the same demo. Records refer to each other by position in their list; the
loader turns those positions into rows. Nothing here touches the database.
"""

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal

import phonenumbers

from . import words

SEED = 20240917

COMPANY_COUNT = 90
SUBSIDIARY_SHARE = 0.14  # 15 of the data set's 85 accounts belong to another
CONTACTS_PER_COMPANY = (3, 9)  # inclusive; averages six, about 540 contacts
SALES_PER_REGION = 8
MANAGERS_PER_REGION = 2
ACTIVITY_COUNT = 420
STAGE_MOVES = 60

# Lifecycle stages weighted like the data set's deal stages: about half won
# (customers), a quarter lost (other or back to lead), the rest in progress.
STAGE_WEIGHTS = {
    "customer": 36, "evangelist": 6, "opportunity": 15, "sql": 9, "mql": 9, "lead": 14,
    "subscriber": 7, "other": 4,
}
NEXT_STAGE = {"subscriber": "lead", "lead": "mql", "mql": "sql", "sql": "opportunity",
              "opportunity": "customer", "customer": "evangelist"}


@dataclass
class Person:
    first_name: str
    last_name: str
    email: str
    role: str
    team: str | None = None
    leads_team: bool = False

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass
class CompanyPlan:
    data: dict
    owner: int  # index into Plan.people
    parent: int | None = None  # index into Plan.companies


@dataclass
class ContactPlan:
    company: int
    owner: int
    data: dict
    consents: list[dict] = field(default_factory=list)
    moves_to: str | None = None  # a later lifecycle stage, applied as an update


@dataclass
class ActivityPlan:
    contact: int
    author: int
    data: dict
    assignee: int | None = None


@dataclass
class Plan:
    people: list[Person]
    teams: list[str]
    custom_fields: list[dict]
    companies: list[CompanyPlan]
    contacts: list[ContactPlan]
    activities: list[ActivityPlan]

    def people_with_role(self, *roles: str) -> list[int]:
        return [index for index, person in enumerate(self.people) if person.role in roles]


CUSTOM_FIELDS = [
    {"entity": "company", "key": "account_tier", "label": "Account tier",
     "field_type": "choice", "choices": ["Strategic", "Key", "Standard"], "currency": ""},
    {"entity": "company", "key": "year_established", "label": "Year established",
     "field_type": "number", "choices": [], "currency": ""},
    {"entity": "company", "key": "hardware_budget", "label": "Annual hardware budget",
     "field_type": "money", "choices": [], "currency": "USD"},
    {"entity": "contact", "key": "product_interest", "label": "Product interest",
     "field_type": "multi_choice", "choices": words.PRODUCT_LINES, "currency": ""},
    {"entity": "contact", "key": "last_order_value", "label": "Last order value",
     "field_type": "money", "choices": [], "currency": "USD"},
]


def make_plan(*, seed: int = SEED, now: dt.datetime) -> Plan:
    """The whole demo for `seed`; dates are placed around `now` (an aware datetime)."""
    # A seeded generator on purpose: the demo must come out the same every time.
    rng = random.Random(seed)  # noqa: S311
    people = _people(rng)
    teams = [*words.REGIONS, "Marketing", "Support"]
    # Every number once: two records sharing one would rightly be flagged
    # as possible duplicates.
    issued: set[str] = set()
    companies = _companies(rng, people, issued)
    contacts = _contacts(rng, people, companies, now, issued)
    activities = _activities(rng, people, contacts, now)
    return Plan(people, teams, CUSTOM_FIELDS, companies, contacts, activities)


def _unique_names(rng: random.Random, count: int, taken: set[str]) -> list[tuple[str, str]]:
    names = []
    while len(names) < count:
        first, last = rng.choice(words.FIRST_NAMES), rng.choice(words.LAST_NAMES)
        if f"{first} {last}" not in taken:
            taken.add(f"{first} {last}")
            names.append((first, last))
    return names


def _people(rng: random.Random) -> list[Person]:
    """Admins, regional sales teams with their managers, marketing, support, read-only."""
    taken: set[str] = set()
    domain = "demo.example.com"

    def person(role: str, team: str | None = None, leads_team: bool = False) -> Person:
        first, last = _unique_names(rng, 1, taken)[0]
        email = f"{first}.{last}@{domain}".lower()
        return Person(first, last, email, role, team, leads_team)

    people = [Person("Demo", "Admin", "demo@example.com", "admin"), person("admin")]
    for region in words.REGIONS:
        for number in range(MANAGERS_PER_REGION):
            people.append(person("manager", region, leads_team=number == 0))
        people.extend(person("sales", region) for _ in range(SALES_PER_REGION))
    people.append(person("marketing", "Marketing", leads_team=True))
    people.extend(person("marketing", "Marketing") for _ in range(2))
    people.append(person("support", "Support", leads_team=True))
    people.extend(person("support", "Support") for _ in range(2))
    people.extend(person("read_only") for _ in range(2))
    return people


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _phone(rng: random.Random, country: str, kind: int, issued: set[str]) -> str:
    """A random number valid for `country` and not in `issued` (which it joins), in E.164.

    A number drawn twice is redrawn from a generator of its own, so the rest
    of the demo comes out as it always has.
    """
    number = _valid_number(rng, country, kind)
    redraw = random.Random(number)  # noqa: S311 - demo data, seeded on purpose
    while number in issued:
        number = _valid_number(redraw, country, kind)
    issued.add(number)
    return number


def _valid_number(rng: random.Random, country: str, kind: int) -> str:
    example = phonenumbers.example_number_for_type(country, kind)
    national = phonenumbers.national_significant_number(example)
    while True:
        digits = national[:-4] + "".join(rng.choice("0123456789") for _ in range(4))
        number = phonenumbers.parse(f"+{example.country_code}{digits}")
        if phonenumbers.is_valid_number(number) and (
            phonenumbers.region_code_for_number(number) == country
        ):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _size(employees: int) -> str:
    for limit, size in ((10, "1-9"), (50, "10-49"), (250, "50-249"), (1000, "250-999")):
        if employees < limit:
            return size
    return "1000+"


def _companies(rng: random.Random, people: list[Person],
               issued: set[str]) -> list[CompanyPlan]:
    """Companies shaped like the data set's accounts: sector, revenue, size, country."""
    sales = [index for index, person in enumerate(people) if person.role == "sales"]
    countries = {code: spec[0] for code, spec in words.COUNTRIES.items()}
    names: set[str] = set()
    companies: list[CompanyPlan] = []
    parents: list[int] = []
    while len(companies) < COMPANY_COUNT:
        sector = _weighted(rng, words.SECTOR_WEIGHTS)
        stem = rng.choice(words.NAME_STARTS) + rng.choice(words.NAME_ENDS)
        country = _weighted(rng, countries)
        suffix, cities = words.COUNTRIES[country][1:]
        parent = None
        if parents and rng.random() < SUBSIDIARY_SHARE * 1.6:
            parent = rng.choice(parents)
            stem = companies[parent].data["name"].split(" ")[0]
            name = f"{stem} {rng.choice(['Europe', 'Asia Pacific', 'Americas', 'Labs'])}"
        else:
            name = f"{stem} {rng.choice(words.SECTORS[sector])}"
        if name in names:
            continue
        names.add(name)
        # Revenue in the data set runs from a few million to about twelve
        # billion dollars with a median near 1.2 billion: a log-normal fits.
        revenue_millions = min(max(rng.lognormvariate(6.9, 1.3), 4.5), 12000)
        employees = max(9, int(revenue_millions * rng.uniform(1.2, 3.4)))
        slug = name.lower().replace(" ", "")
        data = {
            "name": f"{name} {suffix}",
            "industry": sector,
            "domain": f"{slug}.example",
            "website": f"https://www.{slug}.example",
            "country": country,
            "city": rng.choice(cities),
            "phone": _phone(rng, country, phonenumbers.PhoneNumberType.FIXED_LINE, issued),
            "employees": employees,
            "size": _size(employees),
            "annual_revenue": str(Decimal(round(revenue_millions * 1_000_000, -3))),
            "currency": "USD",  # the data set reports revenue in US dollars
            "source": rng.choice(words.SOURCES),
            "tags": rng.sample(["key account", "partner", "renewal due", "trade show"],
                               k=rng.choice([0, 0, 1, 1, 2])),
            "custom_fields": {
                "account_tier": rng.choices(["Strategic", "Key", "Standard"], [1, 3, 6])[0],
                "year_established": rng.randint(1979, 2017),
                "hardware_budget": {
                    "amount": str(round(revenue_millions * rng.uniform(150, 900), -2)),
                    "currency": "USD",
                },
            },
        }
        if parent is not None:
            data["description"] = "Regional subsidiary."
        companies.append(CompanyPlan(data=data, owner=rng.choice(sales), parent=parent))
        if parent is None and revenue_millions > 1500 and len(parents) < 8:
            parents.append(len(companies) - 1)
    return companies


def _contacts(rng: random.Random, people: list[Person], companies: list[CompanyPlan],
              now: dt.datetime, issued: set[str]) -> list[ContactPlan]:
    taken: set[str] = set()
    contacts: list[ContactPlan] = []
    for company_index, company in enumerate(companies):
        country = company.data["country"]
        domain = company.data["domain"]
        team = people[company.owner].team
        teammates = [index for index, person in enumerate(people)
                     if person.role == "sales" and person.team == team]
        count = rng.randint(*CONTACTS_PER_COMPANY)
        for first, last in _unique_names(rng, count, taken):
            stage = _weighted(rng, STAGE_WEIGHTS)
            owner = company.owner if rng.random() < 0.8 else rng.choice(teammates)
            emails = [{"address": f"{first}.{last}@{domain}".lower(), "kind": "work",
                       "is_primary": True}]
            if rng.random() < 0.2:
                emails.append({"address": f"{first[0]}{last}@mail.example".lower(),
                               "kind": "home", "is_primary": False})
            phones = [{"number": _phone(rng, country, phonenumbers.PhoneNumberType.MOBILE,
                                        issued),
                       "kind": "mobile", "is_primary": True}]
            if rng.random() < 0.4:
                phones.append({"number": _phone(
                    rng, country, phonenumbers.PhoneNumberType.FIXED_LINE, issued),
                    "kind": "work"})
            custom: dict = {"product_interest": rng.sample(words.PRODUCT_LINES,
                                                           k=rng.randint(0, 2))}
            if stage in ("customer", "evangelist"):
                custom["last_order_value"] = {
                    "amount": f"{rng.randint(55, 30000)}.00", "currency": "USD"}
            data = {
                "first_name": first,
                "last_name": last,
                "title": rng.choice(words.JOB_TITLES),
                "emails": emails,
                "phones": phones,
                "lifecycle_stage": stage,
                "source": rng.choice(words.SOURCES),
                "country": country,
                "city": company.data["city"],
                "tags": rng.sample(words.TAGS, k=rng.choice([0, 1, 1, 2])),
                "custom_fields": custom,
                "do_not_contact": rng.random() < 0.03,
            }
            contacts.append(ContactPlan(
                company=company_index, owner=owner, data=data,
                consents=_consents(rng, now),
            ))
    movable = [index for index, contact in enumerate(contacts)
               if contact.data["lifecycle_stage"] in NEXT_STAGE]
    for index in rng.sample(movable, k=min(STAGE_MOVES, len(movable))):
        contacts[index].moves_to = NEXT_STAGE[contacts[index].data["lifecycle_stage"]]
    return contacts


def _consents(rng: random.Random, now: dt.datetime) -> list[dict]:
    """Most contacts opted in to e-mail somewhere; a few withdrew later."""
    if rng.random() < 0.25:
        return []
    granted_at = now - dt.timedelta(days=rng.randint(30, 700), minutes=rng.randint(0, 1439))
    purpose = rng.choice(["marketing", "newsletter", "product_updates"])
    consents = [{"channel": "email", "purpose": purpose, "status": "granted",
                 "method": rng.choice(["web_form", "web_form", "written", "verbal"]),
                 "recorded_at": granted_at, "evidence": "Sign-up form on the website"}]
    if rng.random() < 0.3:
        consents.append({"channel": "phone", "purpose": "surveys", "status": "granted",
                         "method": "verbal", "recorded_at": granted_at,
                         "evidence": "Agreed on a call"})
    if rng.random() < 0.1:
        consents.append({"channel": "email", "purpose": purpose, "status": "withdrawn",
                         "method": "unsubscribe",
                         "recorded_at": granted_at + dt.timedelta(days=rng.randint(5, 25)),
                         "evidence": "Unsubscribe link"})
    return consents


def _activities(rng: random.Random, people: list[Person], contacts: list[ContactPlan],
                now: dt.datetime) -> list[ActivityPlan]:
    """Notes, calls, meetings, e-mails and tasks: open, overdue and done."""
    workers = [index for index, person in enumerate(people)
               if person.role in ("sales", "manager", "support", "marketing")]
    kinds = {"call": 30, "note": 20, "email": 20, "meeting": 12, "task": 18}
    activities = []
    for _ in range(ACTIVITY_COUNT):
        contact_index = rng.randrange(len(contacts))
        contact = contacts[contact_index]
        author = contact.owner if rng.random() < 0.75 else rng.choice(workers)
        kind = _weighted(rng, kinds)
        line = rng.choice(words.PRODUCT_LINES)
        when = now - dt.timedelta(days=rng.randint(0, 120), minutes=rng.randint(0, 1439))
        data: dict = {"kind": kind, "occurred_at": when}
        assignee = None
        if kind == "call":
            data |= {
                "subject": rng.choice(words.CALL_SUBJECTS),
                "direction": rng.choice(["outbound", "outbound", "inbound"]),
                "outcome": rng.choice(["connected", "connected", "voicemail", "no_answer"]),
                "duration_minutes": rng.randint(2, 45),
                "body": rng.choice(words.NOTE_TEXTS),
            }
        elif kind == "note":
            data["body"] = rng.choice(words.NOTE_TEXTS)
        elif kind == "email":
            data |= {"subject": rng.choice(words.EMAIL_SUBJECTS).format(line=line),
                     "direction": rng.choice(["outbound", "inbound"]),
                     "body": rng.choice(words.NOTE_TEXTS)}
        elif kind == "meeting":
            data |= {"subject": rng.choice(words.MEETING_SUBJECTS),
                     "duration_minutes": rng.choice([30, 45, 60, 90]),
                     "body": rng.choice(words.NOTE_TEXTS)}
        else:
            state = rng.choice(["open", "open", "overdue", "done"])
            offset = {"open": rng.randint(1, 21), "overdue": -rng.randint(1, 14),
                      "done": -rng.randint(1, 30)}[state]
            due = (now + dt.timedelta(days=offset)).replace(
                hour=rng.choice([9, 11, 14, 16]), minute=0, second=0, microsecond=0)
            data |= {"subject": rng.choice(words.TASK_SUBJECTS).format(line=line),
                     "due_at": due, "occurred_at": min(when, due), "done": state == "done"}
            assignee = author if rng.random() < 0.7 else rng.choice(workers)
        activities.append(ActivityPlan(contact=contact_index, author=author, data=data,
                                       assignee=assignee))
    activities.extend(_admin_desk(rng, contacts, now))
    return activities


def _admin_desk(rng: random.Random, contacts: list[ContactPlan],
                now: dt.datetime) -> list[ActivityPlan]:
    """A few tasks for the demo admin, so the first sign-in shows a working day."""
    offsets = [-3, -1, 0, 2, 5, 9]  # days from now: two overdue, one today, three ahead
    tasks = []
    for offset in offsets:
        due = now + dt.timedelta(days=offset, hours=1)
        subject = rng.choice(words.TASK_SUBJECTS).format(line=rng.choice(words.PRODUCT_LINES))
        tasks.append(ActivityPlan(
            contact=rng.randrange(len(contacts)), author=0, assignee=0,
            data={"kind": "task", "subject": subject, "due_at": due,
                  "occurred_at": now - dt.timedelta(days=7), "done": False},
        ))
    return tasks
