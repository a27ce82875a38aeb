"""Disease course of a synthetic patient: weakness over time and the measurements it shows.

Weakness is a deficit in Kendall levels per muscle group, `deficit(group) = base(group) x
weakness(day)`, with day 0 the first IVIg course. `weakness` is 1 at the first run-in visit and
follows the patient's `Intent`; grades, forces, tasks, walk time, CK and the core set are read
off it (plus measurement noise on continuous values only, so that a grade never flickers and
the design, not chance, decides whether a patient improved).
"""

from __future__ import annotations

import random

from myoivig.demo_clinic.design import Intent, PatientDesign
from myoivig.domain.vocab import Diagnosis, MuscleGroup, Sex

RUN_IN_DAYS = 84  # "a three month run in period before commencement of IVIg"
LATE_RESTART_DAY = 182  # trial patient 5: further courses "six months later"

G = MuscleGroup
# Relative involvement per muscle group: proximal and neck-flexor weakness in DM/PM/overlap;
# quadriceps, ankle dorsiflexor and wrist/finger weakness in inclusion body myositis.
PROXIMAL: dict[MuscleGroup, float] = {
    G.NECK_FLEXORS: 0.85, G.SHOULDER_ABDUCTORS: 0.9, G.DELTOID_MIDDLE: 0.9, G.HIP_FLEXORS: 1.0,
    G.ILIOPSOAS: 1.0, G.GLUTEUS_MAXIMUS: 0.8, G.GLUTEUS_MEDIUS: 0.85, G.HIP_EXTENSORS: 0.8,
    G.KNEE_EXTENSORS: 0.65, G.QUADRICEPS: 0.65, G.ELBOW_EXTENSORS: 0.7, G.BICEPS_BRACHII: 0.6,
    G.WRIST_EXTENSORS: 0.3, G.ANKLE_DORSIFLEXORS: 0.25,
}  # fmt: skip
IBM_PATTERN: dict[MuscleGroup, float] = {
    G.NECK_FLEXORS: 0.4, G.SHOULDER_ABDUCTORS: 0.3, G.DELTOID_MIDDLE: 0.3, G.HIP_FLEXORS: 0.6,
    G.ILIOPSOAS: 0.6, G.GLUTEUS_MAXIMUS: 0.3, G.GLUTEUS_MEDIUS: 0.3, G.HIP_EXTENSORS: 0.3,
    G.KNEE_EXTENSORS: 1.0, G.QUADRICEPS: 1.0, G.ELBOW_EXTENSORS: 0.35, G.BICEPS_BRACHII: 0.45,
    G.WRIST_EXTENSORS: 0.55, G.ANKLE_DORSIFLEXORS: 0.7,
}  # fmt: skip
# Trial patient 10: the figure shows elbow- and hip-extensor force; those two are most affected.
PATIENT10_EXTRA = {G.ELBOW_EXTENSORS: 1.0, G.HIP_EXTENSORS: 1.0}
LOWER_LIMB = (G.HIP_FLEXORS, G.KNEE_EXTENSORS, G.GLUTEUS_MAXIMUS, G.GLUTEUS_MEDIUS, G.QUADRICEPS)

# Full-strength force of an adult man by hand-held myometry, newtons: magnitudes chosen for
# synthetic data to be plausible and consistent, NOT reference values to judge patients by.
NORMAL_FORCE_N: dict[MuscleGroup, float] = {
    G.SHOULDER_ABDUCTORS: 190, G.ELBOW_EXTENSORS: 170, G.HIP_FLEXORS: 260,
    G.KNEE_EXTENSORS: 380, G.HIP_EXTENSORS: 270,
}  # fmt: skip


def involvement(design: PatientDesign) -> dict[MuscleGroup, float]:
    pattern = IBM_PATTERN if design.diagnosis is Diagnosis.INCLUSION_BODY_MYOSITIS else PROXIMAL
    if design.special == "patient10":
        pattern = {**pattern, **PATIENT10_EXTRA}
    return pattern


def _ramp(x: float) -> float:
    return min(1.0, max(0.0, x))


def _smooth(x: float) -> float:
    x = _ramp(x)
    return x * x * (3 - 2 * x)


def weakness(design: PatientDesign, day: float) -> float:
    """Deficit multiplier on `day` (1 at the first run-in visit, day -84)."""
    start = 1 + design.runin_decline  # continued deterioration through the run-in
    if day < 0:
        return 1 + design.runin_decline * (day + RUN_IN_DAYS) / RUN_IN_DAYS
    intent = design.intent
    if intent is Intent.RESPONDER:
        gain = design.recovery * _smooth((day - design.lag_days) / design.ramp_days)
        return start * (1 - gain)
    if intent is Intent.TRANSIENT:
        # Better by nine days after the first course, back (and worse) by three weeks.
        bump = _ramp(day / 7) if day < 12 else _ramp((21 - day) / 9)
        worse = 0.06 * day / 28 if day >= 21 else 0.0  # then deterioration resumes
        return start * (1 - 0.6 * bump + worse)
    if intent is Intent.LATE:
        if day < LATE_RESTART_DAY:  # the first course's complication set the patient back
            return start * (1 + 0.2 * _ramp(day / 21))
        gain = design.recovery * _ramp((day - LATE_RESTART_DAY - 14) / 75)
        return start * 1.2 * (1 - gain)
    if intent is Intent.IBM_FLAT:
        return start * (1 + 0.01 * day / 28)
    return start * (1 + 0.04 * day / 28)  # non-responder: deterioration continues


def deficits(design: PatientDesign, day: float) -> dict[MuscleGroup, float]:
    """Kendall levels below normal per muscle group on `day`."""
    level = design.severity * weakness(design, day)
    return {group: level * weight for group, weight in involvement(design).items()}


def kendall(deficit: float, side_offset: float) -> int:
    """Kendall 0-10 grade for a deficit (whole levels; the side offset is fixed per patient)."""
    return max(0, min(10, 10 - round(deficit + side_offset)))


def force_n(
    design: PatientDesign, group: MuscleGroup, deficit: float, day: float, rng: random.Random
) -> float:
    """Myometry force: normal force scaled by sex, age and the deficit, with 4 % noise."""
    normal = NORMAL_FORCE_N[group] * (0.65 if design.sex is Sex.FEMALE else 1.0)
    if design.age >= 65:
        normal *= 0.8
    if design.age < 16:
        normal *= 0.35 + 0.04 * design.age
    fraction = max(0.08, 1 - 0.11 * deficit)
    if design.special == "regional_myometry" and group is G.SHOULDER_ABDUCTORS and day > 0:
        fraction *= 1 + 0.3 * _ramp(day / 120)  # trial patient 15: less affected muscles only
    return round(normal * fraction * (1 + rng.gauss(0, 0.04)), 1)


def lower_limb_deficit(design: PatientDesign, day: float) -> float:
    d = deficits(design, day)
    return sum(d[g] for g in LOWER_LIMB) / len(LOWER_LIMB)


def walk_30m_s(design: PatientDesign, base_s: float, day: float, rng: random.Random) -> float:
    """30 m walk time: slower with lower-limb weakness, 2.5 % noise."""
    return round(
        base_s * (1 + 0.22 * lower_limb_deficit(design, day)) * (1 + rng.gauss(0, 0.025)), 1
    )


def ck_u_per_l(design: PatientDesign, day: float, rng: random.Random) -> float:
    """CK in U/L: follows weakness, falls towards 0.6 x ULN in responders; 8 % noise."""
    uln = design.site.ck_uln_u_per_l
    normal = 0.6 * uln
    if design.intent is Intent.RESPONDER and day >= 0:
        # Responders' CK "usually returned to normal" (trial discussion), ahead of strength.
        ratio = 1 - _smooth((day + design.ramp_days / 3 - design.lag_days) / design.ramp_days)
    else:
        ratio = weakness(design, day) / (1 + design.runin_decline)
    value = normal + (design.ck_times_uln * uln - normal) * ratio**2
    return float(round(value * (1 + rng.gauss(0, 0.08))))


def activity(design: PatientDesign, day: float) -> float:
    """Disease activity 0-1 for the global scores (follows weakness, capped at 1.3)."""
    return min(1.3, weakness(design, day) / (1 + design.runin_decline))
