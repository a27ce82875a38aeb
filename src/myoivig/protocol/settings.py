"""Every tunable threshold of the protocol engine, with its source.

Local pharmacy policy overrides these defaults (the research notes insist the system must let
clinicians override every default). Tags follow the notes: [C] confirmed in a source, [U] uncertain,
[D] design choice of this project. Notes = /work/shared/research/ivig_protocol_and_edc.md.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


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

    # --- dosing weight (notes §2.3) ---------------------------------------------------------
    # Default [D] following Ontario [C]: adjusted weight is mandatory when BMI > 30.
    weight_policy: WeightPolicy = WeightPolicy.ADJUSTED_IF_OBESE
    # Ontario IVIG dose calculator: obese = BMI > 30 [C] https://ivig.transfusionontario.org/dose
    obesity_bmi: float = Field(default=30.0, gt=0)
    # NBA BloodSTAR dose-determining weight = IBW + 0.4 x (actual - IBW) [C]
    # https://nba.gov.au/bloodstar-calculator-adjusting-ig-dose-ideal-body-weight
    adjusted_weight_factor: float = Field(default=0.4, ge=0, le=1)
    # Ontario: use the adjustment only from 152.4 cm (60 in, the Devine anchor) [C]; below it the
    # Devine formula extrapolates below its anchor, so actual weight is used [D].
    devine_min_height_cm: float = Field(default=152.4, gt=0)

    # --- dose limits and rounding (notes §2.1, §2.4) -----------------------------------------
    rounding: Rounding = Rounding.NONE
    # Ontario rounds the final dose to the nearest 5 g [C].
    rounding_step_g: float = Field(default=5.0, gt=0)
    # Vial rounding: pharmacy practice "within +/-10 %" was NOT found in a source [U]; site policy.
    vial_tolerance_fraction: float = Field(default=0.10, ge=0, lt=1)
    # Octagam 10 % DM label: 2 g/kg divided over 2-5 consecutive days -> at most 1 g/kg on any day
    # [C] notes §2.1; Ontario: max 2 g/kg over 2 days [C].
    max_daily_dose_g_per_kg: float = Field(default=1.0, gt=0)
    # Ontario (JIIM): never more than 2 g/kg per course [C]; Octagam DM label 2 g/kg [C].
    max_course_dose_g_per_kg: float = Field(default=2.0, gt=0)

    # --- infusion --------------------------------------------------------------------------
    # Where a label says "increase gradually" without steps, the engine doubles the rate each
    # interval [D] (the Octagam 10 % ladder 0.01 -> 0.02 -> 0.04 -> 0.08 doubles [C]).
    default_step_interval_min: int = Field(default=30, gt=0)
    # At-risk maximum for products whose label gives no figure (boxed warning: "administer at
    # the minimum infusion rate practicable", notes §3.1). Class-wide default [D] derived from
    # the only numeric at-risk figure in the catalogue, the Octagam 10 % US label: "not to
    # exceed 3.3 mg/kg/min (0.03 mL/kg/min)"; the lower 3.0 mg/kg/min (= 0.03 mL/kg/min of a
    # 10 % product) is used, as the notes advise (notes §1). Converted to mL/kg/min by each
    # product's concentration (10 %: 0.03, 5 %: 0.06). None = no class cap (label maximum kept,
    # with a warning).
    class_at_risk_max_mg_per_kg_min: float | None = Field(default=3.0, gt=0)
    # A site-wide cap in mL/kg/min for at-risk patients when a label gives no figure; overrides
    # the class-wide default above [D].
    local_at_risk_max_ml_per_kg_min: float | None = Field(default=None, gt=0)
    infusion_start: str = Field(default="09:00", pattern=r"^\d{2}:\d{2}$")

    # --- safety checks (notes §3) ----------------------------------------------------------
    # Issue 4 lists "age 65 or over" as a thrombosis risk factor; labels say "advanced age" [C].
    thrombosis_age: int = Field(default=65, ge=0)
    # Boxed warning renal risk: "age > 65" [C] notes §3.1.
    renal_age_over: int = Field(default=65, ge=0)
    # Trial paper (seed 000, discussion): avoid the standard dose over 1-2 days, particularly in
    # elderly patients [C]; "elderly" is not defined there, 65 is used [D].
    elderly_age: int = Field(default=65, ge=0)
    short_course_max_days: int = Field(default=2, ge=1)
    # The trial's ~2 g/kg five-day course is the "standard dose" [C seed 000]; courses within
    # `dose_tolerance_g_per_kg` below it count as standard (rounded doses) [D].
    standard_course_g_per_kg: float = Field(default=2.0, gt=0)
    dose_tolerance_g_per_kg: float = Field(default=0.05, ge=0)
    # Haemolysis: non-O recipients of >= 2 g/kg [C] notes §3.3.
    haemolysis_dose_g_per_kg: float = Field(default=2.0, gt=0)
    # Selective IgA deficiency: serum IgA < 0.07 g/L (ESID registry working definitions) [U: not
    # in the notes; check the local laboratory's limit].
    iga_deficiency_g_per_l: float = Field(default=0.07, ge=0)
    # KDIGO 2012 GFR categories: G3 = 30-59, G4/G5 < 30 mL/min/1.73 m2 [C]
    # (KDIGO 2012 CKD guideline, Kidney Int Suppl 2013;3:19-62, chapter 1, table 5).
    egfr_impaired_below: float = Field(default=60.0, gt=0)
    egfr_severe_below: float = Field(default=30.0, gt=0)
    # Creatinine/eGFR recency window: local policy, "e.g. <= 30 days" [U] notes §3.5.
    lab_recency_days: int = Field(default=30, ge=0)

    # --- continuation advice (trial paper, seed 000) -----------------------------------------
    # "for a minimum of two courses if there was no improvement" [C seed 000, methods].
    min_courses_before_judging: int = Field(default=2, ge=1)
    # "if there is no improvement after the third course ... reasonable to discontinue" [C].
    stop_after_courses_without_improvement: int = Field(default=3, ge=1)
    # "stable over two successive monthly assessments" [C].
    stable_assessments: int = Field(default=2, ge=1)
    # Trial MRC rule: ">= 1 level in >= 4 muscle groups" [C seed 000, methods item 2].
    kendall_min_levels: int = Field(default=1, ge=1)
    kendall_min_groups: int = Field(default=4, ge=1)
    # What counts as a response over baseline. "both" = functional improvement AND MRC
    # improvement, the trial's definition: its responders improved "as shown by an increase in
    # MRC grades, an improvement in functional abilities ... and a fall in serum creatine
    # kinase" [C seed 000, results], and its table reports the two separately; the outcome
    # engine's `trial_responder` requires both. "either" (one of them suffices) is a looser
    # site policy [D].
    improvement_requires: Literal["both", "either"] = "both"


DEFAULT_SETTINGS = ProtocolSettings()
