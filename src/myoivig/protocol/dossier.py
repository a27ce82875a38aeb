"""Read the protocol engine's inputs out of a stored patient dossier.

Only what is recorded is used: a missing weight or height stays missing (the plan reports it)
rather than being guessed from the cohort's typical values.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date

from myoivig.domain.records import LabResult, Patient, PatientDossier
from myoivig.domain.synthetic import SYNTHETIC_LABEL, is_synthetic
from myoivig.domain.vocab import AntibodyResult, BloodGroup, LabTest
from myoivig.protocol.advice import Advice, advise
from myoivig.protocol.body_weight import bmi
from myoivig.protocol.catalogue import Catalogue
from myoivig.protocol.errors import PlanningError
from myoivig.protocol.improvement import ImprovementRule
from myoivig.protocol.planner import PlanRequest
from myoivig.protocol.regimens import CourseKind
from myoivig.protocol.safety import (
    MENINGITIS_RISKS,
    RENAL_RISKS,
    THROMBOSIS_RISKS,
    Alert,
    AtRisk,
    PatientFacts,
    Risk,
    Severity,
    at_risk_status,
)
from myoivig.protocol.settings import DEFAULT_SETTINGS, ProtocolSettings


@dataclass(frozen=True)
class DossierFacts:
    request: PlanRequest
    alerts: tuple[Alert, ...]  # facts from the record a nurse should see with the plan
    weight_source: str | None


def latest_lab(dossier: PatientDossier, test: LabTest) -> LabResult | None:
    """The most recent performed result of a test (undated results count as oldest)."""
    return latest_result(dossier.labs, test)


def latest_result(
    labs: Iterable[LabResult], test: LabTest, on: date | None = None
) -> LabResult | None:
    """The most recent performed result of a test, taken on or before `on` when given (undated
    results count as oldest)."""
    done = [
        lab
        for lab in labs
        if lab.test == test
        and not lab.not_performed
        and (on is None or lab.sample_date is None or lab.sample_date <= on)
    ]
    if not done:
        return None
    return max(done, key=lambda lab: lab.sample_date or date.min)


def patient_age(dossier: PatientDossier, on: date) -> int | None:
    """Age now from the birth year when known, else the recorded age at entry."""
    return age_on(dossier.patient, on)


def age_on(patient: Patient, on: date) -> int | None:
    """Age on a day from the birth year when known, else the recorded age at entry."""
    if patient.birth_year is not None:
        return on.year - patient.birth_year
    return patient.age_at_entry


# Risk factors the at-risk rule reads that only the planner's form declares: the record stores
# none of them (obesity is left out: the record's BMI shows it). The catch-alls come last.
_OTHER = {Risk.THROMBOSIS: "other thrombosis risk", Risk.RENAL: "other renal risk"}
DECLARED_ONLY = tuple(
    sorted(
        (
            risk
            for risk in Risk
            if risk in THROMBOSIS_RISKS | RENAL_RISKS | MENINGITIS_RISKS
            and risk is not Risk.OBESITY
        ),
        key=lambda risk: risk in _OTHER,
    )
)
DECLARED_UNKNOWN = (
    "declared risk factors ("
    + ", ".join(_OTHER.get(risk, risk.value.replace("_", " ")) for risk in DECLARED_ONLY)
    + "; entered in the dose planner, not stored in the record)"
)


@dataclass(frozen=True)
class _RecordFacts:
    facts: PatientFacts
    why_unknown: dict[str, str]  # a fact `at_risk_status` names as unknown -> why


def _record_facts(
    patient: Patient,
    labs: Iterable[LabResult],
    on: date,
    weight_kg: float | None,
    settings: ProtocolSettings,
) -> _RecordFacts:
    why: dict[str, str] = {}
    age = age_on(patient, on)
    old_from = min(settings.thrombosis_age, settings.renal_age_over + 1)
    if patient.birth_year is None and age is not None and age < old_from:
        # The age at entry is a floor, not the age on the day: with no entry date, a patient
        # entered young may have passed the age limit since. Only an age that is over it counts.
        why["age"] = f"age (only the age at entry, {age}, is recorded: no birth year)"
        age = None
    egfr = latest_result(labs, LabTest.EGFR, on)
    egfr_value = egfr.value if egfr else None
    stale = egfr is not None and (
        egfr.sample_date is None or (on - egfr.sample_date).days > settings.lab_recency_days
    )
    if (
        egfr is not None
        and stale
        and (egfr_value is None or egfr_value >= settings.egfr_impaired_below)
    ):
        # An old normal eGFR does not show the kidneys are normal now (the planner's own
        # freshness limit); an old low one still shows a risk, as it does in the planner.
        taken = egfr.sample_date.isoformat() if egfr.sample_date else "undated"
        why["eGFR"] = (
            f"a current eGFR (the latest, {taken}, is more than {settings.lab_recency_days} days "
            "before the day: setting lab_recency_days)"
        )
        egfr_value = None
    body_mass_index = None
    if weight_kg is not None and patient.height_cm is not None:
        try:
            body_mass_index = bmi(weight_kg, patient.height_cm)
        except PlanningError:  # outside the planner's plausible range: not used
            body_mass_index = None
    facts = PatientFacts(
        age=age,
        egfr=egfr_value,
        egfr_date=egfr.sample_date if egfr and egfr_value is not None else None,
        diagnosis=patient.diagnosis,
        bmi=body_mass_index,
    )
    return _RecordFacts(facts, why)


def record_patient_facts(
    patient: Patient,
    labs: Iterable[LabResult],
    on: date,
    weight_kg: float | None,
    settings: ProtocolSettings = DEFAULT_SETTINGS,
) -> PatientFacts:
    """What the record says, on a day, about the facts the at-risk rule reads: age, the latest
    eGFR taken by then, the BMI from that day's weight and the recorded height. Conservative: an
    age known only at entry (no birth year) counts only when it is already over the age limit,
    and an eGFR older than the planner's freshness limit (setting lab_recency_days) only when it
    is low. Declared risk factors (diabetes, immobility, ...) are entered in the planner and not
    stored, so none."""
    return _record_facts(patient, labs, on, weight_kg, settings).facts


def record_at_risk(
    patient: Patient,
    labs: Iterable[LabResult],
    on: date,
    weight_kg: float | None,
    settings: ProtocolSettings = DEFAULT_SETTINGS,
) -> AtRisk:
    """Whether the at-risk maximum rate applies to a stored patient on a day, by the planner's
    own rule (`safety.at_risk_status`) on the facts the record holds (`record_patient_facts`).

    The record never shows a patient *not* at risk: the declared risk factors (diabetes,
    previous thrombosis, sepsis, ...) are entered in the planner and not stored, so their
    absence cannot be told. `at_risk` is True when age, eGFR or BMI shows a risk, else None with
    `unknown` naming what is missing, the declared risk factors always among them."""
    found = _record_facts(patient, labs, on, weight_kg, settings)
    status = at_risk_status(found.facts, settings)
    unknown = tuple(found.why_unknown.get(name, name) for name in status.unknown)
    return replace(status, unknown=(*unknown, DECLARED_UNKNOWN))


def facts_from_dossier(
    dossier: PatientDossier,
    regimen: str,
    catalogue: Catalogue,
    product: str | None = None,
    course: CourseKind | None = None,
    days: int | None = None,
    extra_risks: frozenset[Risk] = frozenset(),
    today: date | None = None,
) -> DossierFacts:
    """A plan request for the patient's next course, plus record-derived notices."""
    today = today or date.today()
    patient = dossier.patient
    courses = sorted(dossier.courses, key=lambda c: c.course_number)
    weighed = [c for c in courses if c.weight_kg is not None]
    weight = weighed[-1].weight_kg if weighed else None
    weight_source = f"course {weighed[-1].course_number}" if weighed else None
    if product is None and courses and courses[-1].product:
        found = catalogue.find(courses[-1].product)
        product = found.key if found else None

    iga = latest_lab(dossier, LabTest.IGA)
    anti = latest_lab(dossier, LabTest.ANTI_IGA_ANTIBODIES)
    egfr = latest_lab(dossier, LabTest.EGFR)
    group = latest_lab(dossier, LabTest.BLOOD_GROUP)
    blood_group = None
    if group is not None and group.text_value:
        blood_group = BloodGroup(group.text_value.strip().upper().rstrip("+-"))

    alerts: list[Alert] = []
    serious = [ae for ae in dossier.adverse_events if ae.serious]
    if serious:
        terms = "; ".join(
            f"{ae.term} (course {ae.course_number})" if ae.course_number else ae.term
            for ae in serious
        )
        alerts.append(
            Alert(
                Severity.WARNING,
                "previous_serious_adverse_event",
                f"Serious adverse event(s) on record: {terms}. Review before the next course; "
                "declare --risk previous_serious_reaction or previous_thrombosis if they apply.",
                "patient record (adverse events)",
            )
        )
    if is_synthetic(patient):
        alerts.append(synthetic_alert())
    if patient.birth_year is None and patient.age_at_entry is not None:
        alerts.append(
            Alert(
                Severity.INFO,
                "age_from_entry",
                f"Age {patient.age_at_entry} is the age recorded at entry; no birth year.",
                "patient record",
            )
        )

    request = PlanRequest(
        regimen=regimen,
        sex=patient.sex,
        age=patient_age(dossier, today),
        weight_kg=weight,
        height_cm=patient.height_cm,
        course=course or (CourseKind.MAINTENANCE if courses else CourseKind.INDUCTION),
        days=days,
        product=product,
        iga_g_per_l=iga.value if iga else None,
        anti_iga=AntibodyResult(anti.text_value.strip().lower())
        if anti and anti.text_value
        else None,
        egfr=egfr.value if egfr else None,
        egfr_date=egfr.sample_date if egfr else None,
        blood_group=blood_group,
        risks=extra_risks,
        start_date=today,
        diagnosis=patient.diagnosis,
    )
    return DossierFacts(request, tuple(alerts), weight_source)


def synthetic_alert() -> Alert:
    """Shown with every plan of a generated patient: demo data, never a prescription."""
    return Alert(
        Severity.WARNING,
        "synthetic_patient",
        f"{SYNTHETIC_LABEL}: generated demo data. This plan is an example, not a prescription.",
        "patient record (source)",
    )


def course_starts(dossier: PatientDossier) -> tuple[list[date], int]:
    """Dated course starts, and how many recorded courses have no start date."""
    dated = [c.start_date for c in dossier.courses if c.start_date is not None]
    return sorted(dated), len(dossier.courses) - len(dated)


def advise_dossier(
    dossier: PatientDossier,
    rule: ImprovementRule | None = None,
    settings: ProtocolSettings = DEFAULT_SETTINGS,
) -> Advice:
    """Continuation advice from the stored courses and assessments."""
    starts, undated = course_starts(dossier)
    diagnosis = dossier.patient.diagnosis
    if undated and not starts:
        base = advise([], [], diagnosis, rule, settings)
        return replace(
            base,
            rule="courses_without_dates",
            message=(
                f"{undated} course(s) recorded without start dates: assessments cannot be placed "
                "before or after them, so response cannot be judged. Record course dates."
            ),
            source="patient record",
            courses_given=len(dossier.courses),
        )
    advice = advise(starts, dossier.assessments, diagnosis, rule, settings)
    if is_synthetic(dossier.patient):
        advice = replace(
            advice,
            flags=(*advice.flags, "synthetic_patient"),
            flag_messages=(*advice.flag_messages, f"{SYNTHETIC_LABEL}: generated demo data."),
        )
    if undated:
        return replace(
            advice,
            message=f"{advice.message} ({undated} undated course(s) were not counted.)",
        )
    return advice
