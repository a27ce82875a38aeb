"""Code systems and codes of the FHIR mapping, loaded from codes.yaml (each code cites its source).

Values the standard terminologies do not cover (phases, core-set measures, muscle sites,
functional tasks, drugs) use myoivig's own code systems, named by URNs so that they can never
be mistaken for a published terminology.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml

ICD10 = "http://hl7.org/fhir/sid/icd-10"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
ATC = "http://www.whocc.no/atc"
UCUM = "http://unitsofmeasure.org"
DATA_ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
SERIOUSNESS = "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness"
AE_OUTCOME = "http://terminology.hl7.org/CodeSystem/adverse-event-outcome"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
PATIENT_SYSTEM = "urn:myoivig:patient-code"
SITE_SYSTEM = "urn:myoivig:site-code"


def local(name: str) -> str:
    """A myoivig code system (diagnosis, phase, core-set, muscle-site, ...)."""
    return f"urn:myoivig:fhir:CodeSystem:{name}"


def ext(name: str) -> str:
    """A myoivig extension URL."""
    return f"urn:myoivig:fhir:StructureDefinition:{name}"


# UCUM codes of the units myoivig stores (UCUM specification, https://ucum.org/ucum).
UCUM_CODES = {
    "g/L": "g/L",
    "umol/L": "umol/L",
    "mg/dL": "mg/dL",
    "mL/min/1.73m2": "mL/min/{1.73_m2}",
    "U/L": "U/L",
    "kg": "kg",
    "cm": "cm",
    "g": "g",
    "mL/kg/min": "mL/kg/min",
    "mL/h": "mL/h",
    "mL": "mL",
    "min": "min",
    "N": "N",
    "s": "s",
    "a": "a",
    "mg/d": "mg/d",
    "points": "{score}",
}
GENDER = {"F": "female", "M": "male", "X": "other"}
AE_OUTCOMES = {
    "recovered": "resolved",
    "recovering": "recovering",
    "recovered_with_sequelae": "resolvedWithSequelae",
    "not_recovered": "ongoing",
    "fatal": "fatal",
    "unknown": "unknown",
}


# An adverse event's relation to IVIg (myoivig's WHO-UMC category) as the HL7 causality
# assessment code (terminology.hl7.org CodeSystem adverse-event-causality-assess, whose six
# codes are the WHO-UMC categories; FHIR R4 4.0.1 spelled them capitalised, e.g.
# "Probably-Likely": an import reads either spelling).
CAUSALITY = "http://terminology.hl7.org/CodeSystem/adverse-event-causality-assess"
CAUSALITY_CODES = {
    "certain": ("certain", "Certain"),
    "probable": ("probably-likely", "Probably/Likely"),
    "possible": ("possible", "Possible"),
    "unlikely": ("unlikely", "Unlikely"),
    "conditional": ("conditional-classified", "Conditional/Classified"),
    "unassessable": ("unassessable-unclassifiable", "Unassessable/Unclassifiable"),
}


CONDITION_SYSTEMS = {"diagnoses": "diagnosis", "overlap_diseases": "overlap-disease"}


@cache
def table() -> dict[str, Any]:
    text = resources.files("myoivig.exchange.fhir").joinpath("codes.yaml").read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def condition_codings(kind: str, value: str) -> list[dict[str, str]]:
    """Local, ICD-10 and (where verified) SNOMED CT codings of a diagnosis or overlap disease."""
    entry = table()[kind][value]
    codings = [
        {"system": local(CONDITION_SYSTEMS[kind]), "code": value, "display": entry["display"]}
    ]
    for key, system in (("icd10", ICD10), ("snomed", SNOMED)):
        if entry.get(key):
            codings.append(
                {
                    "system": system,
                    "code": str(entry[key]["code"]),
                    "display": entry[key]["display"],
                }
            )
    return codings


def loinc(group: str, key: str) -> dict[str, Any] | None:
    entry: dict[str, Any] | None = table()["loinc"][group].get(key)
    return entry


def loinc_index() -> dict[str, tuple[str, str]]:
    """LOINC code -> (group, key)."""
    return {
        str(entry["code"]): (group, key)
        for group, items in table()["loinc"].items()
        for key, entry in items.items()
        if entry
    }
