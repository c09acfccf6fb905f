"""Import of the CSV exchange format (docs/csv-format.md): read, validate, apply.

One engine serves the admin import (through casework.resources) and the commands
`import_cases` / `import_statements`. It parses exactly what casework.exchange writes:
every cell goes through `restore_formula`, lists through `split_multi`, dates through
`parse_partial_date`.

The work happens in three steps:

1. `read_csv` checks the file as a whole (size, encoding, header) and raises
   ImportFileError with every file-level problem named.
2. The importer validates every row against lookups loaded once for the whole file
   (vocabulary, countries, people, organisations, sources, existing records) and
   collects *all* errors, each with its row number and column. It also decides per row
   whether it creates, updates or skips (unchanged) a record.
3. Only when there is no error, it writes, in one transaction; a dry run or any error
   during writing rolls everything back. All or nothing.

Row numbers count the header as row 1, so the first data row is row 2: the number a
spreadsheet shows in its margin (a cell holding line breaks still counts as one row).
"""

from __future__ import annotations

import contextlib
import csv
import functools
import gc
import hashlib
import io
import json
import re
import threading
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import DatabaseError, connection, transaction
from django.db.models import Prefetch
from django.utils import timezone
from django_countries import countries
from simple_history.utils import get_history_manager_for_model as history_manager

from accounts.models import AuditEvent
from casework.bulk import (
    by_index,
    create_rows,
    delete_rows,
    insert_rows,
    new_ids,
    update_records,
)
from casework.bulk import in_ids as _in_ids
from casework.bulk import qn as _qn
from casework.dates import parse_partial_date, period_end
from casework.exchange import (
    CASE_COLUMNS,
    INVISIBLE,
    STATEMENT_COLUMNS,
    restore_formula,
    split_multi,
)
from casework.models import (
    EDITED_AFTER_VERIFICATION,
    EDITED_IN_REVIEW,
    NAME_WITHHELD,
    UNDER_REVIEW,
    Case,
    Involvement,
    Organisation,
    Person,
    Right,
    Source,
    StaleRecordError,
    Statement,
    Status,
    ViolationType,
    language_tag,
    normalised_partial_date,
    reference_validator,
)
from casework.search import refresh_later, refresh_search_documents

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
BATCH = 1000  # rows per IN (...) lookup: well under SQLite's and PostgreSQL's limits

Progress = Callable[[str, int, int], None]


def max_bytes() -> int:
    return int(getattr(settings, "CASEWORK_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES))


# ---------------------------------------------------------------------------
# Errors and the report
# ---------------------------------------------------------------------------


class ImportFileError(Exception):
    """The file as a whole cannot be read: nothing row by row is worth saying."""

    def __init__(self, messages: list[str] | str):
        self.messages = [messages] if isinstance(messages, str) else list(messages)
        super().__init__(" ".join(self.messages))


@dataclass(frozen=True)
class RowError:
    row: int  # 0: the file as a whole
    column: str
    message: str

    def __str__(self) -> str:
        if not self.row:
            return self.message
        if self.column:
            return f"row {self.row}, {self.column}: {self.message}"
        return f"row {self.row}: {self.message}"


@dataclass
class ImportReport:
    kind: str  # "cases" or "statements"
    filename: str
    dry_run: bool
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    # How many related records the import creates (counts only: names can be confidential).
    new_related: dict[str, int] = field(default_factory=dict)
    # reference -> (row number, saved record), for the admin's row results
    records: dict[str, tuple[int, object]] = field(default_factory=dict)
    actions: dict[str, tuple[int, str]] = field(default_factory=dict)
    # reference -> version of the existing record the row was checked against (None: new)
    versions: dict[str, int | None] = field(default_factory=dict)
    # reference -> digest of what its names and addresses resolved to (existing records
    # by id, or new ones), so that a confirm step can tell they still resolve the same
    links: dict[str, str] = field(default_factory=dict)
    # Verified or published records the file changes: they go back to draft (re-vetting).
    revetted: list[str] = field(default_factory=list)
    # reference -> the file's columns that an update changes, in the file's order
    changes: dict[str, list[str]] = field(default_factory=dict)
    # Valid, but rolled back with the rest of its run (import_together) for errors in
    # another file.
    rolled_back: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def written(self) -> bool:
        return self.ok and not self.dry_run and not self.rolled_back

    def plan(self) -> dict[str, list]:
        """What the file would do, record by record: reference -> [action, version of the
        existing record or None, digest of its links]. The admin's confirm step holds the
        preview to it."""
        return {reference: [action, self.versions.get(reference), self.links.get(reference, "")]
                for reference, (_number, action) in self.actions.items()}

    def counts(self) -> dict[str, int]:
        return {"created": len(self.created), "updated": len(self.updated),
                "skipped": len(self.skipped), "errors": len(self.errors)}

    def change_lines(self, limit: int = 20) -> list[str]:
        """What each update changes, a line per record in the file's order (the first
        `limit`, then how many more)."""
        updates = sorted(self.changes, key=lambda reference: self.actions[reference][0])
        lines = [f"row {self.actions[reference][0]}, {reference}: "
                 f"{', '.join(self.changes[reference])}" for reference in updates[:limit]]
        if len(updates) > limit:
            lines.append(f"and {len(updates) - limit:,} more updated {self.kind}")
        return lines

    def summary(self) -> str:
        verb = "would be" if self.dry_run or not self.ok or self.rolled_back else "were"
        if not self.ok:
            head = f"{self.filename}: {counted(len(self.errors), 'error')}; nothing was imported."
        elif self.rolled_back:
            head = (f"{self.filename}: no errors, but nothing was imported: another file of "
                    "this run has errors.")
        else:
            head = f"{self.filename}: {'dry run, nothing written' if self.dry_run else 'imported'}."
        created = len(self.created)
        if created == 1:  # "1 case was created"
            noun, created_verb = self.kind.removesuffix("s"), {"were": "was"}.get(verb, verb)
        else:
            noun, created_verb = self.kind, verb
        parts = [
            f"{created:,} {noun} {created_verb} created, {len(self.updated):,} updated, "
            f"{len(self.skipped):,} unchanged (skipped)."
        ]
        related = ", ".join(counted(n, SINGULAR[kind], kind)
                            for kind, n in self.new_related.items() if n)
        if related:
            parts.append(f"New related records (as drafts): {related}.")
        one = len(self.revetted) == 1
        if self.revetted and verb == "were":
            parts.append(f"{len(self.revetted)} of them {'was' if one else 'were'} in review, "
                         f"verified or published: {'it' if one else 'they'} went back to draft, "
                         "to be submitted, verified and published again.")
        elif self.revetted:
            named = ", ".join(self.revetted[:10]) + (
                f" and {len(self.revetted) - 10} more" if len(self.revetted) > 10 else "")
            parts.append(f"{len(self.revetted)} of the {self.kind} to update "
                         f"{'is' if one else 'are'} in review, verified or published "
                         f"({named}): {'it' if one else 'they'} would go back to draft, to be "
                         "submitted, verified and published again.")
        return " ".join([head, *parts])


# ---------------------------------------------------------------------------
# Reading the file
# ---------------------------------------------------------------------------


@dataclass
class ParsedFile:
    filename: str
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (row number, cells); blank rows left out


SINGULAR = {"people": "person", "organisations": "organisation", "sources": "source",
            "cases": "case", "statements": "statement"}


def counted(n: int, one: str, many: str | None = None) -> str:
    """ "1 error", "2 errors", "1,200 people"."""
    return f"{n:,} {one if n == 1 else many or one + 's'}"


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


def read_csv(data: bytes, filename: str, columns: list[str], size: int | None = None) -> ParsedFile:
    """Check the file as a whole and split it into rows. Raises ImportFileError.

    `size` is the file's real size when the caller read only the first bytes of a huge file.
    """
    limit = max_bytes()
    size = max(size or 0, len(data))
    if size > limit:
        over, most = _size(size), _size(limit)
        if over == most:  # just over: rounded, both would read the same
            over, most = f"{size:,} bytes", f"{limit:,} bytes"
        raise ImportFileError(
            f"{filename} is {over}, over the import limit of {most}. "
            "Split it into smaller files."
        )
    if data.startswith(b"PK\x03\x04"):
        raise ImportFileError(
            f"{filename} is a spreadsheet or zip file, not CSV. Only CSV is imported: save "
            'it from your spreadsheet as "CSV UTF-8".'
        )
    try:
        text = data.decode("utf-8-sig")  # a leading byte order mark is accepted and dropped
    except UnicodeDecodeError as error:
        raise ImportFileError(
            f"{filename} is not UTF-8 text (unreadable byte at position {error.start}). "
            'Save it from your spreadsheet as "CSV UTF-8" and try again.'
        ) from None
    if not text.strip():
        raise ImportFileError(f"{filename} is empty.")
    if "\x00" in text:
        raise ImportFileError(
            f"{filename} is not a readable CSV file: it contains NUL characters (UTF-16 "
            'text or a binary file?). Save it as "CSV UTF-8".'
        )
    # A cell may be as long as the file may be (the csv module's default cap is 128 KB,
    # less than a long summary; the size limit above bounds it).
    csv.field_size_limit(max(csv.field_size_limit(), max_bytes()))
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, list[str]]] = []
    # Column names are matched ignoring case and surrounding spaces ("Reference ").
    # Blank lines before the header are skipped; rows keep their spreadsheet numbers
    # (a cell with line breaks is one row), and `line` is where the last row read ends.
    header, number, line = [], 0, 0
    try:
        for cells in reader:
            number, line = number + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if header:
                rows.append((number, cells))
            else:
                header = [name.strip().lower() for name in cells]
    except csv.Error as error:
        where = f"{filename}, row {number + 1} (line {line + 1})"
        if "end of data" in str(error):
            raise ImportFileError(
                f"{where}: a quote opens a cell there and is never closed, so the rest of "
                'the file would be one cell. Close it, or write a quote inside a cell as two ("").'
            ) from None
        raise ImportFileError(
            f"{where} is not readable as CSV ({error}): a quote left open, or a quote inside "
            'a cell not written as two ("")?'
        ) from None
    problems = []
    seen = set()
    for name in header:
        if name in seen:
            problems.append(f'The column "{name}" appears twice in the header.')
        seen.add(name)
    missing = [c for c in columns if c not in header]
    unknown = [c for c in header if c not in columns]
    if missing:
        problems.append(f"Missing column(s): {', '.join(missing)}.")
    if "" in unknown:
        problems.append("A column has no name (a comma at the end of the header row?).")
    unknown = [c for c in unknown if c]
    if unknown:
        problems.append(f"Unknown column(s): {', '.join(repr(c) for c in unknown)}.")
    if missing:
        # A spreadsheet set to another list separator ("CSV" from a European Excel).
        for separator, name in ((";", "semicolons"), ("\t", "tabs")):
            names = {cell.strip() for cell in ",".join(header).replace(separator, ",").split(",")}
            if any(separator in cell for cell in header) and len(names & set(columns)) > len(
                    columns) // 2:
                problems.insert(0, f"The columns are separated by {name}, not commas: save "
                                   'the file from your spreadsheet as "CSV UTF-8 (comma '
                                   'delimited)".')
    if missing or unknown or "" in header:
        problems.append(f"Expected the header: {','.join(columns)}")
    if problems:
        raise ImportFileError([f"{filename}: the header row is not right.", *problems])
    if not rows:
        raise ImportFileError(f"{filename} has a header row but no data rows.")
    return ParsedFile(filename, header, rows)


# ---------------------------------------------------------------------------
# Matching names
# ---------------------------------------------------------------------------

# Letters that Unicode does not decompose into a base letter plus marks. Azerbaijani
# ə is written "a" in the usual English spellings (Əliyev -> Aliyev, Məmmədov -> Mammadov).
_FOLD = str.maketrans({
    "ə": "a", "Ə": "a", "ı": "i", "ø": "o", "Ø": "o", "ł": "l", "Ł": "l", "đ": "d",
    "Đ": "d", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "ß": "ss",
    "’": "'", "‘": "'", "`": "'",
})


# Around a one-line value: spaces, non-breaking spaces, and what pasting leaves invisible
# there (soft hyphen, zero-width space, word joiner, byte order mark). Not tabs or carriage
# returns: a value may start with one, and our own export writes it (made inert) so that
# the import restores it. Not direction marks: one may hold right-to-left text in place.
_AROUND = " \u00a0\u00ad\u200b\u2060\ufeff"

_JOINERS = re.compile("[\u200c\u200d]")  # kept in names, ignored when matching them


@functools.lru_cache(maxsize=100_000)  # the same names come back row after row
def normalise_name(name: str) -> str:
    """The key names are matched on: no accents, no case, single spaces, nothing
    invisible (in the file or in the database: a stored name may hold one too)."""
    text = unicodedata.normalize("NFKD", _JOINERS.sub("", INVISIBLE.sub("", name or ""))
                                 .translate(_FOLD))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.casefold().translate(_FOLD).split())


class NameIndex:
    """Normalised name or alias -> primary keys, for one model, loaded once per file."""

    def __init__(self, model):
        self.model = model
        self.keys: dict[str, set[int]] = defaultdict(set)
        for pk, name, other_names in model._base_manager.values_list(
            "pk", "name", "other_names"
        ).iterator(chunk_size=5000):
            for key in _record_keys(name, other_names):
                self.keys[key].add(pk)
        self.created: dict[str, int] = {}  # key -> id of the record this import created

    def find(self, key: str) -> set[int]:
        return self.keys.get(key, set())


def _record_keys(name: str, other_names: str) -> set[str]:
    keys = {normalise_name(name)}
    keys.update(normalise_name(line) for line in (other_names or "").splitlines())
    keys.discard("")
    return keys


def _keys_in_place(record) -> set[str]:
    """The names a record already in a case or statement is matched by: its name and
    other names, and for a person the pseudonym the public download writes for them (so
    that re-importing an edited public download keeps them rather than creating a person
    called by the pseudonym). Only for who is already in the place: a pseudonym such as
    "Activist A" names nobody in particular elsewhere."""
    keys = _record_keys(record.name, record.other_names)
    if pseudonym := normalise_name(getattr(record, "pseudonym", "")):
        keys.add(pseudonym)
    return keys


# A party in a case or statement: ("person" | "organisation", pk) for an existing record,
# ("new_person" | "new_organisation", key) for one this import creates.
Party = tuple[str, object]


# ---------------------------------------------------------------------------
# The engine shared by both kinds
# ---------------------------------------------------------------------------


class _RowErrors:
    def __init__(self, number: int, errors: list[RowError]):
        self.number = number
        self.errors = errors
        self.count = 0

    def add(self, column: str, message: str) -> None:
        self.errors.append(RowError(self.number, column, message))
        self.count += 1


_url_validator = URLValidator(schemes=["http", "https"])


_writing_imports = 0
_writing_imports_lock = threading.Lock()


@contextlib.contextmanager
def _frozen():
    """Python's garbage collector leaves the objects that exist now (the checked file)
    alone until the end: otherwise each of its full collections while writing goes through
    them all again (some 5 % of a large import's time).

    gc.freeze() holds for the whole process: in a threaded app server, other threads'
    objects are left alone too (memory is held, nothing else changes) until the last
    import writing in the process ends; a count keeps one import's end from unfreezing
    another's."""
    global _writing_imports
    with _writing_imports_lock:
        _writing_imports += 1
        gc.freeze()
    try:
        yield
    finally:
        with _writing_imports_lock:
            _writing_imports -= 1
            if not _writing_imports:
                gc.unfreeze()


class Importer:
    kind = ""
    model = None
    columns: list[str] = []
    PROGRESS_EVERY = 1000

    def __init__(self, user, filename: str, *, dry_run: bool = False,
                 progress: Progress | None = None, request=None,
                 expected: dict[str, list] | None = None):
        if user is None or not user.pk:
            raise ValueError("An import must be attributable: give the importing user.")
        self.user = user
        self.filename = filename
        self.dry_run = dry_run
        self.progress = progress
        self.request = request
        # The plan a preview showed (ImportReport.plan): anything else is an error.
        self.expected = expected
        self.report = ImportReport(self.kind, filename, dry_run)
        self.people: NameIndex | None = None
        self.organisations: NameIndex | None = None
        self.new_names: dict[str, str] = {}  # key -> spelling first seen, for new records
        self.source_ids: dict[str, int] = {}
        self.extra_references: set[str] = set()
        # The public download's stand-in for a withheld name, as a name key: once per
        # import (translating it for every name cost some 1.5 s per 100,000 rows).
        self.withheld_key = normalise_name(str(NAME_WITHHELD))
        # The rows being written, first and last (several for a batch); None once they
        # all are and the transaction commits (the deferred foreign-key checks).
        self._writing: tuple[int, int] | None = None
        # Set by import_together: the caller owns the transaction, rollback and audit.
        self.deferred = False

    # -- shared helpers ------------------------------------------------------------

    def _tick(self, phase: str, done: int, total: int) -> None:
        if self.progress and (done % self.PROGRESS_EVERY == 0 or done == total):
            if phase == "writing" and self.dry_run:
                phase = "writing (a dry run: undone at the end)"
            self.progress(phase, done, total)

    def _load_name_indexes(self) -> None:
        self.people = NameIndex(Person)
        self.organisations = NameIndex(Organisation)

    def _cells(self, parsed: ParsedFile, cells: list[str], errs: _RowErrors) -> dict[str, str] | None:
        if len(cells) != len(parsed.header):
            errs.add("", f"has {len(cells)} cells but the header has {len(parsed.header)} "
                         "(a stray comma, or a quote left open?)")
            return None
        return {name: restore_formula(value) for name, value in zip(parsed.header, cells, strict=True)}

    def _reference(self, value: str, errs: _RowErrors, seen: dict[str, int]) -> str:
        reference = value.strip()
        if not reference:
            errs.add("reference", "is empty; every row needs its reference")
            return ""
        try:
            reference_validator(reference)
        except ValidationError:
            errs.add("reference", f'"{reference}" is not a reference (use capital letters, '
                                  "digits and hyphens, e.g. AZ-2016-002)")
            return ""
        if reference in seen:
            errs.add("reference", f"{reference} appears twice in this file "
                                  f"(first on row {seen[reference]})")
            return ""
        seen[reference] = errs.number
        return reference

    def _text(self, row, column: str, errs: _RowErrors, max_length: int | None,
              required: bool = False, one_line: bool = False) -> str:
        value = row[column]
        if one_line:  # as the admin's forms keep it: without spaces around it
            value = trimmed(value)
        if required and not value.strip():
            errs.add(column, "is empty; it is required")
        if one_line and "\n" in value:
            errs.add(column, "holds a line break, but it is one line (a double quote left "
                             "open may have joined rows of the file into this cell)")
        if max_length and len(value) > max_length:
            errs.add(column, f"is {len(value)} characters long; the limit is {max_length}")
        return value

    def _date(self, row, column: str, errs: _RowErrors):
        try:
            return parse_partial_date(row[column])
        except ValueError as error:
            errs.add(column, str(error))
            return None, ""

    def _urls(self, cell: str, column: str, errs: _RowErrors) -> list[str]:
        urls = []
        for url in split_multi(cell):
            try:
                _url_validator(url)
            except ValidationError:
                errs.add(column, f'"{url}" is not a web address (http:// or https://)')
                continue
            if len(url) > 1000:
                errs.add(column, "a web address is longer than 1000 characters")
                continue
            if url not in urls:
                urls.append(url)
        return urls

    def _load_sources(self, urls: Iterable[str]) -> None:
        urls = sorted(set(urls))
        for start in range(0, len(urls), BATCH):
            chunk = urls[start:start + BATCH]
            in_batch, params = _in_ids(chunk)
            with connection.cursor() as cursor:
                # The oldest source with that URL wins when there are several.
                cursor.execute(f"SELECT id, url FROM {_qn(Source._meta.db_table)} "  # noqa: S608
                               f"WHERE url {in_batch} ORDER BY id DESC", params)
                for pk, url in cursor.fetchall():
                    self.source_ids[url] = pk

    _PEOPLE_HINT = "; give one of them a distinguishing name or alias, or leave the name out"

    def _person(self, name: str, column: str, errs: _RowErrors, position: int,
                preferred: dict[str, list[Party]] | None = None) -> Party | None:
        return self._party_for(name, column, errs, position, preferred, ("person",))

    def _organisation(self, name: str, column: str, errs: _RowErrors, position: int,
                      preferred: dict[str, list[Party]] | None = None,
                      people_too: bool = False) -> Party | None:
        """Organisations first; with people_too, then people; else a new organisation."""
        kinds = ("organisation", "person") if people_too else ("organisation",)
        return self._party_for(name, column, errs, position, preferred, kinds)

    def _party_for(self, name: str, column: str, errs: _RowErrors, position: int,
                   preferred: dict[str, list[Party]] | None,
                   kinds: tuple[str, ...]) -> Party | None:
        """Match a name against each kind in turn; no match makes a new one of the first.

        `preferred`: who already holds the place, by name key. Each match takes one of
        them, so a name written twice keeps two namesakes (two "Anonymous" defenders)."""
        key = normalise_name(name)
        if not key:
            return None
        if key == self.withheld_key:  # the public download's stand-in
            errs.add(column, f'name #{position} is "{name}", which the public download writes '
                             "for a person whose name it may not show: it names nobody. Edit "
                             "an export from the admin or export_cases instead")
            return None
        if preferred and preferred.get(key):
            party = preferred[key][0]
            for parties in preferred.values():  # taken: under its other names too
                while party in parties:
                    parties.remove(party)
            return party
        if len(name) > 300:
            errs.add(column, f"name #{position} is longer than 300 characters")
            return None
        for kind in kinds:
            index, noun = ((self.people, "people") if kind == "person"
                           else (self.organisations, "organisations"))
            found = index.find(key)
            if len(found) == 1:
                return (kind, next(iter(found)))
            if len(found) > 1:
                hint = self._PEOPLE_HINT if kind == "person" else ""
                errs.add(column, f"name #{position} in this cell matches {len(found)} {noun} "
                                 f"(ids {', '.join(map(str, sorted(found)))}){hint}")
                return None
        for kind in kinds:  # named earlier in this file, as it would be once imported
            if (kind, key) in self.new_names:
                return (f"new_{kind}", key)
        self.new_names[(kinds[0], key)] = name.strip()
        return (f"new_{kinds[0]}", key)

    # -- writing helpers -------------------------------------------------------------

    def _stamp(self, record, creating: bool) -> None:
        if creating:
            record.created_by = self.user
        record.updated_by = self.user
        record._change_reason = f"import from {self.filename}"
        record._history_user = self.user

    @property
    def _new_record_values(self) -> dict:
        """What every record an import creates starts with, as save() and _stamp() set it."""
        return {"status": Status.DRAFT, "version": 1, "created_by_id": self.user.pk,
                "updated_by_id": self.user.pk}

    def _withdraw(self, record) -> None:
        """Send a vetted record whose relations the file changes back to draft, before
        they change: the signals that would do it then find a draft (one of them saves a
        fresh copy of the case, which would leave this one stale)."""
        record._history_user = self.user
        record.withdraw_after_edit(
            f"Changed by import from {self.filename}: back to draft for re-vetting.")

    def _party(self, party: Party):
        """The saved record for a party, creating new people and organisations once."""
        kind, value = party
        if kind == "person":
            return "person", value
        if kind == "organisation":
            return "organisation", value
        model_kind = "person" if kind == "new_person" else "organisation"
        index = self.people if model_kind == "person" else self.organisations
        if value not in index.created:
            name = self.new_names[(model_kind, value)]
            if model_kind == "person":
                # identity_public stays False: the public sees "Name withheld" until
                # someone records consent.
                record = Person(name=name)
            else:
                record = Organisation(name=name, kind=Organisation.Kind.OTHER)
            self._stamp(record, creating=True)
            record.save()
            index.created[value] = record.pk
            self._count_new("people" if model_kind == "person" else "organisations")
        return model_kind, index.created[value]

    def _source_id(self, url: str) -> int:
        if url in self.source_ids:
            return self.source_ids[url]
        source = Source(url=url)
        self._stamp(source, creating=True)
        source.save()
        self.source_ids[url] = source.pk
        self._count_new("sources")
        return source.pk

    def _count_new(self, kind: str) -> None:
        self.report.new_related[kind] = self.report.new_related.get(kind, 0) + 1

    # -- the run ---------------------------------------------------------------------

    def run(self, parsed: ParsedFile, *, validate_only: bool = False) -> ImportReport:
        """Validate every row; write only when all rows are valid and this is no dry run."""
        plans = self.validate(parsed)
        if self.expected is not None and not self.report.errors:
            self._hold_to_preview()
        if not self.report.errors and not validate_only:
            try:
                with transaction.atomic(), _frozen():
                    self._writing = (plans[0].number, plans[-1].number) if plans else (0, 0)
                    with refresh_later():  # search documents once per case, at the end
                        self.apply(plans)
                    self._writing = None
                    if self.dry_run and not self.deferred:
                        transaction.set_rollback(True)
            except (DatabaseError, ValidationError, StaleRecordError) as error:
                # Validation should have caught everything; if the database still refuses
                # a row, nothing is written and the reason is reported like any other.
                message = ("; ".join(error.messages) if isinstance(error, ValidationError)
                           else str(error))
                self.report.errors.append(self.saving_error(message))
        if self.report.errors or (self.dry_run and not self.deferred):
            self.report.records.clear()  # rolled back: nothing to link to
        if not self.deferred:
            self.audit()
        return self.report

    def saving_error(self, message: str) -> RowError:
        """The database's refusal of what validation let through (a colleague's change
        meanwhile, as a rule), against the rows being written: the row whose reference
        the database names, or else the batch's."""
        if self._writing is None:
            return RowError(0, "", f"The import could not be saved when it was committed: "
                                   f"{message}")
        first, last = self._writing
        named = re.search(r"Key \(reference\)=\((.+?)\)", message)
        if named and named.group(1) in self.report.actions:
            first = last = self.report.actions[named.group(1)][0]
        where = ("" if first == last else
                 f" (in the batch written together from row {first} to row {last})")
        return RowError(first, "", f"could not be saved{where}: {message}")

    def audit(self, outcome: str | None = None) -> None:
        """Record the import. A dry run is recorded only when it named restricted cases
        the user may not see: the answer ("already taken") tells them such a case exists,
        so trying references one after another leaves a trace."""
        restricted = len(getattr(self, "hidden", ()))
        if self.dry_run and not restricted:
            return
        details = {"dry_run": True} if self.dry_run else {}
        if restricted:
            details["restricted_references"] = restricted
        AuditEvent.objects.record(
            AuditEvent.Action.IMPORT, user=self.user, request=self.request,
            kind=self.kind, file=self.filename,
            outcome=outcome or ("imported" if self.report.ok else "rejected"),
            **self.report.counts(), new_related=self.report.new_related, **details,
        )

    def validate(self, parsed: ParsedFile) -> list:
        raise NotImplementedError

    def apply(self, plans: list) -> None:
        raise NotImplementedError

    def _hold_to_preview(self) -> None:
        """Refuse the file if it would now do anything other than what its preview showed:
        a record saved by someone else since then (a new version), created or deleted
        meanwhile. Confirming must not overwrite a colleague's edit made after the preview."""
        described = {"created": "new", "updated": "an update", "skipped": "unchanged"}
        plan = self.report.plan()
        for reference, (number, action) in sorted(self.report.actions.items(),
                                                  key=lambda item: item[1][0]):
            previewed = self.expected.get(reference)
            if previewed == plan[reference]:
                continue
            if previewed is not None and previewed[1] != plan[reference][1]:
                why = "was changed by someone else since the preview"
            elif previewed is not None and previewed[:2] == plan[reference][:2]:
                why = ("would now name other people, organisations or sources than in the "
                       "preview (someone added, renamed or removed one meanwhile)")
            else:
                why = (f"would now be {described[action]}, not "
                       f"{described.get(previewed and previewed[0], 'in the preview')}")
            self.report.errors.append(RowError(
                number, "reference", f"{reference} {why}; check it and preview the file again"))
        if set(self.expected) != set(plan) and not self.report.errors:
            self.report.errors.append(RowError(0, "", "The file is not the one previewed."))

    def _classify(self, reference: str, number: int, existing, changes: list[str],
                  links: object = None) -> str:
        """`changes`: the columns whose values differ from the existing record's.
        `links`: what the row's names and addresses resolve to (see ImportReport.links)."""
        if existing is None:
            action = "created"
        elif changes:
            action = "updated"
            self.report.changes[reference] = changes
        else:
            action = "skipped"
        getattr(self.report, action).append(reference)
        self.report.actions[reference] = (number, action)
        self.report.versions[reference] = None if existing is None else existing.version
        self.report.links[reference] = hashlib.sha256(
            json.dumps(links, sort_keys=True, default=str).encode()).hexdigest()[:16]
        if action == "updated" and existing.status in UNDER_REVIEW:
            self.report.revetted.append(reference)
        return action


def _in_file_order(changed: set[str], columns: list[str]) -> list[str]:
    """Changed field names, in the order of the file's columns (any other last): an
    update is one with any change, listed or not."""
    return [c for c in columns if c in changed] + sorted(changed - set(columns))


# ---------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------

# Plain strings: enum members do not hash like the strings the database returns.
ROLE_COLUMNS = {
    "defenders": Involvement.Role.TARGETED.value,
    "lawyers": Involvement.Role.LAWYER.value,
    "perpetrators": Involvement.Role.PERPETRATOR.value,
}


@dataclass
class CasePlan:
    number: int
    reference: str
    values: dict
    violations: set[int]
    rights: set[int]
    source_urls: list[str]
    parties: dict[str, list[Party]]
    existing: Case | None
    action: str = ""


def _vocabulary(model) -> dict[str, int]:
    terms = list(model.objects.values_list("pk", "slug", "label"))
    found = {" ".join(label.casefold().split()): pk for pk, _slug, label in terms}
    found.update({slug.casefold(): pk for pk, slug, _label in terms})  # a slug wins
    return found


# English names, matched as people's names are (case, accents, spacing: "Cote d'Ivoire")
# and without a leading "the": the names django-countries shows, ISO 3166's own (with
# their bracketed part either way round: "Moldova (the Republic of)", "Republic of
# Moldova", "Moldova, Republic of"), former names ("Swaziland"), and the short forms
# English-language reports use.
_COUNTRY_ALIASES = {
    "united states": "US", "usa": "US", "u.s.": "US", "u.s.a.": "US", "uk": "GB",
    "u.k.": "GB", "great britain": "GB", "britain": "GB", "ivory coast": "CI", "burma": "MM",
    "vatican": "VA", "vatican city": "VA", "kyrgyz republic": "KG", "bosnia": "BA",
}
_BRACKETED = re.compile(r"^(.+?) \((?:the )?(.+)\)$", re.IGNORECASE)


def trimmed(value: str) -> str:
    return value.strip(_AROUND)


def keep_as_stored(values: dict, record, cleaners: dict) -> None:
    """Where the file's value is the record's own once cleaned as the import now cleans
    it (spaces around a title, a language code's case), keep the stored value: an
    export of a record saved before is re-imported unchanged, not as an edit that would
    send a published record back to draft."""
    if record is None:
        return
    for name, clean in cleaners.items():
        stored = getattr(record, name)
        if stored != values[name] and clean(stored) == values[name]:
            values[name] = stored


def _country_key(name: str) -> str:
    return normalise_name(name).removeprefix("the ")


def _country_names() -> dict[str, str]:
    from django_countries.data import COUNTRIES as ISO_NAMES

    names: dict[str, str] = {}
    spelled = [(code, str(name)) for code, name in ISO_NAMES.items()]
    spelled += [(code, str(name)) for code, old in countries.OLD_NAMES.items() for name in old]
    for code, name in spelled:
        names[_country_key(name)] = code
        if bracketed := _BRACKETED.match(name):
            base, part = bracketed.groups()
            names[_country_key(f"{part} {base}")] = code
            names[_country_key(f"{base}, {part}")] = code
    names |= {_country_key(str(name)): code for code, name in countries}  # as shown
    return names | _COUNTRY_ALIASES


_COUNTRY_NAMES = _country_names()


def country_code(value: str) -> str | None:
    value = " ".join((value or "").split())
    if not value:
        return None
    if len(value) == 2 and value.upper() in countries:
        return value.upper()
    return _COUNTRY_NAMES.get(_country_key(value)) or countries.by_name(value) or None


def _current_parties(case: Case) -> dict[str, dict[str, list[Party]]]:
    """Per role, the names and aliases of who is already in the case: a name in the file
    that matches one of them keeps that person, even when another person shares the name."""
    current: dict[str, dict[str, list[Party]]] = defaultdict(lambda: defaultdict(list))
    for involvement in case.involvements.all():
        if involvement.person_id:
            party = ("person", involvement.person_id)
            record = involvement.person
        else:
            party = ("organisation", involvement.organisation_id)
            record = involvement.organisation
        for key in _keys_in_place(record):
            current[involvement.role][key].append(party)
    return current


class CaseImporter(Importer):
    kind = "cases"
    model = Case
    columns = CASE_COLUMNS

    def _existing(self, references: list[str]) -> dict[str, Case]:
        """The cases of these references that the importer may see; the references of
        restricted cases they may not see go to self.hidden (a row naming one is refused:
        never updated, never reported as existing)."""
        found = {}
        involvements = Involvement.objects.select_related("person", "organisation").order_by("id")
        visible = Case.objects.visible_to(self.user)
        # Which references exist at all, first: a file of new cases then costs one
        # short query per batch (an array parameter, not a thousand placeholders).
        stored = set()
        with connection.cursor() as cursor:
            for start in range(0, len(references), BATCH):
                in_batch, params = _in_ids(references[start:start + BATCH])
                cursor.execute(f"SELECT reference FROM {_qn(Case._meta.db_table)} "  # noqa: S608
                               f"WHERE reference {in_batch}", params)
                stored.update(reference for (reference,) in cursor.fetchall())
        stored_in_order = [reference for reference in references if reference in stored]
        for start in range(0, len(stored_in_order), BATCH):
            chunk = stored_in_order[start:start + BATCH]
            for case in visible.filter(reference__in=chunk).prefetch_related(
                "violations", "rights", "sources", Prefetch("involvements", queryset=involvements)
            ):
                found[case.reference] = case
        self.hidden = stored - set(found)  # (only their number is ever recorded, in audit())
        return found

    def validate(self, parsed: ParsedFile) -> list[CasePlan]:
        errors = self.report.errors
        violations = _vocabulary(ViolationType)
        rights = _vocabulary(Right)
        self._load_name_indexes()
        position = parsed.header.index("reference")
        references = [restore_formula(cells[position]).strip() for _n, cells in parsed.rows
                      if len(cells) == len(parsed.header)]
        existing = self._existing([r for r in references if r])
        all_urls = []
        seen: dict[str, int] = {}
        plans = []
        total = len(parsed.rows)
        for done, (number, cells) in enumerate(parsed.rows, start=1):
            self._tick("checking", done, total)
            errs = _RowErrors(number, errors)
            row = self._cells(parsed, cells, errs)
            if row is None:
                continue
            reference = self._reference(row["reference"], errs, seen)
            if reference in self.hidden:
                errs.add("reference", f"{reference} is already taken; choose another reference")
                reference = ""
            values = {
                "title": self._text(row, "title", errs, 300, required=True, one_line=True),
                "location": self._text(row, "location", errs, 200, one_line=True),
                "summary": row["summary"],
            }
            code = country_code(row["country"])
            if not row["country"].strip():
                errs.add("country", "is empty; give an ISO code such as AZ or the English name")
            elif code is None:
                errs.add("country", f'"{row["country"].strip()}" is not a country (use an ISO '
                                    "3166 code such as AZ, or the English name)")
            values["country"] = code or ""
            started, started_precision = self._date(row, "started_on", errs)
            ended, ended_precision = self._date(row, "ended_on", errs)
            if started and ended and period_end(ended, ended_precision) < started:
                errs.add("ended_on", f'"{row["ended_on"].strip()}" is before started_on '
                                     f'"{row["started_on"].strip()}"')
            values.update(started_on=started, started_on_precision=started_precision,
                          ended_on=ended, ended_on_precision=ended_precision)
            chosen = {}
            for column, terms, noun in (("violations", violations, "violation type"),
                                        ("rights", rights, "right")):
                ids = set()
                for term in split_multi(row[column]):
                    pk = terms.get(" ".join(term.casefold().split()))
                    if pk is None:
                        errs.add(column, f'"{term}" is not a known {noun} (use a slug or label '
                                         "from the vocabulary; an administrator can add terms)")
                    else:
                        ids.add(pk)
                chosen[column] = ids
            urls = self._urls(row["sources"], "sources", errs)
            all_urls += urls
            case = existing.get(reference)
            current = _current_parties(case) if case is not None else {}
            parties: dict[str, list[Party]] = {}
            for column, role in ROLE_COLUMNS.items():
                names = split_multi(row[column])
                preferred = current.get(role)
                # Names that only one of those already in the place answers to go first,
                # so that a name several answer to ("Anonymous") takes the one left.
                candidates = [len((preferred or {}).get(normalise_name(name), ())) for name in names]
                matched: list[Party | None] = [None] * len(names)
                for i in sorted(range(len(names)), key=lambda i: candidates[i] or len(names) + 1):
                    if column == "perpetrators":
                        matched[i] = self._organisation(names[i], column, errs, i + 1, preferred,
                                                        people_too=True)
                    else:
                        matched[i] = self._person(names[i], column, errs, i + 1, preferred)
                parties[role] = list(dict.fromkeys(p for p in matched if p is not None))
            if errs.count or not reference:
                continue
            keep_as_stored(values, case, {"title": trimmed, "location": trimmed})
            plans.append(CasePlan(number, reference, values, chosen["violations"],
                                  chosen["rights"], urls, parties, case))
        self._load_sources(all_urls)
        for plan in plans:
            plan.action = self._classify(
                plan.reference, plan.number, plan.existing,
                self._changes(plan) if plan.existing is not None else [],
                links=[{role: sorted(parties) for role, parties in plan.parties.items()},
                       [self.source_ids.get(url) for url in plan.source_urls]])
        return plans

    def _changes(self, plan: CasePlan) -> list[str]:
        """The columns of the row whose values differ from the case's."""
        case = plan.existing
        changed = {name.removesuffix("_precision") for name, value in plan.values.items()
                   if value != ((case.country.code or "") if name == "country"
                                else getattr(case, name))}
        if {v.pk for v in case.violations.all()} != plan.violations:
            changed.add("violations")
        if {r.pk for r in case.rights.all()} != plan.rights:
            changed.add("rights")
        if self._sources_changed(plan):
            changed.add("sources")
        changed.update(self._changed_roles(plan))
        return _in_file_order(changed, self.columns)

    def _sources_changed(self, plan: CasePlan) -> bool:
        """Compared by web address: a case may hold two sources with one address."""
        return {s.url for s in plan.existing.sources.all() if s.url} != set(plan.source_urls)

    def _parties_changed(self, plan: CasePlan) -> bool:
        return bool(self._changed_roles(plan))

    def _changed_roles(self, plan: CasePlan) -> list[str]:
        """The role columns (defenders, lawyers, perpetrators) the row changes."""
        current = defaultdict(set)
        for involvement in plan.existing.involvements.all():
            current[involvement.role].add(
                ("person", involvement.person_id) if involvement.person_id
                else ("organisation", involvement.organisation_id))
        return [column for column, role in ROLE_COLUMNS.items()
                if set(plan.parties[role]) != current[role]]

    # New cases are written in batches (a few queries per thousand rows, with the same
    # drafts, history and m2m history that save() would write). So are updates, with
    # save()'s optimistic locking and re-vetting rule (_update_cases). Row by row through
    # save() (BULK_CREATE / BULK_UPDATE off) is the reference the tests compare them with.
    BULK_CREATE = True
    BULK_UPDATE = True
    BULK_SIZE = 1000

    def apply(self, plans: list[CasePlan]) -> None:
        total = len(plans)
        new = [plan for plan in plans if plan.action == "created"]
        done = 0
        if self.BULK_CREATE:
            for start in range(0, len(new), self.BULK_SIZE):
                batch = new[start:start + self.BULK_SIZE]
                self._writing = (batch[0].number, batch[-1].number)
                self._create_cases(batch)
                done += len(batch)
                self._tick("writing", done, total)
        updates = [plan for plan in plans if self.BULK_UPDATE and plan.action == "updated"]
        for start in range(0, len(updates), self.BULK_SIZE):
            batch = updates[start:start + self.BULK_SIZE]
            self._writing = (batch[0].number, batch[-1].number)
            self._update_cases(batch)
            done += len(batch)
            self._tick("writing", done, total)
        in_batches = {id(plan) for plan in updates}
        for plan in plans:
            if (self.BULK_CREATE and plan.action == "created") or id(plan) in in_batches:
                continue
            done += 1
            self._tick("writing", done, total)
            self._writing = (plan.number, plan.number)
            if plan.action == "skipped":
                continue
            creating = plan.existing is None
            case = Case(reference=plan.reference) if creating else plan.existing
            for name, value in plan.values.items():
                setattr(case, name, value)
            self._stamp(case, creating)
            relations_changed = not creating and self._relations_changed(plan)
            case.save()
            if relations_changed:
                self._withdraw(case)
            # save() clears the reason; the m2m history rows below carry it too.
            case._change_reason = f"import from {self.filename}"
            source_ids = [self._source_id(url) for url in plan.source_urls]
            if creating:
                # Only what there is to add: every m2m change writes a history row.
                for relation, ids in ((case.violations, plan.violations),
                                      (case.rights, plan.rights), (case.sources, source_ids)):
                    if ids:
                        relation.add(*ids)
            else:
                existing = plan.existing
                if {v.pk for v in existing.violations.all()} != plan.violations:
                    case.violations.set(plan.violations)
                if {r.pk for r in existing.rights.all()} != plan.rights:
                    case.rights.set(plan.rights)
                if self._sources_changed(plan):
                    # Sources without a URL cannot be written in CSV: they stay, as do
                    # those whose address the file still lists.
                    keep = [s.pk for s in existing.sources.all()
                            if not s.url or s.url in plan.source_urls]
                    present = {s.url for s in existing.sources.all()}
                    case.sources.set(keep + [pk for url, pk in zip(plan.source_urls, source_ids,
                                                                   strict=True)
                                             if url not in present])
            self._set_parties(case, plan)
            self.report.records[plan.reference] = (plan.number, case)

    def _create_cases(self, plans: list[CasePlan]) -> None:
        """Create new cases in bulk: status draft and version 1 as save() sets them for a
        new record, one history entry each (with its m2m snapshot), by the importer."""
        self._create_parties(party for plan in plans for parties in plan.parties.values()
                             for party in parties)
        self._create_sources(url for plan in plans for url in plan.source_urls)
        records = []
        for plan in plans:
            values = {"reference": plan.reference, **plan.values}
            for name in ("started_on", "ended_on"):
                values[name], values[f"{name}_precision"] = normalised_partial_date(
                    values.get(name), values.get(f"{name}_precision", ""))
            records.append(values)
        case_ids = create_rows(Case, self._new_record_values, records)
        # For the report (the admin lists them): the case as loaded with only these fields.
        cases = [Case.from_db(connection.alias, ["id", "reference", "title"],
                              [pk, values["reference"], values.get("title", "")])
                 for pk, values in zip(case_ids, records, strict=True)]
        when = timezone.now()
        reason = f"import from {self.filename}"
        with connection.cursor() as cursor:
            links = {}  # name -> [(link id, case id, target id)], where the ids are drawn
            for name, ids_of in (
                ("violations", lambda plan: sorted(plan.violations)),
                ("rights", lambda plan: sorted(plan.rights)),
                ("sources", lambda plan: [self.source_ids[url] for url in plan.source_urls]),
            ):
                through = Case._meta.get_field(name).remote_field.through
                target = through._meta.get_field(
                    Case._meta.get_field(name).m2m_reverse_field_name()).column
                rows = [(case.pk, pk) for case, plan in zip(cases, plans, strict=True)
                        for pk in ids_of(plan)]
                ids = new_ids(through, len(rows))
                if ids is None:  # SQLite: the database numbers them; read back below
                    insert_rows(cursor, through._meta.db_table, ["case_id", target], rows)
                    links[name] = None
                else:
                    links[name] = [(pk, *row) for pk, row in zip(ids, rows, strict=True)]
                    insert_rows(cursor, through._meta.db_table,
                                [through._meta.pk.column, "case_id", target], links[name])
            fields = [f for f in Involvement._meta.concrete_fields if not f.primary_key]
            defaults = {f.attname: f.get_default() for f in fields}
            rows = []
            for case, plan in zip(cases, plans, strict=True):
                for role, parties in plan.parties.items():
                    for party in parties:
                        kind, pk = self._party(party)
                        values = {**defaults, "case_id": case.pk, "role": role,
                                  f"{kind}_id": pk}
                        rows.append([values[f.attname] for f in fields])
            insert_rows(cursor, Involvement._meta.db_table, [f.column for f in fields], rows)
            history_ids = copy_history(cursor, Case, "id", case_ids, self.user, reason, when)
            copy_history(cursor, Involvement, "case_id", case_ids, self.user, reason, when)
            for name in ("violations", "rights", "sources"):
                copy_m2m_history(cursor, name, history_ids, links[name])
        for case, plan in zip(cases, plans, strict=True):
            self.report.records[plan.reference] = (plan.number, case)

    def _update_cases(self, plans: list[CasePlan]) -> None:
        """Change cases in batches, as save() and the relation signals would one by one:
        refused if someone else saved one since the file was checked (optimistic
        locking), status kept, a case in review, verified or published whose reviewed fields or
        relations change sent back to draft (re-vetting), version + 1, violations,
        rights, sources and the people of the file's three roles set as the file says
        (with a history row for each involvement added or removed), one "~" history
        entry per case with its m2m snapshot, by the importer, and the search documents
        refreshed."""
        reason = f"import from {self.filename}"
        ids = [plan.existing.pk for plan in plans]
        current = {case.pk: case for case in Case._base_manager.select_for_update()
                   .filter(pk__in=ids).only("id", "version", "status", *Case.REVIEWED_FIELDS)}
        relinking = [plan for plan in plans if self._relations_changed(plan)]
        self._create_parties(party for plan in relinking for parties in plan.parties.values()
                             for party in parties)
        self._create_sources(url for plan in relinking for url in plan.source_urls)
        when = timezone.now()
        cases, reasons = [], {}
        relinked_ids = {plan.existing.pk for plan in relinking}
        for plan in plans:
            self._writing = (plan.number, plan.number)
            case, stored = plan.existing, current.get(plan.existing.pk)
            if stored is None or stored.version != case.version:
                raise StaleRecordError(case, stored and stored.version)
            for name, value in plan.values.items():
                setattr(case, name, value)
            case.normalise_partial_dates("started_on", "ended_on")
            case.updated_by, case.updated_at = self.user, when
            case.status, case.version = stored.status, stored.version + 1
            reasons[case.pk] = reason
            if case.status in UNDER_REVIEW:
                if case.reviewed_changes(stored):
                    note = (EDITED_IN_REVIEW if case.status == Status.IN_REVIEW
                            else EDITED_AFTER_VERIFICATION)
                    case.status, case.review_note = Status.DRAFT, str(note)
                    reasons[case.pk] = f"{reason}; {note}"
                elif case.pk in relinked_ids:
                    # As _withdraw() words it row by row: the note names the file.
                    case.status = Status.DRAFT
                    case.review_note = reasons[case.pk] = (
                        f"Changed by import from {self.filename}: back to draft for re-vetting.")
            cases.append(case)
            self.report.records[plan.reference] = (plan.number, case)
        self._writing = (plans[0].number, plans[-1].number)
        update_records(Case, cases, [*self.columns_changed(plans), "status", "review_note",
                                     "version", "updated_by", "updated_at"])
        with connection.cursor() as cursor:
            if relinking:
                self._set_links(cursor, relinking, reason, when)
            for why in set(reasons.values()):
                changed = [pk for pk, r in reasons.items() if r == why]
                history_ids = copy_history(cursor, Case, "id", changed, self.user, why, when, "~")
                for name in ("violations", "rights", "sources"):
                    copy_m2m_history(cursor, name, history_ids)
        refresh_search_documents(ids)

    def _set_links(self, cursor, plans: list[CasePlan], reason: str, when) -> None:
        """Write the violations, rights, sources and people the file gives these cases,
        in SQL: the links it drops deleted, the new ones inserted. As row by row, the file
        is the list of the three roles' people (witnesses and sources stay) and of the
        sources that have a web address (a source without one cannot be written in CSV,
        so it stays)."""
        remove: dict[str, dict[int, set[int]]] = defaultdict(dict)  # case -> targets
        add: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for plan in plans:
            case = plan.existing
            sources = case.sources.all()
            present_urls = {s.url for s in sources}
            wanted = {"violations": plan.violations, "rights": plan.rights,
                      "sources": {s.pk for s in sources if not s.url or s.url in plan.source_urls}
                      | {self.source_ids[url] for url in plan.source_urls
                         if url not in present_urls}}
            for name, ids in wanted.items():
                present = {record.pk for record in getattr(case, name).all()}
                add[name] += [(case.pk, pk) for pk in sorted(ids - present)]
                if present - ids:
                    remove[name][case.pk] = present - ids
        for name in ("violations", "rights", "sources"):
            through = Case._meta.get_field(name).remote_field.through
            target = through._meta.get_field(Case._meta.get_field(name).m2m_reverse_field_name())
            doomed = [pk for pk, case_id, target_id in through.objects.filter(
                case_id__in=list(remove[name])).values_list("pk", "case_id", target.attname)
                      if target_id in remove[name][case_id]]
            delete_rows(cursor, through._meta.db_table, doomed, through._meta.pk.column)
            insert_rows(cursor, through._meta.db_table, ["case_id", target.column], add[name])
        gone, new = [], []
        for plan in plans:
            wanted = {(role, *self._party(party)) for role, parties in plan.parties.items()
                      for party in parties}
            present = set()
            for involvement in plan.existing.involvements.all():
                if involvement.role not in ROLE_COLUMNS.values():
                    continue
                key = (involvement.role,
                       *(("person", involvement.person_id) if involvement.person_id
                         else ("organisation", involvement.organisation_id)))
                present.add(key)
                if key not in wanted:
                    gone.append(involvement.pk)
            new += [{"case_id": plan.existing.pk, "role": role, f"{kind}_id": pk}
                    for role, kind, pk in sorted(wanted - present)]
        copy_history(cursor, Involvement, "id", gone, self.user, reason, when, "-")
        delete_rows(cursor, Involvement._meta.db_table, gone)
        added = create_rows(Involvement, {}, new)  # no dates: none to normalise
        copy_history(cursor, Involvement, "id", added, self.user, reason, when)

    @staticmethod
    def columns_changed(plans: list[CasePlan]) -> list[str]:
        """The case fields a file's rows set (the same for every row)."""
        return list(dict.fromkeys(name for plan in plans for name in plan.values))

    def _create_parties(self, parties) -> None:
        """Bulk-create the people and organisations that these parties need."""
        pending = {"person": {}, "organisation": {}}
        for kind, value in parties:
            if kind in ("new_person", "new_organisation"):
                model_kind = kind.removeprefix("new_")
                index = self.people if model_kind == "person" else self.organisations
                if value not in index.created:
                    pending[model_kind][value] = self.new_names[(model_kind, value)]
        for model_kind, names in pending.items():
            if not names:
                continue
            model = Person if model_kind == "person" else Organisation
            # identity_public stays False for people: "Name withheld" until consent.
            extra = {} if model is Person else {"kind": Organisation.Kind.OTHER}
            ids = create_rows(model, {**self._new_record_values, **extra},
                              [{"name": name} for name in names.values()])
            with connection.cursor() as cursor:
                copy_history(cursor, model, "id", ids, self.user,
                             f"import from {self.filename}", timezone.now())
            index = self.people if model_kind == "person" else self.organisations
            index.created.update(zip(names, ids, strict=True))
            self.report.new_related["people" if model is Person else "organisations"] = (
                self.report.new_related.get("people" if model is Person else "organisations", 0)
                + len(ids))

    def _create_sources(self, urls) -> None:
        new = list(dict.fromkeys(url for url in urls if url not in self.source_ids))
        if not new:
            return
        ids = create_rows(Source, self._new_record_values, [{"url": url} for url in new])
        with connection.cursor() as cursor:
            copy_history(cursor, Source, "id", ids, self.user, f"import from {self.filename}",
                         timezone.now())
        self.source_ids.update(zip(new, ids, strict=True))
        self.report.new_related["sources"] = self.report.new_related.get("sources", 0) + len(new)

    def _relations_changed(self, plan: CasePlan) -> bool:
        case = plan.existing
        return (
            {v.pk for v in case.violations.all()} != plan.violations
            or {r.pk for r in case.rights.all()} != plan.rights
            or self._sources_changed(plan) or self._parties_changed(plan)
        )

    def _set_parties(self, case: Case, plan: CasePlan) -> None:
        current = {}
        if plan.existing is not None:
            for involvement in plan.existing.involvements.all():
                if involvement.role in ROLE_COLUMNS.values():
                    key = (involvement.role, "person" if involvement.person_id else "organisation",
                           involvement.person_id or involvement.organisation_id)
                    current[key] = involvement
        wanted = []
        for role, parties in plan.parties.items():
            for party in parties:
                kind, pk = self._party(party)
                wanted.append((role, kind, pk))
        for key, involvement in current.items():
            if key not in wanted:
                # The file is the list for these three roles; witnesses and sources stay.
                involvement._history_user = self.user
                involvement._change_reason = f"import from {self.filename}"
                involvement.delete()
        for role, kind, pk in wanted:
            if (role, kind, pk) not in current:
                involvement = Involvement(case=case, role=role, **{f"{kind}_id": pk})
                involvement._history_user = self.user
                involvement._change_reason = f"import from {self.filename}"
                involvement.save()


def copy_history(cursor, model, column: str, ids: list[int], user, reason: str, when,
                 history_type: str = "+") -> dict[int, int]:
    """Write the history rows of records just created ("+") or changed ("~") in bulk, in
    SQL: the rows bulk_history_create would write, without a Python object for each.
    Returns the history row written for each record: {record id: history id}."""
    history_model = history_manager(model).model
    columns = ", ".join(_qn(f.column) for f in history_model.tracked_fields)
    written = {}
    for start in range(0, len(ids), BATCH):
        in_batch, params = _in_ids(ids[start:start + BATCH])
        with by_index(cursor):
            cursor.execute(
                f"INSERT INTO {_qn(history_model._meta.db_table)} ({columns}, "  # noqa: S608
                "history_date, history_change_reason, history_type, history_user_id) "
                f"SELECT {columns}, %s, %s, %s, %s FROM {_qn(model._meta.db_table)} "
                f"WHERE {_qn(column)} {in_batch} RETURNING {_qn('id')}, history_id",
                [connection.ops.adapt_datetimefield_value(when), reason, history_type,
                 user.pk, *params],
            )
            written.update(cursor.fetchall())
    return written


def copy_m2m_history(cursor, name: str, history_ids: dict[int, int],
                     links: list[tuple[int, int, int]] | None = None) -> None:
    """The m2m snapshot of each case's history row just written by copy_history (what
    simple-history keeps with every history row): the case's links of this field as they
    are now, each with the history row's id ({case id: history id}).

    `links`: those links, as (link id, case id, target id), when the caller has just
    written them all; otherwise they are read back, a batch of cases at a time, each
    table on its own (a join between the link table and the history table, both growing
    inside the transaction, gets planned from statistics that cannot know it).
    """
    through = Case._meta.get_field(name).remote_field.through
    history = history_manager(Case).model
    m2m_history = history._meta.apps.get_model("casework", f"HistoricalCase_{name}")
    columns = [f.column for f in through._meta.concrete_fields]
    target = through._meta.get_field(Case._meta.get_field(name).m2m_reverse_field_name()).column
    order = [columns.index(column) for column in (through._meta.pk.column, "case_id", target)]
    if links is None:
        links = []
        case_ids = list(history_ids)
        for start in range(0, len(case_ids), BATCH):
            in_batch, params = _in_ids(case_ids[start:start + BATCH])
            with by_index(cursor):
                cursor.execute(
                    f"SELECT {', '.join(_qn(c) for c in columns)} "  # noqa: S608
                    f"FROM {_qn(through._meta.db_table)} WHERE {_qn('case_id')} {in_batch}",
                    params,
                )
                links += [tuple(row[i] for i in order) for row in cursor.fetchall()]
    insert_rows(cursor, m2m_history._meta.db_table,
                [through._meta.pk.column, "case_id", target, "history_id"],
                [(*link, history_ids[link[1]]) for link in links])


# ---------------------------------------------------------------------------
# Statements
# ---------------------------------------------------------------------------


@dataclass
class StatementPlan:
    number: int
    reference: str
    values: dict
    speaker: Party | None
    organisation: Party | None
    source_url: str
    cases: list[str]
    existing: Statement | None
    action: str = ""


class StatementImporter(Importer):
    kind = "statements"
    model = Statement
    columns = STATEMENT_COLUMNS

    def __init__(self, *args, case_references: Iterable[str] = (), **kwargs):
        """case_references: cases imported in the same run (they may not exist yet)."""
        super().__init__(*args, **kwargs)
        self.extra_references = set(case_references)

    def validate(self, parsed: ParsedFile) -> list[StatementPlan]:
        errors = self.report.errors
        self._load_name_indexes()
        rows = []
        seen: dict[str, int] = {}
        total = len(parsed.rows)
        wanted_cases: set[str] = set()
        for done, (number, cells) in enumerate(parsed.rows, start=1):
            self._tick("checking", done, total)
            errs = _RowErrors(number, errors)
            row = self._cells(parsed, cells, errs)
            if row is None:
                continue
            reference = self._reference(row["reference"], errs, seen)
            refs = [r.strip() for r in split_multi(row["cases"])]
            wanted_cases.update(refs)
            rows.append((errs, reference, row, refs))
        existing = {}
        statement_refs = [r for _e, r, _row, _c in rows if r]
        for start in range(0, len(statement_refs), BATCH):
            for statement in Statement.objects.filter(
                reference__in=statement_refs[start:start + BATCH]
            ).select_related("speaker", "organisation", "source").prefetch_related("cases"):
                existing[statement.reference] = statement
        # Links to cases the importer may not see are not in their file (exports leave
        # them out): they are neither compared nor removed.
        linked = sorted({case.pk for statement in existing.values() for case in statement.cases.all()})
        self.visible_links: set[int] = set()
        for start in range(0, len(linked), BATCH):
            self.visible_links.update(Case.objects.visible_to(self.user)
                                      .filter(pk__in=linked[start:start + BATCH])
                                      .values_list("pk", flat=True))
        case_ids: dict[str, int] = {}
        wanted = sorted(wanted_cases)
        for start in range(0, len(wanted), BATCH):
            case_ids.update(Case.objects.visible_to(self.user)
                            .filter(reference__in=wanted[start:start + BATCH])
                            .values_list("reference", "pk"))
        self.case_ids = case_ids
        urls = []
        plans = []
        for errs, reference, row, refs in rows:
            statement = existing.get(reference)
            values = {
                "speaker_title": self._text(row, "speaker_title", errs, 200, one_line=True),
                "quote": row["quote"],
            }
            written = row["language"].strip()
            language = language_tag(written) if written else "en"
            try:  # the model's rules
                Statement._meta.get_field("language").run_validators(language)
            except ValidationError:
                errs.add("language", f'"{written}" is not a language code (use ISO 639-1, '
                                     "e.g. en, az, ru)")
            values["language"] = language
            keep_as_stored(values, statement, {"speaker_title": trimmed, "language": language_tag})
            said, said_precision = self._date(row, "said_on", errs)
            values.update(said_on=said, said_on_precision=said_precision)
            preferred_speaker = {}
            if statement is not None and statement.speaker is not None:
                preferred_speaker = {key: [("person", statement.speaker_id)] for key in
                                     _keys_in_place(statement.speaker)}
            speaker = self._person(self._one_name(row, "speaker", errs), "speaker", errs, 1,
                                   preferred_speaker)
            preferred_org = {}
            if statement is not None and statement.organisation is not None:
                preferred_org = {key: [("organisation", statement.organisation_id)] for key in
                                 _record_keys(statement.organisation.name,
                                              statement.organisation.other_names)}
            organisation = self._organisation(self._one_name(row, "organisation", errs),
                                              "organisation", errs, 1, preferred_org)
            if not split_multi(row["speaker"]) and not split_multi(row["organisation"]):
                errs.add("speaker", "is empty, and so is organisation; give at least one")
            if not values["quote"].strip() and not (statement is not None and statement.title):
                errs.add("quote", "is empty; it is required")
            source_url = ""
            if row["source_url"].strip():
                found = self._urls(row["source_url"].strip(), "source_url", errs)
                if len(found) > 1:
                    errs.add("source_url", "holds more than one web address")
                source_url = found[0] if found else ""
            for ref in refs:
                if ref not in case_ids and ref not in self.extra_references:
                    errs.add("cases", f"{ref} is not a case in the database or in this import")
            if errs.count or not reference:
                continue
            urls.append(source_url)
            plans.append(StatementPlan(errs.number, reference, values, speaker, organisation,
                                       source_url, list(dict.fromkeys(refs)), statement))
        self._load_sources(u for u in urls if u)
        for plan in plans:
            plan.action = self._classify(
                plan.reference, plan.number, plan.existing,
                self._changes(plan) if plan.existing is not None else [],
                links=[plan.speaker, plan.organisation,
                       self.source_ids.get(plan.source_url), plan.cases])
        return plans

    def _one_name(self, row, column: str, errs: _RowErrors) -> str:
        """The one name of a speaker or organisation cell, cleaned as list values are."""
        names = split_multi(row[column])
        if len(names) > 1:
            errs.add(column, "holds more than one name (a “;” separates names)")
            return ""
        return names[0] if names else ""

    def _source_changed(self, plan: StatementPlan) -> bool:
        statement = plan.existing
        if not plan.source_url:
            # An empty cell keeps a source that has no URL (it cannot be written in CSV).
            return statement.source_id is not None and bool(statement.source.url)
        return self.source_ids.get(plan.source_url) != statement.source_id

    def _changes(self, plan: StatementPlan) -> list[str]:
        """The columns of the row whose values differ from the statement's."""
        statement = plan.existing
        changed = {name.removesuffix("_precision") for name, value in plan.values.items()
                   if getattr(statement, name) != value}
        if plan.speaker != (("person", statement.speaker_id) if statement.speaker_id else None):
            changed.add("speaker")
        if plan.organisation != (("organisation", statement.organisation_id)
                                 if statement.organisation_id else None):
            changed.add("organisation")
        if self._source_changed(plan):
            changed.add("source_url")
        if self._cases_changed(plan):
            changed.add("cases")
        return _in_file_order(changed, self.columns)

    def _cases_changed(self, plan: StatementPlan) -> bool:
        return {case.reference for case in plan.existing.cases.all()
                if case.pk in self.visible_links} != set(plan.cases)

    def _hidden_links(self, statement: Statement) -> list[int]:
        return [case.pk for case in statement.cases.all() if case.pk not in self.visible_links]

    def apply(self, plans: list[StatementPlan]) -> None:
        missing = sorted({ref for plan in plans for ref in plan.cases} - set(self.case_ids))
        for start in range(0, len(missing), BATCH):
            self.case_ids.update(Case.objects.visible_to(self.user)
                                 .filter(reference__in=missing[start:start + BATCH])
                                 .values_list("reference", "pk"))
        total = len(plans)
        for done, plan in enumerate(plans, start=1):
            self._tick("writing", done, total)
            self._writing = (plan.number, plan.number)
            if plan.action == "skipped":
                continue
            creating = plan.existing is None
            statement = Statement(reference=plan.reference) if creating else plan.existing
            for name, value in plan.values.items():
                setattr(statement, name, value)
            statement.speaker_id = self._party(plan.speaker)[1] if plan.speaker else None
            statement.organisation_id = (self._party(plan.organisation)[1]
                                         if plan.organisation else None)
            if plan.source_url:
                statement.source_id = self._source_id(plan.source_url)
            elif not creating and statement.source_id and statement.source.url:
                statement.source_id = None
            self._stamp(statement, creating)
            statement.save()
            if creating or self._cases_changed(plan):
                keep = [] if creating else self._hidden_links(plan.existing)
                if not creating:
                    self._withdraw(statement)
                # save() clears the reason; the history entry of the new links needs it.
                statement._change_reason = f"import from {self.filename}"
                statement.cases.set([self.case_ids[ref] for ref in plan.cases] + keep)
            self.report.records[plan.reference] = (plan.number, statement)


# ---------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------

IMPORTERS = {"cases": CaseImporter, "statements": StatementImporter}


def import_file(kind: str, data: bytes, filename: str, user, *, dry_run: bool = False,
                progress: Progress | None = None, request=None, **kwargs) -> ImportReport:
    """Read and import one file. Raises ImportFileError for a file that cannot be read."""
    importer_class = IMPORTERS[kind]
    parsed = read_csv(data, filename, importer_class.columns)
    importer = importer_class(user, filename, dry_run=dry_run, progress=progress,
                              request=request, **kwargs)
    return importer.run(parsed)


def import_together(user, *, cases: tuple[bytes, str] | None = None,
                    statements: tuple[bytes, str] | None = None, dry_run: bool = False,
                    progress: Progress | None = None, request=None) -> list[ImportReport]:
    """Cases and the statements about them in one all-or-nothing run: statements may
    name cases that only this import creates."""
    parsed_cases = read_csv(cases[0], cases[1], CASE_COLUMNS) if cases else None
    parsed_statements = (read_csv(statements[0], statements[1], STATEMENT_COLUMNS)
                         if statements else None)
    importers = []
    committing = False
    try:
        with transaction.atomic():
            if parsed_cases is not None:
                importer = CaseImporter(user, cases[1], dry_run=dry_run, progress=progress,
                                        request=request)
                importer.deferred = True
                importer.run(parsed_cases)
                importers.append(importer)
            if parsed_statements is not None:
                importer = StatementImporter(
                    user, statements[1], dry_run=dry_run, progress=progress, request=request,
                    case_references=case_references(parsed_cases) if parsed_cases else (),
                )
                importer.deferred = True
                failed = any(i.report.errors for i in importers)
                importer.run(parsed_statements, validate_only=failed)
                importers.append(importer)
            failed = any(i.report.errors for i in importers)
            if dry_run or failed:
                transaction.set_rollback(True)
            committing = not (dry_run or failed)
    except DatabaseError as error:
        if not committing:
            raise
        # The deferred foreign-key checks of everything written run at COMMIT: a record
        # that a colleague deleted meanwhile fails there, for the file whose table it is.
        table = getattr(getattr(error.__cause__, "diag", None), "table_name", None) or ""
        refused = next((i for i in importers if i.kind == "statements"
                        and table.startswith("casework_statement")), importers[0])
        refused.report.errors.append(refused.saving_error(str(error)))
        failed = True
    for importer in importers:
        if failed or dry_run:
            importer.report.records.clear()
        if failed and importer.report.ok:
            importer.report.rolled_back = True
        importer.audit("rejected" if failed else None)
    return [importer.report for importer in importers]


def case_references(parsed: ParsedFile) -> set[str]:
    position = parsed.header.index("reference")
    return {restore_formula(cells[position]).strip() for _n, cells in parsed.rows
            if len(cells) > position}
