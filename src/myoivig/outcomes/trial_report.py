"""The trial reproduced from stored records: the paper's per-patient table and the cohort summary.

Works on dossier-shaped objects (myoivig.domain.records.PatientDossier satisfies the protocols
below); the CLI loads them from the store. Group counts are computed from the stored
`ReportedOutcome`s with the trial's response rule (functional AND MRC improvement,
trial_response.py); the paper's prose is compared against them (trial_claims.py).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Protocol

from myoivig.domain.vocab import (
    Diagnosis,
    Drug,
    OverlapDisease,
    Qualifier,
    Sex,
    TherapyTiming,
)
from myoivig.outcomes.cohort_stats import (
    adverse_event_rates,
    ck_before_after,
    proportion,
    summarise_changes,
)
from myoivig.outcomes.record_shapes import numeric
from myoivig.outcomes.trial_claims import Claim
from myoivig.outcomes.trial_response import trial_responder


class PatientLike(Protocol):
    @property
    def code(self) -> str: ...
    @property
    def sex(self) -> Sex: ...
    @property
    def age_at_entry(self) -> int | None: ...
    @property
    def diagnosis(self) -> Diagnosis: ...
    @property
    def overlap_disease(self) -> OverlapDisease | None: ...
    @property
    def disease_duration_years(self) -> float | None: ...
    @property
    def disease_duration_qualifier(self) -> Qualifier | None: ...


class TherapyLike(Protocol):
    @property
    def drug(self) -> Drug: ...
    @property
    def drug_label(self) -> str | None: ...
    @property
    def timing(self) -> TherapyTiming | None: ...


class CourseLike(Protocol):
    @property
    def course_number(self) -> int: ...


class AdverseEventLike(Protocol):
    @property
    def serious(self) -> bool: ...


class ReportedOutcomeLike(Protocol):
    @property
    def source(self) -> str: ...
    @property
    def ivig_courses_reported(self) -> str | None: ...
    @property
    def functional_improvement(self) -> object: ...
    @property
    def mrc_improvement(self) -> object: ...
    @property
    def myometry_change_pct(self) -> object: ...
    @property
    def myometry_significant(self) -> bool | None: ...
    @property
    def ck_before_u_per_l(self) -> object: ...
    @property
    def ck_after_u_per_l(self) -> object: ...
    @property
    def prednisone_stopped_before_ivig(self) -> bool: ...


class DossierLike(Protocol):
    @property
    def patient(self) -> PatientLike: ...
    @property
    def therapies(self) -> Sequence[TherapyLike]: ...
    @property
    def courses(self) -> Sequence[CourseLike]: ...
    @property
    def adverse_events(self) -> Sequence[AdverseEventLike]: ...
    @property
    def reported_outcome(self) -> ReportedOutcomeLike | None: ...


GROUPS = ("isolated_dm_pm", "overlap", "ibm")

# Abbreviations as in the paper's table legend (Mastaglia 1998); the rest follow common usage.
DIAGNOSIS_ABBREVIATIONS = {
    Diagnosis.DERMATOMYOSITIS: "DM",
    Diagnosis.POLYMYOSITIS: "PM",
    Diagnosis.INCLUSION_BODY_MYOSITIS: "IBM",
    Diagnosis.JUVENILE_DERMATOMYOSITIS: "JDM",
    Diagnosis.IMMUNE_MEDIATED_NECROTISING_MYOPATHY: "IMNM",
    Diagnosis.ANTISYNTHETASE_SYNDROME: "ASS",
    Diagnosis.OVERLAP_MYOSITIS: "PM",
}
OVERLAP_ABBREVIATIONS = {
    OverlapDisease.SYSTEMIC_SCLEROSIS: "SS",
    OverlapDisease.SLE: "SLE",
    OverlapDisease.SJOGREN: "SjS",
    OverlapDisease.MCTD: "MCTD",
    OverlapDisease.RHEUMATOID_ARTHRITIS: "RA",
}
DRUG_ABBREVIATIONS = {
    Drug.PREDNISOLONE: "Pred",
    Drug.METHOTREXATE: "MTX",
    Drug.AZATHIOPRINE: "Aza",
    Drug.CYCLOSPORIN_A: "CyA",
    Drug.PENICILLAMINE: "Pen",
}
FOOTNOTE_PREDNISONE = "*Prednisone therapy stopped shortly before start of IVIg."
LEGEND = (
    "NS = not significant at p<0.05; NP = not performed. Myometer score: mean for right and left "
    "shoulder abductors, elbow extensors, hip flexors and knee extensors."
)


def diagnosis_group(patient: PatientLike) -> str:
    """isolated_dm_pm, overlap, ibm, or other (IMNM, antisynthetase)."""
    if patient.diagnosis is Diagnosis.OVERLAP_MYOSITIS or patient.overlap_disease is not None:
        return "overlap"
    if patient.diagnosis is Diagnosis.INCLUSION_BODY_MYOSITIS:
        return "ibm"
    if patient.diagnosis in (
        Diagnosis.DERMATOMYOSITIS,
        Diagnosis.POLYMYOSITIS,
        Diagnosis.JUVENILE_DERMATOMYOSITIS,
    ):
        return "isolated_dm_pm"
    return "other"


def case_number(code: str) -> int | None:
    """The trailing number of a patient code (MAS98-05 -> 5): the paper's case number."""
    match = re.search(r"(\d+)$", code)
    return int(match.group(1)) if match else None


def _finding(value: object) -> bool | str | None:
    if value is True or value is False:
        return value
    return None if value is None else "NP"


def _number_or_np(value: object) -> float | str | None:
    number = numeric(value)
    if number is not None:
        return number
    return None if value is None else "NP"


@dataclass(frozen=True)
class TableRow:
    case: int | None
    patient_code: str
    sex: str
    age_y: int | None
    diagnosis: str
    duration_y: str
    concurrent_therapy: list[str]
    ivig_courses: str
    functional_improvement: bool | str | None
    mrc_improvement: bool | str | None
    myometry_change_pct: float | str | None
    myometry_significant: bool | None
    ck_before_u_per_l: float | str | None
    ck_after_u_per_l: float | str | None
    prednisone_stopped_before_ivig: bool
    responder: bool | None

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def _duration(patient: PatientLike) -> str:
    years = patient.disease_duration_years
    if years is None:
        return ""
    text = f"{years:g}"
    if patient.disease_duration_qualifier is Qualifier.LESS_THAN:
        return f"<{text}"
    if patient.disease_duration_qualifier is Qualifier.APPROXIMATE:
        return f"~{text}"
    return text


def _concurrent(therapies: Sequence[TherapyLike]) -> list[str]:
    labels = []
    for therapy in therapies:
        if therapy.timing is TherapyTiming.STOPPED_BEFORE_IVIG:
            continue
        label = DRUG_ABBREVIATIONS.get(therapy.drug) or therapy.drug_label or therapy.drug.value
        labels.append(label)
    return labels or ["Nil"]


def _diagnosis_label(patient: PatientLike) -> str:
    base = DIAGNOSIS_ABBREVIATIONS[patient.diagnosis]
    if patient.overlap_disease is not None:
        return f"{base}/{OVERLAP_ABBREVIATIONS[patient.overlap_disease]}"
    return base


def table_rows(dossiers: Sequence[DossierLike]) -> list[TableRow]:
    """One row per patient with a reported outcome, in case order (the paper's table)."""
    rows = []
    for d in dossiers:
        outcome = d.reported_outcome
        if outcome is None:
            continue
        fi = _finding(outcome.functional_improvement)
        mrc = _finding(outcome.mrc_improvement)
        rows.append(
            TableRow(
                case=case_number(d.patient.code),
                patient_code=d.patient.code,
                sex=d.patient.sex.value,
                age_y=d.patient.age_at_entry,
                diagnosis=_diagnosis_label(d.patient),
                duration_y=_duration(d.patient),
                concurrent_therapy=_concurrent(d.therapies),
                ivig_courses=outcome.ivig_courses_reported or str(len(d.courses)),
                functional_improvement=fi,
                mrc_improvement=mrc,
                myometry_change_pct=_number_or_np(outcome.myometry_change_pct),
                myometry_significant=outcome.myometry_significant,
                ck_before_u_per_l=_number_or_np(outcome.ck_before_u_per_l),
                ck_after_u_per_l=_number_or_np(outcome.ck_after_u_per_l),
                prednisone_stopped_before_ivig=outcome.prednisone_stopped_before_ivig,
                responder=trial_responder(
                    fi if isinstance(fi, bool) else None, mrc if isinstance(mrc, bool) else None
                ),
            )
        )
    return sorted(rows, key=lambda r: (r.case is None, r.case or 0, r.patient_code))


def _sign(value: bool | str | None) -> str:
    return (
        {True: "+", False: "-", None: ""}.get(value, "NP") if not isinstance(value, str) else value
    )


def _num(value: float | str | None) -> str:
    if value is None or isinstance(value, str):
        return value or ""
    return f"{value:g}" if value == int(value) else f"{value:.1f}"


def table_cells(row: TableRow) -> list[str]:
    """The row as the paper prints it."""
    myometry = row.myometry_change_pct
    if isinstance(myometry, float):
        myo_text = f"{myometry:+.1f}" + (" (NS)" if row.myometry_significant is False else "")
    else:
        myo_text = myometry or ""
    ck_after = _num(row.ck_after_u_per_l) + ("*" if row.prednisone_stopped_before_ivig else "")
    return [
        "" if row.case is None else str(row.case),
        f"{row.sex} {row.age_y} y" if row.age_y is not None else row.sex,
        row.diagnosis,
        row.duration_y,
        " ".join(row.concurrent_therapy),
        row.ivig_courses,
        _sign(row.functional_improvement),
        _sign(row.mrc_improvement),
        myo_text,
        _num(row.ck_before_u_per_l),
        ck_after,
    ]


TABLE_HEADERS = [
    "Case",
    "Sex/age",
    "Diagnosis",
    "Duration (y)",
    "Concurrent therapy",
    "IVIg courses",
    "Functional improvement",
    "Change in MRC grades",
    "Change in myometer score (%)",
    "Serum CK before IVIg",
    "Serum CK after IVIg",
]


def _proportion_json(successes: int, total: int, undetermined: int = 0) -> dict[str, object]:
    p = proportion(successes, total)
    return {
        "responders": successes,
        "patients": total,
        "undetermined": undetermined,
        "proportion": p.estimate,
        "clopper_pearson_95": list(p.clopper_pearson) if p.clopper_pearson else None,
        "wilson_95": list(p.wilson) if p.wilson else None,
    }


def _count(rows: Sequence[TableRow], attribute: str) -> tuple[int, int, int]:
    """(true, total, undetermined) for a boolean attribute over rows."""
    values = [getattr(r, attribute) for r in rows]
    true = sum(1 for v in values if v is True)
    undetermined = sum(1 for v in values if not isinstance(v, bool))
    return true, len(values), undetermined


def _ck_json(rows: Sequence[TableRow]) -> dict[str, object] | None:
    pairs = [
        (float(r.ck_before_u_per_l), float(r.ck_after_u_per_l))
        for r in rows
        if isinstance(r.ck_before_u_per_l, float) and isinstance(r.ck_after_u_per_l, float)
    ]
    # The log-scale t test needs CK > 0; a stored CK of 0 U/L is valid data, so such pairs are
    # left out of both tests (to keep them on the same patients) and counted, never a crash.
    usable = [(b, a) for b, a in pairs if b > 0 and a > 0]
    if not usable:
        return None
    result: dict[str, object] = asdict(ck_before_after(usable))
    result["excluded_pairs_with_zero_ck"] = len(pairs) - len(usable)
    return result


def _myometry_json(rows: Sequence[TableRow]) -> dict[str, object]:
    changes = [
        (float(r.myometry_change_pct), r.myometry_significant)
        for r in rows
        if isinstance(r.myometry_change_pct, float)
    ]
    summary = asdict(summarise_changes(changes))
    summary["not_performed"] = sum(1 for r in rows if r.myometry_change_pct == "NP")
    return summary


def cohort_summary(
    dossiers: Sequence[DossierLike], source: str, claims: Sequence[Claim]
) -> dict[str, object]:
    """The JSON summary: totals, per-group responders with intervals, CK, myometry, AEs,
    and the paper's statements that the stored data do not bear out."""
    rows = table_rows(dossiers)
    group_of = {d.patient.code: diagnosis_group(d.patient) for d in dossiers}
    diagnosis_of = {d.patient.code: d.patient.diagnosis for d in dossiers}
    by_group = {g: [r for r in rows if group_of[r.patient_code] == g] for g in GROUPS}
    groups = {g: _proportion_json(*_ordered(_count(rs, "responder"))) for g, rs in by_group.items()}
    non_ibm = [r for r in rows if group_of[r.patient_code] != "ibm"]
    metrics: dict[str, tuple[int, int] | int] = {
        "patients": len(dossiers),
        "total_courses": sum(len(d.courses) for d in dossiers),
        "serious_adverse_events": sum(1 for d in dossiers for e in d.adverse_events if e.serious),
    }
    for g, rs in by_group.items():
        true, total, _ = _ordered(_count(rs, "responder"))
        metrics[f"responders.{g}"] = (true, total)
        fi_true, fi_total, _ = _ordered(_count(rs, "functional_improvement"))
        metrics[f"functional_improvement.{g}"] = (fi_true, fi_total)
    for diagnosis in (Diagnosis.DERMATOMYOSITIS, Diagnosis.POLYMYOSITIS):
        rs = [
            r
            for r in rows
            if diagnosis_of[r.patient_code] is diagnosis and group_of[r.patient_code] != "overlap"
        ]
        true, total, _ = _ordered(_count(rs, "responder"))
        metrics[f"responders.{diagnosis.value}"] = (true, total)
    true, total, _ = _ordered(_count(non_ibm, "responder"))
    metrics["responders.non_ibm"] = (true, total)

    discrepancies, agreements = [], []
    for claim in claims:
        computed = metrics.get(claim.metric)
        if computed is None:
            raise ValueError(f"claim {claim.id}: unknown metric {claim.metric!r}")
        if isinstance(computed, tuple):
            matches = computed == (claim.numerator, claim.denominator)
            computed_text = f"{computed[0]} of {computed[1]}"
        else:
            matches = computed == claim.value
            computed_text = str(computed)
        entry = {
            "claim_id": claim.id,
            "location": claim.location,
            "quote": claim.quote,
            "metric": claim.metric,
            "paper_says": claim.claimed(),
            "data_give": computed_text,
        }
        if matches:
            agreements.append(entry)
        else:
            entry["statement"] = (
                f"The paper's {claim.location} says {claim.claimed()} ({claim.metric}); "
                f"the stored table gives {computed_text}."
            )
            discrepancies.append(entry)

    events = {d.patient.code: [e.serious for e in d.adverse_events] for d in dossiers}
    rates = adverse_event_rates(events, int(metrics["total_courses"]))  # type: ignore[arg-type]
    return {
        "source": source,
        "patients": metrics["patients"],
        "total_courses": metrics["total_courses"],
        "serious_adverse_events": metrics["serious_adverse_events"],
        "response_rule": "functional improvement and MRC improvement (>=1 level in >=4 groups)",
        "groups": groups,
        "non_ibm": _proportion_json(*_ordered(_count(non_ibm, "responder"))),
        "by_diagnosis": {
            key.split(".", 1)[1]: {"responders": v[0], "patients": v[1]}
            for key, v in metrics.items()
            if key.startswith("responders.")
            and key.split(".", 1)[1]
            in (
                Diagnosis.DERMATOMYOSITIS.value,
                Diagnosis.POLYMYOSITIS.value,
            )
            and isinstance(v, tuple)
        },
        "ck": {"all": _ck_json(rows), **{g: _ck_json(rs) for g, rs in by_group.items()}},
        "myometry_change_pct": {
            "all": _myometry_json(rows),
            **{g: _myometry_json(rs) for g, rs in by_group.items()},
        },
        "adverse_events": {
            **asdict(rates),
            "events_per_patient": rates.events_per_patient,
            "events_per_course": rates.events_per_course,
            "serious_per_course": rates.serious_per_course,
        },
        "discrepancies": discrepancies,
        "agreements": agreements,
    }


def _ordered(counts: tuple[int, int, int]) -> tuple[int, int, int]:
    """(responders, patients, undetermined): determinable patients only in the denominator."""
    true, total, undetermined = counts
    return true, total - undetermined, undetermined
