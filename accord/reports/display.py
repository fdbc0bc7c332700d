"""A report's result as pages, e-mails and files show it: value texts, drill-down links,
the chart, and the rows of an export."""

from dataclasses import dataclass
from decimal import Decimal

from django.http import QueryDict
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from . import charts
from .engine import Result, Row
from .params import definition_to_params


@dataclass
class ShownRow:
    row: Row
    text: str
    href: str


@dataclass
class Shown:
    title: str
    result: Result
    rows: list[ShownRow]
    chart: charts.Drawing | None
    total_text: str
    headers: list[str]


def value_text(value, currency: str = "") -> str:
    if value is None:
        return "–"
    places = 0 if isinstance(value, int) else 2
    text = number_format(Decimal(value), places, use_l10n=True, force_grouping=True)
    return f"{text} {currency}" if currency else text


def drill_href(definition: dict, row: Row, *, absolute: str = "") -> str:
    """The list of records behind `row`, with the report's filters and the row's values."""
    params: QueryDict = definition_to_params(definition)
    params.pop("chart", None)
    params.setlist("g", list(row.keys))
    if row.currency:
        params["currency"] = row.currency
    return f"{absolute}{reverse('reports:records')}?{params.urlencode()}"


def present(result: Result, title: str, *, absolute: str = "") -> Shown:
    """Everything a page or e-mail needs to show `result` under `title`.

    `absolute` (scheme and host) makes the links work outside the site, in mail.
    """
    rows = [ShownRow(row, value_text(row.value, row.currency),
                     drill_href(result.definition, row, absolute=absolute))
            for row in result.rows]
    chart = charts.draw(result, title, [item.href for item in rows],
                        [item.text for item in rows])
    headers = [grouping.label for grouping in result.groupings]
    if result.by_currency:
        headers.append(_("Currency"))
    total = result.total
    return Shown(title, result, rows, chart, "" if total is None else value_text(
        total, result.rows[0].currency if result.rows else ""), headers)


def export_rows(result: Result):
    """The header and rows of a CSV or XLSX export: one column per grouping, the
    currency where money is measured, then the measure as a number."""
    header = [grouping.label for grouping in result.groupings]
    if result.by_currency:
        header.append(_("Currency"))
    header.append(result.measure_label)
    yield header
    for row in result.rows:
        cells = list(row.labels)
        if result.by_currency:
            cells.append(row.currency)
        cells.append(row.value)
        yield cells
