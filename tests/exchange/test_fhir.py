"""FHIR R4: a valid Bundle with the required codes; round trip; bad input lists every problem."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import exchange_dossiers as dossiers
import pytest
from fhir.resources.R4B.bundle import Bundle as FhirBundle
from sqlalchemy import func, select
from typer.testing import CliRunner

from myoivig.cli import app
from myoivig.exchange import service
from myoivig.exchange.fhir.codes import ATC, CAUSALITY, ICD10, LOINC, SNOMED, UCUM
from myoivig.exchange.fhir.read import read_bundle_text
from myoivig.io.problems import ImportRejectedError
from myoivig.store import Store
from myoivig.store.tables import PatientRow


def _entries(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def _codes(resource: dict[str, Any]) -> set[tuple[str, str]]:
    return {(c["system"], c["code"]) for c in resource["code"]["coding"]}


def test_bundle_is_valid_r4_and_carries_the_codes(store: Store) -> None:
    dossiers.load(store)
    bundle = service.fhir_bundle(store)
    FhirBundle.model_validate(bundle)
    conditions = _entries(bundle, "Condition")
    dm = next(c for c in conditions if (ICD10, "M33.1") in _codes(c))
    assert (SNOMED, "396230008") in _codes(dm)
    assert any((ICD10, "M34.9") in _codes(c) for c in conditions)  # overlap: systemic sclerosis
    administrations = _entries(bundle, "MedicationAdministration")
    assert len(administrations) == 3 * 2 + 5  # one per infusion day
    assert all(
        (ma.get("medicationCodeableConcept") or ma["contained"][0]["code"])["coding"][0]
        == {
            "system": ATC,
            "code": "J06BA02",
            "display": "immunoglobulins, normal human, for intravascular adm.",
        }
        for ma in administrations
    )
    derived = next(ma for ma in administrations if ma.get("effectiveDateTime") == "2023-04-07")
    assert derived["dosage"]["dose"]["value"] == 32.5 and derived["dosage"]["dose"]["code"] == "g"
    assert derived["dosage"]["rateQuantity"]["value"] == 0.08
    # a recorded day: its own date, dose, lot, steps (maximum as the rate), reaction, nurse
    first = next(ma for ma in administrations if ma.get("effectiveDateTime") == "2023-03-10")
    assert first["medicationReference"] == {"reference": "#given"}
    assert first["contained"][0]["batch"] == {"lotNumber": "P100A-23"}
    assert first["contained"][0]["code"]["text"] == "privigen"
    assert first["dosage"]["rateQuantity"]["value"] == 0.04
    steps = [e for e in first["extension"] if e["url"].endswith(":rate-step")]
    assert [[p["valueQuantity"]["value"] for p in s["extension"]] for s in steps] == [
        [0.01, 30],
        [0.04, 95],
    ]
    assert first["performer"] == [{"actor": {"display": "RN Ada Example"}}]
    second = next(ma for ma in administrations if ma.get("effectiveDateTime") == "2023-03-11")
    assert second["dosage"]["dose"]["value"] == 30 and second["dosage"]["rateQuantity"] == {
        "value": 150.0,
        "unit": "mL/h",
        "system": UCUM,
        "code": "mL/h",
    }
    loinc = {c for o in _entries(bundle, "Observation") for s, c in _codes(o) if s == LOINC}
    assert {"2157-6", "1761-6", "2458-8", "2160-0", "29463-7", "8302-2"} <= loinc
    assert "14682-9" not in loinc
    creatinine = [
        o["valueQuantity"]
        for o in _entries(bundle, "Observation")
        if (LOINC, "2160-0") in _codes(o)
    ]
    # 71 and 83.5 umol/L at 88.4 umol/L per mg/dL (KDIGO 2012)
    assert sorted(q["value"] for q in creatinine) == [0.803167421, 0.944570136]
    assert {(q["system"], q["code"]) for q in creatinine} == {(UCUM, "mg/dL")}
    events = _entries(bundle, "AdverseEvent")
    assert len(events) == 4
    headache = next(e for e in events if e["event"]["text"] == "Headache")
    (suspect,) = headache["suspectEntity"]
    assert suspect["instance"]["reference"].startswith("urn:uuid:")
    assert suspect["causality"][0]["assessment"]["coding"][0] == {
        "system": CAUSALITY,
        "code": "probably-likely",
        "display": "Probably/Likely",
    }
    rash = next(e for e in events if e["event"]["text"] == "Rash")  # no course: contained IVIg
    assert rash["suspectEntity"][0]["instance"] == {"reference": "#ivig"}
    assert rash["contained"][0]["code"]["coding"][0]["code"] == "J06BA02"
    assert rash["suspectEntity"][0]["causality"][0]["assessment"]["coding"][0]["code"] == "unlikely"
    fatigue = next(e for e in events if e["event"]["text"] == "Fatigue")  # not assessed
    assert "suspectEntity" not in fatigue and "contained" not in fatigue
    assert len(_entries(bundle, "Encounter")) == 8


def test_round_trip_keeps_every_mapped_value(
    store: Store, other_store: Store, tmp_path: Path
) -> None:
    dossiers.load(store)
    out = tmp_path / "bundle.json"
    service.export_fhir(store, out)
    counts = service.import_fhir(other_store, out, "tester")
    assert counts["patients"] == 3 and counts["courses"] == 4
    before = sorted((dossiers.canonical(d) for d in service.load(store)[1]), key=str)
    after = sorted((dossiers.canonical(d) for d in service.load(other_store)[1]), key=str)
    assert before == after
    assert service.load(other_store)[0] == service.load(store)[0]
    dm = next(d for d in service.load(other_store)[1] if d.patient.code == "NMC-001")
    assert [(d.lot_number, d.dose_g, len(d.rate_steps)) for d in dm.infusion_days] == [
        ("P100A-23", 32.5, 2),
        ("P100B-23", 30.0, 2),
    ]
    assert dm.infusion_days[0].reactions[0].type == "headache"


def test_one_patient_bundle(store: Store, tmp_path: Path) -> None:
    dossiers.load(store)
    service.export_fhir(store, tmp_path / "one.json", patient="IBM-7")
    bundle = json.loads((tmp_path / "one.json").read_text())
    assert len(_entries(bundle, "Patient")) == 1 and not _entries(bundle, "Organization")


def _broken(bundle: dict[str, Any]) -> dict[str, Any]:
    bad = copy.deepcopy(bundle)
    resources = [e["resource"] for e in bad["entry"]]
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    patient["favouriteColour"] = "blue"  # unknown element
    ck = next(
        r
        for r in resources
        if r["resourceType"] == "Observation" and r["code"]["coding"][0]["code"] == "2157-6"
    )
    ck["code"]["coding"][0]["code"] = "9999-9"  # wrong code
    ma = next(r for r in resources if r["resourceType"] == "MedicationAdministration")
    ma["subject"]["reference"] = "urn:uuid:00000000-0000-0000-0000-000000000000"  # broken
    lab = next(
        r
        for r in resources
        if r["resourceType"] == "Observation"
        and r["code"]["coding"][0]["code"] == "2458-8"
        and "valueQuantity" in r
    )
    lab["valueQuantity"]["code"] = "mg/dL"  # wrong unit for IgA
    return bad


def test_bad_bundle_lists_every_problem_and_writes_nothing(
    store: Store, other_store: Store
) -> None:
    dossiers.load(store)
    bad = _broken(service.fhir_bundle(store))
    _, structure = read_bundle_text(json.dumps(bad), "bad.json")
    fields = {(p.column, p.value) for p in structure}
    assert ("favouriteColour", "blue") in fields
    assert ("subject.reference", "urn:uuid:00000000-0000-0000-0000-000000000000") in fields
    assert all(p.table and p.row and p.reason for p in structure)
    # with the structure fixed, the code and unit problems are listed together
    patient = next(e for e in bad["entry"] if e["resource"]["resourceType"] == "Patient")
    del patient["resource"]["favouriteColour"]
    for e in bad["entry"]:
        if e["resource"]["resourceType"] == "MedicationAdministration":
            e["resource"]["subject"] = {"reference": patient["fullUrl"]}
    _, semantic = read_bundle_text(json.dumps(bad), "bad.json")
    reasons = " | ".join(p.reason for p in semantic)
    assert "unknown observation code" in reasons and "must be reported in g/L" in reasons
    with pytest.raises(ImportRejectedError):
        service.read_fhir(Path("/nonexistent/bundle.json"))
    path = Path(other_store.engine.url.database or "x").with_suffix(".json")
    if other_store.engine.dialect.name == "sqlite":
        path.write_text(json.dumps(_broken(service.fhir_bundle(store))))
        with pytest.raises(ImportRejectedError):
            service.import_fhir(other_store, path, "tester")
    with other_store.session() as s:
        assert int(s.scalar(select(func.count()).select_from(PatientRow)) or 0) == 0


def test_not_a_bundle_and_not_json() -> None:
    _, problems = read_bundle_text("{", "x.json")
    assert problems and "not JSON" in problems[0].reason
    _, problems = read_bundle_text('{"resourceType": "Patient"}', "x.json")
    assert problems[0].column == "resourceType"


def test_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MYOIVIG_DATABASE_URL", f"sqlite:///{tmp_path / 'a.db'}")
    source = Store.default()
    source.upgrade()
    dossiers.load(source)
    runner = CliRunner()
    out = tmp_path / "b.json"
    assert runner.invoke(app, ["export", "fhir", "--out", str(out)]).exit_code == 0
    assert runner.invoke(app, ["export", "fhir", "--out", str(out)]).exit_code == 2
    missing = runner.invoke(
        app, ["export", "fhir", "--out", str(tmp_path / "c"), "--patient", "NO"]
    )
    assert missing.exit_code == 2
    monkeypatch.setenv("MYOIVIG_DATABASE_URL", f"sqlite:///{tmp_path / 'b.db'}")
    assert runner.invoke(app, ["import", "fhir", str(out)]).exit_code == 0
    assert runner.invoke(app, ["import", "fhir", str(out), "--json"]).exit_code == 1


def test_fixture_bundle_imports_with_its_values(store: Store) -> None:
    """A stored Bundle: a course without a start date carries a data-absent effective period."""
    path = Path(__file__).parent / "fixtures" / "fhir_bundle_overlap.json"
    bundle = json.loads(path.read_text())
    absent = [ma["effectivePeriod"] for ma in _entries(bundle, "MedicationAdministration")]
    assert len(absent) == 5 and all("extension" in period for period in absent)
    counts = service.import_fhir(store, path, "tester")
    assert counts == {
        "sites": 1,
        "patients": 1,
        "courses": 1,
        "assessments": 2,
        "labs": 2,
        "adverse_events": 1,
    }
    [d] = service.load(store)[1]
    assert d.patient.overlap_disease is not None and d.courses[0].weight_kg == 81


def test_written_file_has_ordinary_permissions(store: Store, tmp_path: Path) -> None:
    dossiers.load(store)
    out = tmp_path / "b.json"
    service.export_fhir(store, out)
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask  # not the private mode of a temp file
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left


def test_bad_recorded_days_list_every_problem_and_write_nothing(
    store: Store, other_store: Store, tmp_path: Path
) -> None:
    dossiers.load(store)
    bundle = service.fhir_bundle(store)
    day1, day2 = (
        ma for ma in _entries(bundle, "MedicationAdministration") if "medicationReference" in ma
    )
    del day1["contained"][0]["batch"]  # a recorded day without its lot
    step = next(e for e in day1["extension"] if e["url"].endswith(":rate-step"))
    step["extension"][0]["valueQuantity"]["code"] = "mg/h"  # not a rate unit
    step["extension"].append({"url": "speed", "valueString": "fast"})  # unknown part
    reaction = next(e for e in day1["extension"] if e["url"].endswith(":infusion-reaction"))
    reaction["extension"][1]["valueInteger"] = 9  # CTCAE grades are 1-5
    later = next(e for e in day2["extension"] if e["url"].endswith(":rate-step"))
    later["extension"].pop()  # a step without its minutes
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bundle))
    with pytest.raises(ImportRejectedError) as info:
        service.import_fhir(other_store, path, "tester")
    problems = info.value.problems
    found = {(p.table, p.column, p.value) for p in problems}
    where1 = next(p.table for p in problems if p.column == "extension(rate-step)[1].rate.code")
    assert where1.startswith("MedicationAdministration (entry ")
    assert (where1, "extension(rate-step)[1].rate.code", "mg/h") in found, problems
    assert (where1, "extension(rate-step)[1].url", "speed") in found
    assert (where1, "contained(Medication).batch.lotNumber", None) in found
    assert any("item 1 ctcae_grade" in p.reason for p in problems if p.table == where1)
    assert any(
        p.column == "extension(rate-step)" and "item 1 minutes" in p.reason
        for p in problems
        if p.table != where1
    ), problems
    with other_store.session() as s:
        assert int(s.scalar(select(func.count()).select_from(PatientRow)) or 0) == 0
    # the lot alone missing is named too
    bundle = service.fhir_bundle(store)
    first = next(
        ma for ma in _entries(bundle, "MedicationAdministration") if "medicationReference" in ma
    )
    del first["contained"][0]["batch"]
    _, problems = read_bundle_text(json.dumps(bundle), "bad.json")
    assert [(p.column, p.reason) for p in problems] == [
        ("contained(Medication).batch.lotNumber", "required for a recorded infusion day")
    ]


def test_recorded_rate_above_the_cap_is_refused(
    store: Store, other_store: Store, tmp_path: Path
) -> None:
    """The clinic's rule: no step above the applicable maximum (dermatomyositis cap 0.04)."""
    dossiers.load(store)
    bundle = service.fhir_bundle(store)
    first = next(
        ma for ma in _entries(bundle, "MedicationAdministration") if "medicationReference" in ma
    )
    step = next(e for e in first["extension"] if e["url"].endswith(":rate-step"))
    step["extension"][0]["valueQuantity"]["value"] = 0.08
    path = tmp_path / "fast.json"
    path.write_text(json.dumps(bundle))
    with pytest.raises(ImportRejectedError) as info:
        service.import_fhir(other_store, path, "tester")
    [problem] = info.value.problems
    assert (problem.table, problem.column, problem.value) == (
        "fast.json",
        "extension(rate-step)",
        "0.08",
    )
    assert "NMC-001, course 1 day 1" in problem.reason and "above the maximum" in problem.reason
    with other_store.session() as s:
        assert int(s.scalar(select(func.count()).select_from(PatientRow)) or 0) == 0
