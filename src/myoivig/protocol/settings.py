"""Every tunable threshold of the protocol engine, with its source.

Local pharmacy policy overrides these defaults (a site can change every one of them with a
settings file). Tags: [C] confirmed in the cited source, [U] uncertain, [D] design choice of this
project. Full references: docs/sources.md.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from myoivig.domain.plausibility import PlausibilitySettings


class WeightPolicy(StrEnum):
    """Which body weight the g/kg dose is multiplied by."""

    ACTUAL = "actual"
    IDEAL = "ideal"
    ADJUSTED = "adjusted"
    ADJUSTED_IF_OBESE = "adjusted_if_obese"


class Rounding(StrEnum):
    NONE = "none"
    NEAREST_5G = "5g"
    VIALS = "vials"


class ProtocolSettings(BaseModel):
    """Thresholds used by dosing, safety checks and continuation advice."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # --- dosing weight (docs/sources.md: NBA, Ontario, Devine) ------------------------------
    # Default [D] following Ontario [C]: adjusted weight is mandatory when BMI > 30.
    weight_policy: WeightPolicy = WeightPolicy.ADJUSTED_IF_OBESE
    # Ontario IVIG dose calculator: obese = BMI > 30 [C] https://ivig.transfusionontario.org/dose
    obesity_bmi: float = Field(default=30.0, gt=0)
    # NBA BloodSTAR dose-determining weight = IBW + 0.4 x (actual - IBW) [C]
    # https://nba.gov.au/bloodstar-calculator-adjusting-ig-dose-ideal-body-weight
    adjusted_weight_factor: float = Field(default=0.4, ge=0, le=1)
    # Devine's anchor, 60 in = 152.4 cm (Devine 1974). Ontario applies the adjustment only from
    # 152.4 cm [C]; switching to the actual weight there made the dose jump (90 kg woman: 180 g
    # at 152.0 cm, 126.6 g at 152.4 cm). Below this height the ideal weight is held at its
    # anchor value (45.5 / 50 kg) instead, which is continuous [D].
    devine_min_height_cm: float = Field(default=152.4, gt=0)
    # Width (kg/m2) of the band above `obesity_bmi` over which the dosing weight moves linearly
    # from the actual to the adjusted weight, so that crossing BMI 30 by 1 kg does not cut the
    # dose by a third [D]. From BMI 32 on the NBA adjusted weight applies unchanged (both
    # published worked examples, BMI 32.7 and 34.9, are reproduced exactly).
    obesity_transition_bmi: float = Field(default=2.0, gt=0)

    # --- dose limits and rounding ------------------------------------------------------------
    rounding: Rounding = Rounding.NONE
    # Ontario rounds the final dose to the nearest 5 g [C].
    rounding_step_g: float = Field(default=5.0, gt=0)
    # Vial rounding: pharmacy practice "within +/-10 %" was NOT found in a source [U]; site policy.
    vial_tolerance_fraction: float = Field(default=0.10, ge=0, lt=1)
    # Octagam 10 % DM label: 2 g/kg divided over 2-5 consecutive days -> at most 1 g/kg on any day
    # [C] (Octagam 10 % US prescribing information, section 2.3); Ontario: max 2 g/kg over 2
    # days [C] (Ontario IVIG utilization guideline, inflammatory myopathies).
    max_daily_dose_g_per_kg: float = Field(default=1.0, gt=0)
    # Ontario IVIG utilization guideline (JIIM): never more than 2 g/kg per course [C];
    # Octagam 10 % US prescribing information, section 2.3: 2 g/kg [C].
    max_course_dose_g_per_kg: float = Field(default=2.0, gt=0)

    # --- infusion --------------------------------------------------------------------------
    # Where a label says "increase gradually" without steps, the engine doubles the rate each
    # interval [D] (the Octagam 10 % ladder 0.01 -> 0.02 -> 0.04 -> 0.08 doubles [C]).
    default_step_interval_min: int = Field(default=30, gt=0)
    # At-risk maximum for products whose label gives no figure (boxed warning: "administer at
    # the minimum infusion rate practicable", FDA class boxed warning). Class-wide default [D]
    # derived from
    # the only numeric at-risk figure in the catalogue, the Octagam 10 % US label: "not to
    # exceed 3.3 mg/kg/min (0.03 mL/kg/min)"; the lower 3.0 mg/kg/min (= 0.03 mL/kg/min of a
    # 10 % product) is used, the lower of the two printed figures. Converted to mL/kg/min by each
    # product's concentration (10 %: 0.03, 5 %: 0.06). None = no class cap (label maximum kept,
    # with a warning).
    class_at_risk_max_mg_per_kg_min: float | None = Field(default=3.0, gt=0)
    # A site-wide cap in mL/kg/min for at-risk patients when a label gives no figure; overrides
    # the class-wide default above [D].
    local_at_risk_max_ml_per_kg_min: float | None = Field(default=None, gt=0)
    infusion_start: str = Field(default="09:00", pattern=r"^\d{2}:\d{2}$")

    # --- safety checks (docs/sources.md) --------------------------------------------------
    # The FDA class boxed warning lists "advanced age" as a thrombosis risk factor [C]; 65 is
    # used, as for the renal list [D].
    thrombosis_age: int = Field(default=65, ge=0)
    # FDA class boxed warning, renal risk: "age > 65" [C].
    renal_age_over: int = Field(default=65, ge=0)
    # Mastaglia et al. 1998 (J Neurol Neurosurg Psychiatry 65:107-110), discussion: "More rapid
    # administration of the standard dose of immunoglobulin over a shorter period of one to two
    # days rather than three days should be avoided for this reason, particularly in elderly
    # patients" [C]. The rule is judged on the DAILY dose: more than the standard course
    # divided by `elderly_min_days` (2 g/kg / 3 = 0.67 g/kg/day) warns. "Elderly" is not
    # defined in the paper; 65 is used [D].
    elderly_age: int = Field(default=65, ge=0)
    elderly_min_days: int = Field(default=3, ge=1, le=5)
    # The trial's ~2 g/kg five-day course is the "standard dose" [C, same paper, methods];
    # doses within `dose_tolerance_g_per_kg` of a limit count as at the limit (rounding) [D].
    standard_course_g_per_kg: float = Field(default=2.0, gt=0)
    dose_tolerance_g_per_kg: float = Field(default=0.05, ge=0)
    # Obesity as a thrombosis risk factor without having to be declared: BMI >= 30 (WHO
    # classification; obesity listed as a thromboembolic risk in the EMA core SmPC for IVIg,
    # section 4.4) [C].
    obesity_thrombosis_bmi: float = Field(default=30.0, gt=0)
    # Dermatomyositis rate cap, class-wide: the Octagam 10 % US label caps dermatomyositis at
    # 4 mg/kg/min (0.04 mL/kg/min) because of its thromboembolic risk [C]; applied to every
    # product, converted by its concentration (5 %: 0.08 mL/kg/min), also while the diagnosis
    # is unknown [D]. Turn off with dermatomyositis_rate_cap: false (site decision).
    dermatomyositis_rate_cap: bool = True
    dermatomyositis_max_mg_per_kg_min: float = Field(default=4.0, gt=0)
    # Live attenuated vaccines: IVIg impairs them for at least 6 weeks and up to 3 months; wait
    # 3 months after IVIg (EMA core SmPC for IVIg, section 4.5) [C]. A live vaccine given within
    # 14 days before an antibody product may not take (CDC ACIP General Best Practice
    # Guidelines, timing and spacing) [C].
    live_vaccine_after_days: int = Field(default=90, ge=0)
    live_vaccine_before_days: int = Field(default=14, ge=0)
    # Haemolysis: non-O recipients of high doses (>= 2 g/kg) [C] (Octagam 10 % US prescribing
    # information, section 5; EMA core SmPC for IVIg, section 4.4).
    haemolysis_dose_g_per_kg: float = Field(default=2.0, gt=0)
    # Selective IgA deficiency: serum IgA < 0.07 g/L (ESID registry working definitions) [U: not
    # in a label; check the local laboratory's limit].
    iga_deficiency_g_per_l: float = Field(default=0.07, ge=0)
    # KDIGO 2012 GFR categories: G3 = 30-59, G4/G5 < 30 mL/min/1.73 m2 [C]
    # (KDIGO 2012 CKD guideline, Kidney Int Suppl 2013;3:19-62, chapter 1, table 5).
    egfr_impaired_below: float = Field(default=60.0, gt=0)
    egfr_severe_below: float = Field(default=30.0, gt=0)
    # Creatinine/eGFR recency window: local policy [U]; the boxed warning asks for renal
    # function before the infusion without a window.
    lab_recency_days: int = Field(default=30, ge=0)

    # --- continuation advice (Mastaglia et al. 1998) -----------------------------------------
    # "for a minimum of two courses if there was no improvement" [C Mastaglia 1998, methods].
    min_courses_before_judging: int = Field(default=2, ge=1)
    # "if there is no improvement after the third course ... reasonable to discontinue" [C].
    stop_after_courses_without_improvement: int = Field(default=3, ge=1)
    # "stable over two successive monthly assessments" [C].
    stable_assessments: int = Field(default=2, ge=1)
    # Trial MRC rule: ">= 1 level in >= 4 muscle groups" [C Mastaglia 1998, methods item 2].
    kendall_min_levels: int = Field(default=1, ge=1)
    kendall_min_groups: int = Field(default=4, ge=1)
    # What counts as a response over baseline. "both" = functional improvement AND MRC
    # improvement, the trial's definition: its responders improved "as shown by an increase in
    # MRC grades, an improvement in functional abilities ... and a fall in serum creatine
    # kinase" [C Mastaglia 1998, results], and its table reports the two separately; the outcome
    # engine's `trial_responder` requires both. "either" (one of them suffices) is a looser
    # site policy [D].
    improvement_requires: Literal["both", "either"] = "both"

    # --- plausibility of entered values (weight change, BMI, unit slips, height) -------------
    # Local policy [D]; see myoivig.domain.plausibility for each threshold.
    plausibility: PlausibilitySettings = Field(default_factory=PlausibilitySettings)


DEFAULT_SETTINGS = ProtocolSettings()
