# ruff: noqa: E501  (a transcribed table reads best one patient per line)
"""The trial's 16 patients as plain dataclasses (transcribed from the table of seed 000)."""

from __future__ import annotations

from dataclasses import dataclass, field

from myoivig.domain.vocab import Diagnosis, Drug, OverlapDisease, Qualifier, Sex, TherapyTiming

NP = "NP"


@dataclass(frozen=True)
class P:
    code: str
    sex: Sex
    age_at_entry: int | None
    diagnosis: Diagnosis
    overlap_disease: OverlapDisease | None
    disease_duration_years: float | None
    disease_duration_qualifier: Qualifier | None = None


@dataclass(frozen=True)
class T:
    drug: Drug
    drug_label: str | None
    timing: TherapyTiming | None = TherapyTiming.CONCURRENT


@dataclass(frozen=True)
class C:
    course_number: int


@dataclass(frozen=True)
class AE:
    serious: bool


@dataclass(frozen=True)
class RO:
    source: str
    ivig_courses_reported: str | None
    functional_improvement: object
    mrc_improvement: object
    myometry_change_pct: object
    myometry_significant: bool | None
    ck_before_u_per_l: object
    ck_after_u_per_l: object
    prednisone_stopped_before_ivig: bool = False


@dataclass(frozen=True)
class D:
    patient: P
    therapies: list[T] = field(default_factory=list)
    courses: list[C] = field(default_factory=list)
    adverse_events: list[AE] = field(default_factory=list)
    reported_outcome: RO | None = None


DM, PM, OV, IBM = (
    Diagnosis.DERMATOMYOSITIS,
    Diagnosis.POLYMYOSITIS,
    Diagnosis.OVERLAP_MYOSITIS,
    Diagnosis.INCLUSION_BODY_MYOSITIS,
)
SS, SLE = OverlapDisease.SYSTEMIC_SCLEROSIS, OverlapDisease.SLE
PRED = T(Drug.PREDNISOLONE, "Pred")
MTX = T(Drug.METHOTREXATE, "MTX")
AZA = T(Drug.AZATHIOPRINE, "Aza")
STOPPED = T(Drug.PREDNISONE, "Prednisone", TherapyTiming.STOPPED_BEFORE_IVIG)
LT = Qualifier.LESS_THAN
F, M = Sex.FEMALE, Sex.MALE

# case, sex, age, dx, overlap, duration, qualifier, therapies, courses (reported, count),
# functional, mrc, myometry %, significant, CK before, CK after, prednisone stopped, serious AEs
TABLE = [
    (1, M, 78, DM, None, 1, None, [PRED, MTX, T(Drug.CYCLOSPORIN_A, "CyA")], "2", 2, False, False, 20.9, False, 253, 134, False, 0),
    (2, F, 68, DM, None, 6, None, [PRED, MTX], "3", 3, True, True, NP, None, 1932, 29, False, 0),
    (3, F, 45, DM, None, 1, None, [PRED, AZA, MTX, T(Drug.OTHER, "PMP")], "10", 10, False, False, 4.9, False, 324, 127, False, 0),
    (4, F, 35, DM, None, 1, LT, [PRED, MTX], "2", 2, True, True, NP, None, 1230, 256, False, 0),
    (5, F, 45, DM, None, 1, LT, [PRED, MTX], "1 + 3", 4, True, True, 33.4, True, 637, 56, False, 1),
    (6, F, 31, PM, None, 8, None, [PRED], "6", 6, True, True, 27.7, True, 207, 77, False, 0),
    (7, M, 82, PM, None, 2, None, [PRED], "1", 1, False, False, NP, None, 166, 196, False, 1),
    (8, M, 52, OV, SS, 1, None, [PRED, T(Drug.PENICILLAMINE, "Pen")], "8", 8, True, True, 30.0, True, 400, 88, False, 0),
    (9, F, 31, OV, SS, 12, None, [PRED, AZA], "11", 11, True, True, 26.6, True, 7832, 184, False, 0),
    (10, F, 18, OV, SLE, 1, None, [PRED, AZA], "3", 3, True, True, 53.4, True, 6210, 189, False, 0),
    (11, F, 41, OV, SS, 6, None, [PRED, MTX], "10", 10, True, True, NP, None, 1532, 198, False, 0),
    (12, M, 79, IBM, None, 16, None, [PRED], "6", 6, False, False, -12.3, True, 107, NP, False, 0),
    (13, M, 65, IBM, None, 6, None, [STOPPED], "3", 3, False, False, -1.9, False, 460, 910, True, 0),
    (14, M, 69, IBM, None, 17, None, [PRED], "3", 3, False, False, 10.1, False, 326, 374, False, 0),
    (15, F, 63, IBM, None, 10, None, [PRED], "6", 6, False, False, 19.2, False, 61, 183, False, 0),
    (16, M, 75, IBM, None, 5, None, [STOPPED], "2", 2, False, False, -26.8, True, 49, 830, True, 0),
]  # fmt: skip


def trial_dossiers() -> list[D]:
    out = []
    for (case, sex, age, dx, ov, dur, qual, ther, reported, n_courses, fi, mrc, myo, sig,
         ck_b, ck_a, stopped, serious) in TABLE:  # fmt: skip
        out.append(
            D(
                patient=P(f"MAS98-{case:02d}", sex, age, dx, ov, float(dur), qual),
                therapies=list(ther),
                courses=[C(i + 1) for i in range(n_courses)],
                adverse_events=[AE(True) for _ in range(serious)],
                reported_outcome=RO(
                    f"table, case {case}",
                    reported,
                    fi,
                    mrc,
                    myo,
                    sig,
                    ck_b if ck_b == NP else float(ck_b),
                    ck_a if ck_a == NP else float(ck_a),
                    stopped,
                ),
            )
        )
    return out
