"""The customer-support-tickets data set: one CSV of tickets with their customers.

The demo's tickets have the shape of a public, synthetic data set (8,469
tickets; names and addresses are generated). Its licence is not stated, so
none of its rows are shipped: `generate` makes a smaller set of the same
shape and flaws (unreplaced `{product_purchased}` placeholders, customers
with several tickets, resolution times before first responses), and
`read_file` reads the original for anyone who has it. Rows are plain dicts
keyed by the file's column names, values as the file holds them.
"""

import csv
import datetime as dt
import random
import unicodedata
from pathlib import Path

from . import words

SEED = 20230601
COLUMNS = [
    "Ticket ID", "Customer Name", "Customer Email", "Customer Age", "Customer Gender",
    "Product Purchased", "Date of Purchase", "Ticket Type", "Ticket Subject",
    "Ticket Description", "Ticket Status", "Resolution", "Ticket Priority", "Ticket Channel",
    "First Response Time", "Time to Resolution", "Customer Satisfaction Rating",
]
STATUSES = {"Open": 2819, "Pending Customer Response": 2881, "Closed": 2769}
PRIORITIES = {"Low": 2063, "Medium": 2192, "High": 2085, "Critical": 2129}
CHANNELS = {"Email": 2143, "Phone": 2132, "Chat": 2073, "Social media": 2121}
TYPES = ["Refund request", "Technical issue", "Cancellation request", "Product inquiry",
         "Billing inquiry"]
SUBJECTS = ["Product setup", "Software bug", "Delivery problem", "Network problem",
            "Account access", "Battery life", "Payment issue", "Refund request",
            "Product compatibility", "Installation support", "Data loss", "Hardware issue"]
PRODUCTS = ["Orbit Headset", "Nimbus Tablet", "Titan Router", "Pulse Watch", "Echo Speaker",
            "Vista Camera", "Lumen Lamp"]
OPENINGS = [
    "I'm having an issue with the {product_purchased}. Please assist.",
    "I'm facing a problem with my {product_purchased}. It stopped responding yesterday.",
    "I've noticed a problem with the {product_purchased} after the last update.",
]
DETAILS = [
    "I've tried troubleshooting steps mentioned in the user manual, but the issue persists.",
    "The issue I'm facing is intermittent. Sometimes it works fine, but other times it acts "
    "up unexpectedly.",
    "I've checked for software updates, and my {product_purchased} is already running the "
    "latest version.",
    "I've already contacted customer support multiple times, but the issue remains "
    "unresolved.",
]
RESOLUTIONS = ["Replaced the unit.", "Walked the customer through a reset.",
               "Refund issued.", "Firmware update fixed it.", "Case closed on request."]
TICKET_COUNT = 400
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def read_file(path: Path | str) -> list[dict]:
    """The rows of the tickets CSV; ValueError naming a missing file or column."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path} is missing.")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [column for column in COLUMNS if column not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path} has no column {', '.join(missing)}.")
        return [{column: row[column] or "" for column in COLUMNS} for row in reader]


def write_file(rows: list[dict], path: Path | str) -> None:
    with Path(path).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def generate(*, seed: int = SEED, now: dt.datetime, count: int = TICKET_COUNT) -> list[dict]:
    """Rows shaped like the original, their times within the 60 days before `now`."""
    # Seeded on purpose: the demo must come out the same every time.
    rng = random.Random(seed)  # noqa: S311
    customers = []
    for number in range(count * 9 // 10):
        first, last = rng.choice(words.FIRST_NAMES), rng.choice(words.LAST_NAMES)
        local = unicodedata.normalize("NFKD", f"{first}.{last}".lower()).encode(
            "ascii", "ignore").decode().replace(" ", "")
        customers.append((f"{first} {last}", f"{local}{number}@example.net"))
    rows = []
    for ticket_id in range(1, count + 1):
        name, address = rng.choice(customers)
        status = _weighted(rng, STATUSES)
        opened = now - dt.timedelta(days=rng.uniform(1, 60))
        first_response = resolution = rating = resolution_text = ""
        if status != "Open":
            first_response = (opened + dt.timedelta(hours=rng.uniform(0.2, 30))).strftime(
                TIME_FORMAT)
        if status == "Closed":
            # Like the original, a resolution time can come before the
            # first response.
            resolution = (opened + dt.timedelta(hours=rng.uniform(-5, 90))).strftime(
                TIME_FORMAT)
            rating = f"{rng.randint(1, 5)}.0"
            resolution_text = rng.choice(RESOLUTIONS)
        rows.append({
            "Ticket ID": str(ticket_id), "Customer Name": name, "Customer Email": address,
            "Customer Age": str(rng.randint(18, 70)),
            "Customer Gender": rng.choice(["Male", "Female", "Other"]),
            "Product Purchased": rng.choice(PRODUCTS),
            "Date of Purchase": (opened - dt.timedelta(days=rng.randint(10, 700))).date()
            .isoformat(),
            "Ticket Type": rng.choice(TYPES), "Ticket Subject": rng.choice(SUBJECTS),
            "Ticket Description": rng.choice(OPENINGS) + "\n\n" + rng.choice(DETAILS),
            "Ticket Status": status, "Resolution": resolution_text,
            "Ticket Priority": _weighted(rng, PRIORITIES),
            "Ticket Channel": _weighted(rng, CHANNELS),
            "First Response Time": first_response, "Time to Resolution": resolution,
            "Customer Satisfaction Rating": rating,
        })
    return rows
