"""Analysis tables: CSV and Parquet read back unchanged; scores from the engine; pseudonyms."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

import exchange_dossiers as dossiers
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from myoivig.cli import app
from myoivig.exchange import service
from myoivig.exchange.analysis import AnalysisTable, Pseudonymiser, analysis_tables
from myoivig.outcomes.from_records import core_set_change, population_for
from myoivig.outcomes.tis import total_improvement_score
from myoivig.store import Store


def _parse(kind: str, text: str) -> Any:
    if text == "":
        return None
    return {
        "integer": int,
        "number": float,
        "boolean": lambda t: t == "true",
        "date": date.fromisoformat,
    }.get(kind, str)(text)


def _tables(
    store: Store, pseudonymise: bool = False, seed: int | None = None
) -> list[AnalysisTable]:
    dossiers_ = service.load(store)[1]
    p = Pseudonymiser([d.patient.code for d in dossiers_], seed) if pseudonymise else None
    return analysis_tables(dossiers_, p)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_files_read_back_to_the_same_values(store: Store, tmp_path: Path, fmt: str) -> None:
    dossiers.load(store)
    result = service.export_analysis(store, tmp_path / "out", fmt, seed=7, pseudonymise=True)
    expected = _tables(store, pseudonymise=True, seed=7)
    assert f"data_dictionary.{fmt}" in result["files"]
    for table in expected:
        path = tmp_path / "out" / f"{table.name}.{fmt}"
        if fmt == "parquet":
            read = pq.read_table(path).to_pylist()
        else:
            with path.open(encoding="utf-8", newline="") as handle:
                kinds = {c.name: c.kind for c in table.columns}
                read = [
                    {k: _parse(kinds[k], v) for k, v in row.items()}
                    for row in csv.DictReader(handle)
                ]
        names = [c.name for c in table.columns]
        assert read == [{n: row.get(n) for n in names} for row in table.rows], table.name
        if table.name == "adverse_events":  # the WHO-UMC relation travels, blank if not assessed
            assert sorted(str(row["relation_to_ivig"]) for row in read) == [
                "None",
                "possible",
                "probable",
                "unlikely",
            ]


def test_parquet_columns_are_typed_and_described(store: Store, tmp_path: Path) -> None:
    dossiers.load(store)
    service.export_analysis(store, tmp_path / "out", "parquet")
    schema = pq.read_schema(tmp_path / "out" / "visits_wide.parquet")
    assert str(schema.field("visit_date").type) == "date32[day]"
    assert str(schema.field("imacs_doi").type) == "bool"
    assert schema.field("ck_u_per_l").metadata[b"unit"] == b"U/L"


def test_scores_come_from_the_outcomes_engine(store: Store) -> None:
    dossiers.load(store)
    wide = next(t for t in _tables(store) if t.name == "visits_wide")
    row = next(r for r in wide.rows if r["patient_id"] == "NMC-001" and r["phase"] == "treatment")
    d = next(d for d in service.load(store)[1] if d.patient.code == "NMC-001")
    run_in = [a for a in d.assessments if a.phase.value == "run_in"]
    later = next(a for a in d.assessments if a.phase.value == "treatment")
    change = core_set_change(run_in[-1], later, population_for(d.patient.diagnosis))
    assert row["tis"] == total_improvement_score(change).tis and row["tis"] is not None
    assert row["score_reference_date"] == run_in[-1].assessment_date
    assert row["imacs_doi"] is True and row["myometry_mean_force_n"] > 100
    run_in_row = next(r for r in wide.rows if r["phase"] == "run_in")
    assert run_in_row["tis"] is None and run_in_row["score_note"] is None
    long = next(t for t in _tables(store) if t.name == "visits_long")
    computed = [r for r in long.rows if r["computed"] and r["measure"] == "tis"]
    assert {r["value"] for r in computed} >= {row["tis"]}


def test_pseudonymised_export_keeps_intervals_and_hides_codes(store: Store, tmp_path: Path) -> None:
    dossiers.load(store)
    plain = {t.name: t for t in _tables(store)}
    service.export_analysis(store, tmp_path / "p", "csv", pseudonymise=True)
    text = "".join(p.read_text() for p in (tmp_path / "p").iterdir())
    for code in ("NMC-001", "NMC-002", "IBM-7", "1968", "anti-TIF1"):
        assert code not in text
    pseudo = {t.name: t for t in _tables(store, pseudonymise=True, seed=3)}
    assert "birth_year" not in [c.name for c in pseudo["patients"].columns]
    names = {r["patient_id"] for r in pseudo["patients"].rows}
    assert names == {r["patient_id"] for r in pseudo["visits_wide"].rows}
    assert names.isdisjoint({"NMC-001", "NMC-002", "IBM-7"})
    by_plain = plain["visits_wide"].rows
    by_pseudo = pseudo["visits_wide"].rows
    shifts: dict[str, set[int]] = {}
    for a, b in zip(by_plain, by_pseudo, strict=True):
        assert a["days_from_first_visit"] == b["days_from_first_visit"]
        shifts.setdefault(b["patient_id"], set()).add((b["visit_date"] - a["visit_date"]).days)
    assert all(len(s) == 1 and 0 not in s for s in shifts.values())
    courses = zip(plain["courses"].rows, pseudo["courses"].rows, strict=True)
    for a, b in courses:
        if a["start_date"] is not None:
            assert (b["start_date"] - a["start_date"]).days in shifts[b["patient_id"]]
    again = {t.name: t for t in _tables(store, pseudonymise=True, seed=3)}
    assert again["visits_wide"].rows == by_pseudo


def test_cli_export_analysis(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MYOIVIG_DATABASE_URL", f"sqlite:///{tmp_path / 'a.db'}")
    source = Store.default()
    source.upgrade()
    dossiers.load(source)
    runner = CliRunner()
    args = ["export", "analysis", "--format", "parquet", "--out", str(tmp_path / "an")]
    assert runner.invoke(app, [*args, "--pseudonymise"]).exit_code == 0
    assert runner.invoke(app, args).exit_code == 2  # not empty
    assert runner.invoke(app, [*args, "--force", "--json"]).exit_code == 0
