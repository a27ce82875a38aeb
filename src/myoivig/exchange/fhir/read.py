"""A FHIR R4 Bundle back into dossiers, checking everything before anything is kept.

Three layers, every problem reported (resource, field, value, reason): each resource against
its R4 definition (unknown elements, wrong types); references between entries; codes and
values against the myoivig model (unknown codes, wrong units, out-of-range values).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from myoivig.domain import records as r
from myoivig.domain.consistency import check_dossier
from myoivig.domain.vocab import RateUnit
from myoivig.exchange.fhir.codes import (
    AE_OUTCOMES,
    ATC,
    CAUSALITY,
    CAUSALITY_CODES,
    DATA_ABSENT,
    GENDER,
    ICD10,
    LOINC,
    PATIENT_SYSTEM,
    SERIOUSNESS,
    SITE_SYSTEM,
    SNOMED,
    UCUM_CODES,
    ext,
    local,
    loinc,
    loinc_index,
    table,
)
from myoivig.exchange.fhir.units import creatinine_umol_per_l
from myoivig.exchange.fhir.validate import READ_ORDER, structure_errors
from myoivig.exchange.validation import validated
from myoivig.io.importer import Bundle
from myoivig.io.problems import Problem

Resource = dict[str, Any]
SEX = {v: k for k, v in GENDER.items()}
OUTCOMES = {v: k for k, v in AE_OUTCOMES.items()}
UNITS = {v: k for k, v in UCUM_CODES.items()}
RELATIONS = {code.lower(): value for value, (code, _) in CAUSALITY_CODES.items()}


@dataclass
class Where:
    """The entry a value came from, for problem reports."""

    label: str
    index: int


@dataclass
class _Patient:
    where: Where
    data: dict[str, Any]
    code: str
    conditions: list[tuple[Where, str, str]] = field(default_factory=list)  # kind, value
    therapies: list[r.Therapy] = field(default_factory=list)
    labs: list[r.LabResult] = field(default_factory=list)
    days: dict[int, list[tuple[Where, Resource]]] = field(default_factory=lambda: defaultdict(list))
    weights: dict[int, tuple[Where, float]] = field(default_factory=dict)
    events: list[tuple[Where, Resource]] = field(default_factory=list)
    visits: dict[str, tuple[Where, dict[str, Any]]] = field(default_factory=dict)
    recorded: list[r.InfusionDay] = field(default_factory=list)


def _extension(res: Resource, name: str) -> Any:
    for item in res.get("extension", []) or []:
        if item.get("url") == ext(name):
            for key, value in item.items():
                if key.startswith("value"):
                    return value
    return None


def _medication(res: Resource) -> tuple[str, Resource | None]:
    """Where the administration's medication code is, and the code: the concept of a derived
    day, or the contained Medication (with its lot) that a recorded day refers to."""
    ref = (res.get("medicationReference") or {}).get("reference")
    if ref is None:
        return "medicationCodeableConcept", res.get("medicationCodeableConcept")
    return "contained(Medication).code", (_contained(res, ref) or {}).get("code")


def _contained(res: Resource, ref: str) -> Resource | None:
    return next((c for c in res.get("contained") or [] if f"#{c.get('id')}" == ref), None)


def _extensions_named(res: Resource, name: str) -> list[Resource]:
    return [item for item in res.get("extension", []) or [] if item.get("url") == ext(name)]


def _codes(concept: Resource | None) -> list[tuple[str, str]]:
    return [
        (c.get("system", ""), str(c.get("code", ""))) for c in (concept or {}).get("coding", [])
    ]


def _local_code(concept: Resource | None, name: str) -> str | None:
    for system, code in _codes(concept):
        if system == local(name):
            return code
    return None


def _condition_index() -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(system, code) -> [(kind, value)] for ICD-10 and SNOMED CT codes (some are shared)."""
    index: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for kind in ("diagnoses", "overlap_diseases"):
        for value, entry in table()[kind].items():
            for key, system in (("icd10", ICD10), ("snomed", SNOMED)):
                if entry.get(key):
                    index[(system, str(entry[key]["code"]))].append((kind, value))
    return index


class BundleReader:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.urls: dict[str, tuple[Where, Resource]] = {}
        self.patients: dict[str, _Patient] = {}
        self.sites: dict[str, r.Site] = {}
        self.site_of_url: dict[str, str] = {}
        self.course_of_url: dict[str, tuple[str, int]] = {}

    def problem(self, where: Where, path: str, value: Any, reason: str) -> None:
        shown = None if value is None else str(value)[:120]
        self.problems.append(Problem(where.label, where.index, path, shown, reason))

    def make(
        self,
        model: type[Any],
        data: dict[str, Any],
        names: dict[str, str],
        where: Where,
        values: dict[str, Any] | None = None,
    ) -> Any:
        record, failed = validated(model, data)
        for attr, reason in failed:
            self.problem(where, names.get(attr, attr), (values or data).get(attr), reason)
        return record

    # --- layer 1 and 2: structure and references ---------------------------------------------

    def read(self, bundle: Any) -> Bundle:
        top = Where("Bundle", 0)
        if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
            self.problem(
                top,
                "resourceType",
                (bundle or {}).get("resourceType")
                if isinstance(bundle, dict)
                else type(bundle).__name__,
                "expected a FHIR Bundle",
            )
            return Bundle(sites=[], dossiers=[])
        unknown = set(bundle) - {
            "resourceType",
            "id",
            "meta",
            "type",
            "entry",
            "timestamp",
            "identifier",
            "total",
            "link",
            "signature",
            "language",
            "implicitRules",
        }
        for key in sorted(unknown):
            self.problem(top, key, None, "unknown element of Bundle")
        entries = bundle.get("entry") or []
        if not isinstance(entries, list):
            self.problem(top, "entry", None, "entry must be a list")
            return Bundle(sites=[], dossiers=[])
        valid: list[tuple[Where, Resource, str]] = []
        for i, entry in enumerate(entries, 1):
            res = entry.get("resource") if isinstance(entry, dict) else None
            kind = res.get("resourceType", "?") if isinstance(res, dict) else "?"
            where = Where(f"{kind} (entry {i})", i)
            if not isinstance(res, dict):
                self.problem(where, "resource", None, "every entry needs a resource")
                continue
            url = entry.get("fullUrl") or (f"{kind}/{res['id']}" if res.get("id") else None)
            if not url:
                self.problem(where, "fullUrl", None, "every entry needs a fullUrl (or an id)")
                continue
            if url in self.urls:
                self.problem(where, "fullUrl", url, "this fullUrl is used by another entry")
                continue
            errors = structure_errors(res)
            for path, value, reason in errors:
                self.problem(where, path, value, reason)
            self.urls[url] = (where, res)
            if res.get("id"):
                self.urls.setdefault(f"{kind}/{res['id']}", (where, res))
            if not errors:
                valid.append((where, res, url))
        for where, res, _ in valid:
            contained = {f"#{c.get('id')}" for c in res.get("contained") or [] if c.get("id")}
            self._check_references(where, res, "", contained)
        if self.problems:
            return Bundle(sites=[], dossiers=[])
        valid.sort(key=lambda item: READ_ORDER.index(item[1]["resourceType"]))
        for where, res, url in valid:
            getattr(self, "_" + res["resourceType"].lower())(where, res, url)
        return self._assemble()

    def _check_references(
        self,
        where: Where,
        node: Any,
        path: str,
        contained: frozenset[str] | set[str] = frozenset(),
    ) -> None:
        """Every reference names an entry of the Bundle, or (`#id`) a contained resource."""
        if isinstance(node, dict):
            ref = node.get("reference")
            if isinstance(ref, str) and ref not in self.urls and ref not in contained:
                self.problem(
                    where,
                    f"{path}.reference".lstrip("."),
                    ref,
                    "broken reference: no entry of this Bundle has this fullUrl"
                    if not ref.startswith("#")
                    else "broken reference: no contained resource has this id",
                )
            for key, value in node.items():
                self._check_references(where, value, f"{path}.{key}", contained)
        elif isinstance(node, list):
            for i, value in enumerate(node):
                self._check_references(where, value, f"{path}.{i}", contained)

    def _patient_of(self, where: Where, res: Resource, path: str = "subject") -> _Patient | None:
        ref = (res.get(path) or {}).get("reference")
        patient = self.patients.get(ref or "")
        if patient is None:
            self.problem(where, f"{path}.reference", ref, "must refer to a Patient of this Bundle")
        return patient

    # --- layer 3: resources to records -----------------------------------------------------------

    def _organization(self, where: Where, res: Resource, url: str) -> None:
        codes = [
            i.get("value") for i in res.get("identifier", []) if i.get("system") == SITE_SYSTEM
        ]
        if not codes:
            self.problem(
                where, "identifier", None, f"needs an identifier with system {SITE_SYSTEM}"
            )
            return
        country = (res.get("address") or [{}])[0].get("country")
        data = {
            "site_code": codes[0],
            "name": res.get("name"),
            "country": country,
            "note": _extension(res, "note"),
        }
        names = {
            "site_code": "identifier.value",
            "name": "name",
            "country": "address.country",
            "note": "extension(note)",
        }
        site = self.make(r.Site, data, names, where)
        if site is not None:
            if site.site_code in self.sites:
                self.problem(where, "identifier.value", site.site_code, "site appears twice")
            self.sites[site.site_code] = site
            self.site_of_url[url] = site.site_code

    def _patient(self, where: Where, res: Resource, url: str) -> None:
        codes = [
            i.get("value") for i in res.get("identifier", []) if i.get("system") == PATIENT_SYSTEM
        ]
        if not codes:
            self.problem(
                where, "identifier", None, f"needs an identifier with system {PATIENT_SYSTEM}"
            )
            return
        data: dict[str, Any] = {"code": codes[0]}
        gender = res.get("gender")
        if gender not in SEX:
            self.problem(where, "gender", gender, f"expected one of {', '.join(SEX)}")
        else:
            data["sex"] = SEX[gender]
        birth = res.get("birthDate")
        if birth:
            if len(str(birth)) != 4:
                self.problem(
                    where, "birthDate", birth, "myoivig keeps the year of birth only (YYYY)"
                )
            else:
                data["birth_year"] = birth
        org = (res.get("managingOrganization") or {}).get("reference")
        if org:
            if org not in self.site_of_url:
                self.problem(
                    where,
                    "managingOrganization.reference",
                    org,
                    "must refer to an Organization with a site identifier",
                )
            else:
                data["site_code"] = self.site_of_url[org]
        data.update(
            age_at_entry=_extension(res, "age-at-entry"),
            source=_extension(res, "data-source"),
            note=_extension(res, "note"),
        )
        if any(p.code == codes[0] for p in self.patients.values()):
            self.problem(where, "identifier.value", codes[0], "this patient appears twice")
            return
        self.patients[url] = _Patient(where, data, codes[0])

    def _condition(self, where: Where, res: Resource, url: str) -> None:
        patient = self._patient_of(where, res)
        if patient is None:
            return
        concept = res.get("code")
        found: list[tuple[str, str]] = []
        for kind, name in (("diagnoses", "diagnosis"), ("overlap_diseases", "overlap-disease")):
            code = _local_code(concept, name)
            if code is not None:
                if code not in table()[kind]:
                    self.problem(where, "code.coding", code, f"unknown code in {local(name)}")
                    return
                found = [(kind, code)]
        if not found:
            index = _condition_index()
            matches = {m for key in _codes(concept) for m in index.get(key, [])}
            if len(matches) != 1:
                reason = (
                    "ambiguous ICD-10/SNOMED CT code; add the myoivig diagnosis coding"
                    if matches
                    else "unknown diagnosis code (ICD-10, SNOMED CT or myoivig)"
                )
                self.problem(where, "code.coding", ", ".join(c for _, c in _codes(concept)), reason)
                return
            found = list(matches)
        kind, value = found[0]
        patient.conditions.append((where, kind, value))
        if kind == "diagnoses":
            duration = _extension(res, "disease-duration")
            patient.data.update(
                diagnosis=value,
                onset_date=res.get("onsetDateTime"),
                disease_duration_years=None if duration is None else duration.get("value"),
                disease_duration_qualifier=_extension(res, "disease-duration-qualifier"),
            )
        else:
            patient.data["overlap_disease"] = value

    def _medicationstatement(self, where: Where, res: Resource, url: str) -> None:
        patient = self._patient_of(where, res)
        if patient is None:
            return
        concept = res.get("medicationCodeableConcept")
        drug = _local_code(concept, "drug")
        if drug is None:
            self.problem(
                where,
                "medicationCodeableConcept.coding",
                None,
                f"needs a drug coding in {local('drug')}",
            )
            return
        period = res.get("effectivePeriod") or {}
        dosage = (res.get("dosage") or [{}])[0]
        dose = ((dosage.get("doseAndRate") or [{}])[0].get("doseQuantity")) or {}
        if dose and dose.get("code") != "mg/d":
            self.problem(
                where,
                "dosage.doseAndRate.doseQuantity.code",
                dose.get("code"),
                "wrong unit: expected mg/d",
            )
            return
        data = {
            "patient_code": patient.code,
            "drug": drug,
            "drug_label": (concept or {}).get("text"),
            "dose_mg_per_day": dose.get("value"),
            "start_date": period.get("start"),
            "stop_date": period.get("end"),
            "timing": _extension(res, "therapy-timing"),
            "note": (res.get("note") or [{}])[0].get("text"),
        }
        names = {
            "drug": "medicationCodeableConcept.coding",
            "drug_label": "medicationCodeableConcept.text",
            "dose_mg_per_day": "dosage.doseAndRate.doseQuantity.value",
            "start_date": "effectivePeriod.start",
            "stop_date": "effectivePeriod.end",
            "timing": "extension(therapy-timing)",
            "note": "note.text",
        }
        therapy = self.make(r.Therapy, data, names, where)
        if therapy is not None:
            patient.therapies.append(therapy)

    def _medicationadministration(self, where: Where, res: Resource, url: str) -> None:
        patient = self._patient_of(where, res)
        if patient is None:
            return
        path, medication = _medication(res)
        if (ATC, "J06BA02") not in _codes(medication):
            self.problem(
                where,
                f"{path}.coding",
                ", ".join(c for _, c in _codes(medication)),
                "wrong code: myoivig records IVIg administrations, ATC J06BA02",
            )
            return
        number = _extension(res, "course-number")
        if not isinstance(number, int) or not isinstance(_extension(res, "course-day"), int):
            self.problem(
                where,
                "extension",
                None,
                "needs the course-number and course-day extensions (integers)",
            )
            return
        patient.days[number].append((where, res))
        self.course_of_url[url] = (patient.code, number)

    def _encounter(self, where: Where, res: Resource, url: str) -> None:
        patient = self._patient_of(where, res)
        if patient is None:
            return
        phase = _local_code((res.get("type") or [{}])[0], "phase")
        start = (res.get("period") or {}).get("start")
        participant = (res.get("participant") or [{}])[0]
        data = {
            "patient_code": patient.code,
            "assessment_date": start,
            "phase": phase,
            "assessor": (participant.get("individual") or {}).get("display"),
            "note": _extension(res, "note"),
            "myometry": [],
            "muscle_grades": [],
            "functional_tasks": [],
            "core_set": [],
            "enzymes": [],
        }
        if phase is None:
            self.problem(where, "type.coding", None, f"needs a phase coding in {local('phase')}")
        patient.visits[url] = (where, data)

    def _observation(self, where: Where, res: Resource, url: str) -> None:
        patient = self._patient_of(where, res)
        if patient is None:
            return
        codes = _codes(res.get("code"))
        index = loinc_index()
        for system, code in codes:
            if system == LOINC and code in index:
                group, key = index[code]
                return self._loinc(where, res, patient, group, key)
            if system == local("lab-test"):
                return self._lab(where, res, patient, code)
            if system in {local("core-set"), local("measure"), local("functional-task")}:
                return self._measurement(where, res, patient, system, code)
        self.problem(
            where,
            "code.coding",
            ", ".join(f"{s}|{c}" for s, c in codes),
            "unknown observation code (expected the LOINC codes or myoivig codes of "
            "docs/exchange.md)",
        )
        return None

    def _quantity(self, where: Where, res: Resource, unit: str | None) -> Any:
        """The value of an Observation: a number, NP, text, boolean, or None after a problem."""
        absent = _codes(res.get("dataAbsentReason"))
        if absent:
            if (DATA_ABSENT, "not-performed") in absent:
                return "NP"
            self.problem(where, "dataAbsentReason", absent[0][1], "only not-performed is kept")
            return None
        if "valueQuantity" in res:
            q = res["valueQuantity"]
            if unit is not None and q.get("code") != UCUM_CODES[unit]:
                self.problem(
                    where,
                    "valueQuantity.code",
                    q.get("code"),
                    f"wrong unit: expected UCUM {UCUM_CODES[unit]}",
                )
                return None
            return q.get("value")
        for key in ("valueString", "valueBoolean", "valueInteger"):
            if key in res:
                return res[key]
        return None

    def _visit(self, where: Where, res: Resource, patient: _Patient) -> dict[str, Any] | None:
        ref = (res.get("encounter") or {}).get("reference")
        found = patient.visits.get(ref or "")
        if found is None:
            self.problem(
                where,
                "encounter.reference",
                ref,
                "must refer to an Encounter (assessment) of the same patient",
            )
            return None
        return found[1]

    def _loinc(self, where: Where, res: Resource, patient: _Patient, group: str, key: str) -> None:
        if group in {"labs", "read_also"}:
            return self._lab(where, res, patient, key, loinc(group, key))
        if key == "body_height":
            value = self._quantity(where, res, "cm")
            if value is not None:
                patient.data["height_cm"] = value
            return None
        if key == "body_weight":
            part = ((res.get("partOf") or [{}])[0]).get("reference")
            course = self.course_of_url.get(part or "")
            value = self._quantity(where, res, "kg")
            if course is None or course[0] != patient.code:
                self.problem(
                    where,
                    "partOf.reference",
                    part,
                    "a body weight must be partOf an IVIg administration of the patient",
                )
            elif value is not None:
                patient.weights[course[1]] = (where, value)
            return None
        visit = self._visit(where, res, patient)
        value = self._quantity(where, res, "U/L")
        if visit is None or value is None:
            return None
        high = ((res.get("referenceRange") or [{}])[0]).get("high")
        if high and high.get("code") != "U/L":
            self.problem(
                where, "referenceRange.high.code", high.get("code"), "wrong unit: expected U/L"
            )
            return None
        enzyme = self.make(
            r.EnzymeResult,
            {"enzyme": key, "value_u_per_l": value, "uln_u_per_l": (high or {}).get("value")},
            {"value_u_per_l": "valueQuantity.value", "uln_u_per_l": "referenceRange.high.value"},
            where,
        )
        if enzyme is not None:
            visit["enzymes"].append(enzyme)
        return None

    def _lab(
        self,
        where: Where,
        res: Resource,
        patient: _Patient,
        test: str,
        coded: dict[str, Any] | None = None,
    ) -> None:
        """A laboratory Observation; `coded` is its LOINC entry (which fixes the unit)."""
        unit = coded["unit"] if coded and test == "creatinine" else None
        value = self._quantity(where, res, unit)
        if unit == "mg/dL" and isinstance(value, int | float) and not isinstance(value, bool):
            res = {**res, "valueQuantity": {**res["valueQuantity"], "code": "umol/L"}}
            value = creatinine_umol_per_l(value)
        data: dict[str, Any] = {
            "patient_code": patient.code,
            "test": test,
            "sample_date": res.get("effectiveDateTime"),
        }
        if value == "NP":
            data["not_performed"] = True
        elif "valueString" in res:
            data["text_value"] = value
        elif value is not None:
            code = res["valueQuantity"].get("code")
            data.update(value=value, unit=UNITS.get(code, code))
        names = {
            "value": "valueQuantity.value",
            "unit": "valueQuantity.code",
            "text_value": "valueString",
            "sample_date": "effectiveDateTime",
            "test": "code.coding",
        }
        lab = self.make(r.LabResult, data, names, where)
        if lab is not None:
            patient.labs.append(lab)

    def _measurement(
        self, where: Where, res: Resource, patient: _Patient, system: str, code: str
    ) -> None:
        visit = self._visit(where, res, patient)
        if visit is None:
            return
        site = _local_code(res.get("bodySite"), "muscle-site") or ""
        group, _, side = site.partition(".")
        value_names = {
            "value": "valueQuantity.value",
            "force_n": "valueQuantity.value",
            "kendall_grade": "valueInteger",
            "able": "valueBoolean",
            "muscle_group": "bodySite.coding",
            "side": "bodySite.coding",
            "measure": "code.coding",
            "task": "code.coding",
            "scale_max": "extension(mmt8-scale-max)",
            "time_s": "component.valueQuantity.value",
        }
        if system == local("core-set"):
            unit = "points" if code in {"haq", "mmt8"} else "cm"
            value = self._quantity(where, res, unit)
            item = self.make(
                r.CoreSetValue,
                {"measure": code, "value": value, "scale_max": _extension(res, "mmt8-scale-max")},
                value_names,
                where,
            )
            target = "core_set"
        elif system == local("functional-task"):
            value = self._quantity(where, res, None)
            walk = [c.get("valueQuantity", {}) for c in res.get("component", [])]
            if walk and walk[0].get("code") != "s":
                self.problem(
                    where,
                    "component.valueQuantity.code",
                    walk[0].get("code"),
                    "wrong unit: expected s",
                )
                return
            item = self.make(
                r.FunctionalTaskResult,
                {
                    "task": code,
                    "not_performed": value == "NP",
                    "able": None if value == "NP" else value,
                    "time_s": walk[0].get("value") if walk else None,
                },
                value_names,
                where,
            )
            target = "functional_tasks"
        elif code == "myometry-force":
            value = self._quantity(where, res, "N")
            item = self.make(
                r.MyometryReading,
                {"muscle_group": group, "side": side, "force_n": value},
                value_names,
                where,
            )
            target = "myometry"
        elif code == "kendall-grade":
            value = self._quantity(where, res, None)
            item = self.make(
                r.MuscleGrade,
                {"muscle_group": group, "side": side, "kendall_grade": value},
                value_names,
                where,
            )
            target = "muscle_grades"
        else:
            self.problem(where, "code.coding", code, f"unknown code in {system}")
            return
        if item is not None and value is not None:
            visit[target].append(item)

    def _adverseevent(self, where: Where, res: Resource, url: str) -> None:
        patient = self._patient_of(where, res)
        if patient is not None:
            patient.events.append((where, res))

    # --- assembly ---------------------------------------------------------------------------

    def _assemble(self) -> Bundle:
        dossiers = []
        for patient in self.patients.values():
            dossier = self._dossier(patient)
            if dossier is not None:
                for finding in check_dossier(dossier):
                    self.problem(
                        patient.where,
                        finding.column,
                        finding.value,
                        f"patient {patient.code}: {finding.reason}",
                    )
                dossiers.append(dossier)
        used = {d.patient.site_code for d in dossiers}
        return Bundle(
            sites=[s for s in self.sites.values() if s.site_code in used], dossiers=dossiers
        )

    def _dossier(self, p: _Patient) -> r.PatientDossier | None:
        kinds = [kind for _, kind, _ in p.conditions]
        for kind in ("diagnoses", "overlap_diseases"):
            if kinds.count(kind) > 1:
                where = [w for w, k, _ in p.conditions if k == kind][1]
                self.problem(
                    where,
                    "code",
                    None,
                    "myoivig keeps one diagnosis and at most one overlap disease per patient",
                )
        if "diagnoses" not in kinds:
            self.problem(p.where, "(Condition)", p.code, "the patient has no diagnosis Condition")
            return None
        names = {
            "code": "identifier.value",
            "sex": "gender",
            "birth_year": "birthDate",
            "site_code": "managingOrganization",
            "age_at_entry": "extension(age-at-entry)",
            "source": "extension(data-source)",
            "note": "extension(note)",
            "diagnosis": "Condition.code",
            "onset_date": "Condition.onsetDateTime",
            "overlap_disease": "Condition.code",
            "disease_duration_years": "Condition.extension(disease-duration)",
            "disease_duration_qualifier": "Condition.extension(disease-duration-qualifier)",
            "height_cm": "Observation(8302-2).valueQuantity.value",
        }
        patient = self.make(r.Patient, p.data, names, p.where)
        courses = self._courses(p)
        assessments = []
        for where, data in p.visits.values():
            a = self.make(
                r.Assessment,
                data,
                {
                    "assessment_date": "period.start",
                    "phase": "type.coding",
                    "assessor": "participant.individual.display",
                    "note": "extension(note)",
                },
                where,
            )
            if a is not None:
                assessments.append(a)
        events = [e for e in (self._event(p, w, res) for w, res in p.events) if e is not None]
        if patient is None:
            return None
        return r.PatientDossier(
            patient=patient,
            therapies=p.therapies,
            labs=p.labs,
            courses=courses,
            assessments=sorted(assessments, key=lambda a: a.assessment_date),
            adverse_events=events,
            infusion_days=sorted(p.recorded, key=lambda d: (d.course_number, d.day_number)),
        )

    def _courses(self, p: _Patient) -> list[r.Course]:
        courses = []
        for number, days in sorted(p.days.items()):
            values = []
            for where, res in days:
                day = _extension(res, "course-day")
                if "medicationReference" in res:
                    values.append((where, day, *self._recorded_course(where, res)))
                    recorded = self._recorded_day(p, where, res, number, day)
                    if recorded is not None:
                        p.recorded.append(recorded)
                    continue
                when = res.get("effectiveDateTime")
                start = None
                if when:
                    try:
                        start = date.fromisoformat(str(when)[:10]) - timedelta(days=day - 1)
                    except ValueError:
                        self.problem(where, "effectiveDateTime", when, "expected a date")
                dosage = res.get("dosage") or {}
                planned = _extension(res, "planned-daily-dose")
                for path, q, unit in (
                    ("dosage.dose", dosage.get("dose"), "g"),
                    ("dosage.rateQuantity", dosage.get("rateQuantity"), "mL/kg/min"),
                    ("extension(planned-daily-dose)", planned, "g"),
                ):
                    if q and q.get("code") != UCUM_CODES[unit]:
                        self.problem(
                            where, f"{path}.code", q.get("code"), f"wrong unit: expected {unit}"
                        )
                values.append(
                    (
                        where,
                        day,
                        {
                            "start_date": start,
                            "days": _extension(res, "course-days"),
                            "product": (res.get("medicationCodeableConcept") or {}).get("text"),
                            "given_daily_dose_g": (dosage.get("dose") or {}).get("value"),
                            "infusion_rate_ml_per_kg_min": (dosage.get("rateQuantity") or {}).get(
                                "value"
                            ),
                            "planned_daily_dose_g": (planned or {}).get("value"),
                        },
                        (res.get("note") or [{}])[0].get("text"),
                    )
                )
            first_where, _, first, _ = values[0]
            seen_days: set[int] = set()
            for where, day, data, _ in values:
                if day in seen_days:
                    self.problem(
                        where, "extension(course-day)", day, f"course {number} has this day twice"
                    )
                seen_days.add(day)
                for key, value in data.items():
                    if value != first[key]:
                        self.problem(
                            where,
                            key,
                            value,
                            f"course {number}: differs from another day ({first[key]}); "
                            "myoivig stores one value per course",
                        )
            note = next((n for _, _, _, n in values if n), None)
            weight = p.weights.get(number)
            data = {
                **first,
                "patient_code": p.code,
                "course_number": number,
                "note": note,
                "weight_kg": None if weight is None else weight[1],
            }
            names = {
                "days": "extension(course-days)",
                "start_date": "effectiveDateTime",
                "given_daily_dose_g": "dosage.dose.value",
                "infusion_rate_ml_per_kg_min": "dosage.rateQuantity.value",
                "planned_daily_dose_g": "extension(planned-daily-dose)",
                "product": "medicationCodeableConcept.text",
                "weight_kg": "Observation(29463-7)",
            }
            course = self.make(r.Course, data, names, first_where)
            if course is not None:
                if max(seen_days) > course.days:
                    self.problem(
                        first_where,
                        "extension(course-day)",
                        max(seen_days),
                        f"course {number} has {course.days} days",
                    )
                courses.append(course)
        return courses

    # --- recorded infusion days -------------------------------------------------------------

    def _unit_value(self, where: Where, path: str, q: Any, units: tuple[str, ...]) -> Any:
        """The value of a Quantity in one of `units` (a problem and None otherwise)."""
        if q is None:
            return None
        if not isinstance(q, dict) or q.get("code") not in {UCUM_CODES[u] for u in units}:
            got = q.get("code") if isinstance(q, dict) else q
            self.problem(where, f"{path}.code", got, "wrong unit: expected " + " or ".join(units))
            return None
        return q.get("value")

    def _recorded_course(self, where: Where, res: Resource) -> tuple[dict[str, Any], Any]:
        """A recorded day's copy of its course's values (the course-* extensions)."""
        start = _extension(res, "course-start")
        try:
            start = date.fromisoformat(start) if isinstance(start, str) else start
        except ValueError:
            self.problem(where, "extension(course-start)", start, "expected a date (YYYY-MM-DD)")
            start = None

        def amount(name: str, unit: str) -> Any:
            return self._unit_value(where, f"extension({name})", _extension(res, name), (unit,))

        return (
            {
                "start_date": start,
                "days": _extension(res, "course-days"),
                "product": _extension(res, "course-product"),
                "given_daily_dose_g": amount("course-daily-dose", "g"),
                "infusion_rate_ml_per_kg_min": amount("course-rate", "mL/kg/min"),
                "planned_daily_dose_g": amount("planned-daily-dose", "g"),
            },
            _extension(res, "course-note"),
        )

    def _recorded_day(
        self, p: _Patient, where: Where, res: Resource, number: int, day: Any
    ) -> r.InfusionDay | None:
        """The stored infusion day a recorded administration carries; every bad value named."""
        ref = (res.get("medicationReference") or {}).get("reference") or ""
        medication = _contained(res, ref) or {}
        dosage = res.get("dosage") or {}
        refused: set[str] = set()

        def checked(attr: str, read: Callable[[], Any]) -> Any:
            """A value read with its own checks; the attribute is refused if they failed (the
            model's follow-up complaint about it would repeat the problem)."""
            before = len(self.problems)
            value = read()
            if len(self.problems) > before:
                refused.add(attr)
            return value

        def amount(attr: str, name: str, unit: str) -> Any:
            found = _extension(res, name)
            return checked(
                attr, lambda: self._unit_value(where, f"extension({name})", found, (unit,))
            )

        def items(attr: str, name: str, parts: dict[str, tuple[str, ...]]) -> list[Any]:
            return checked(
                attr,
                lambda: [
                    self._parts(where, f"extension({name})[{i}]", item, parts)
                    for i, item in enumerate(_extensions_named(res, name), 1)
                ],
            )

        data: dict[str, Any] = {
            "patient_code": p.code,
            "course_number": number,
            "day_number": day,
            "infusion_date": res.get("effectiveDateTime"),
            "product": (medication.get("code") or {}).get("text"),
            "lot_number": (medication.get("batch") or {}).get("lotNumber"),
            "dose_g": checked(
                "dose_g", lambda: self._unit_value(where, "dosage.dose", dosage.get("dose"), ("g",))
            ),
            "volume_ml": amount("volume_ml", "infusion-volume", "mL"),
            "total_minutes": amount("total_minutes", "infusion-minutes", "min"),
            "rate_steps": items("rate_steps", "rate-step", STEP_PARTS),
            "reactions": items("reactions", "infusion-reaction", REACTION_PARTS),
            "given_by": ((res.get("performer") or [{}])[0].get("actor") or {}).get("display"),
            "note": (res.get("note") or [{}])[0].get("text"),
        }
        data = {k: v for k, v in data.items() if v is not None}
        names = {
            "infusion_date": "effectiveDateTime",
            "product": "contained(Medication).code.text",
            "lot_number": "contained(Medication).batch.lotNumber",
            "dose_g": "dosage.dose.value",
            "volume_ml": "extension(infusion-volume)",
            "total_minutes": "extension(infusion-minutes)",
            "rate_steps": "extension(rate-step)",
            "reactions": "extension(infusion-reaction)",
            "given_by": "performer.actor.display",
            "note": "note.text",
        }
        record, failed = validated(r.InfusionDay, data, located=True)
        for attr, reason in failed:
            if attr in refused:
                continue
            if reason == "Field required":
                reason = "required for a recorded infusion day"
            self.problem(where, names.get(attr, attr), data.get(attr), reason)
        return None if refused else record

    def _parts(
        self, where: Where, path: str, item: Resource, parts: dict[str, tuple[str, ...]]
    ) -> dict[str, Any]:
        """A complex extension as the record's dict: each known sub-extension's value (a
        Quantity's value in its allowed units, the unit kept as the record's unit)."""
        out: dict[str, Any] = {}
        for sub in item.get("extension") or []:
            url = sub.get("url")
            if url not in parts:
                self.problem(
                    where, f"{path}.url", url, "unknown part; expected " + ", ".join(parts)
                )
                continue
            value: Any = next((v for k, v in sub.items() if k.startswith("value")), None)
            units = parts[url]
            if units:
                number = self._unit_value(where, f"{path}.{url}", value, units)
                if url == "rate" and number is not None:
                    out["unit"] = RATE_UNIT_OF[value["code"]]
                value = number
            out[url.replace("-", "_")] = value
        return out

    def _event(self, p: _Patient, where: Where, res: Resource) -> r.AdverseEvent | None:
        serious = [c for s, c in _codes(res.get("seriousness")) if s == SERIOUSNESS]
        if serious and serious[0] not in {"serious", "non-serious"}:
            self.problem(where, "seriousness.coding", serious[0], "expected serious or non-serious")
            return None
        outcome = [c for _, c in _codes(res.get("outcome"))]
        if outcome and outcome[0] not in OUTCOMES:
            self.problem(where, "outcome.coding", outcome[0], "unknown adverse-event outcome code")
            return None
        course, relation = None, None
        suspects = res.get("suspectEntity") or []
        if len(suspects) > 1:
            self.problem(where, "suspectEntity", len(suspects), "one suspect (IVIg) per event")
            return None
        if suspects:
            ref = (suspects[0].get("instance") or {}).get("reference") or ""
            if ref.startswith("#"):
                if not self._contained_ivig(where, res, ref):
                    return None
            else:
                found = self.course_of_url.get(ref)
                if found is None or found[0] != p.code:
                    self.problem(
                        where,
                        "suspectEntity.instance.reference",
                        ref,
                        "must refer to an IVIg administration of the same patient",
                    )
                    return None
                course = found[1]
            relation = self._causality(where, suspects[0])
            if relation is False:
                return None
        data = {
            "patient_code": p.code,
            "term": (res.get("event") or {}).get("text"),
            "serious": serious[0] == "serious" if serious else None,
            "onset_date": res.get("date"),
            "course_number": course,
            "relation_to_ivig": relation,
            "outcome": OUTCOMES[outcome[0]] if outcome else None,
            "ctcae_grade": _extension(res, "ctcae-grade"),
            "action": _extension(res, "action-taken"),
            "note": _extension(res, "note"),
        }
        names = {
            "term": "event.text",
            "serious": "seriousness",
            "onset_date": "date",
            "ctcae_grade": "extension(ctcae-grade)",
            "action": "extension(action-taken)",
            "note": "extension(note)",
            "outcome": "outcome",
            "relation_to_ivig": "suspectEntity.causality.assessment",
        }
        event: r.AdverseEvent | None = self.make(r.AdverseEvent, data, names, where)
        return event

    def _contained_ivig(self, where: Where, res: Resource, ref: str) -> bool:
        """A `#id` suspect must be a contained Medication coded as IVIg (ATC J06BA02)."""
        target: Resource = next(
            (c for c in res.get("contained") or [] if f"#{c.get('id')}" == ref), {}
        )
        ivig = (ATC, str(table()["atc"]["ivig"]["code"]))
        if target.get("resourceType") != "Medication" or ivig not in _codes(target.get("code")):
            self.problem(
                where,
                "suspectEntity.instance.reference",
                ref,
                f"a contained suspect must be a Medication coded {ivig[1]} (IVIg)",
            )
            return False
        return True

    def _causality(self, where: Where, suspect: Resource) -> str | bool | None:
        """The WHO-UMC relation of the suspect's causality assessment; None when not assessed,
        False after a problem."""
        found = {
            (system, code)
            for item in suspect.get("causality") or []
            for system, code in _codes(item.get("assessment"))
        }
        codes = {code for system, code in found if system == CAUSALITY}
        if not found:
            return None
        if len(codes) != 1 or len(found) != 1:
            self.problem(
                where,
                "suspectEntity.causality.assessment",
                ", ".join(sorted(f"{s}|{c}" for s, c in found)),
                f"expected one assessment coded in {CAUSALITY}",
            )
            return False
        code = codes.pop()
        relation = RELATIONS.get(code.lower())
        if relation is None:
            self.problem(
                where,
                "suspectEntity.causality.assessment",
                code,
                "unknown causality code (expected " + ", ".join(RELATIONS) + ")",
            )
            return False
        return relation


# Parts of the complex extensions of a recorded day: name -> allowed Quantity units (none: a
# plain value).
STEP_PARTS = {"rate": ("mL/kg/min", "mL/h"), "minutes": ("min",)}
REACTION_PARTS: dict[str, tuple[str, ...]] = {"type": (), "ctcae-grade": (), "action": ()}
RATE_UNIT_OF = {"mL/kg/min": RateUnit.ML_PER_KG_MIN.value, "mL/h": RateUnit.ML_PER_H.value}


def read_bundle_text(text: str, source: str) -> tuple[Bundle, list[Problem]]:
    """Dossiers from FHIR JSON text, with every problem found."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        return Bundle(sites=[], dossiers=[]), [
            Problem(source, None, "", None, f"not JSON: {error}")
        ]
    reader = BundleReader()
    bundle = reader.read(data)
    return bundle, reader.problems
