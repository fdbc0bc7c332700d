"""The sales-opportunities data set: accounts, products, sales teams and opportunities.

The demo's deals have the shape of a public data set of a made-up hardware
seller, four CSV files: accounts.csv, products.csv, sales_teams.csv and
sales_pipeline.csv. That data set states no licence, so none of its files,
names or rows are shipped: `generate` makes a set of the same shape, with
invented names and the same flaws (a product spelt differently in the
pipeline than in the catalogue, a misspelt sector, open deals without an
account), and
`read_folder` reads the original files for anyone who has them. Rows are
plain dicts keyed by the files' column names, values as the files hold them.
"""

import csv
import datetime as dt
import random
import string
from dataclasses import dataclass
from pathlib import Path

from . import words

SEED = 20161020

COLUMNS = {
    "accounts": ["account", "sector", "year_established", "revenue", "employees",
                 "office_location", "subsidiary_of"],
    "products": ["product", "series", "sales_price"],
    "sales_teams": ["sales_agent", "manager", "regional_office"],
    "sales_pipeline": ["opportunity_id", "sales_agent", "product", "account", "deal_stage",
                       "engage_date", "close_date", "close_value"],
}

# The catalogue: name, series, list price in US dollars. The names are made
# up; the series, price levels and how often each sells follow the original.
PRODUCTS = [
    ("Nimbus Basic", "Nimbus", 540), ("Nimbus Pro", "Nimbus", 4790),
    ("Orbit Special", "Orbit", 60), ("Orbit Advanced", "Orbit", 3350),
    ("Nimbus Plus Pro", "Nimbus", 5460), ("Nimbus Plus Basic", "Nimbus", 1120),
    ("Titan 500", "Titan", 26500),
]
# The pipeline file spells one product without its space, as the original
# does on every row of that product.
PIPELINE_SPELLING = {"Nimbus Pro": "NimbusPro"}
# How often each product is sold, each stage reached and each sector found,
# in the proportions of the original.
PRODUCT_WEIGHTS = {"Nimbus Basic": 1866, "Nimbus Pro": 1480, "Orbit Special": 1651,
                   "Orbit Advanced": 1412, "Nimbus Plus Pro": 968, "Nimbus Plus Basic": 1383,
                   "Titan 500": 40}
STAGE_WEIGHTS = {"Won": 4238, "Lost": 2473, "Engaging": 1589, "Prospecting": 500}
SECTOR_WEIGHTS = {"technolgy": 12, "medical": 12, "retail": 17, "finance": 8, "marketing": 8,
                  "software": 7, "entertainment": 6, "telecommunications": 6, "services": 5,
                  "employment": 4}
OFFICES = ["Belgium", "Brazil", "China", "Germany", "Italy", "Japan", "Jordan", "Kenya",
           "Korea", "Norway", "Panama", "Philipines", "Poland", "Romania"]

ACCOUNT_COUNT = 85
SUBSIDIARY_COUNT = 15
ABROAD_COUNT = 14  # accounts with an office outside the United States, one per country
OPPORTUNITY_COUNT = 8800
AGENTS_PER_MANAGER = (6, 6, 5, 6, 6, 6)  # 35 agents under 6 managers, 2 per region
NO_ACCOUNT_SHARE = 0.68  # of open deals; 1,425 of the original's 2,089
SPAN_DAYS = 437  # from the first engagement to the last close
DAYS_TO_CLOSE = (1, 138)
WON_PRICE_SPREAD = 0.15  # won deals close up to this far from the list price


@dataclass
class SalesData:
    accounts: list[dict]
    products: list[dict]
    teams: list[dict]
    opportunities: list[dict]

    def last_day(self) -> dt.date:
        """The last engagement or close: the day the data set was taken."""
        days = [row[column] for row in self.opportunities
                for column in ("engage_date", "close_date") if row[column]]
        return dt.date.fromisoformat(max(days))


FILES = {"accounts": "accounts.csv", "products": "products.csv", "teams": "sales_teams.csv",
         "opportunities": "sales_pipeline.csv"}


def read_folder(folder: Path | str) -> SalesData:
    """The four CSV files of `folder`; ValueError naming a missing file or column."""
    tables = {}
    for name, filename in FILES.items():
        path = Path(folder) / filename
        if not path.is_file():
            raise ValueError(f"{path} is missing.")
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            wanted = COLUMNS[filename.removesuffix(".csv")]
            missing = [column for column in wanted if column not in (reader.fieldnames or [])]
            if missing:
                raise ValueError(f"{path} has no column {', '.join(missing)}.")
            tables[name] = [{column: (row[column] or "").strip() for column in wanted}
                            for row in reader]
    return SalesData(**tables)


def write_folder(data: SalesData, folder: Path | str) -> None:
    """Write `data` as the four CSV files `read_folder` reads."""
    for name, filename in FILES.items():
        with (Path(folder) / filename).open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS[filename.removesuffix(".csv")],
                                    lineterminator="\n")
            writer.writeheader()
            writer.writerows(getattr(data, name))


def generate(*, seed: int = SEED, last_day: dt.date,
             opportunities: int = OPPORTUNITY_COUNT) -> SalesData:
    """A data set shaped like the original whose last close is on or before `last_day`."""
    # A seeded generator on purpose: the demo must come out the same every time.
    rng = random.Random(seed)  # noqa: S311
    accounts = _accounts(rng)
    products = [{"product": name, "series": series, "sales_price": str(price)}
                for name, series, price in PRODUCTS]
    teams = _teams(rng)
    return SalesData(accounts, products, teams,
                     _opportunities(rng, accounts, teams, last_day, opportunities))


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _accounts(rng: random.Random) -> list[dict]:
    names: list[str] = []
    while len(names) < ACCOUNT_COUNT:
        name = rng.choice(words.NAME_STARTS) + rng.choice(words.NAME_ENDS)
        if name not in names:
            names.append(name)
    offices = ["United States"] * (ACCOUNT_COUNT - ABROAD_COUNT) + OFFICES[:ABROAD_COUNT]
    rng.shuffle(offices)
    parents = rng.sample(names[:20], 5)
    subsidiaries = set(rng.sample(names[20:], SUBSIDIARY_COUNT))
    accounts = []
    for name, office in zip(names, offices, strict=True):
        employees = int(rng.lognormvariate(7.3, 1.2)) + 9
        accounts.append({
            "account": name, "sector": _weighted(rng, SECTOR_WEIGHTS),
            "year_established": str(rng.randint(1979, 2017)),
            "revenue": f"{employees * rng.uniform(0.05, 0.4):.2f}",
            "employees": str(employees), "office_location": office,
            "subsidiary_of": rng.choice(parents) if name in subsidiaries else "",
        })
    return accounts


def _teams(rng: random.Random) -> list[dict]:
    taken: set[str] = set()

    def name() -> str:
        while True:
            full = f"{rng.choice(words.FIRST_NAMES)} {rng.choice(words.LAST_NAMES)}"
            if full not in taken:
                taken.add(full)
                return full

    teams = []
    for number, agents in enumerate(AGENTS_PER_MANAGER):
        region = words.REGIONS[number // 2]
        manager = name()
        teams.extend({"sales_agent": name(), "manager": manager, "regional_office": region}
                     for _ in range(agents))
    return teams


def _opportunities(rng: random.Random, accounts: list[dict], teams: list[dict],
                   last_day: dt.date, count: int) -> list[dict]:
    first_day = last_day - dt.timedelta(days=SPAN_DAYS)
    prices = {name: price for name, _, price in PRODUCTS}
    agents = [team["sales_agent"] for team in teams]
    ids: set[str] = set()
    rows = []
    while len(rows) < count:
        opportunity_id = "".join(rng.choices(string.ascii_uppercase + string.digits, k=8))
        if opportunity_id in ids:
            continue
        ids.add(opportunity_id)
        product = _weighted(rng, PRODUCT_WEIGHTS)
        stage = _weighted(rng, STAGE_WEIGHTS)
        closed = stage in ("Won", "Lost")
        account = rng.choice(accounts)["account"]
        if not closed and rng.random() < NO_ACCOUNT_SHARE:
            account = ""
        engaged = close = None
        if stage != "Prospecting":
            latest = (last_day - dt.timedelta(days=DAYS_TO_CLOSE[1])) if closed else last_day
            engaged = first_day + dt.timedelta(days=rng.randint(0, (latest - first_day).days))
        if closed:
            close = engaged + dt.timedelta(days=rng.randint(*DAYS_TO_CLOSE))
        value = ""
        if stage == "Won":
            spread = rng.uniform(-WON_PRICE_SPREAD, WON_PRICE_SPREAD)
            value = str(max(1, round(prices[product] * (1 + spread))))
        elif stage == "Lost":
            value = "0"
        rows.append({
            "opportunity_id": opportunity_id, "sales_agent": rng.choice(agents),
            "product": PIPELINE_SPELLING.get(product, product), "account": account,
            "deal_stage": stage, "engage_date": engaged.isoformat() if engaged else "",
            "close_date": close.isoformat() if close else "", "close_value": value,
        })
    return rows
