"""Small helpers the pack tests share: posting JSON, reading a saved report, naming a day."""

import datetime as dt

from django.utils import timezone
from django_scopes import scope

from accord.reports.models import SavedReport


def post(api, path: str, body: dict):
    return api.post(path, body, content_type="application/json")


def result(api, org, name: str) -> dict:
    """The saved report `name` as the API gives it to `api`'s member: {labels: value}."""
    with scope(organization=org):
        report = SavedReport.objects.get(name=name)
    rows = api.get(f"/api/v1/reports/{report.pk}/result").json()["rows"]
    return {tuple(row["labels"]): row["value"] for row in rows}


def day(days: int) -> str:
    """The date `days` from today in the server's zone, as ISO text."""
    return (timezone.localdate() + dt.timedelta(days=days)).isoformat()
