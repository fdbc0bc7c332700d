"""Churn risk on held-out customers of the Telco churn file: ROC AUC and top-decile lift.

    .venv/bin/python bench/evaluate_churn.py [CSV]

The file's customers are described with the factors Accord computes from its
own records: months as a customer (tenure), plan (the internet service),
monthly revenue (monthly charges) and days to renewal (a month-to-month
contract renews within a month, a one-year contract in about half a year on
average, a two-year one in about eighteen months). The file has no tickets,
ratings, usage or payment failures, so those factors stay empty, as they
would for an organisation that does not record them. Seven in ten customers,
chosen by a hash of their id so the split is the same every run, train the
scorecard; the other three in ten are scored and measured.
"""

import csv
import hashlib
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "accord.settings")

import django  # noqa: E402

django.setup()

from accord.insights import churn  # noqa: E402

DEFAULT = Path(__file__).resolve().parent.parent.parent / "shared/data/telco-customer-churn/" \
    "WA_Fn-UseC_-Telco-Customer-Churn.csv"
RENEWAL_DAYS = {"Month-to-month": 15, "One year": 180, "Two year": 540}
TRAIN_SHARE = 70  # percent


def factors(row: dict) -> dict:
    return {
        "tenure_months": int(row["Tenure"]),
        "plan": row["InternetService"],
        "mrr": float(row["MonthlyCharges"]),
        "days_to_renewal": RENEWAL_DAYS[row["Contract"]],
    }


def in_training(customer_id: str) -> bool:
    digest = hashlib.sha256(customer_id.encode()).digest()
    return digest[0] * 100 // 256 < TRAIN_SHARE


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    train = [row for row in rows if in_training(row["customerID"])]
    test = [row for row in rows if not in_training(row["customerID"])]

    model = churn.train([factors(row) for row in train], [row["Churn"] == "Yes" for row in train])
    scores = [churn.score(model, factors(row))[0] for row in test]
    outcomes = [row["Churn"] == "Yes" for row in test]

    print(f"customers: {len(rows)} (trained on {len(train)}, measured on {len(test)})")
    print(f"churn rate in the held-out part: {sum(outcomes) / len(outcomes):.3f}")
    print(f"ROC AUC: {churn.roc_auc(scores, outcomes):.3f}")
    print(f"top-decile lift: {churn.top_decile_lift(scores, outcomes):.2f}")
    example = churn.score(model, factors(test[0]))
    print(f"example: customer {test[0]['customerID']} risk {example[0]}, reasons:")
    for part in churn.top_reasons(example[1]):
        print(f"  {part['text']} ({part['weight']:+.2f})")


if __name__ == "__main__":
    main()
