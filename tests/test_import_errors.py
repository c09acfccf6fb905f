"""Bad files are the normal case: every error named, row and column, nothing written."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from casework.exchange import CASE_COLUMNS, STATEMENT_COLUMNS
from casework.models import Case, Organisation, Person, Right, Source, Statement, ViolationType
from tests.csvfiles import SAMPLE_CASES, case_row, csv_bytes, statement_row, write_csv

pytestmark = pytest.mark.django_db


def import_failure(path, command="import_cases", **options) -> tuple[str, str]:
    err = StringIO()
    with pytest.raises(CommandError) as failure:
        call_command(command, str(path), stdout=StringIO(), stderr=err, **options)
    return str(failure.value), err.getvalue()


def nothing_written():
    return not any(m.objects.exists() for m in (Case, Person, Organisation, Source, Statement))


@pytest.mark.smoke
def test_every_error_of_the_file_is_listed_and_nothing_is_written(coordinator, tmp_path):
    rows = [
        case_row(reference="AZ-2020-001", defenders="Valid Person", sources="https://ok.example/1"),
        case_row(reference="AZ-2020-002", started_on="2016-13"),
        case_row(reference="AZ-2020-003", violations="censorship; Torture", rights="speech"),
        case_row(reference="AZ-2020-004", country="Atlantis", title=""),
        case_row(reference="AZ-2020-005", started_on="2016-05-25", ended_on="2016-04"),
        case_row(reference="az 6", sources="not a url"),
        case_row(reference="AZ-2020-001"),
        case_row(reference="AZ-2020-008", location="x" * 201),
    ]
    path = write_csv(tmp_path / "bad.csv", rows)
    message, err = import_failure(path, user=coordinator.username)
    assert err.splitlines() == [
        'row 3, started_on: "2016-13" is not a date (use YYYY, YYYY-MM or YYYY-MM-DD)',
        'row 4, violations: "Torture" is not a known violation type (use a slug or label '
        "from the vocabulary; an administrator can add terms)",
        'row 4, rights: "speech" is not a known right (use a slug or label from the '
        "vocabulary; an administrator can add terms)",
        "row 5, title: is empty; it is required",
        'row 5, country: "Atlantis" is not a country (use an ISO 3166 code such as AZ, '
        "or the English name)",
        'row 6, ended_on: "2016-04" is before started_on "2016-05-25"',
        'row 7, reference: "az 6" is not a reference (use capital letters, digits and '
        "hyphens, e.g. AZ-2016-002)",
        'row 7, sources: "not a url" is not a web address (http:// or https://)',
        "row 8, reference: AZ-2020-001 appears twice in this file (first on row 2)",
        "row 9, location: is 201 characters long; the limit is 200",
    ]
    assert message == "10 errors: nothing was imported."
    assert nothing_written()
    # An unknown term is never added to the vocabulary.
    assert not ViolationType.objects.filter(slug__iexact="torture").exists()
    assert not Right.objects.filter(slug="speech").exists()


def test_dry_run_with_errors_also_exits_non_zero(coordinator, tmp_path):
    path = write_csv(tmp_path / "bad.csv", [case_row(started_on="May 2016")])
    message, err = import_failure(path, user=coordinator.username, dry_run=True)
    assert 'row 2, started_on: "May 2016" is not a date' in err


def test_missing_and_unknown_headers_are_named(coordinator, tmp_path):
    header = [c for c in CASE_COLUMNS if c not in ("summary", "sources")] + ["notes"]
    path = tmp_path / "headers.csv"
    path.write_bytes(csv_bytes([], header, header) + b"AZ-1,x\r\n")
    message, _ = import_failure(path, user=coordinator.username)
    assert "Missing column(s): summary, sources." in message
    assert "Unknown column(s): 'notes'." in message
    assert nothing_written()


def test_a_header_with_a_trailing_comma_is_explained(coordinator, tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(csv_bytes([case_row()], CASE_COLUMNS).replace(b"\r\n", b",\r\n"))
    message, _ = import_failure(path, user=coordinator.username)
    assert "A column has no name (a comma at the end of the header row?)." in message
    assert "Unknown column(s)" not in message


def test_blank_lines_before_the_header_are_skipped_and_rows_keep_their_numbers(
        coordinator, tmp_path):
    path = tmp_path / "blank.csv"
    path.write_bytes(b"\r\n,,\r\n" + csv_bytes([case_row(), case_row(reference="AZ-2020-002",
                                                                 started_on="2016-13")]))
    _, err = import_failure(path, user=coordinator.username)
    assert err.splitlines() == [
        'row 5, started_on: "2016-13" is not a date (use YYYY, YYYY-MM or YYYY-MM-DD)']


def test_a_quote_left_open_that_joins_rows_is_caught(coordinator, tmp_path):
    path = tmp_path / "quote.csv"
    good = csv_bytes([case_row(reference="AZ-2020-002", title="Another")]).split(b"\r\n")[1]
    path.write_bytes(csv_bytes([]) + b'AZ-2020-001,"A case,AZ,,,,,,,,,,\r\n' + good
                     + b'\r\nAZ-2020-003,x",AZ,,,,,,,,,,\r\n')
    _, err = import_failure(path, user=coordinator.username)
    assert "row 2, title: holds a line break, but it is one line" in err
    assert nothing_written()


def test_one_line_cells_are_trimmed(coordinator, tmp_path):
    """No spaces or invisible characters around a title (a byte order mark pasted in
    with it, say). A leading tab or carriage return stays:
    our own export writes one (made inert) when a value starts with it."""
    path = tmp_path / "cases.csv"
    write_csv(path, [case_row(reference="AZ-2020-001", title="\ufeff  Padded title \u200b",
                              location="\u00a0Baku "),
                     # A direction mark at the end holds right-to-left text in place.
                     case_row(reference="AZ-2020-002", title="\u0645\u062a\u0646!\u200f ")])
    call_command("import_cases", str(path), user=coordinator.username, stdout=StringIO())
    case = Case.objects.get(reference="AZ-2020-001")
    assert (case.title, case.location) == ("Padded title", "Baku")
    assert Case.objects.get(reference="AZ-2020-002").title == "\u0645\u062a\u0646!\u200f"


def test_headers_match_ignoring_case_and_spaces_and_long_cells_are_read(coordinator, tmp_path):
    header = [f" {c.title()}" if i % 2 else c.upper() for i, c in enumerate(CASE_COLUMNS)]
    summary = "A long summary. " * 20_000  # 320,000 characters: over csv's default cap
    path = tmp_path / "spreadsheet.csv"
    path.write_bytes(csv_bytes([case_row(summary=summary)], CASE_COLUMNS, header))
    call_command("import_cases", str(path), user=coordinator.username,
                 stdout=StringIO(), stderr=StringIO())
    assert Case.objects.get(reference="AZ-2020-001").summary == summary


def test_a_row_with_the_wrong_number_of_cells_is_an_error(coordinator, tmp_path):
    path = tmp_path / "cells.csv"
    path.write_bytes(csv_bytes([case_row()]) + b"AZ-2020-009,too,few\r\n")
    _, err = import_failure(path, user=coordinator.username)
    assert "row 3: has 3 cells but the header has 13" in err
    assert nothing_written()


@pytest.mark.parametrize(("content", "expected"), [
    (b"", "empty.csv is empty."),
    (b"\xef\xbb\xbf  \r\n", "empty.csv is empty."),
    (",".join(CASE_COLUMNS).encode() + b"\r\n", "has a header row but no data rows"),
    ("reference,title\nAZ-1,Café".encode("latin-1"), "is not UTF-8 text"),
    (b"reference\x00,title\n", "is not a readable CSV file"),
    (b"PK\x03\x04\x14\x00\x06\x00", "is a spreadsheet or zip file, not CSV"),
    (",".join(CASE_COLUMNS).encode() + b'\nAZ-1,"unclosed',
     "empty.csv, row 2 (line 2): a quote opens a cell there and is never closed"),
])
def test_unreadable_files_get_a_clear_message(coordinator, tmp_path, content, expected):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    message, _ = import_failure(path, user=coordinator.username)
    assert expected in message
    assert "Traceback" not in message


def test_a_quote_left_open_is_put_on_the_row_where_it_opens(coordinator, tmp_path):
    """Not on the last line, where the reader found out: on the row (as a spreadsheet
    numbers them: a cell with line breaks is one row) and the line of a text editor."""
    first = case_row(reference="AZ-2020-001", summary="Two\nlines")
    opened = case_row(reference="AZ-2020-002", title="Open quote title")
    later = [case_row(reference=f"AZ-2020-{n:03d}") for n in range(3, 9)]
    data = csv_bytes([first, opened, *later]).replace(b"Open quote title", b'"Open quote title')
    path = tmp_path / "cases.csv"
    path.write_bytes(data)
    message, _ = import_failure(path, user=coordinator.username)
    assert message.startswith("cases.csv, row 3 (line 4): a quote opens a cell there")
    # The same quote, closed further on by a quoted cell: the reader stops there instead.
    path.write_bytes(data.replace(b"AZ-2020-006,", b'AZ-2020-006,"x",', 1))
    message, _ = import_failure(path, user=coordinator.username)
    assert message.startswith("cases.csv, row 3 (line 4) is not readable as CSV (")
    assert nothing_written()


@pytest.mark.parametrize(("separator", "name"), [(";", "semicolons"), ("\t", "tabs")])
def test_a_file_separated_by_semicolons_or_tabs_is_named_so(coordinator, tmp_path,
                                                             separator, name):
    path = tmp_path / "excel.csv"
    path.write_text(separator.join(CASE_COLUMNS) + "\r\n"
                    + separator.join(["AZ-2020-001", "A case", "AZ"] + [""] * 10) + "\r\n")
    message, _ = import_failure(path, user=coordinator.username)
    assert message.splitlines()[:2] == [
        "excel.csv: the header row is not right.",
        f'The columns are separated by {name}, not commas: save the file from your '
        'spreadsheet as "CSV UTF-8 (comma delimited)".']
    assert nothing_written()


def test_the_public_downloads_stand_in_for_a_withheld_name_names_nobody(coordinator, tmp_path):
    """Re-importing an edited public download would otherwise replace the defender with
    a new person called "Name withheld"."""
    path = write_csv(tmp_path / "cases.csv", [
        case_row(defenders="Name withheld; Ann One", perpetrators="name  WITHHELD")])
    _, err = import_failure(path, user=coordinator.username)
    assert err.splitlines() == [
        'row 2, defenders: name #1 is "Name withheld", which the public download writes for '
        "a person whose name it may not show: it names nobody. Edit an export from the admin "
        "or export_cases instead",
        'row 2, perpetrators: name #1 is "name  WITHHELD", which the public download writes '
        "for a person whose name it may not show: it names nobody. Edit an export from the "
        "admin or export_cases instead"]
    assert nothing_written()


def test_files_over_the_size_limit_are_refused(coordinator, tmp_path, settings):
    settings.CASEWORK_IMPORT_MAX_BYTES = 1000
    path = write_csv(tmp_path / "big.csv", [case_row(summary="x" * 2000)])
    message, _ = import_failure(path, user=coordinator.username)
    assert "big.csv is 2 KB, over the import limit of 1 KB" in message
    assert nothing_written()
    settings.CASEWORK_IMPORT_MAX_BYTES = path.stat().st_size - 1  # just over: exact sizes
    message, _ = import_failure(path, user=coordinator.username)
    size = path.stat().st_size
    assert f"big.csv is {size:,} bytes, over the import limit of {size - 1:,} bytes" in message


def test_a_byte_order_mark_is_accepted(coordinator, tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + SAMPLE_CASES.read_bytes())
    call_command("import_cases", str(path), user=coordinator.username, stdout=StringIO())
    assert Case.objects.count() == 5


def test_language_codes_are_written_as_bcp_47_writes_them(coordinator, tmp_path):
    path = write_csv(tmp_path / "statements.csv", [
        statement_row(reference=f"ST-2020-00{n}", language=language)
        for n, language in enumerate(["EN", "pt-br", "az-latn-az", "", "sr_Latn", "ZH-YUE",
                                      "es-419"], start=1)
    ], STATEMENT_COLUMNS)
    call_command("import_statements", str(path), user=coordinator.username, stdout=StringIO())
    assert list(Statement.objects.order_by("reference").values_list("language", flat=True)) == [
        "en", "pt-BR", "az-Latn-AZ", "en", "sr-Latn", "zh-yue", "es-419"]
    # The admin's forms (a model form cleans its instance) store them the same way.
    statement = Statement.objects.get(reference="ST-2020-001")
    for written, stored in (("PT-br", "pt-BR"), ("pt_BR", "pt-BR")):
        statement.language = written
        statement.full_clean()
        assert statement.language == stored


def test_an_error_in_the_statements_file_also_rolls_back_its_cases(coordinator, tmp_path):
    cases = write_csv(tmp_path / "cases.csv", [case_row()])
    statements = write_csv(tmp_path / "statements.csv", [
        statement_row(cases="AZ-2020-001"),
        statement_row(reference="ST-2020-002", cases="AZ-2099-999", said_on="2016-02-30"),
        statement_row(reference="ST-2020-003", organisation="", speaker="", quote=""),
        statement_row(reference="ST-2020-004", organisation="", said_on="2016-13",
                      language="English"),
        statement_row(reference="ST-2020-005", speaker_title="Line one\nline two",
                      language="pt-BR"),
        statement_row(reference="ST-2020-006", organisation="One; Two",
                      language="sr-Latn-RS-1994"),
    ], STATEMENT_COLUMNS)
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("import_statements", str(statements), user=coordinator.username,
                     cases=str(cases), stdout=out, stderr=out)
    errors = out.getvalue()
    # Two files in one run: each error line starts with its file's name.
    assert [line.removeprefix("statements.csv: ") for line in errors.splitlines()
            if line.startswith("statements.csv: row ")] == [
        'row 3, said_on: "2016-02-30" is not a date (use YYYY, YYYY-MM or YYYY-MM-DD)',
        "row 3, cases: AZ-2099-999 is not a case in the database or in this import",
        "row 4, speaker: is empty, and so is organisation; give at least one",
        "row 4, quote: is empty; it is required",
        # Every error of the row, the missing speaker too (pt-BR below is a language code).
        'row 5, language: "English" is not a language code (use ISO 639-1, e.g. en, az, ru)',
        'row 5, said_on: "2016-13" is not a date (use YYYY, YYYY-MM or YYYY-MM-DD)',
        "row 5, speaker: is empty, and so is organisation; give at least one",
        "row 6, speaker_title: holds a line break, but it is one line (a double quote left "
        "open may have joined rows of the file into this cell)",
        'row 7, language: "sr-Latn-RS-1994" is not a language code (use ISO 639-1, e.g. en, '
        'az, ru)',
        "row 7, organisation: holds more than one name (a “;” separates names)",
    ]
    # The valid cases file was rolled back with the rest, and says so.
    assert "cases.csv: no errors, but nothing was imported" in errors
    assert "1 case would be created" in errors
    assert nothing_written()


def test_a_name_matching_several_people_is_an_error_not_a_guess(coordinator, tmp_path):
    from tests import factories

    factories.make_person(coordinator, name="Ali Aliyev")
    factories.make_person(coordinator, name="Əli Əliyev")
    path = write_csv(tmp_path / "ambiguous.csv", [case_row(defenders="Someone New; ali aliyev")])
    _, err = import_failure(path, user=coordinator.username)
    assert "row 2, defenders: name #2 in this cell matches 2 people" in err
    assert "Ali Aliyev" not in err  # names may be confidential: never echoed


@pytest.mark.parametrize("started, ended, valid", [
    ("2016-05-25", "2016-05", True),   # ended in May 2016: fine
    ("2016-05", "2016", True),
    ("2016-05-25", "2016-05-24", False),
    ("2016-05-25", "2016-04", False),
    ("2016-05", "2015", False),
    ("2016", "2016-01-01", True),
])
def test_a_case_may_end_in_the_period_it_starts(coordinator, tmp_path, started, ended, valid):
    """A partial end date stands for its whole period: the importer and the database's
    constraint agree (the admin form checks the same constraint)."""
    from django.core.exceptions import ValidationError

    from casework.dates import parse_partial_date
    from tests import factories

    out = StringIO()
    path = write_csv(tmp_path / "cases.csv", [case_row(started_on=started, ended_on=ended)])
    if valid:
        call_command("import_cases", str(path), user=coordinator.username, stdout=out)
        case = Case.objects.get()
        case.full_clean()  # the model's constraint agrees
        assert (case.started, case.ended) != ("", "")
    else:
        with pytest.raises(CommandError):
            call_command("import_cases", str(path), user=coordinator.username, stdout=out,
                         stderr=out)
        assert f'ended_on: "{ended}" is before started_on "{started}"' in out.getvalue()
        case = factories.make_case(coordinator)
        case.started_on, case.started_on_precision = parse_partial_date(started)
        case.ended_on, case.ended_on_precision = parse_partial_date(ended)
        case.normalise_partial_dates("started_on", "ended_on")
        with pytest.raises(ValidationError, match="The case ends before it starts"):
            case.full_clean()
