import datetime as dt
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from accord.integrations.readers import open_table
from accord.integrations.values import (
    detect_date_order,
    detect_number_style,
    is_blank,
    parse_bool,
    parse_date,
    parse_datetime,
    parse_decimal,
    parse_identifier,
)

CASES = Path(__file__).resolve().parents[2] / "testdata" / "cases"
DIALECTS = Path(__file__).resolve().parents[2] / "testdata" / "csv-dialects"


def column(path, header):
    table = open_table(path)
    index = table.headers.index(header)
    return [row.values[index] for row in table.rows()]


@pytest.mark.parametrize("text", ["", " ", "\t", "NA", "na", "N/A", "n/a", "NULL", "null",
                                  "None", "NONE", "#N/A", " #n/a "])
def test_blank_spellings(text):
    assert is_blank(text)


@pytest.mark.parametrize("text", ["0", ".", "-", "Nadia", "NaN value", "Non"])
def test_values_that_are_not_blank(text):
    assert not is_blank(text)


def test_blanks_file_holds_blank_cells_and_a_dot():
    table = open_table(DIALECTS / "blanks.csv")

    row = next(table.rows())

    assert [is_blank(value) for value in row.values] == [True, True, True, True, True, False]


def test_day_first_columns_are_decided_per_column():
    path = CASES / "date-day-first-column" / "contacts_dates.csv"
    birthdays = column(path, "birthday")
    since = column(path, "customer_since")

    birthday_order = detect_date_order(birthdays)
    since_order = detect_date_order(since)

    assert (birthday_order, since_order) == ("dmy", "dmy")
    assert [parse_date(text, birthday_order) for text in birthdays] == [
        dt.date(1985, 4, 3), dt.date(1990, 12, 31), dt.date(2001, 11, 12)]
    assert [parse_date(text, since_order) for text in since] == [
        dt.date(2020, 2, 1), dt.date(2021, 6, 15), dt.date(2022, 8, 7)]


def test_german_deal_dates_and_amounts():
    path = CASES / "csv-semicolon-decimal-comma" / "deals_de.csv"
    amounts = column(path, "Betrag")
    dates = column(path, "Abschlussdatum")

    style = detect_number_style(amounts)
    order = detect_date_order(dates)

    assert style == "1.234,56"
    assert order == "dmy"
    parsed = [parse_decimal(text, style) for text in amounts]
    assert parsed == [Decimal("12500.00"), Decimal("980.5"), Decimal("1200")]
    assert str(parsed[0]) == "12500.00"
    assert sum(parsed) == Decimal("14680.50")
    assert [parse_date(text, order) for text in dates] == [
        dt.date(2024, 12, 31), dt.date(2025, 1, 15), dt.date(2025, 2, 3)]


def test_dialect_file_date_columns():
    assert detect_date_order(column(DIALECTS / "test_date_format.csv", "a")) == "dmy"
    assert detect_date_order(column(DIALECTS / "test_numeric_date_format.csv", "a")) == "ymd"
    assert parse_date("20121231", "ymd") == dt.date(2012, 12, 31)


@pytest.mark.parametrize(("samples", "order"), [
    (["03/04/1985", "12/11/2001"], None),
    (["03/04/1985", "04/13/1990"], "mdy"),
    (["13.04.1985", "04/13/1990"], None),
    (["2024-01-02", "2024-12-31T08:30:00"], "ymd"),
    (["2024-01-02", "31/12/2024"], None),
    (["", "n/a", "31-12-24"], "dmy"),
    (["soon", "later"], None),
    ([], None),
])
def test_date_order_detection(samples, order):
    assert detect_date_order(samples) == order


@pytest.mark.parametrize(("text", "order", "expected"), [
    ("03/04/1985", "mdy", dt.date(1985, 3, 4)),
    ("03/04/1985", "dmy", dt.date(1985, 4, 3)),
    ("1985-04-03", "dmy", dt.date(1985, 4, 3)),
    ("3.4.85", "dmy", dt.date(1985, 4, 3)),
    ("3 4 2001", "dmy", dt.date(2001, 4, 3)),
    ("01/02/68", "dmy", dt.date(2068, 2, 1)),
    ("01/02/69", "dmy", dt.date(1969, 2, 1)),
    ("31. 12. 2024", "dmy", dt.date(2024, 12, 31)),
    ("31/12/2024 17:45", "dmy", dt.date(2024, 12, 31)),
    ("03-Feb-2025", "mdy", dt.date(2025, 2, 3)),
    ("Feb 3, 2025", "dmy", dt.date(2025, 2, 3)),
    ("3 February 2025", "ymd", dt.date(2025, 2, 3)),
])
def test_parse_date(text, order, expected):
    assert parse_date(text, order) == expected


@pytest.mark.parametrize(("text", "order", "reason"), [
    ("31/12/2024", "mdy", "has month 31, which does not exist"),
    ("30/02/2025", "dmy", "has day 30, which month 2 of 2025 does not have"),
    ("31/12/2024", "ymd", "has its year last, not first"),
    ("tomorrow", "dmy", "is not a date"),
    ("", "dmy", "is empty"),
    ("3 Brumaire 2025", "dmy", "has a month name this importer does not know"),
    ("01/02/2025", "d/m/y", "needs a date order: day-month-year, month-day-year or "
                            "year-month-day"),
])
def test_parse_date_says_why_not(text, order, reason):
    with pytest.raises(ValueError, match=f"^{reason}$"):
        parse_date(text, order)


def test_naive_datetime_is_placed_in_the_given_zone():
    berlin = ZoneInfo("Europe/Berlin")

    winter = parse_datetime("15.01.2025 09:30", "dmy", berlin)
    summer = parse_datetime("15.07.2025 09:30:15", "dmy", "Europe/Berlin")
    midnight = parse_datetime("15.07.2025", "dmy", berlin)

    assert winter == dt.datetime(2025, 1, 15, 8, 30, tzinfo=dt.UTC)
    assert winter.tzinfo is berlin
    assert summer == dt.datetime(2025, 7, 15, 7, 30, 15, tzinfo=dt.UTC)
    assert midnight == dt.datetime(2025, 7, 14, 22, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(("text", "expected"), [
    ("2024-12-31T10:00:00Z", dt.datetime(2024, 12, 31, 10, 0, tzinfo=dt.UTC)),
    ("2024-12-31 10:00:00+02:00", dt.datetime(2024, 12, 31, 8, 0, tzinfo=dt.UTC)),
    ("2024-12-31T10:00:00.250-0500", dt.datetime(2024, 12, 31, 15, 0, 0, 250000,
                                                 tzinfo=dt.UTC)),
    ("12/31/2024 3:15 PM", dt.datetime(2024, 12, 31, 14, 15, tzinfo=dt.UTC)),
    ("12/31/2024 12:05 a.m.", dt.datetime(2024, 12, 30, 23, 5, tzinfo=dt.UTC)),
])
def test_parse_datetime(text, expected):
    order = "mdy" if "/" in text else "ymd"

    parsed = parse_datetime(text, order, ZoneInfo("Europe/Paris"))

    assert parsed == expected
    assert parsed.utcoffset() is not None


def test_parse_datetime_refuses_impossible_times():
    with pytest.raises(ValueError, match="^has a time of day that does not exist$"):
        parse_datetime("2024-12-31 24:10", "ymd", dt.UTC)
    with pytest.raises(ValueError, match="^has an hour above 12 together with AM or PM$"):
        parse_datetime("2024-12-31 13:10 pm", "ymd", dt.UTC)


@pytest.mark.parametrize(("samples", "style"), [
    (["12.500,00", "980,5", "1.200"], "1.234,56"),
    (["1,234.56", "7"], "1,234.56"),
    (["1.200", "7", "980"], None),
    (["1,7", "200.000.000"], "1.234,56"),
    (["1,5", "2.5"], None),
    (["$1,000,000", "NA", ""], "1,234.56"),
    (["00.11", "0.1"], "1,234.56"),
    (["Yes", "No"], None),
])
def test_number_style_detection(samples, style):
    assert detect_number_style(samples) == style


@pytest.mark.parametrize(("text", "style", "expected"), [
    ("1.200", "1.234,56", "1200"),
    ("1.200", "1,234.56", "1.200"),
    ("12.500,00", "1.234,56", "12500.00"),
    ("980,5", "1.234,56", "980.5"),
    ("1,234.56", "1,234.56", "1234.56"),
    ("€ 1.234,56", "1.234,56", "1234.56"),
    ("1 234,56 €", "1.234,56", "1234.56"),
    ("1\u00a0234,56\u00a0€", "1.234,56", "1234.56"),
    ("1\u2009234\u2009567,5", "1.234,56", "1234567.5"),
    ("CHF 1'234.50", "1,234.56", "1234.50"),
    ("USD 99", "1,234.56", "99"),
    ("$1,000,000", "1,234.56", "1000000"),
    ("(12.50)", "1,234.56", "-12.50"),
    ("-12.50", "1,234.56", "-12.50"),
    ("\u221212,50", "1.234,56", "-12.50"),
    ("($ 3.10)", "1,234.56", "-3.10"),
    ("+7", "1,234.56", "7"),
    (".5", "1,234.56", "0.5"),
    ("0", "1,234.56", "0"),
    ("0.1", "1,234.56", "0.1"),
])
def test_parse_decimal(text, style, expected):
    parsed = parse_decimal(text, style)

    assert isinstance(parsed, Decimal)
    assert str(parsed) == expected


@pytest.mark.parametrize(("text", "style", "reason"), [
    ("abc", "1,234.56", "is not a number"),
    ("", "1,234.56", "is empty"),
    ("N/A", "1,234.56", "is empty"),
    ("12 apples", "1,234.56", "is not a number in the format 1,234.56"),
    ("-10% agreed", "1,234.56", "is not a number in the format 1,234.56"),
    ("1.2.3", "1,234.56", r"has more than one decimal separator \(.\)"),
    ("1,23.5", "1,234.56", "has a thousands separator in the wrong place for the format "
                           "1,234.56"),
    ("1.5", "1.234,56", "has a thousands separator in the wrong place for the format "
                        "1.234,56"),
    ("4.41E+11", "1,234.56", "is in scientific notation; format the column as a number in "
                             "the spreadsheet and export it again"),
    ("-(5)", "1,234.56", "is not a number in the format 1,234.56"),
    ("(-5)", "1,234.56", "is negative twice, with both a minus sign and parentheses"),
    ("5", "1 234,56", "needs a number format: 1,234.56 or 1.234,56"),
])
def test_parse_decimal_says_what_is_wrong(text, style, reason):
    with pytest.raises(ValueError, match=f"^{reason}$"):
        parse_decimal(text, style)


@pytest.mark.parametrize("text", ["yes", "YES", "y", "true", "TRUE", "1", "x", "X", "ja",
                                  "oui", "on", "Sí", " Yes "])
def test_parse_bool_true(text):
    assert parse_bool(text) is True


@pytest.mark.parametrize("text", ["no", "No", "n", "false", "FALSE", "0", "nein", "non",
                                  "off", "nee"])
def test_parse_bool_false(text):
    assert parse_bool(text) is False


def test_parse_bool_refuses_other_words():
    with pytest.raises(ValueError, match="^is not yes or no$"):
        parse_bool("No internet service")
    with pytest.raises(ValueError, match="^is empty$"):
        parse_bool(" ")


@pytest.mark.parametrize(("text", "expected"), [
    ("17850.0", "17850"),
    ("17850.00", "17850"),
    ("17850", "17850"),
    ("00123", "00123"),
    (" 00123 ", "00123"),
    ("01", "01"),
    ("00.11", "00.11"),
    ("17850.5", "17850.5"),
    ("C536379", "C536379"),
])
def test_parse_identifier(text, expected):
    assert parse_identifier(text) == expected


def test_leading_zero_file_keeps_its_zeros():
    table = open_table(DIALECTS / "test_no_leading_zeroes.csv")

    row = next(table.rows())

    assert [parse_identifier(value) for value in row.values] == ["01", "00.11", "0.1"]
