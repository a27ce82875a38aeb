"""FHIR: creatinine as LOINC 2160-0 (mg/dL) with the conversion both ways, 14682-9 still read;
an adverse event's relation to IVIg as suspectEntity.causality, in both spellings of the codes."""

from __future__ import annotations

import copy
import json
from typing import Any

import exchange_dossiers as dossiers
import pytest

from myoivig.exchange import service
from myoivig.exchange.fhir.codes import CAUSALITY, LOINC, UCUM
from myoivig.exchange.fhir.read import read_bundle_text
from myoivig.exchange.fhir.units import (
    CREATININE_UMOL_PER_L_PER_MG_PER_DL,
    creatinine_mg_per_dl,
    creatinine_umol_per_l,
)
from myoivig.store import Store


def test_factor_is_the_molar_mass_one() -> None:
    # 10 mg/L / 113.12 mg/mmol (creatinine, C4H7N3O) = 0.0884 mmol/L
    assert pytest.approx(10_000 / 113.12, abs=0.01) == CREATININE_UMOL_PER_L_PER_MG_PER_DL
    assert creatinine_umol_per_l(1.0) == 88.4
    assert creatinine_mg_per_dl(88.4) == 1.0


def test_every_stored_value_comes_back_exactly() -> None:
    """Whole and 0.1 µmol/L steps over the model's range (5-3000), and 6-decimal values."""
    values = [tenths / 10 for tenths in range(50, 30_001)]
    values += [5.123456, 71.000001, 2999.999999, 123.456789]
    changed = [v for v in values if creatinine_umol_per_l(creatinine_mg_per_dl(v)) != v]
    assert changed == []


def _bundle(store: Store) -> dict[str, Any]:
    dossiers.load(store)
    return service.fhir_bundle(store)


def _resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def _creatinine(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        o
        for o in _resources(bundle, "Observation")
        if any(c["code"] == "2160-0" for c in o["code"]["coding"])
    ]


def _read(bundle: dict[str, Any]) -> tuple[Any, list[Any]]:
    return read_bundle_text(json.dumps(bundle), "bundle.json")


def _labs(read: Any, code: str = "NMC-001") -> list[float]:
    dossier = next(d for d in read.dossiers if d.patient.code == code)
    return sorted(lab.value for lab in dossier.labs if lab.test.value == "creatinine")


def test_import_reads_mg_per_dl_and_umol_per_l(store: Store) -> None:
    bundle = _bundle(store)
    read, problems = _read(bundle)
    assert problems == [] and _labs(read) == [71.0, 83.5]
    # Another system's creatinine: 1.2 mg/dL (2160-0) and 97 µmol/L (14682-9)
    other = copy.deepcopy(bundle)
    first, second = _creatinine(other)
    first["valueQuantity"] = {"value": 1.2, "unit": "mg/dL", "system": UCUM, "code": "mg/dL"}
    second["code"] = {"coding": [{"system": LOINC, "code": "14682-9"}]}
    second["valueQuantity"] = {"value": 97, "unit": "µmol/L", "system": UCUM, "code": "umol/L"}
    read, problems = _read(other)
    assert problems == []
    assert _labs(read) == [97.0, 106.08]  # 1.2 x 88.4 = 106.08


def test_wrong_creatinine_units_are_refused(store: Store) -> None:
    bundle = _bundle(store)
    first, second = _creatinine(bundle)
    first["valueQuantity"]["code"] = "umol/L"  # 2160-0 is a mass concentration
    second["code"] = {"coding": [{"system": LOINC, "code": "14682-9"}]}  # still in mg/dL
    _, problems = _read(bundle)
    found = {(p.column, p.value, p.reason) for p in problems}
    assert ("valueQuantity.code", "umol/L", "wrong unit: expected UCUM mg/dL") in found
    assert ("valueQuantity.code", "mg/dL", "wrong unit: expected UCUM umol/L") in found
    assert {p.table.split(" ")[0] for p in problems} == {"Observation"}


def _event(bundle: dict[str, Any], term: str) -> dict[str, Any]:
    return next(e for e in _resources(bundle, "AdverseEvent") if e["event"]["text"] == term)


def _relations(read: Any) -> dict[str, str | None]:
    return {
        e.term: e.relation_to_ivig.value if e.relation_to_ivig else None
        for d in read.dossiers
        for e in d.adverse_events
    }


def test_relation_is_read_in_both_spellings(store: Store) -> None:
    bundle = _bundle(store)
    read, problems = _read(bundle)
    assert problems == []
    assert _relations(read) == {
        "Headache": "probable",
        "Aseptic meningitis": "possible",
        "Rash": "unlikely",
        "Fatigue": None,
    }
    coding = _event(bundle, "Headache")["suspectEntity"][0]["causality"][0]["assessment"]
    coding["coding"][0]["code"] = "Certain"  # FHIR R4 4.0.1's spelling
    read, problems = _read(bundle)
    assert problems == [] and _relations(read)["Headache"] == "certain"


def test_bad_causality_and_suspects_are_refused(store: Store) -> None:
    bundle = _bundle(store)
    headache = _event(bundle, "Headache")
    headache["suspectEntity"][0]["causality"][0]["assessment"]["coding"][0]["code"] = "maybe"
    rash = _event(bundle, "Rash")
    rash["contained"][0]["code"]["coding"][0]["code"] = "J06BA01"  # not IVIg
    meningitis = _event(bundle, "Aseptic meningitis")
    meningitis["suspectEntity"][0]["instance"]["reference"] = "#nothing"
    _, problems = _read(bundle)
    found = {(p.column, p.value) for p in problems}
    assert ("suspectEntity.0.instance.reference", "#nothing") in found  # broken reference
    # with the broken reference fixed, the code problems are listed together
    meningitis["suspectEntity"][0]["instance"]["reference"] = _event(bundle, "Headache")[
        "suspectEntity"
    ][0]["instance"]["reference"]
    _, problems = _read(bundle)
    reasons = {(p.column, p.value): p.reason for p in problems}
    assert reasons[("suspectEntity.causality.assessment", "maybe")].startswith(
        "unknown causality code"
    )
    assert "Medication coded J06BA02" in reasons[("suspectEntity.instance.reference", "#ivig")]
    assert CAUSALITY.startswith("http://terminology.hl7.org/")
