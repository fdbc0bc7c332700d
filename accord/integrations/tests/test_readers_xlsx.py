# Spreadsheet cells hold date-times without a time zone, so these tests build naive ones.
# ruff: noqa: DTZ001
import datetime as dt
import tracemalloc

import pytest
from openpyxl import Workbook, load_workbook

from accord.integrations.readers import ReadError, Row, open_table
from accord.integrations.readers.xlsxfile import cell_text


def save(tmp_path, sheets: dict[str, list[list]], name="contacts.xlsx"):
    workbook = Workbook(write_only=True)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    path = tmp_path / name
    workbook.save(path)
    return path


def formula_as_text(path, coordinate):
    workbook = load_workbook(path)
    workbook.active[coordinate].data_type = "s"
    workbook.save(path)


def test_cells_become_the_text_a_user_would_type(tmp_path):
    path = save(tmp_path, {"Contacts": [
        ["Name", "Phone", "Customer id", "Score", "Since", "Last call", "Active", "Note"],
        ["Lotte Peeters", "0444 12 34 56", 17850.0, 0.1, dt.date(2020, 2, 1),
         dt.datetime(2024, 12, 31, 10, 30, 15), True, None],
        ["Aidan Farrell", "+44 (0)20 7946 0958", 12, 1234.5678, dt.datetime(2021, 6, 15),
         dt.datetime(2024, 1, 2, 8, 0), False, "=1+2"],
    ]})
    formula_as_text(path, "H3")

    table = open_table(path)

    assert table.kind == "xlsx"
    assert (table.encoding, table.delimiter) == (None, None)
    assert table.sheet_names == ["Contacts"]
    assert table.sheet == "Contacts"
    assert table.headers == [
        "Name", "Phone", "Customer id", "Score", "Since", "Last call", "Active", "Note"]
    assert list(table.rows()) == [
        Row(2, ["Lotte Peeters", "0444 12 34 56", "17850", "0.1", "2020-02-01",
                "2024-12-31T10:30:15", "TRUE", ""], []),
        Row(3, ["Aidan Farrell", "+44 (0)20 7946 0958", "12", "1234.5678", "2021-06-15",
                "2024-01-02T08:00:00", "FALSE", "=1+2"], []),
    ]


@pytest.mark.parametrize(("value", "text"), [
    (None, ""),
    (True, "TRUE"),
    (False, "FALSE"),
    (17850, "17850"),
    (17850.0, "17850"),
    (441632960123.0, "441632960123"),
    (-250.0, "-250"),
    (0.1 + 0.2, "0.30000000000000004"),
    (1e-05, "0.00001"),
    (12.5, "12.5"),
    (dt.date(1984, 9, 17), "1984-09-17"),
    (dt.datetime(1984, 9, 17), "1984-09-17"),
    (dt.datetime(2024, 3, 1, 10, 29, 59, 999_990), "2024-03-01T10:30:00"),
    (dt.time(9, 15), "09:15:00"),
    (dt.timedelta(hours=26, minutes=3), "26:03:00"),
    ("  spaced  ", "  spaced  "),
])
def test_cell_text(value, text):
    assert cell_text(value) == text


def test_header_is_the_first_row_with_a_value_and_blank_rows_are_skipped(tmp_path):
    path = save(tmp_path, {"Sheet1": [
        [],
        [None, None],
        ["Email", None, "Email", None, None],
        ["a@example.org", "x", "b@example.org", "extra", None],
        [None, None, None],
        ["c@example.org"],
        [],
        [],
    ]})

    table = open_table(path)

    assert table.headers == ["Email", "Column 2", "Email (2)"]
    assert list(table.rows()) == [
        Row(4, ["a@example.org", "x", "b@example.org"], ["extra"]),
        Row(6, ["c@example.org", "", ""], []),
    ]


def test_a_chosen_sheet_is_read(tmp_path):
    path = save(tmp_path, {
        "Companies": [["Name"], ["Kessler Antriebe AG"]],
        "People": [["First name", "Last name"], ["Femke", "Achterberg"]],
    })

    table = open_table(path, sheet="people")

    assert table.sheet_names == ["Companies", "People"]
    assert table.sheet == "People"
    assert [row.values for row in table.rows()] == [["Femke", "Achterberg"]]


def test_an_unknown_sheet_names_the_sheets_there_are(tmp_path):
    path = save(tmp_path, {"Companies": [["Name"]], "People": [["Name"]]})

    with pytest.raises(ReadError) as raised:
        open_table(path, sheet="Deals")

    assert str(raised.value) == (
        "The workbook has no sheet “Deals”; its sheets are: Companies, People.")


def test_an_empty_sheet_is_refused(tmp_path):
    path = save(tmp_path, {"Empty": []})

    with pytest.raises(ReadError) as raised:
        open_table(path)

    assert str(raised.value) == "The sheet “Empty” is empty."


def test_a_formula_without_a_calculated_value_is_unreadable_and_says_why(tmp_path):
    path = save(tmp_path, {"Sheet": [["Total", "Label", "Note"], ["=1+2", "sum"],
                                      ["3", "plain", "=A2&B2"]]})

    with open_table(path) as table:
        rows = list(table.rows())

    assert [row.values for row in rows] == [["", "sum", ""], ["3", "plain", ""]]
    assert [{index: formula for index, (formula, _why) in row.unreadable.items()}
            for row in rows] == [{0: "=1+2"}, {2: "=A2&B2"}]
    assert rows[0].unreadable[0][1].startswith(
        "The cell holds a formula the spreadsheet never calculated")


def test_text_that_looks_like_a_formula_is_read_as_text(tmp_path):
    path = save(tmp_path, {"Sheet": [["Name", "Motto"], ["Anna", "=1+2"]]})
    formula_as_text(path, "B2")

    with open_table(path) as table:
        rows = list(table.rows())

    assert [(row.values, row.unreadable) for row in rows] == [(["Anna", "=1+2"], {})]


def test_a_damaged_workbook_is_refused(tmp_path):
    path = tmp_path / "contacts.xlsx"
    path.write_bytes(b"PK\x03\x04 this is not really a workbook")

    with pytest.raises(ReadError) as raised:
        open_table(path)

    assert str(raised.value).startswith(
        "The file could not be read as an Excel workbook (.xlsx)")


def test_kind_comes_from_the_content_when_the_name_says_nothing(tmp_path):
    path = save(tmp_path, {"Sheet": [["Name"], ["Anna"]]}, name="upload.bin")

    with open_table(path) as table:
        assert table.kind == "xlsx"
        assert [row.values for row in table.rows()] == [["Anna"]]


def test_rows_can_be_read_again_and_a_large_sheet_is_streamed(tmp_path):
    path = save(tmp_path, {"Contacts": [
        ["Number", "Name", "Email", "City"],
        *([number, f"Person {number}", f"person{number}@example.org", "Rotterdam"]
          for number in range(10_000)),
    ]})
    table = open_table(path)

    tracemalloc.start()
    try:
        first = sum(1 for _row in table.rows())
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    second = list(table.rows())
    table.close()

    assert first == 10_000
    assert second[-1] == Row(10_001, ["9999", "Person 9999", "person9999@example.org",
                                      "Rotterdam"], [])
    assert path.stat().st_size > 200_000
    assert peak < 2_000_000
