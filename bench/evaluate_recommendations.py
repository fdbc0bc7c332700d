"""Product suggestions on the online retail file: hit rate at 10 on a time split.

    .venv/bin/python bench/evaluate_recommendations.py [CSV] [--split YYYY-MM-DD]

Purchases before the split date (default 2011-03-01) are the history; the
products each customer bought on or after it, and had not bought before,
are what they went on to buy. For every customer with both a history and
such a new product, ten suggestions are made from the history with the same
code Accord runs (`accord.insights.recommend`), and a hit is a customer who
bought at least one of their ten. The baseline suggests the ten best sellers
of the history that the customer does not have yet. Cancelled invoices (their
number starts with C) and rows without a customer are left out.
"""

import csv
import datetime as dt
import os
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "accord.settings")

import django  # noqa: E402

django.setup()

from accord.insights import recommend  # noqa: E402

DEFAULT = Path(__file__).resolve().parent.parent.parent / "shared/data/online-retail/" \
    "online_retail_2010-12_to_2011-03.csv"
TOP = 10


def read(path: Path, split: dt.date) -> tuple[dict, dict]:
    before, after = defaultdict(set), defaultdict(set)
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        for row in csv.DictReader(handle):
            if not row["CustomerID"] or row["InvoiceNo"].startswith("C"):
                continue
            if float(row["Quantity"] or 0) <= 0:
                continue
            day = dt.date.fromisoformat(row["InvoiceDate"][:10])
            (before if day < split else after)[row["CustomerID"]].add(row["StockCode"])
    return before, after


def main() -> None:
    args = [arg for arg in sys.argv[1:] if not arg.startswith("--")]
    split = dt.date(2011, 3, 1)
    if "--split" in sys.argv:
        split = dt.date.fromisoformat(sys.argv[sys.argv.index("--split") + 1])
        args = [arg for arg in args if arg != str(split)]
    path = Path(args[0]) if args else DEFAULT
    before, after = read(path, split)

    similar = recommend.similar_products(before.values())
    popular = recommend.most_popular(before.values())
    customers = [customer for customer in before if after.get(customer, set()) - before[customer]]
    hits = baseline_hits = 0
    for customer in customers:
        bought, new = before[customer], after[customer] - before[customer]
        suggested = {product for product, _score, _why in
                     recommend.recommend(bought, similar, limit=TOP)}
        baseline = [product for product in popular if product not in bought][:TOP]
        hits += bool(suggested & new)
        baseline_hits += bool(set(baseline) & new)

    print(f"split: {split}; customers with a history and a new purchase after it: "
          f"{len(customers)}")
    print(f"hit rate at {TOP}, also-bought: {hits / len(customers):.3f}")
    print(f"hit rate at {TOP}, most popular: {baseline_hits / len(customers):.3f}")


if __name__ == "__main__":
    main()
