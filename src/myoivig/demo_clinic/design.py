"""The demo clinic's design: who the synthetic patients are and what course each is meant to take.

Everything here is decided before any record exists, so the tests can hold the rules engines to
it: each patient's `Intent` is the generator's plan, never a result read back from the engines.
Shapes follow the 1998 open-label trial (Mastaglia et al., J Neurol Neurosurg Psychiatry
1998;65:107-110): a three-month run-in with at least three assessments and continued
deterioration; responders improving "over a period of three to nine months" (overlap) or "two to
three months" (dermatomyositis); patient 1 improved by nine days and had lost it by three weeks;
patient 5 improved only after "a further three courses of IVIg six months later"; patient 10's
elbow- and hip-extensor force rose after IVIg; inclusion body myositis showed no functional or
MRC improvement (patient 15: myometry rose in some less affected muscles only).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from myoivig.domain.vocab import Diagnosis, OverlapDisease, Sex

DEFAULT_SEED = 19980701  # the trial's publication month; any integer regenerates another clinic
REFERENCE_DATE = date(2026, 6, 30)  # data cut-off: every date lies on or before it
EARLIEST_START = date(2024, 3, 1)  # first run-in visits from here on


class Intent(StrEnum):
    """The course the generator gives a patient (what the engines are expected to find)."""

    RESPONDER = "responder"  # improves over 2-9 months and stays better
    NON_RESPONDER = "non_responder"  # no improvement after three courses: stop
    TRANSIENT = "transient"  # trial patient 1: better at ~9 days, lost by 3 weeks
    LATE = "late"  # trial patient 5: setback after course 1, better after the third course
    IBM_FLAT = "ibm_flat"  # inclusion body myositis: no functional or MRC change


@dataclass(frozen=True)
class SiteDesign:
    code: str
    name: str
    ck_uln_u_per_l: float  # each laboratory reports its own upper limit of normal
    products: tuple[str, ...]  # keys of src/myoivig/protocol/products.yaml
    infusion_days: int  # 2 g/kg split over this many days
    trial_regimen_from_kg: float | None  # 30 g/day x 5 then x 3 for adults at least this heavy


SITES: tuple[SiteDesign, ...] = (
    SiteDesign("SYN-NORTH", "Synthetic Northfield Myositis Clinic", 190, ("octagam-10",), 5, None),
    SiteDesign(
        "SYN-RIVER",
        "Synthetic Riverside Neuromuscular Service",
        170,
        ("gamunex-c", "panzyga", "gammagard-liquid"),
        4,
        None,
    ),
    SiteDesign("SYN-HARBOUR", "Synthetic Harbour Myopathy Clinic", 200, ("intragam-10",), 5, 75.0),
)
LOW_IGA_PRODUCT = "privigen"  # lowest IgA content in the catalogue (<= 25 ug/mL, EU SmPC)


@dataclass(frozen=True)
class PatientDesign:
    """One planned patient: diagnosis, intended course and the seeded parameters of its curve."""

    code: str
    site: SiteDesign
    diagnosis: Diagnosis
    overlap: OverlapDisease | None
    intent: Intent
    like_trial_patient: int | None  # the trial case whose reported course this one follows
    sex: Sex
    age: int
    severity: float  # Kendall levels below normal in the most affected muscle group
    runin_decline: float  # fractional worsening of weakness over the three-month run-in
    recovery: float  # responders: fraction of the weakness recovered
    lag_days: int  # responders: days from the first course to the first gain
    ramp_days: int  # responders: days from the first gain to the plateau (2-9 months in all)
    ck_times_uln: float
    iga_deficient: bool = False
    anti_iga_positive: bool = False
    special: str | None = None  # "thrombosis", "aseptic_meningitis", "haemolysis", ...


# (diagnosis, overlap disease, intent, like trial patient, special) in the order codes are given.
_D, _P, _O = Diagnosis.DERMATOMYOSITIS, Diagnosis.POLYMYOSITIS, Diagnosis.OVERLAP_MYOSITIS
_I, _J = Diagnosis.INCLUSION_BODY_MYOSITIS, Diagnosis.JUVENILE_DERMATOMYOSITIS
_R, _N, _F = Intent.RESPONDER, Intent.NON_RESPONDER, Intent.IBM_FLAT
Row = tuple[Diagnosis, OverlapDisease | None, Intent, int | None, str | None]
_SSC, _SLE = OverlapDisease.SYSTEMIC_SCLEROSIS, OverlapDisease.SLE
_SJO, _MCTD = OverlapDisease.SJOGREN, OverlapDisease.MCTD
_RA = OverlapDisease.RHEUMATOID_ARTHRITIS

COHORT: tuple[Row, ...] = (
    (_D, None, Intent.TRANSIENT, 1, None),
    (_D, None, Intent.LATE, 5, "septicaemia"),
    (_O, _SLE, _R, 10, "patient10"),
    (_I, None, _F, 15, "regional_myometry"),
    *[(_D, None, _R, 2 if i % 2 else 4, None) for i in range(10)],
    (_D, None, _R, None, "aseptic_meningitis"),
    *[(_D, None, _N, 3, None) for _ in range(5)],
    *[(_P, None, _R, 6, None) for _ in range(6)],
    (_P, None, _R, 6, "iga_deficient_negative"),
    (_P, None, _R, 6, "renal_impairment"),
    *[(_P, None, _N, 7, None) for _ in range(3)],
    (_P, None, _N, 7, "thrombosis"),
    *[(_O, d, _R, 8, None) for d in (_SSC, _SSC, _SSC, _SLE, _SJO, _SJO, _MCTD, _RA)],
    (_O, _SSC, _R, 9, "haemolysis"),
    (_O, _SLE, _R, 11, "iga_deficient_positive"),
    (_O, _SSC, _N, None, None),
    *[(_I, None, _F, 12, None) for _ in range(11)],
    *[(_J, None, _R, None, None) for _ in range(5)],
    (_J, None, _N, None, None),
)

AGE_RANGES: dict[Diagnosis, tuple[int, int]] = {
    _D: (30, 74),
    _P: (30, 76),
    _O: (20, 62),
    _I: (56, 82),
    _J: (7, 15),
}
CK_RANGES: dict[Diagnosis, tuple[float, float]] = {  # multiples of the site's ULN at entry
    _D: (3, 18),
    _P: (5, 30),
    _O: (5, 35),
    _I: (1.5, 5),
    _J: (2, 12),
}
FEMALE_SHARE: dict[Diagnosis, float] = {_D: 0.65, _P: 0.6, _O: 0.85, _I: 0.3, _J: 0.6}


def patient_rng(seed: int, code: str) -> random.Random:
    """One generator per patient, so that one patient's draws never shift another's."""
    return random.Random(f"{seed}:{code}")


def cohort_design(seed: int = DEFAULT_SEED) -> list[PatientDesign]:
    """The 60 planned patients, spread over the three sites within each diagnosis."""
    designs = []
    per_diagnosis: dict[Diagnosis, int] = {}
    for number, (diagnosis, overlap, intent, like, special) in enumerate(COHORT, start=1):
        code = f"SYN-{number:03d}"
        index = per_diagnosis.get(diagnosis, 0)
        per_diagnosis[diagnosis] = index + 1
        designs.append(_design(seed, code, SITES[index % len(SITES)], diagnosis, overlap, intent,
                               like, special))  # fmt: skip
    return designs


def _design(
    seed: int,
    code: str,
    site: SiteDesign,
    diagnosis: Diagnosis,
    overlap: OverlapDisease | None,
    intent: Intent,
    like: int | None,
    special: str | None,
) -> PatientDesign:
    rng = patient_rng(seed, code)
    low, high = AGE_RANGES[diagnosis]
    sex = Sex.FEMALE if rng.random() < FEMALE_SHARE[diagnosis] else Sex.MALE
    age = rng.randint(low, high)
    if special == "patient10":  # trial patient 10: 18-year-old woman, PM/SLE, early in illness
        sex, age = Sex.FEMALE, 18
    if special == "thrombosis":
        age = max(age, 70)  # thrombosis risk rises with age (IVIg boxed warning)
    ck_low, ck_high = CK_RANGES[diagnosis]
    return PatientDesign(
        code=code,
        site=site,
        diagnosis=diagnosis,
        overlap=overlap,
        intent=intent,
        like_trial_patient=like,
        sex=sex,
        age=age,
        severity=round(rng.uniform(4.5, 6.0), 2),
        runin_decline=round(rng.uniform(0.08, 0.15), 3),
        recovery=round(rng.uniform(0.75, 0.95), 2),
        lag_days=rng.randint(5, 25),
        ramp_days=rng.randint(45, 240),
        ck_times_uln=round(rng.uniform(ck_low, ck_high), 1),
        iga_deficient=special in {"iga_deficient_negative", "iga_deficient_positive"},
        anti_iga_positive=special == "iga_deficient_positive",
        special=special,
    )
