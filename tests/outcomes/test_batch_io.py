"""`myoivig score` file handling: CSV/Parquet, input order, all-or-nothing output."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from myoivig.outcomes.batch import INPUT_COLUMNS
from myoivig.outcomes.batch_io import BatchInputError, score_file
from myoivig.outcomes.commands import register

HEADER = ",".join(INPUT_COLUMNS)


def row(**values: object) -> str:
    """One CSV line; unnamed columns are blank."""
    return ",".join("" if values.get(c) is None else str(values[c]) for c in INPUT_COLUMNS)


EX1 = dict(
    id="ex1", population="adult", physician_global_bl=6, physician_global_fu=3.5,
    patient_global_bl=7, patient_global_fu=5, extramuscular_bl=4, extramuscular_fu=1,
    haq_bl=1.5, haq_fu=1.125, mmt8_bl=120, mmt8_fu=135, mmt8_max=150,
    ck_bl=2400, ck_fu=1200, ck_uln=200,
)  # fmt: skip
EX3 = dict(
    id="ex3", population="juvenile", physician_global_bl=7, physician_global_fu=2,
    patient_global_bl=8, patient_global_fu=3, extramuscular_bl=5, extramuscular_fu=1,
    haq_bl=2, haq_fu=0.75, mmt8_bl=100, mmt8_fu=140, mmt8_max=150,
)  # fmt: skip
ROWS = [
    row(**EX1),
    row(**EX3),
    row(id="edge", population="adult", physician_global_bl=2.2, physician_global_fu=0.7),
]


def write_csv(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def test_csv_scores_in_input_order(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    report = score_file(write_csv(tmp_path / "in.csv", ROWS), out)
    assert report.ok and report.rows == 3
    lines = list(csv.reader(out.read_text().splitlines()))
    assert lines == [
        ["id", "tis", "tis_category", "tis_min", "tis_max", "imacs_doi"],
        ["ex1", "57.5", "moderate", "57.5", "57.5", "true"],
        ["ex3", "", "major", "82.5", "90", "true"],
        ["edge", "", "", "7.5", "87.5", ""],
    ]


def test_parquet_round_trip_and_small_chunks(tmp_path: Path) -> None:
    table = pa.csv.read_csv(write_csv(tmp_path / "in.csv", ROWS * 5))  # type: ignore[attr-defined]
    pq.write_table(table, tmp_path / "in.parquet")
    out = tmp_path / "out.parquet"
    assert score_file(tmp_path / "in.parquet", out, chunk_rows=4).ok
    result = pq.read_table(out).to_pydict()
    assert result["id"] == ["ex1", "ex3", "edge"] * 5
    assert result["tis"][:3] == [57.5, None, None]
    assert result["imacs_doi"][:3] == [True, True, None]
    assert [str(c) if c else None for c in result["tis_category"][:3]] == [
        "moderate",
        "major",
        None,
    ]


def test_bad_rows_fail_and_leave_no_file(tmp_path: Path) -> None:
    bad = [*ROWS, row(id="bad", population="child", physician_global_bl=2, haq_bl=4)]
    out = tmp_path / "out.csv"
    out.write_text("previous result\n")
    report = score_file(write_csv(tmp_path / "in.csv", bad), out, chunk_rows=2)
    assert not report.ok and report.invalid_rows == 1
    fields = [(i.row, i.field, i.value) for i in report.issues]
    assert fields == [(3, "population", "child"), (3, "haq_bl", 4.0)]
    assert out.read_text() == "previous result\n"  # untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.csv"]


def test_unreadable_inputs_are_named(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("id,population\nx,adult\n")
    with pytest.raises(BatchInputError, match="missing columns: physician_global_bl"):
        list(score_file(path, tmp_path / "out.csv").issues)
    write_csv(path, [ROWS[0].replace("3.5", "three")])
    with pytest.raises(
        BatchInputError, match=r"row 1 \(id 'ex1'\) column physician_global_fu: 'three'"
    ):
        score_file(path, tmp_path / "out.csv")
    with pytest.raises(BatchInputError, match=r"\.xlsx"):
        score_file(path, tmp_path / "out.xlsx")
    assert not (tmp_path / "out.csv").exists()


def test_cli_exit_codes_and_json(tmp_path: Path) -> None:
    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """Test root."""

    register(app)
    runner = CliRunner()
    ok = runner.invoke(
        app, ["score", "--input", str(write_csv(tmp_path / "a.csv", ROWS)), "--out",
              str(tmp_path / "o.parquet"), "--json"],
    )  # fmt: skip
    assert ok.exit_code == 0, ok.output
    assert '"rows": 3' in ok.output
    bad = write_csv(tmp_path / "b.csv", [row(**{**EX1, "id": "x", "physician_global_bl": 11})])
    errors = tmp_path / "errors.csv"
    failed = runner.invoke(
        app, ["score", "--input", str(bad), "--out", str(tmp_path / "o2.csv"),
              "--errors", str(errors)],
    )  # fmt: skip
    assert failed.exit_code == 1
    assert errors.read_text().splitlines()[1] == "1,x,physician_global_bl,11.0,outside 0-10"
    assert not (tmp_path / "o2.csv").exists()


def test_float_values_masks_nulls_in_slices() -> None:
    from myoivig.outcomes.batch_io import float_values

    column = pa.array([1.0, None, 3.0, None, 5.0, 6.0, 7.0, 8.0, 9.0, None, 11.0])
    for part in (column, column.slice(1), column.slice(3, 5), column.slice(9)):
        expected = part.to_numpy(zero_copy_only=False)
        assert np.array_equal(float_values(part), expected, equal_nan=True)
    assert np.array_equal(float_values(pa.array([1, None])), [1.0, np.nan], equal_nan=True)


def test_quoted_header_duplicates_and_overwrite(tmp_path: Path) -> None:
    quoted = tmp_path / "quoted.csv"
    quoted.write_text(
        ",".join(f'"{c}"' for c in INPUT_COLUMNS) + "\n" + ROWS[0] + "\n", encoding="utf-8"
    )
    assert score_file(quoted, tmp_path / "out.csv").ok
    dup = tmp_path / "dup.csv"
    dup.write_text(HEADER + ",haq_bl\n" + ROWS[0] + ",1\n", encoding="utf-8")
    with pytest.raises(BatchInputError, match="duplicated columns: haq_bl"):
        score_file(dup, tmp_path / "out2.csv")
    with pytest.raises(BatchInputError, match="must not overwrite"):
        score_file(quoted, quoted)
