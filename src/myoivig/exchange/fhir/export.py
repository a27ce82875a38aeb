"""Dossiers as a FHIR R4 Bundle (pure: plain dicts in, plain dicts out; validated by the caller).

Resources: Organization (site), Patient, Condition (diagnosis and overlap disease),
MedicationStatement (concurrent therapies), MedicationAdministration (one per IVIg infusion
day: derived from the course, or the stored infusion day with its lot, rate steps and
reactions), Encounter (one per assessment), Observation (height, body weight per course, enzymes,
laboratory tests, core-set scores, myometry, Kendall grades, functional tasks), AdverseEvent.
References are the entries' `urn:uuid:` full URLs, derived from stable keys so that the same
data always gives the same Bundle.
"""

from __future__ import annotations

import copy
import uuid
from datetime import date, timedelta
from typing import Any

from myoivig.domain import records as r
from myoivig.domain.values import NotPerformed
from myoivig.domain.vocab import LabTest, RateUnit
from myoivig.exchange.fhir.codes import (
    ACT_CODE,
    AE_OUTCOME,
    AE_OUTCOMES,
    ATC,
    CAUSALITY,
    CAUSALITY_CODES,
    DATA_ABSENT,
    GENDER,
    LOINC,
    OBSERVATION_CATEGORY,
    PATIENT_SYSTEM,
    SERIOUSNESS,
    SITE_SYSTEM,
    UCUM,
    UCUM_CODES,
    condition_codings,
    ext,
    local,
    loinc,
    table,
)
from myoivig.exchange.fhir.units import creatinine_mg_per_dl

NAMESPACE = uuid.UUID("6f1c1b9e-9a53-4c59-9d1e-6d8e3f0a2b71")  # myoivig bundle entries
Resource = dict[str, Any]


def full_url(key: str) -> str:
    return f"urn:uuid:{uuid.uuid5(NAMESPACE, key)}"


def quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": UCUM_CODES[unit]}


def extension(name: str, kind: str, value: Any) -> dict[str, Any]:
    return {"url": ext(name), kind: value}


def _extensions(*items: tuple[str, str, Any]) -> dict[str, Any]:
    found = [extension(n, k, v) for n, k, v in items if v is not None]
    return {"extension": found} if found else {}


NOT_PERFORMED = {"coding": [{"system": DATA_ABSENT, "code": "not-performed"}]}


def ivig_coding() -> dict[str, str]:
    entry = table()["atc"]["ivig"]
    return {"system": ATC, "code": entry["code"], "display": entry["display"]}


IVIG_ID = "ivig"


def ivig_medication() -> Resource:
    """IVIg as a contained Medication: the suspect of an event not tied to a recorded course."""
    return {"resourceType": "Medication", "id": IVIG_ID, "code": {"coding": [ivig_coding()]}}


class BundleWriter:
    """Collects the entries of one Bundle."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def add(self, key: str, resource: Resource) -> str:
        url = full_url(key)
        # a copy: resources share small dicts (subject) while they are built
        self.entries.append({"fullUrl": url, "resource": copy.deepcopy(resource)})
        return url

    def bundle(self) -> Resource:
        return {"resourceType": "Bundle", "type": "collection", "entry": self.entries}


def bundle_of(sites: list[r.Site], dossiers: list[r.PatientDossier]) -> Resource:
    """The Bundle of the given dossiers and the sites they refer to."""
    writer = BundleWriter()
    used = {d.patient.site_code for d in dossiers}
    site_urls = {
        s.site_code: writer.add(f"site/{s.site_code}", organization(s))
        for s in sites
        if s.site_code in used
    }
    for d in dossiers:
        add_dossier(writer, d, site_urls)
    return writer.bundle()


def organization(site: r.Site) -> Resource:
    res: Resource = {
        "resourceType": "Organization",
        "identifier": [{"system": SITE_SYSTEM, "value": site.site_code}],
        "name": site.name,
        **_extensions(("note", "valueString", site.note)),
    }
    if site.country:
        res["address"] = [{"country": site.country}]
    return res


def add_dossier(writer: BundleWriter, d: r.PatientDossier, site_urls: dict[str, str]) -> None:
    p = d.patient
    code = p.code
    patient: Resource = {
        "resourceType": "Patient",
        **_extensions(
            ("age-at-entry", "valueInteger", p.age_at_entry),
            ("data-source", "valueString", p.source),
            ("note", "valueString", p.note),
        ),
        "identifier": [{"system": PATIENT_SYSTEM, "value": code}],
        "gender": GENDER[p.sex.value],
    }
    if p.birth_year is not None:
        patient["birthDate"] = str(p.birth_year)
    if p.site_code is not None:
        patient["managingOrganization"] = {"reference": site_urls[p.site_code]}
    subject = {"reference": writer.add(f"patient/{code}", patient)}
    writer.add(f"condition/{code}/diagnosis", _diagnosis(p, subject))
    if p.overlap_disease is not None:
        writer.add(
            f"condition/{code}/overlap",
            {
                "resourceType": "Condition",
                "subject": subject,
                "code": {
                    "coding": condition_codings("overlap_diseases", p.overlap_disease.value),
                    "text": table()["overlap_diseases"][p.overlap_disease.value]["display"],
                },
            },
        )
    if p.height_cm is not None:
        writer.add(f"height/{code}", _vital(subject, "body_height", p.height_cm, None))
    for i, therapy in enumerate(d.therapies, 1):
        writer.add(f"therapy/{code}/{i}", _therapy(therapy, subject))
    first_days = {}
    recorded = {(day.course_number, day.day_number): day for day in d.infusion_days}
    for course in d.courses:
        for day in range(1, course.days + 1):
            key = f"course/{code}/{course.course_number}/{day}"
            stored = recorded.get((course.course_number, day))
            res = (
                _administration(course, day, subject)
                if stored is None
                else recorded_administration(course, stored, subject)
            )
            url = writer.add(key, res)
            if day == 1:
                first_days[course.course_number] = url
        if course.weight_kg is not None:
            weight = _vital(subject, "body_weight", course.weight_kg, course.start_date)
            weight["partOf"] = [{"reference": first_days[course.course_number]}]
            writer.add(f"weight/{code}/{course.course_number}", weight)
    for i, lab in enumerate(d.labs, 1):
        writer.add(f"lab/{code}/{i}", _lab(lab, subject))
    for a in d.assessments:
        _assessment(writer, code, a, subject)
    for i, event in enumerate(d.adverse_events, 1):
        writer.add(f"ae/{code}/{i}", _adverse_event(event, subject, first_days))


def _diagnosis(p: r.Patient, subject: dict[str, str]) -> Resource:
    res: Resource = {
        "resourceType": "Condition",
        **_extensions(
            (
                "disease-duration",
                "valueQuantity",
                None
                if p.disease_duration_years is None
                else quantity(p.disease_duration_years, "a"),
            ),
            (
                "disease-duration-qualifier",
                "valueCode",
                p.disease_duration_qualifier.value if p.disease_duration_qualifier else None,
            ),
        ),
        "subject": subject,
        "code": {
            "coding": condition_codings("diagnoses", p.diagnosis.value),
            "text": table()["diagnoses"][p.diagnosis.value]["display"],
        },
    }
    if p.onset_date is not None:
        res["onsetDateTime"] = p.onset_date.isoformat()
    return res


def _vital(subject: dict[str, str], key: str, value: float, when: date | None) -> Resource:
    entry = loinc("vitals", key)
    assert entry is not None
    res: Resource = {
        "resourceType": "Observation",
        "status": "final",
        "category": [_category("vital-signs")],
        "code": {"coding": [{"system": LOINC, "code": entry["code"], "display": entry["display"]}]},
        "subject": subject,
        "valueQuantity": quantity(value, entry["unit"]),
    }
    if when is not None:
        res["effectiveDateTime"] = when.isoformat()
    return res


def _category(code: str) -> dict[str, Any]:
    return {"coding": [{"system": OBSERVATION_CATEGORY, "code": code}]}


def _therapy(t: r.Therapy, subject: dict[str, str]) -> Resource:
    res: Resource = {
        "resourceType": "MedicationStatement",
        **_extensions(("therapy-timing", "valueCode", t.timing.value if t.timing else None)),
        "status": "completed" if t.stop_date else "active",
        "medicationCodeableConcept": {
            "coding": [{"system": local("drug"), "code": t.drug.value}],
            **({"text": t.drug_label} if t.drug_label else {}),
        },
        "subject": subject,
    }
    period = {k: v.isoformat() for k, v in (("start", t.start_date), ("end", t.stop_date)) if v}
    if period:
        res["effectivePeriod"] = period
    if t.dose_mg_per_day is not None:
        res["dosage"] = [{"doseAndRate": [{"doseQuantity": quantity(t.dose_mg_per_day, "mg/d")}]}]
    if t.note:
        res["note"] = [{"text": t.note}]
    return res


def _administration(c: r.Course, day: int, subject: dict[str, str]) -> Resource:
    res: Resource = {
        "resourceType": "MedicationAdministration",
        "extension": _course_extensions(c, day),
        "status": "completed",
        "medicationCodeableConcept": {
            "coding": [ivig_coding()],
            **({"text": c.product} if c.product else {}),
        },
        "subject": subject,
    }
    if c.start_date is not None:
        res["effectiveDateTime"] = (c.start_date + timedelta(days=day - 1)).isoformat()
    else:
        res["effectivePeriod"] = copy.deepcopy(ABSENT_DATE)
    dosage: dict[str, Any] = {}
    if c.given_daily_dose_g is not None:
        dosage["dose"] = quantity(c.given_daily_dose_g, "g")
    if c.infusion_rate_ml_per_kg_min is not None:
        dosage["rateQuantity"] = quantity(c.infusion_rate_ml_per_kg_min, "mL/kg/min")
    if dosage:
        res["dosage"] = dosage
    if c.note and day == 1:
        res["note"] = [{"text": c.note}]
    return res


# A recorded day's medication: the contained Medication carrying the lot.
MEDICATION_ID = "given"
RATE_UNITS = {RateUnit.ML_PER_KG_MIN: "mL/kg/min", RateUnit.ML_PER_H: "mL/h"}
DATA_ABSENT_EXTENSION = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
ABSENT_DATE = {"extension": [{"url": DATA_ABSENT_EXTENSION, "valueCode": "unknown"}]}


def recorded_administration(c: r.Course, day: r.InfusionDay, subject: dict[str, str]) -> Resource:
    """A stored infusion day: its own date, dose, lot (contained Medication batch), rate steps,
    volume, time, reactions, who gave it and note. The course's own values, which the derived
    days carry in the standard elements, go into course-* extensions so that the course reads
    back unchanged even when every day is recorded."""
    res: Resource = {
        "resourceType": "MedicationAdministration",
        "contained": [
            {
                "resourceType": "Medication",
                "id": MEDICATION_ID,
                "code": {
                    "coding": [ivig_coding()],
                    **({"text": day.product} if day.product else {}),
                },
                "batch": {"lotNumber": day.lot_number},
            }
        ],
        "extension": [
            *_course_extensions(c, day.day_number),
            *_extensions(
                *_course_values(c, day.day_number),
                ("infusion-volume", "valueQuantity", _maybe(day.volume_ml, "mL")),
                ("infusion-minutes", "valueQuantity", _maybe(day.total_minutes, "min")),
            ).get("extension", []),
            *(_rate_step(step) for step in day.rate_steps),
            *(_reaction(reaction) for reaction in day.reactions),
        ],
        "status": "completed",
        "medicationReference": {"reference": f"#{MEDICATION_ID}"},
        "subject": subject,
    }
    if day.infusion_date is not None:
        res["effectiveDateTime"] = day.infusion_date.isoformat()
    else:
        res["effectivePeriod"] = copy.deepcopy(ABSENT_DATE)
    if day.given_by:  # a pseudonymised dossier has none (clinic.service.pseudonymise)
        res["performer"] = [{"actor": {"display": day.given_by}}]
    dosage: dict[str, Any] = {"dose": quantity(day.dose_g, "g")}
    units = {step.unit for step in day.rate_steps}
    if len(units) == 1:  # mixed per-kg and pump rates have no one maximum: the steps say it
        top = max(step.rate for step in day.rate_steps)
        dosage["rateQuantity"] = quantity(top, RATE_UNITS[units.pop()])
    res["dosage"] = dosage
    if day.note:
        res["note"] = [{"text": day.note}]
    return res


def _course_extensions(c: r.Course, day: int) -> list[dict[str, Any]]:
    return _extensions(
        ("course-number", "valueInteger", c.course_number),
        ("course-day", "valueInteger", day),
        ("course-days", "valueInteger", c.days),
        (
            "planned-daily-dose",
            "valueQuantity",
            None if c.planned_daily_dose_g is None else quantity(c.planned_daily_dose_g, "g"),
        ),
    )["extension"]


def _course_values(c: r.Course, day: int) -> list[tuple[str, str, Any]]:
    """The course's start, daily dose, rate, product and (day 1) note, for a recorded day."""
    return [
        ("course-start", "valueDate", c.start_date.isoformat() if c.start_date else None),
        ("course-daily-dose", "valueQuantity", _maybe(c.given_daily_dose_g, "g")),
        ("course-rate", "valueQuantity", _maybe(c.infusion_rate_ml_per_kg_min, "mL/kg/min")),
        ("course-product", "valueString", c.product),
        ("course-note", "valueString", c.note if day == 1 else None),
    ]


def _maybe(value: float | None, unit: str) -> dict[str, Any] | None:
    return None if value is None else quantity(value, unit)


def _rate_step(step: r.RateStepGiven) -> dict[str, Any]:
    """One rate step run, in order: a complex extension with its rate and minutes."""
    return {
        "url": ext("rate-step"),
        "extension": [
            {"url": "rate", "valueQuantity": quantity(step.rate, RATE_UNITS[step.unit])},
            {"url": "minutes", "valueQuantity": quantity(step.minutes, "min")},
        ],
    }


def _reaction(reaction: r.InfusionReaction) -> dict[str, Any]:
    """An infusion reaction of the day (kept on the administration, not as an AdverseEvent:
    the dossier's adverse events are separate records and must not gain one on import)."""
    parts = [
        {"url": "type", "valueString": reaction.type},
        {"url": "ctcae-grade", "valueInteger": reaction.ctcae_grade},
    ]
    if reaction.action is not None:
        parts.append({"url": "action", "valueCode": reaction.action.value})
    return {"url": ext("infusion-reaction"), "extension": parts}


def _observation(
    subject: dict[str, str],
    coding: dict[str, Any],
    when: date | None,
    value: Any,
    encounter: str | None = None,
    category: str = "laboratory",
) -> Resource:
    res: Resource = {
        "resourceType": "Observation",
        "status": "final",
        "category": [_category(category)],
        "code": {"coding": [coding]},
        "subject": subject,
    }
    if encounter is not None:
        res["encounter"] = {"reference": encounter}
    if when is not None:
        res["effectiveDateTime"] = when.isoformat()
    res.update(value)
    return res


def _value(value: Any, unit: str | None = None, kind: str = "valueQuantity") -> dict[str, Any]:
    if isinstance(value, NotPerformed):
        return {"dataAbsentReason": NOT_PERFORMED}
    if value is None:
        return {}
    if kind == "valueQuantity":
        assert unit is not None
        return {kind: quantity(value, unit)}
    return {kind: value}


def _lab(lab: r.LabResult, subject: dict[str, str]) -> Resource:
    entry = loinc("labs", lab.test.value)
    coding = (
        {"system": LOINC, "code": entry["code"], "display": entry["display"]}
        if entry
        else {"system": local("lab-test"), "code": lab.test.value}
    )
    if lab.not_performed:
        value: dict[str, Any] = {"dataAbsentReason": NOT_PERFORMED}
    elif lab.text_value is not None:
        value = {"valueString": lab.text_value}
    elif lab.test is LabTest.CREATININE and lab.value is not None and entry:
        value = {"valueQuantity": quantity(creatinine_mg_per_dl(lab.value), entry["unit"])}
    else:
        value = _value(lab.value, lab.unit)
    return _observation(subject, coding, lab.sample_date, value)


def _assessment(writer: BundleWriter, code: str, a: r.Assessment, subject: dict[str, str]) -> None:
    when = a.assessment_date
    key = f"assessment/{code}/{when.isoformat()}"
    encounter: Resource = {
        "resourceType": "Encounter",
        **_extensions(("note", "valueString", a.note)),
        "status": "finished",
        "class": {"system": ACT_CODE, "code": "AMB"},
        "type": [{"coding": [{"system": local("phase"), "code": a.phase.value}]}],
        "subject": subject,
        "period": {"start": when.isoformat(), "end": when.isoformat()},
    }
    if a.assessor:
        encounter["participant"] = [{"individual": {"display": a.assessor}}]
    enc = writer.add(key, encounter)
    for v in a.core_set:
        unit = "points" if v.measure.value in {"haq", "mmt8"} else "cm"
        obs = _observation(
            subject,
            {"system": local("core-set"), "code": v.measure.value},
            when,
            _value(v.value, unit),
            enc,
            "exam",
        )
        if v.scale_max is not None:
            obs["extension"] = [extension("mmt8-scale-max", "valueDecimal", v.scale_max)]
        writer.add(f"{key}/core/{v.measure.value}", obs)
    for e in a.enzymes:
        entry = loinc("enzymes", e.enzyme.value)
        assert entry is not None
        coding = {"system": LOINC, "code": entry["code"], "display": entry["display"]}
        obs = _observation(subject, coding, when, _value(e.value_u_per_l, "U/L"), enc)
        if e.uln_u_per_l is not None:
            obs["referenceRange"] = [{"high": quantity(e.uln_u_per_l, "U/L")}]
        writer.add(f"{key}/enzyme/{e.enzyme.value}", obs)
    for m in a.myometry:
        obs = _observation(
            subject,
            {"system": local("measure"), "code": "myometry-force"},
            when,
            _value(m.force_n, "N"),
            enc,
            "exam",
        )
        obs["bodySite"] = _site(m.muscle_group.value, m.side.value)
        writer.add(f"{key}/myometry/{m.muscle_group.value}/{m.side.value}", obs)
    for g in a.muscle_grades:
        obs = _observation(
            subject,
            {"system": local("measure"), "code": "kendall-grade"},
            when,
            _value(g.kendall_grade, kind="valueInteger"),
            enc,
            "exam",
        )
        obs["bodySite"] = _site(g.muscle_group.value, g.side.value)
        writer.add(f"{key}/grade/{g.muscle_group.value}/{g.side.value}", obs)
    for t in a.functional_tasks:
        value = (
            {"dataAbsentReason": NOT_PERFORMED}
            if t.not_performed
            else _value(t.able, kind="valueBoolean")
        )
        obs = _observation(
            subject,
            {"system": local("functional-task"), "code": t.task.value},
            when,
            value,
            enc,
            "exam",
        )
        if t.time_s is not None:
            obs["component"] = [
                {
                    "code": {"coding": [{"system": local("measure"), "code": "walk-time"}]},
                    "valueQuantity": quantity(t.time_s, "s"),
                }
            ]
        writer.add(f"{key}/task/{t.task.value}", obs)


def _site(group: str, side: str) -> dict[str, Any]:
    return {"coding": [{"system": local("muscle-site"), "code": f"{group}.{side}"}]}


def _adverse_event(e: r.AdverseEvent, subject: dict[str, str], courses: dict[int, str]) -> Resource:
    res: Resource = {
        "resourceType": "AdverseEvent",
        **_extensions(
            ("ctcae-grade", "valueInteger", e.ctcae_grade),
            ("action-taken", "valueCode", e.action.value if e.action else None),
            ("note", "valueString", e.note),
        ),
        "actuality": "actual",
        "event": {"text": e.term},
        "subject": subject,
        "seriousness": {
            "coding": [{"system": SERIOUSNESS, "code": "serious" if e.serious else "non-serious"}]
        },
    }
    if e.onset_date is not None:
        res["date"] = e.onset_date.isoformat()
    if e.outcome is not None:
        res["outcome"] = {"coding": [{"system": AE_OUTCOME, "code": AE_OUTCOMES[e.outcome.value]}]}
    suspect: Resource = {}
    if e.course_number is not None:
        suspect["instance"] = {"reference": courses[e.course_number]}
    elif e.relation_to_ivig is not None:
        # A causality needs a suspect: IVIg itself when no course is named.
        res["contained"] = [ivig_medication()]
        suspect["instance"] = {"reference": f"#{IVIG_ID}"}
    if e.relation_to_ivig is not None:
        code, display = CAUSALITY_CODES[e.relation_to_ivig.value]
        suspect["causality"] = [
            {"assessment": {"coding": [{"system": CAUSALITY, "code": code, "display": display}]}}
        ]
    if suspect:
        res["suspectEntity"] = [suspect]
    return res
