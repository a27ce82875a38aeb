"""REDCap: the dictionary passes REDCap's column rules; round trip; bad input lists every cell."""

from __future__ import annotations

import csv
from pathlib import Path

import exchange_dossiers as dossiers
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from myoivig.cli import app
from myoivig.domain.values import NP
from myoivig.exchange import service
from myoivig.exchange.csvfiles import read_csv
from myoivig.exchange.output import OutputExistsError
from myoivig.exchange.redcap.dictionary import (
    COLUMNS,
    VALIDATION_TYPES,
    check_dictionary,
    dictionary_rows,
)
from myoivig.exchange.redcap.fields import FIELDS, RECORD_ID
from myoivig.io.problems import ImportRejectedError, Problem
from myoivig.store import Store
from myoivig.store.tables import PatientRow


def _patients(store: Store) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.count()).select_from(PatientRow)) or 0)


def test_written_dictionary_passes_the_column_rules(tmp_path: Path) -> None:
    rows = dictionary_rows()
    assert len(COLUMNS) == 18 and COLUMNS[0] == "Variable / Field Name"
    assert check_dictionary(list(COLUMNS), rows) == []
    assert rows[0][COLUMNS[0]] == RECORD_ID
    for f in FIELDS:
        assert f.name == f.name.lower() and f.name[0].isalpha() and len(f.name) <= 100
        assert f.validation in VALIDATION_TYPES | {""}
        if f.field_type in {"dropdown", "radio"}:
            assert " | " in f.choice_text() or len(f.choices) == 1
    # the file on disk, read back, passes too
    path = tmp_path / "dd.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
    header, read = read_csv(path)
    assert check_dictionary(header, read) == []


def test_checker_catches_each_rule() -> None:
    good = dictionary_rows()[:3]
    bad = [dict(row) for row in good]
    bad[1]["Variable / Field Name"] = "Site_Code"
    bad[2]["Text Validation Type OR Show Slider Number"] = "decimal"
    bad[2]["Field Type"] = "text"
    extra = dict(good[0], **{"Variable / Field Name": "x" * 101})
    choice = dict(
        good[0],
        **{
            "Variable / Field Name": "sexx",
            "Field Type": "radio",
            "Choices, Calculations, OR Slider Labels": "1 Female | 2, Male",
        },
    )
    branch = dict(
        good[0],
        **{
            "Variable / Field Name": "b1",
            "Branching Logic (Show field only if...)": "[nosuch] = '1'",
        },
    )
    flag = dict(good[0], **{"Variable / Field Name": "c1", "Required Field?": "yes"})
    problems = check_dictionary(list(COLUMNS), [*bad, extra, choice, branch, flag])
    reasons = {(p.column, p.row) for p in problems}
    assert ("Variable / Field Name", 3) in reasons
    assert ("Text Validation Type OR Show Slider Number", 4) in reasons
    assert ("Variable / Field Name", 5) in reasons
    assert ("Choices, Calculations, OR Slider Labels", 6) in reasons
    assert ("Branching Logic (Show field only if...)", 7) in reasons
    assert ("Required Field?", 8) in reasons
    assert check_dictionary(list(COLUMNS[:17]), good)[0].row == 1


def test_round_trip_keeps_every_mapped_value(
    store: Store, other_store: Store, tmp_path: Path
) -> None:
    dossiers.load(store)
    out = tmp_path / "redcap"
    result = service.export_redcap(store, out)
    assert set(result["files"]) == {
        "data_dictionary.csv",
        "records.csv",
        "events.csv",
        "arms.csv",
        "instrument_event_mapping.csv",
        "repeating_instruments.csv",
    }
    counts = service.import_redcap(
        other_store, out / "data_dictionary.csv", out / "records.csv", "t"
    )
    assert counts["patients"] == 3 and counts["assessments"] == 8
    before = [dossiers.canonical(d) for d in service.load(store)[1]]
    after = [dossiers.canonical(d) for d in service.load(other_store)[1]]
    assert sorted(before, key=str) == sorted(after, key=str)
    assert service.load(other_store)[0] == service.load(store)[0]
    days = next(d for d in service.load(other_store)[1] if d.patient.code == "NMC-001")
    assert [(d.lot_number, d.dose_g, len(d.rate_steps)) for d in days.infusion_days] == [
        ("P100A-23", 32.5, 2),
        ("P100B-23", 30.0, 2),
    ]
    assert days.infusion_days[0].reactions[0].ctcae_grade == 2


def test_records_file_has_longitudinal_rows(store: Store, tmp_path: Path) -> None:
    dossiers.load(store)
    service.export_redcap(store, tmp_path / "rc")
    _, rows = read_csv(tmp_path / "rc" / "records.csv")
    first = [r for r in rows if r["record_id"] == "NMC-001"]
    days = [r for r in first if r["redcap_repeat_instrument"] == "infusion_day"]
    assert len(days) == 6 and [d["inf_day"] for d in days[:2]] == ["1", "2"]
    visits = [r for r in first if r["redcap_event_name"] == "visit_arm_1"]
    assert [v["redcap_repeat_instance"] for v in visits] == ["1", "2", "3", "4", "5"]
    assert visits[0]["enz_ldh"] == "NP" and visits[0]["fn_rise_from_squat"] == "9"
    events = [r for r in rows if r["redcap_repeat_instrument"] == "adverse_event"]
    # WHO-UMC relation to IVIg: 2 probable, 3 possible, 4 unlikely, blank when not assessed
    assert [(e["ae_term"], e["ae_relation_to_ivig"]) for e in events] == [
        ("Headache", "2"),
        ("Aseptic meningitis", "3"),
        ("Rash", "4"),
        ("Fatigue", ""),
    ]
    _, dictionary = read_csv(tmp_path / "rc" / "data_dictionary.csv")
    relation = next(d for d in dictionary if d[COLUMNS[0]] == "ae_relation_to_ivig")
    assert relation["Form Name"] == "adverse_event" and relation["Field Type"] == "dropdown"
    assert relation["Choices, Calculations, OR Slider Labels"] == (
        "1, Certain | 2, Probable | 3, Possible | 4, Unlikely | 5, Conditional | 6, Unassessable"
    )
    _, mapping = read_csv(tmp_path / "rc" / "instrument_event_mapping.csv")
    assert {"arm_num": "1", "unique_event_name": "visit_arm_1", "form": "strength"} in mapping
    _, repeating = read_csv(tmp_path / "rc" / "repeating_instruments.csv")
    assert {"event_name": "visit_arm_1", "form_name": "", "custom_form_label": ""} in repeating


def _edit(path: Path, edits: list[tuple[int, str, str]], extra_column: str | None = None) -> None:
    header, rows = read_csv(path)
    for index, column, value in edits:
        rows[index][column] = value
    if extra_column:
        header.append(extra_column)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)


def test_bad_records_list_every_problem_and_write_nothing(
    store: Store, other_store: Store, tmp_path: Path
) -> None:
    dossiers.load(store)
    out = tmp_path / "rc"
    service.export_redcap(store, out)
    _, rows = read_csv(out / "records.csv")
    index = {
        (r["record_id"], r["redcap_repeat_instrument"], r["redcap_event_name"]): i
        for i, r in enumerate(rows)
    }
    patient = index[("NMC-001", "", "enrolment_arm_1")]
    day = index[("NMC-001", "infusion_day", "treatment_arm_1")]
    visit = index[("NMC-002", "", "visit_arm_1")]
    _edit(
        out / "records.csv",
        [
            (patient, "diagnosis", "17"),  # unknown choice code
            (patient, "height_cm", "1635"),  # out of range
            (day, "inf_course_number", "9"),  # broken reference to a course
            (visit, "mrc_hip_flexors_left", "11"),  # Kendall grade above 10
            (visit, "redcap_event_name", "week_2_arm_1"),  # unknown event
        ],
        extra_column="favourite_colour",
    )
    with pytest.raises(ImportRejectedError) as info:
        service.import_redcap(other_store, out / "data_dictionary.csv", out / "records.csv", "t")
    found = {(p.column, p.value) for p in info.value.problems}
    assert ("favourite_colour", None) in found  # unknown field, reported before the rows
    _edit(out / "records.csv", [])  # header only problem removed below
    header, rows = read_csv(out / "records.csv")
    header.remove("favourite_colour")
    with (out / "records.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(ImportRejectedError) as info:
        service.import_redcap(other_store, out / "data_dictionary.csv", out / "records.csv", "t")
    problems: list[Problem] = info.value.problems
    found = {(p.column, p.value) for p in problems}
    for expected in [
        ("diagnosis", "17"),
        ("height_cm", "1635"),
        ("inf_course_number", "9"),
        ("redcap_event_name", "week_2_arm_1"),
    ]:
        assert expected in found, problems
    assert all(p.row and p.row > 1 and p.reason for p in problems)
    assert any("NMC-001" in p.reason for p in problems)
    assert _patients(other_store) == 0


def test_grade_out_of_range_names_the_cell(
    store: Store, other_store: Store, tmp_path: Path
) -> None:
    dossiers.load(store)
    out = tmp_path / "rc"
    service.export_redcap(store, out)
    _, rows = read_csv(out / "records.csv")
    visit = next(i for i, r in enumerate(rows) if r["redcap_event_name"] == "visit_arm_1")
    _edit(out / "records.csv", [(visit, "mrc_hip_flexors_left", "11")])
    with pytest.raises(ImportRejectedError) as info:
        service.import_redcap(other_store, out / "data_dictionary.csv", out / "records.csv", "t")
    [problem] = info.value.problems
    assert (problem.row, problem.column, problem.value) == (visit + 2, "mrc_hip_flexors_left", "11")


def test_unknown_dictionary_field_is_rejected(store: Store, tmp_path: Path) -> None:
    dossiers.load(store)
    out = tmp_path / "rc"
    service.export_redcap(store, out)
    header, rows = read_csv(out / "data_dictionary.csv")
    rows.append(dict(rows[1], **{"Variable / Field Name": "shoe_size"}))
    rows[7]["Choices, Calculations, OR Slider Labels"] = "1, Dermatomyositis | 2, Polymyositis"
    with (out / "data_dictionary.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(ImportRejectedError) as info:
        service.read_redcap(out / "data_dictionary.csv", out / "records.csv")
    columns = {(p.table, p.column, p.value) for p in info.value.problems}
    assert ("data_dictionary.csv", "Variable / Field Name", "shoe_size") in columns
    assert any(p.column.startswith("Choices") and p.row == 9 for p in info.value.problems)


def test_export_refuses_a_non_empty_folder_unless_forced(store: Store, tmp_path: Path) -> None:
    dossiers.load(store)
    out = tmp_path / "rc"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    with pytest.raises(OutputExistsError):
        service.export_redcap(store, out)
    assert sorted(p.name for p in out.iterdir()) == ["mine.txt"]
    service.export_redcap(store, out, force=True)
    assert (out / "mine.txt").read_text() == "keep me" and (out / "records.csv").exists()


def test_cli_export_and_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MYOIVIG_DATABASE_URL", f"sqlite:///{tmp_path / 'a.db'}")
    source = Store.default()
    source.upgrade()
    dossiers.load(source)
    runner = CliRunner()
    result = runner.invoke(app, ["export", "redcap", "--out", str(tmp_path / "rc"), "--json"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["export", "redcap", "--out", str(tmp_path / "rc")]).exit_code == 2
    monkeypatch.setenv("MYOIVIG_DATABASE_URL", f"sqlite:///{tmp_path / 'b.db'}")
    args = [
        "import",
        "redcap",
        "--dictionary",
        str(tmp_path / "rc" / "data_dictionary.csv"),
        "--records",
        str(tmp_path / "rc" / "records.csv"),
    ]
    assert runner.invoke(app, args).exit_code == 0
    again = runner.invoke(app, [*args, "--json"])
    assert again.exit_code == 1 and '"duplicated code' in again.output


def test_every_redcap_field_family_is_documented() -> None:
    text = (Path(__file__).parents[2] / "docs" / "exchange.md").read_text(encoding="utf-8")
    for f in FIELDS:
        family = f"`{f.name}`" if f.form == "patient" else f"`{f.name.split('_')[0]}_"
        assert family in text, f.name


FIXTURES = Path(__file__).parent / "fixtures"


def test_fixture_export_imports_with_its_values(store: Store) -> None:
    """A REDCap raw export (with the data access group column REDCap adds) and its dictionary."""
    counts = service.import_redcap(
        store, FIXTURES / "redcap_data_dictionary.csv", FIXTURES / "redcap_records.csv", "t"
    )
    assert counts["patients"] == 1 and counts["courses"] == 1 and counts["assessments"] == 2
    [d] = service.load(store)[1]
    assert (d.patient.sex.value, d.patient.diagnosis.value) == ("M", "overlap_myositis")
    assert d.patient.overlap_disease is not None
    assert d.patient.overlap_disease.value == "systemic_sclerosis"
    assert d.patient.disease_duration_years == 3.5
    [course] = d.courses
    assert (course.days, course.start_date, course.planned_daily_dose_g) == (5, None, 16)
    assert all(lab.not_performed for lab in d.labs)
    assert d.assessments[0].enzymes[2].value_u_per_l is NP


def test_dictionary_has_recorded_day_fields_and_flags_given_by_as_identifier() -> None:
    rows = {row[COLUMNS[0]]: row for row in dictionary_rows()}
    assert rows["inf_given_by"]["Identifier?"] == "y"
    assert rows["inf_rate_steps"]["Field Type"] == "notes"
    assert rows["inf_lot"]["Form Name"] == "infusion_day"


def test_bad_recorded_days_list_every_problem_and_write_nothing(
    store: Store, other_store: Store, tmp_path: Path
) -> None:
    dossiers.load(store)
    out = tmp_path / "rc"
    service.export_redcap(store, out)
    _, rows = read_csv(out / "records.csv")
    day1, day2, day3 = [
        i
        for i, r in enumerate(rows)
        if r["record_id"] == "NMC-001" and r["redcap_repeat_instrument"] == "infusion_day"
    ][:3]
    _edit(
        out / "records.csv",
        [
            (day1, "inf_rate_steps", '[{"rate": 0.01, "minutes": 30'),  # broken JSON
            (day1, "inf_reactions", '[{"type": "rash", "ctcae_grade": 7}]'),  # grade 1-5
            (day2, "inf_lot", ""),  # recorded day (it has rate steps) without its lot
            (day2, "inf_dose_g", "25"),  # a recorded day's own dose: not refused
            (day3, "inf_product", "privigen"),  # recorded field on a day with no lot
            (day3, "inf_total_min", "abc"),
        ],
    )
    with pytest.raises(ImportRejectedError) as info:
        service.import_redcap(other_store, out / "data_dictionary.csv", out / "records.csv", "t")
    problems: list[Problem] = info.value.problems
    found = {(p.row, p.column, p.value) for p in problems}
    assert (day1 + 2, "inf_rate_steps", '[{"rate": 0.01, "minutes": 30') in found, problems
    assert (day1 + 2, "inf_reactions", '[{"type": "rash", "ctcae_grade": 7}]') in found
    assert (day2 + 2, "inf_lot", "") in found
    assert (day3 + 2, "inf_lot", "") in found and (day3 + 2, "inf_total_min", "abc") in found
    assert not any(p.column == "inf_dose_g" for p in problems)
    assert any("item 1" in p.reason for p in problems if p.column == "inf_reactions")
    assert all("NMC-001" in p.reason for p in problems)
    assert _patients(other_store) == 0


def test_recorded_rate_above_the_cap_is_refused(
    store: Store, other_store: Store, tmp_path: Path
) -> None:
    """The clinic's rule: no step above the applicable maximum (dermatomyositis cap 0.04)."""
    dossiers.load(store)
    out = tmp_path / "rc"
    service.export_redcap(store, out)
    _, rows = read_csv(out / "records.csv")
    day = next(i for i, r in enumerate(rows) if r["inf_lot"] == "P100A-23")
    _edit(out / "records.csv", [(day, "inf_rate_steps", '[{"rate": 0.08, "minutes": 30}]')])
    with pytest.raises(ImportRejectedError) as info:
        service.import_redcap(other_store, out / "data_dictionary.csv", out / "records.csv", "t")
    [problem] = info.value.problems
    assert (problem.column, problem.value) == ("inf_rate_steps", "0.08")
    assert "NMC-001, course 1 day 1" in problem.reason and "above the maximum" in problem.reason
    assert _patients(other_store) == 0
