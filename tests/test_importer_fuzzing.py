"""Importer fuzzing (issue 15, item 2): valid files of every format the project reads, mutated
by hypothesis (cut short, bytes dropped, inserted or flipped, lines duplicated, swapped or
emptied, cells replaced by odd values), must import correctly or be refused with the importer's
own clear error; never another exception. A refused import leaves the database as it was.

Bounded and repeatable: `derandomize=True` and a fixed number of examples per format.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import zipfile
from collections.abc import Callable
from datetime import datetime, time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, MergedCell
from sqlalchemy import func, select

from myoivig.store import Store
from myoivig.store.tables import Base

TESTS = Path(__file__).parent
REVIEW_FIXTURES = TESTS / "review" / "fixtures"
CLINIC_FULL = TESTS / "clinic" / "fixtures" / "full"
EXCHANGE = TESTS / "exchange" / "fixtures"
EXAMPLES = 40
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ODD_VALUES = (
    "", " ", "NaN", "-1", "1e309", "0x10", "２０２０", "2020-02-30", "<script>x</script>",
    "'; DROP TABLE patients; --", "\u202e", "\x00", '"', "\t", "9" * 40,
)  # fmt: skip


def _mutate(data: bytes, draw: Callable[..., object]) -> bytes:
    """One to three mutations of bytes or lines, chosen by hypothesis."""
    for _ in range(int(draw(st.integers(1, 3)))):  # type: ignore[call-overload]
        op = draw(st.sampled_from(["cut", "drop", "insert", "flip", "dup", "swap", "blank"]))
        n = len(data)
        lines = data.split(b"\n")
        if op == "cut":
            data = data[: int(draw(st.integers(0, n)))]  # type: ignore[call-overload]
        elif op == "drop" and n:
            at = int(draw(st.integers(0, n - 1)))  # type: ignore[call-overload]
            data = data[:at] + data[at + int(draw(st.integers(1, 64))) :]  # type: ignore[call-overload]
        elif op == "insert":
            at = int(draw(st.integers(0, n)))  # type: ignore[call-overload]
            data = data[:at] + bytes(draw(st.binary(min_size=1, max_size=16))) + data[at:]  # type: ignore[call-overload]
        elif op == "flip" and n:
            at = int(draw(st.integers(0, n - 1)))  # type: ignore[call-overload]
            data = data[:at] + bytes([data[at] ^ int(draw(st.integers(1, 255)))]) + data[at + 1 :]  # type: ignore[call-overload]
        elif op in ("dup", "swap", "blank") and len(lines) > 1:
            i = int(draw(st.integers(0, len(lines) - 1)))  # type: ignore[call-overload]
            j = int(draw(st.integers(0, len(lines) - 1)))  # type: ignore[call-overload]
            if op == "dup":
                lines.insert(j, lines[i])
            elif op == "swap":
                lines[i], lines[j] = lines[j], lines[i]
            else:
                lines[i] = b""
            data = b"\n".join(lines)
    return data


def _table_counts(store: Store) -> dict[str, int]:
    with store.session() as session:
        return {
            table.name: int(session.scalar(select(func.count()).select_from(table)) or 0)
            for table in Base.metadata.sorted_tables
        }


def _import_or_reject(store: Store, path: Path, named: str) -> dict[str, int] | None:
    """Import a clinical file or folder: the counts written, or None when it was refused with
    the importer's own error (problems that each say where and what, or one line naming
    `named`) and every table unchanged. Any other exception fails the test."""
    from myoivig.io.importer import import_path
    from myoivig.io.problems import ImportRejectedError
    from myoivig.io.sheets import FormatError

    before = _table_counts(store)
    try:
        return import_path(store, path, actor="fuzz")
    except ImportRejectedError as rejected:
        assert rejected.problems and all(str(p).strip() for p in rejected.problems)
    except FormatError as error:
        assert named in str(error) and "\n" not in str(error), str(error)
    assert _table_counts(store) == before, "a rejected import must write nothing"
    return None


# -- bibliographic exports (review importers) ---------------------------------------------------

BIB_FILES = sorted(
    p
    for p in [*REVIEW_FIXTURES.iterdir(), *(REVIEW_FIXTURES / "real_shaped").iterdir()]
    if p.is_file() and p.suffix != ".md"
)


@pytest.mark.parametrize("path", BIB_FILES, ids=lambda p: p.name)
def test_bibliographic_importers_never_crash(path: Path) -> None:
    from myoivig.review.importers import ImportFormatError, import_bytes
    from myoivig.review.importers.text import DecodeError
    from myoivig.review.records import ImportResult

    original = path.read_bytes()

    @FUZZ
    @given(st.data())
    def check(data: st.DataObject) -> None:
        mutated = _mutate(original, data.draw)
        try:
            result = import_bytes(mutated, "FUZZ")
        except (ImportFormatError, DecodeError) as error:
            assert str(error).strip(), "an import error must say what is wrong"
            return
        assert isinstance(result, ImportResult)
        ids = [r.record_id for r in result.records]
        assert len(ids) == len(set(ids)), "record ids must be unique"
        for issue in result.issues:
            assert issue.reason.strip() and issue.position >= 0  # 0: text outside a record

    check()


def test_strict_bibliographic_import_refused_leaves_the_review_unchanged(
    store: Store, tmp_path: Path
) -> None:
    from myoivig.review import service
    from myoivig.review.importers import ImportFormatError
    from myoivig.review.importers.text import DecodeError
    from myoivig.review.names import StrictImportRefused

    original = (REVIEW_FIXTURES / "screening_small.ris").read_bytes()
    counter = iter(range(10_000))

    @FUZZ
    @given(st.data())
    def check(data: st.DataObject) -> None:
        path = tmp_path / f"export-{next(counter)}.ris"
        path.write_bytes(_mutate(original, data.draw))
        before = _table_counts(store)
        try:
            service.import_records_file(
                store, path, "MEDLINE", actor="fuzz", fmt="ris", strict=True, again=True
            )
        except (StrictImportRefused, ImportFormatError, DecodeError) as error:
            assert str(error).strip()
            assert _table_counts(store) == before, "a refused import must write nothing"

    check()


# -- the clinical tabular import (CSV folder) ---------------------------------------------------

CLINIC_TABLES = sorted(p.name for p in CLINIC_FULL.glob("*.csv"))


@pytest.mark.parametrize("table", ["patients.csv", "assessments.csv", "myometry.csv", "labs.csv"])
def test_clinical_import_rejects_clearly_and_atomically(
    table: str, store: Store, tmp_path: Path
) -> None:
    from myoivig.io.importer import import_path
    from myoivig.io.problems import ImportRejectedError

    original = (CLINIC_FULL / table).read_bytes()
    counter = iter(range(10_000))

    @FUZZ
    @given(st.data())
    def check(data: st.DataObject) -> None:
        folder = tmp_path / f"clinic-{next(counter)}"
        shutil.copytree(CLINIC_FULL, folder)
        mutated = _mutate(original, data.draw)
        if data.draw(st.booleans()):  # a cell replaced by an odd value
            text = mutated.decode("utf-8", "replace").splitlines()
            if len(text) > 1:
                row = data.draw(st.integers(1, len(text) - 1))
                cells = text[row].split(",")
                cells[data.draw(st.integers(0, len(cells) - 1))] = data.draw(
                    st.sampled_from(ODD_VALUES)
                )
                text[row] = ",".join(cells)
                mutated = "\n".join(text).encode("utf-8", "surrogatepass")
        (folder / table).write_bytes(mutated)
        counts = _import_or_reject(store, folder, named=table)
        if counts is None:
            return
        assert counts["patients"] >= 1
        # imported: delete nothing, but the next example starts from a store holding it; a
        # second import of the same codes must then be rejected, not half-written
        with pytest.raises(ImportRejectedError):
            import_path(store, CLINIC_FULL, actor="fuzz")

    check()


# -- REDCap and FHIR ----------------------------------------------------------------------------


def test_redcap_records_mutations_are_refused_with_problems_or_read(tmp_path: Path) -> None:
    from myoivig.exchange.service import read_redcap
    from myoivig.io.problems import ImportRejectedError

    dictionary = EXCHANGE / "redcap_data_dictionary.csv"
    original = (EXCHANGE / "redcap_records.csv").read_bytes()
    counter = iter(range(10_000))

    @FUZZ
    @given(st.data())
    def check(data: st.DataObject) -> None:
        records = tmp_path / f"records-{next(counter)}.csv"
        records.write_bytes(_mutate(original, data.draw))
        try:
            bundle = read_redcap(dictionary, records)
        except ImportRejectedError as rejected:
            assert rejected.problems and all(str(p).strip() for p in rejected.problems)
            return
        assert bundle.dossiers is not None

    check()


def _fhir_mutations(bundle: object, draw: Callable[..., object]) -> object:
    """Structural mutations of a FHIR Bundle: drop a key, change a value's type, break a
    reference, duplicate an entry."""
    data = json.loads(json.dumps(bundle))
    entries = data["entry"]
    entry = entries[int(draw(st.integers(0, len(entries) - 1)))]  # type: ignore[call-overload]
    resource = entry["resource"]
    keys = [k for k in resource if k != "resourceType"]
    op = draw(st.sampled_from(["drop", "retype", "reference", "duplicate", "odd"]))
    if op == "drop" and keys:
        del resource[draw(st.sampled_from(keys))]
    elif op == "retype" and keys:
        resource[draw(st.sampled_from(keys))] = draw(
            st.sampled_from([None, 7, "x", [], {}, True, -1.5])
        )
    elif op == "reference":
        text = json.dumps(resource).replace('"Patient/', '"Patient/missing-')
        entry["resource"] = json.loads(text)
    elif op == "duplicate":
        entries.append(json.loads(json.dumps(entry)))
    elif keys:
        resource[draw(st.sampled_from(keys))] = draw(st.sampled_from(ODD_VALUES))
    return data


def test_fhir_bundle_mutations_are_refused_with_problems_or_read(tmp_path: Path) -> None:
    from myoivig.exchange.service import read_fhir
    from myoivig.io.problems import ImportRejectedError

    original = json.loads((EXCHANGE / "fhir_bundle_overlap.json").read_text(encoding="utf-8"))
    raw = (EXCHANGE / "fhir_bundle_overlap.json").read_bytes()
    counter = iter(range(10_000))

    @FUZZ
    @given(st.data())
    def check(data: st.DataObject) -> None:
        path = tmp_path / f"bundle-{next(counter)}.json"
        if data.draw(st.booleans()):
            path.write_text(json.dumps(_fhir_mutations(original, data.draw)), encoding="utf-8")
        else:
            path.write_bytes(_mutate(raw, data.draw))
        try:
            read_fhir(path)
        except ImportRejectedError as rejected:
            assert rejected.problems and all(str(p).strip() for p in rejected.problems)

    check()


# -- the clinical tabular import (Excel workbook) -----------------------------------------------

XLSX_EXAMPLES = 30
XLSX_FUZZ = settings(FUZZ, max_examples=XLSX_EXAMPLES)
EXCEL_ODD_VALUES = (
    *(v for v in ODD_VALUES if not ILLEGAL_CHARACTERS_RE.search(v)),  # Excel cannot hold these
    None, float("nan"), float("inf"), -0.0, 10**20, True, False, datetime(2020, 2, 29),
    datetime(2022, 11, 7, 10, 30), time(8, 0), "=1/0", "=A1", "=NA()", "#DIV/0!", "x" * 32767,
)  # fmt: skip
_TEXT_CELL = re.compile(rb'<c r="([A-Z]+[0-9]+)" t="inlineStr"><is><t[^>]*>(.*?)</t></is></c>')
_SHARED_STRINGS_PART = (
    b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
    b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
)
_SHARED_STRINGS_REL = (
    b'<Relationship Id="rIdStrings" Target="sharedStrings.xml" Type="http://'
    b'schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"/>'
)


def _fixture_workbook(typed: bool = False) -> Workbook:
    """The valid clinical fixture tables as one workbook, a sheet per table. Cells are text as
    in the CSV files, or with `typed` dates, numbers and true/false as Excel's own cell types."""
    book = Workbook()
    book.remove(book.active)
    for path in sorted(CLINIC_FULL.glob("*.csv")):
        sheet = book.create_sheet(path.stem)
        with path.open(encoding="utf-8-sig", newline="") as handle:
            for number, row in enumerate(csv.reader(handle)):
                sheet.append([_typed(v) if typed and number else v for v in row])
    return book


def _typed(text: str) -> object:
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return datetime.fromisoformat(text)
    if text in ("true", "false"):
        return text == "true"
    try:
        return int(text) if re.fullmatch(r"-?\d+", text) else float(text)
    except ValueError:
        return text


def _workbook_bytes(book: Workbook) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _rezip(data: bytes, edit: Callable[[str, bytes], bytes | None]) -> bytes:
    """The workbook with each zip member passed through `edit` (None drops the member)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as old, zipfile.ZipFile(out, "w") as new:
        for name in old.namelist():
            content = edit(name, old.read(name))
            if content is not None:
                new.writestr(name, content, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _with_shared_strings(data: bytes) -> bytes:
    """The workbook with its text in a shared-strings part, as Excel and LibreOffice save it
    (openpyxl writes each text in its cell)."""
    strings: dict[bytes, int] = {}

    def shared(match: re.Match[bytes]) -> bytes:
        index = strings.setdefault(match.group(2), len(strings))
        return b'<c r="%s" t="s"><v>%d</v></c>' % (match.group(1), index)

    def edit(name: str, content: bytes) -> bytes:
        if name.startswith("xl/worksheets/"):
            return _TEXT_CELL.sub(shared, content)
        if name == "[Content_Types].xml":
            return content.replace(b"</Types>", _SHARED_STRINGS_PART + b"</Types>")
        if name == "xl/_rels/workbook.xml.rels":
            return content.replace(b"</Relationships>", _SHARED_STRINGS_REL + b"</Relationships>")
        return content

    buffer = io.BytesIO(_rezip(data, edit))
    items = b"".join(b"<si><t>%s</t></si>" % text for text in strings)
    with zipfile.ZipFile(buffer, "a") as book:
        book.writestr(
            "xl/sharedStrings.xml",
            b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">%s</sst>'
            % items,
        )
    return buffer.getvalue()


def _same_as_csv_folder(path: Path) -> None:
    from myoivig.io.importer import load_bundle

    expected, got = load_bundle(CLINIC_FULL), load_bundle(path)
    assert got.sites == expected.sites
    assert got.dossiers == expected.dossiers


def _round_trips(store: Store, path: Path, counts: dict[str, int]) -> None:
    """What an accepted workbook wrote is what it holds, read back from the database."""
    from myoivig.io.importer import load_bundle
    from myoivig.store.repository import list_dossiers

    bundle = load_bundle(path)
    assert counts == bundle.counts()
    with store.session() as session:
        stored = list_dossiers(session)
    assert sorted(stored, key=lambda d: d.patient.code) == sorted(
        bundle.dossiers, key=lambda d: d.patient.code
    )


@pytest.mark.parametrize("shape", ["text", "typed", "shared_strings"])
def test_workbook_of_the_fixture_tables_imports_as_the_csv_folder(
    shape: str, tmp_path: Path
) -> None:
    data = _workbook_bytes(_fixture_workbook(typed=shape == "typed"))
    path = tmp_path / "clinic.xlsx"
    path.write_bytes(_with_shared_strings(data) if shape == "shared_strings" else data)
    _same_as_csv_folder(path)


def _mutate_workbook(book: Workbook, draw: Callable[..., object]) -> None:
    """One to three structural or cell mutations of a workbook, chosen by hypothesis."""
    ops = ["cell", "cell", "delete", "rename", "copy", "header_blank", "header_twice",
           "row_twice", "rows_swapped", "row_blank", "row_inserted", "column_inserted",
           "empty_sheet", "merge"]  # fmt: skip
    for _ in range(int(draw(st.integers(1, 3)))):  # type: ignore[call-overload]
        sheet = draw(st.sampled_from(book.worksheets))
        op = draw(st.sampled_from(ops))
        last_row, last_column = max(sheet.max_row, 1), max(sheet.max_column, 1)
        row = int(draw(st.integers(1, last_row)))  # type: ignore[call-overload]
        other = int(draw(st.integers(1, last_row)))  # type: ignore[call-overload]
        column = int(draw(st.integers(1, last_column)))  # type: ignore[call-overload]
        cells = [sheet.cell(row, c) for c in range(1, last_column + 1)]
        if any(isinstance(c, MergedCell) for c in cells) and op not in ("delete", "rename"):
            continue  # a merged range's cells cannot be written; merged cells are still read
        if op == "cell":
            sheet.cell(row, column).value = draw(st.sampled_from(EXCEL_ODD_VALUES))
        elif op == "delete" and len(book.worksheets) > 1:
            book.remove(sheet)
        elif op == "rename":
            sheet.title = str(draw(st.sampled_from(["Patients", "patients ", "Sheet1", "患者"])))
        elif op == "copy":
            book.copy_worksheet(sheet)  # named "<title> Copy"
        elif op == "header_blank":
            sheet.cell(1, column).value = None
        elif op == "header_twice":
            sheet.cell(1, column).value = sheet.cell(1, max(column - 1, 1) % last_column + 1).value
        elif op == "row_twice":
            sheet.append([c.value for c in cells])
        elif op == "rows_swapped":
            for c in range(1, last_column + 1):
                a, b = sheet.cell(row, c), sheet.cell(other, c)
                if not isinstance(b, MergedCell):
                    a.value, b.value = b.value, a.value
        elif op == "row_blank":
            for cell in cells:
                cell.value = None
        elif op == "row_inserted":
            sheet.insert_rows(row)
        elif op == "column_inserted":
            sheet.insert_cols(column)
        elif op == "empty_sheet":
            book.create_sheet(str(draw(st.sampled_from(["Sheet", "Notes", "labs2"]))))
        elif op == "merge":
            sheet.merge_cells(
                start_row=row, start_column=column, end_row=row + 1, end_column=column + 1
            )


def test_clinical_workbook_mutations_import_or_are_rejected_atomically(
    fresh_store: Callable[[], Store], tmp_path: Path
) -> None:
    counter = iter(range(10_000))
    current = [fresh_store()]

    @XLSX_FUZZ
    @given(st.data())
    def check(data: st.DataObject) -> None:
        book = _fixture_workbook(typed=data.draw(st.booleans()))
        _mutate_workbook(book, data.draw)
        path = tmp_path / f"clinic-{next(counter)}.xlsx"
        path.write_bytes(_workbook_bytes(book))
        counts = _import_or_reject(current[0], path, named=path.name)
        if counts is not None:
            _round_trips(current[0], path, counts)
            current[0] = fresh_store()  # the next example imports into an empty database

    check()


def _mutate_xlsx(data: bytes, draw: Callable[..., object]) -> bytes:
    """Damage to the file: its bytes, or one zip member dropped, emptied, cut or mutated."""
    op = draw(st.sampled_from(["bytes", "member", "member", "drop", "empty", "dimension"]))
    if op == "bytes":
        return _mutate(data, draw)
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        name = draw(st.sampled_from(book.namelist()))
    if op == "drop":
        return _rezip(data, lambda n, content: None if n == name else content)
    if op == "empty":
        return _rezip(data, lambda n, content: b"" if n == name else content)
    if op == "dimension":  # a sheet claiming Excel's largest size: read as written, not as said
        huge = b'<dimension ref="A1:XFD1048576"/>'
        return _rezip(
            data, lambda n, c: re.sub(rb"<dimension [^>]*/>", huge, c) if n == name else c
        )
    return _rezip(data, lambda n, content: _mutate(content, draw) if n == name else content)


def test_damaged_workbook_files_are_refused_with_one_line_naming_the_file(
    store: Store, tmp_path: Path
) -> None:
    inline = _workbook_bytes(_fixture_workbook())
    shared = _with_shared_strings(inline)
    counter = iter(range(10_000))

    @XLSX_FUZZ
    @given(st.data())
    def check(data: st.DataObject) -> None:
        path = tmp_path / f"damaged-{next(counter)}.xlsx"
        path.write_bytes(_mutate_xlsx(shared if data.draw(st.booleans()) else inline, data.draw))
        counts = _import_or_reject(store, path, named=path.name)
        if counts is not None:  # the damage missed everything the import reads
            assert counts["patients"] >= 1
            # imported into this example's database: importing the same codes again is refused
            assert _import_or_reject(store, path, named=path.name) is None

    check()


def _sheet_edit(sheet: str, edit: Callable[[bytes], bytes]) -> Callable[[str, bytes], bytes]:
    """A zip edit applied to one sheet's part (sheets are numbered in table-name order)."""
    part = f"xl/worksheets/sheet{CLINIC_TABLES.index(f'{sheet}.csv') + 1}.xml"
    return lambda name, content: edit(content) if name == part else content


_ROW_FAR_DOWN = b'<row r="999999999"><c r="A999999999" t="inlineStr"><is><t>P9</t></is></c></row>'
# Each was an escaping exception, a silent loss or an hours-long read before sheets.py caught it.
DAMAGED = {
    "cell reference beyond column XFD": (
        _sheet_edit("labs", lambda c: c.replace(b'r="A1"', b'r="ZZZZZ1"', 1)),
        "sheet 'labs' cannot be read near row 1 ('ZZZZZ' is not a valid column name",
    ),
    "sheet part missing": (
        lambda name, content: None if name == "xl/worksheets/sheet2.xml" else content,
        "sheet 'assessments' is listed but its contents are missing",
    ),
    "row beyond Excel's last row": (
        _sheet_edit("labs", lambda c: c.replace(b"</sheetData>", _ROW_FAR_DOWN + b"</sheetData>")),
        "sheet 'labs' is larger than an Excel sheet can be",
    ),
    "two sheets of one name": (
        lambda name, c: c.replace(b'"core_set"', b'"Patients"') if name == "xl/workbook.xml" else c,
        "two sheets are named 'patients'",
    ),
    "broken XML in a sheet": (
        _sheet_edit("labs", lambda c: c[: len(c) // 2]),
        "sheet 'labs' cannot be read near row 3 (unclosed token",
    ),
}


@pytest.mark.parametrize("damage", DAMAGED, ids=str)
def test_damaged_workbook_gives_one_clear_line(damage: str, tmp_path: Path) -> None:
    from myoivig.io.importer import load_bundle
    from myoivig.io.sheets import FormatError

    edit, expected = DAMAGED[damage]
    path = tmp_path / "damaged.xlsx"
    path.write_bytes(_rezip(_workbook_bytes(_fixture_workbook()), edit))
    with pytest.raises(FormatError) as refused:
        load_bundle(path)
    assert str(refused.value).startswith(f"{path}: ") and expected in str(refused.value)
    assert "\n" not in str(refused.value)


def test_encrypted_or_old_excel_file_is_named_as_such(tmp_path: Path) -> None:
    from myoivig.io.importer import load_bundle
    from myoivig.io.sheets import FormatError

    path = tmp_path / "locked.xlsx"  # Excel saves a password-protected workbook as OLE2
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    with pytest.raises(FormatError, match=r"password-protected workbook or an old \.xls file"):
        load_bundle(path)


def test_declared_sheet_size_is_not_trusted(tmp_path: Path) -> None:
    huge = b'<dimension ref="A1:XFD1048576"/>'
    path = tmp_path / "huge.xlsx"
    path.write_bytes(
        _rezip(
            _workbook_bytes(_fixture_workbook()),
            lambda name, c: re.sub(rb"<dimension [^>]*/>", huge, c),
        )
    )
    _same_as_csv_folder(path)  # read as written (before: 10**10 empty cells looked at, hours)


def test_cells_under_a_blank_header_are_reported_with_their_sheet_row(tmp_path: Path) -> None:
    from myoivig.io.importer import load_bundle
    from myoivig.io.problems import ImportRejectedError

    book = _fixture_workbook()
    courses = book["courses"]
    note = next(c.column for c in courses[1] if c.value == "note")
    courses.cell(1, note).value = None  # its values were dropped without a word
    courses.cell(3, note).value = "given slowly"
    courses.insert_rows(3)  # a blank row: sheet row numbers go on counting it
    path = tmp_path / "clinic.xlsx"
    path.write_bytes(_workbook_bytes(book))
    with pytest.raises(ImportRejectedError) as rejected:
        load_bundle(path)
    found = [(p.table, p.row, p.value) for p in rejected.value.problems]
    assert ("courses", 4, "given slowly") in found
    courses_problems = [p for p in rejected.value.problems if p.table == "courses"]
    assert all("blank header cell" in p.reason for p in courses_problems), found


def test_cli_import_of_a_broken_workbook_is_one_line_and_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from myoivig.cli import app
    from myoivig.exit_codes import ExitCode

    monkeypatch.setenv("MYOIVIG_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("MYOIVIG_ACTOR", "cli-test")
    runner = CliRunner()
    broken = tmp_path / "broken.xlsx"
    for content in (b"not a zip at all", _workbook_bytes(_fixture_workbook())[:2000]):
        broken.write_bytes(content)
        result = runner.invoke(app, ["import", str(broken)])
        assert result.exit_code == ExitCode.REJECTED_INPUT, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
        assert result.stdout == "" and "Traceback" not in result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and str(broken) in lines[0], result.stderr
        assert "not a readable Excel workbook" in lines[0] and "nothing was written" in lines[0]
    listed = runner.invoke(app, ["patients", "list", "--json"])
    assert json.loads(listed.stdout) == []
