"""Clinical records as validated pydantic models: the shape every part of myoivig exchanges.

Ranges are plausibility limits that catch unit mistakes and typos (a weight of 0 kg, a grade of
11), not clinical thresholds; the issue that defined them (foundation, issue 2) lists the ones
that are part of the contract: Kendall grade 0-10, CK >= 0, weight 2-400 kg, height 40-250 cm,
course days 1-7, daily dose 0-200 g, dates not in the future.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from myoivig.domain.values import (
    NP,
    FieldRuleError,
    Finding,
    NotPerformed,
    OptionalBool,
    PastDate,
    Spec,
)
from myoivig.domain.vocab import (
    AdverseEventAction,
    AdverseEventOutcome,
    CoreSetMeasure,
    Diagnosis,
    Drug,
    Enzyme,
    FunctionalTask,
    IvigRelation,
    LabTest,
    MuscleGroup,
    OverlapDisease,
    Phase,
    Qualifier,
    RateUnit,
    ReactionAction,
    Sex,
    Side,
    TherapyTiming,
)

Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")]
Text = Annotated[str, Field(max_length=4000)]

# Ranges (see module docstring for which are contractual and which are plausibility limits).
KENDALL = Spec(
    unit="Kendall grade", minimum=0, maximum=10, integer=True, np_allowed=True, required=True
)
FORCE_N = Spec(unit="N", minimum=0, maximum=2000, np_allowed=True, required=True)
ENZYME_U_PER_L = Spec(unit="U/L", minimum=0, maximum=1_000_000, np_allowed=True, required=True)
ULN_U_PER_L = Spec(unit="U/L", minimum=0, maximum=100_000)
WEIGHT_KG = Spec(unit="kg", minimum=2, maximum=400)
HEIGHT_CM = Spec(unit="cm", minimum=40, maximum=250)
COURSE_DAYS = Spec(unit="days", minimum=1, maximum=7, integer=True, required=True)
DAILY_DOSE_G = Spec(unit="g/day", minimum=0, maximum=200)
RATE_ML_KG_MIN = Spec(unit="mL/kg/min", minimum=0, maximum=0.2)
AGE_Y = Spec(unit="years", minimum=0, maximum=120, integer=True)
DURATION_Y = Spec(unit="years", minimum=0, maximum=100)
WALK_S = Spec(unit="s", minimum=0, maximum=3600)
PREDNISOLONE_MG = Spec(unit="mg/day", minimum=0, maximum=2000)
PERCENT_CHANGE = Spec(unit="%", minimum=-100, maximum=10_000, np_allowed=True)

# Core-set measure ranges: VAS 0-10 cm and HAQ-DI 0-3 (IMACS core set measures; HAQ-DI scoring);
# MMT-8 totals on the scale stored with them (IMACS Form 04: 80, 150 or 260).
CORE_SET_RANGES: dict[CoreSetMeasure, tuple[float, float, str]] = {
    CoreSetMeasure.PHYSICIAN_GLOBAL: (0, 10, "cm"),
    CoreSetMeasure.PATIENT_GLOBAL: (0, 10, "cm"),
    CoreSetMeasure.EXTRAMUSCULAR: (0, 10, "cm"),
    CoreSetMeasure.HAQ: (0, 3, "points"),
    CoreSetMeasure.MMT8: (0, 260, "points"),
}
MMT_SCALE_MAXIMA = (80, 150, 260)

# Canonical unit and plausibility range per laboratory test; other units are rejected rather
# than converted so that a unit mistake can never pass silently.
LAB_UNITS: dict[LabTest, tuple[str, float, float] | None] = {
    LabTest.IGA: ("g/L", 0, 50),
    LabTest.IGG: ("g/L", 0, 150),
    LabTest.CREATININE: ("umol/L", 5, 3000),
    LabTest.EGFR: ("mL/min/1.73m2", 0, 200),
    LabTest.HAEMOGLOBIN: ("g/L", 20, 250),
    LabTest.ANTI_IGA_ANTIBODIES: None,  # text: positive / negative
    LabTest.BLOOD_GROUP: None,  # text: O, A, B, AB with optional Rh (+/-)
}
UNIT_ALIASES = {
    "µmol/l": "umol/L",
    "μmol/l": "umol/L",
    "ml/min/1.73 m2": "mL/min/1.73m2",
    "ml/min/1.73m²": "mL/min/1.73m2",
    "ml/min/1.73 m²": "mL/min/1.73m2",
}
BLOOD_GROUPS = {f"{g}{rh}" for g in ("O", "A", "B", "AB") for rh in ("", "+", "-")}


class Record(BaseModel):
    """Base for all records: unknown fields are errors, strings are stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, validate_assignment=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul_characters(cls, value: Any) -> Any:
        # A NUL character is never clinical text, and PostgreSQL cannot store it in text columns.
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("text must not contain the NUL character (\\x00)")
        return value


class Site(Record):
    site_code: Code
    name: Text
    country: str | None = None
    note: Text | None = None


class Patient(Record):
    """A pseudonymous patient; `source` names where the data came from (e.g. a publication)."""

    code: Code
    site_code: Code | None = None
    sex: Sex
    age_at_entry: Annotated[int | None, AGE_Y] = None
    birth_year: Annotated[
        int | None, Spec(unit="year", minimum=1900, maximum=2100, integer=True)
    ] = None
    diagnosis: Diagnosis
    overlap_disease: OverlapDisease | None = None
    onset_date: PastDate = None
    disease_duration_years: Annotated[float | None, DURATION_Y] = None
    disease_duration_qualifier: Qualifier | None = None
    height_cm: Annotated[float | None, HEIGHT_CM] = None
    source: Text | None = None
    note: Text | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Patient:
        if self.overlap_disease is not None and self.diagnosis != Diagnosis.OVERLAP_MYOSITIS:
            raise FieldRuleError(
                "overlap_disease",
                f"overlap_disease {self.overlap_disease.value!r} is only allowed with diagnosis "
                f"'overlap_myositis', not {self.diagnosis.value!r}",
            )
        if self.birth_year is not None and self.birth_year > date.today().year:
            raise FieldRuleError("birth_year", f"birth_year {self.birth_year} is in the future")
        if self.disease_duration_qualifier is not None and self.disease_duration_years is None:
            raise FieldRuleError(
                "disease_duration_qualifier",
                "disease_duration_qualifier needs disease_duration_years",
            )
        return self


class Therapy(Record):
    """A concurrent immunotherapy; exact dates may be unknown, `timing` then says what is known."""

    patient_code: Code
    drug: Drug
    drug_label: Text | None = None
    dose_mg_per_day: Annotated[float | None, PREDNISOLONE_MG] = None
    start_date: PastDate = None
    stop_date: PastDate = None
    timing: TherapyTiming | None = None
    note: Text | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Therapy:
        if self.start_date and self.stop_date and self.stop_date < self.start_date:
            raise FieldRuleError(
                "stop_date", f"stop_date {self.stop_date} is before start_date {self.start_date}"
            )
        if self.drug == Drug.OTHER and not self.drug_label:
            raise FieldRuleError(
                "drug_label", "drug 'other' needs drug_label (the name as the source gives it)"
            )
        return self


class Course(Record):
    """One IVIg course: `days` consecutive infusion days of `planned_daily_dose_g`."""

    patient_code: Code
    course_number: Annotated[int, Field(ge=1, le=1000)]
    product: Annotated[str, Field(max_length=64)] | None = None
    start_date: PastDate = None
    days: Annotated[int, COURSE_DAYS]
    planned_daily_dose_g: Annotated[float | None, DAILY_DOSE_G] = None
    given_daily_dose_g: Annotated[float | None, DAILY_DOSE_G] = None
    weight_kg: Annotated[float | None, WEIGHT_KG] = None
    infusion_rate_ml_per_kg_min: Annotated[float | None, RATE_ML_KG_MIN] = None
    note: Text | None = None


LOT_NUMBER_MAX = 40
INFUSION_VOLUME_ML = Spec(unit="mL", minimum=0, maximum=5000)
STEP_MINUTES = Spec(unit="min", minimum=1, maximum=1440, required=True)
DAY_MINUTES = Spec(unit="min", minimum=1, maximum=1440)
# Per-kg rates: the RATE_ML_KG_MIN plausibility limit; pump rates up to 1,000 mL/h (a typo
# catcher, far above any IVIg label maximum for a 400 kg body).
PUMP_RATE_ML_H = Spec(unit="mL/h", minimum=0, maximum=1000)


class RateStepGiven(Record):
    """One rate actually run on the pump and for how long (not the planned ladder)."""

    rate: Annotated[float, Spec(minimum=0, maximum=1000, required=True)]
    unit: RateUnit = RateUnit.ML_PER_KG_MIN
    minutes: Annotated[float, STEP_MINUTES]

    @model_validator(mode="after")
    def _positive_in_range(self) -> RateStepGiven:
        spec = RATE_ML_KG_MIN if self.unit is RateUnit.ML_PER_KG_MIN else PUMP_RATE_ML_H
        if self.rate <= 0 or (spec.maximum is not None and self.rate > spec.maximum):
            raise FieldRuleError(
                "rate",
                f"rate must be above 0 and at most {spec.maximum:g} {spec.unit}, got {self.rate!r}",
            )
        return self


class InfusionReaction(Record):
    """An infusion reaction on the day: what it was, its CTCAE grade and what was done."""

    type: Annotated[str, Field(min_length=1, max_length=128)]
    ctcae_grade: Annotated[
        int, Spec(unit="CTCAE grade", minimum=1, maximum=5, integer=True, required=True)
    ]
    action: ReactionAction | None = None


def _lot_number(value: Any) -> Any:
    """A lot number as printed on the vial: 1-40 printable characters, no control characters."""
    if not isinstance(value, str):
        raise ValueError(f"expected the lot number as text, got {value!r}")
    text = value.strip()
    if not text:
        raise ValueError("the lot number is required (as printed on the vial)")
    if len(text) > LOT_NUMBER_MAX:
        raise ValueError(f"at most {LOT_NUMBER_MAX} characters, got {len(text)} in {text!r}")
    if not text.isprintable():
        raise ValueError(f"only printable characters are allowed, got {text!r}")
    return text


class InfusionDay(Record):
    """One infusion day of a course as given: lot, dose, volume, the rate steps actually run,
    reactions and who gave it. Checked against the course and the product's rate maximum by
    `clinic.infusion_checks` (the rules need the course and the catalogue)."""

    patient_code: Code
    course_number: Annotated[int, Field(ge=1, le=1000)]
    day_number: Annotated[int, Spec(unit="day", minimum=1, maximum=7, integer=True, required=True)]
    infusion_date: PastDate = None
    product: Annotated[str, Field(max_length=64)] | None = None
    lot_number: str
    dose_g: Annotated[float, Spec(unit="g", minimum=0, maximum=200, required=True)]
    volume_ml: Annotated[float | None, INFUSION_VOLUME_ML] = None
    rate_steps: list[RateStepGiven] = Field(default_factory=list)
    total_minutes: Annotated[float | None, DAY_MINUTES] = None
    reactions: list[InfusionReaction] = Field(default_factory=list)
    given_by: Annotated[str, Field(max_length=128)] | None = None
    note: Text | None = None

    @field_validator("lot_number", mode="before")
    @classmethod
    def _lot(cls, value: Any) -> Any:
        return _lot_number(value)

    @field_validator("rate_steps", "reactions", mode="before")
    @classmethod
    def _list_cell(cls, value: Any) -> Any:
        """A table cell holds the list as JSON text (blank: none)."""
        if not isinstance(value, str):
            return value
        if not value.strip():
            return []
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise ValueError(f"expected a JSON list, got {value!r}") from None

    @model_validator(mode="after")
    def _consistent(self) -> InfusionDay:
        if self.dose_g <= 0:
            raise FieldRuleError("dose_g", f"dose_g must be above 0 g, got {self.dose_g!r}")
        steps = sum(step.minutes for step in self.rate_steps)
        if self.total_minutes is not None and steps > self.total_minutes + 1e-9:
            raise FieldRuleError(
                "total_minutes",
                f"total_minutes {self.total_minutes:g} is shorter than the rate steps' "
                f"{steps:g} minutes",
            )
        return self


class MyometryReading(Record):
    muscle_group: MuscleGroup
    side: Side
    force_n: Annotated[float | NotPerformed, FORCE_N]


class MuscleGrade(Record):
    """A Kendall 0-10 grade (the trial's "10 level modified MRC"; Trace is recorded as 0)."""

    muscle_group: MuscleGroup
    side: Side
    kendall_grade: Annotated[int | NotPerformed, KENDALL]


class FunctionalTaskResult(Record):
    """Whether the task could be done; the 30 m walk also has its time."""

    task: FunctionalTask
    able: OptionalBool = None
    time_s: Annotated[float | None, WALK_S] = None
    not_performed: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> FunctionalTaskResult:
        if self.not_performed and (self.able is not None or self.time_s is not None):
            raise FieldRuleError("able", "a task marked not performed cannot have a result")
        if self.time_s is not None and self.task != FunctionalTask.WALK_30M:
            raise FieldRuleError(
                "time_s", f"time_s applies only to walk_30m, not {self.task.value}"
            )
        return self


class CoreSetValue(Record):
    measure: CoreSetMeasure
    value: Annotated[float | NotPerformed, Spec(np_allowed=True, required=True)]
    scale_max: Annotated[float | None, Spec(minimum=1, maximum=260)] = None

    @model_validator(mode="after")
    def _range(self) -> CoreSetValue:
        low, high, unit = CORE_SET_RANGES[self.measure]
        if self.measure == CoreSetMeasure.MMT8:
            if self.scale_max not in MMT_SCALE_MAXIMA:
                raise FieldRuleError(
                    "scale_max", f"mmt8 needs scale_max 80, 150 or 260, got {self.scale_max!r}"
                )
            high = float(self.scale_max)
        elif self.scale_max is not None:
            raise FieldRuleError(
                "scale_max", f"scale_max applies only to mmt8, not {self.measure.value}"
            )
        if self.value is not NP and not (low <= float(self.value) <= high):
            raise FieldRuleError(
                "value",
                f"{self.measure.value} must be {low:g} to {high:g} {unit}, got {self.value!r}",
            )
        return self


class EnzymeResult(Record):
    enzyme: Enzyme
    value_u_per_l: Annotated[float | NotPerformed, ENZYME_U_PER_L]
    uln_u_per_l: Annotated[float | None, ULN_U_PER_L] = None


class Assessment(Record):
    """One clinic assessment; measurements hang off it, keyed by patient and date."""

    patient_code: Code
    assessment_date: Annotated[date, Field()]
    phase: Phase
    assessor: Annotated[str, Field(max_length=128)] | None = None
    note: Text | None = None
    myometry: list[MyometryReading] = Field(default_factory=list)
    muscle_grades: list[MuscleGrade] = Field(default_factory=list)
    functional_tasks: list[FunctionalTaskResult] = Field(default_factory=list)
    core_set: list[CoreSetValue] = Field(default_factory=list)
    enzymes: list[EnzymeResult] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _date_not_future(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("assessment_date") is not None:
            value = data["assessment_date"]
            parsed = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
            if parsed > date.today():
                raise FieldRuleError(
                    "assessment_date", f"assessment_date {parsed.isoformat()} is in the future"
                )
        return data


class LabResult(Record):
    patient_code: Code
    sample_date: PastDate = None
    test: LabTest
    value: Annotated[float | None, Spec(minimum=0)] = None
    text_value: Annotated[str, Field(max_length=64)] | None = None
    unit: Annotated[str, Field(max_length=32)] | None = None
    not_performed: bool = False

    @model_validator(mode="after")
    def _unit_and_range(self) -> LabResult:
        if self.not_performed:
            if self.value is not None or self.text_value is not None:
                raise FieldRuleError("value", "a test marked not performed cannot have a result")
            return self
        expected = LAB_UNITS[self.test]
        if expected is None:
            self._check_text_result()
            return self
        unit, low, high = expected
        given = UNIT_ALIASES.get((self.unit or "").strip().lower(), (self.unit or "").strip())
        if given.lower() != unit.lower():
            raise FieldRuleError(
                "unit", f"{self.test.value} must be reported in {unit}, got unit {self.unit!r}"
            )
        if self.value is None:
            raise FieldRuleError(
                "value", f"{self.test.value} needs a numeric value (or not_performed)"
            )
        if not (low <= self.value <= high):
            raise FieldRuleError(
                "value", f"{self.test.value} must be {low:g} to {high:g} {unit}, got {self.value!r}"
            )
        if self.unit != unit:
            self.unit = unit
        return self

    def _check_text_result(self) -> None:
        if self.value is not None or self.unit:
            raise FieldRuleError(
                "value", f"{self.test.value} is a text result; value and unit must be blank"
            )
        text = (self.text_value or "").strip()
        if self.test == LabTest.BLOOD_GROUP and text.upper() not in BLOOD_GROUPS:
            raise FieldRuleError(
                "text_value", f"blood_group must be O, A, B or AB with optional +/-, got {text!r}"
            )
        if self.test == LabTest.ANTI_IGA_ANTIBODIES and text.lower() not in {
            "positive",
            "negative",
        }:
            raise FieldRuleError(
                "text_value", f"anti_iga_antibodies must be positive or negative, got {text!r}"
            )


class AdverseEvent(Record):
    patient_code: Code
    onset_date: PastDate = None
    course_number: Annotated[int, Field(ge=1, le=1000)] | None = None
    term: Annotated[str, Field(min_length=1, max_length=256)]
    serious: bool
    ctcae_grade: Annotated[
        int | None, Spec(unit="CTCAE grade", minimum=1, maximum=5, integer=True)
    ] = None
    relation_to_ivig: IvigRelation | None = None
    outcome: AdverseEventOutcome | None = None
    action: AdverseEventAction | None = None
    note: Text | None = None


class ReportedOutcome(Record):
    """Per-patient summary values as a publication reported them (no visits, no dates)."""

    patient_code: Code
    source: Text
    ivig_courses_reported: Annotated[str, Field(max_length=32)] | None = None
    functional_improvement: Finding = None
    mrc_improvement: Finding = None
    myometry_change_pct: Annotated[float | NotPerformed | None, PERCENT_CHANGE] = None
    myometry_significant: OptionalBool = None
    ck_before_u_per_l: Annotated[
        float | NotPerformed | None, Spec(unit="U/L", minimum=0, maximum=1_000_000, np_allowed=True)
    ] = None
    ck_after_u_per_l: Annotated[
        float | NotPerformed | None, Spec(unit="U/L", minimum=0, maximum=1_000_000, np_allowed=True)
    ] = None
    prednisone_stopped_before_ivig: bool = False
    note: Text | None = None


class PatientDossier(Record):
    """Everything stored about one patient."""

    patient: Patient
    therapies: list[Therapy] = Field(default_factory=list)
    courses: list[Course] = Field(default_factory=list)
    assessments: list[Assessment] = Field(default_factory=list)
    labs: list[LabResult] = Field(default_factory=list)
    adverse_events: list[AdverseEvent] = Field(default_factory=list)
    reported_outcome: ReportedOutcome | None = None
    infusion_days: list[InfusionDay] = Field(default_factory=list)
