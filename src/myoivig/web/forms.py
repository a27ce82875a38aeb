"""What the record forms show and how their fields become record data.

Only shape lives here: which inputs a form has, their labels and choices, and how the posted
strings are arranged into the dictionaries the domain records validate. Every rule (ranges,
consistency, plausibility) is the domain's, applied by `clinic.recording`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from myoivig.domain import records as r
from myoivig.domain.values import NP, spec_of
from myoivig.domain.vocab import (
    TRIAL_MUSCLE_GROUPS,
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

Posted = dict[str, str]


@dataclass(frozen=True)
class Input:
    """One form input: its name (also the record field), label, kind and choices."""

    name: str
    label: str
    kind: str = "text"  # text, number, date, select, textarea, checkbox
    choices: tuple[tuple[str, str], ...] = ()
    unit: str = ""
    required: bool = False


def _choices(values: Any, blank: bool = True) -> tuple[tuple[str, str], ...]:
    items = tuple((v.value, v.value.replace("_", " ")) for v in values)
    return ((("", "—"),) if blank else ()) + items


YES_NO = (("", "—"), ("true", "yes"), ("false", "no"))

PATIENT_INPUTS = (
    Input("code", "Clinic code", required=True),
    Input("site_code", "Site", "select", required=True),
    Input("sex", "Sex", "select", _choices(Sex, blank=False), required=True),
    Input("age_at_entry", "Age at entry", "number", unit="years"),
    Input("birth_year", "Birth year", "number"),
    Input("diagnosis", "Diagnosis", "select", _choices(Diagnosis, blank=False), required=True),
    Input("overlap_disease", "Overlap disease", "select", _choices(OverlapDisease)),
    Input("onset_date", "Onset date", "date"),
    Input("disease_duration_years", "Disease duration", "number", unit="years"),
    Input("disease_duration_qualifier", "Duration is", "select", _choices(Qualifier)),
    Input("height_cm", "Height", "number", unit="cm"),
    Input("note", "Note", "textarea"),
)
COURSE_INPUTS = (
    Input("course_number", "Course number", "number", required=True),
    Input("product", "Product"),
    Input("start_date", "First infusion day", "date"),
    Input("days", "Infusion days", "number", unit="days", required=True),
    Input("planned_daily_dose_g", "Planned daily dose", "number", unit="g/day"),
    Input("given_daily_dose_g", "Given daily dose", "number", unit="g/day"),
    Input("weight_kg", "Weight", "number", unit="kg"),
    Input("infusion_rate_ml_per_kg_min", "Highest rate given", "number", unit="mL/kg/min"),
    Input("note", "Note", "textarea"),
)
ADVERSE_EVENT_INPUTS = (
    Input("term", "Event", required=True),
    Input("onset_date", "Onset date", "date"),
    Input("course_number", "During course", "number"),
    Input("serious", "Serious", "select", YES_NO[1:], required=True),
    Input(
        "ctcae_grade",
        "CTCAE grade",
        "select",
        (("", "—"), *tuple((str(g), str(g)) for g in range(1, 6))),
    ),
    Input("relation_to_ivig", "Relation to IVIg (WHO-UMC)", "select", _choices(IvigRelation)),
    Input("outcome", "Outcome", "select", _choices(AdverseEventOutcome)),
    Input("action", "Action taken", "select", _choices(AdverseEventAction)),
    Input("note", "Note", "textarea"),
)
LAB_INPUTS = (
    Input("test", "Test", "select", _choices(LabTest, blank=False), required=True),
    Input("sample_date", "Sample date", "date"),
    Input("value", "Value", "number"),
    Input("unit", "Unit"),
    Input("text_value", "Text result (blood group, anti-IgA)"),
)


def unit_and_range(model: type[r.Record], name: str) -> str:
    """The unit and the range a record field enforces (from its `Spec`), shown next to the
    input so the limit is known before saving: e.g. `mg/day, 0 to 2000`."""
    spec = spec_of(model.model_fields[name].metadata)
    if spec is None:
        return ""
    return ", ".join(part for part in (spec.unit or "", spec.range_text()) if part)


THERAPY_INPUTS = (
    Input("drug", "Drug", "select", _choices(Drug, blank=False), required=True),
    Input("drug_label", "Drug as written (needed for 'other')"),
    Input(
        "dose_mg_per_day",
        "Dose, prednisolone equivalent",
        "number",
        unit=unit_and_range(r.Therapy, "dose_mg_per_day"),
    ),
    Input("start_date", "Start date", "date"),
    Input("stop_date", "Stop date", "date"),
    Input("timing", "Timing (when the dates are not known)", "select", _choices(TherapyTiming)),
    Input("note", "Note", "textarea"),
)

GRADE_CHOICES = (("", "—"), ("NP", "not performed"), *tuple((str(g), str(g)) for g in range(11)))
SIDES = (Side.LEFT, Side.RIGHT)
ABLE_CHOICES = (("", "—"), ("true", "able"), ("false", "unable"), ("np", "not performed"))
CORE_SET = (
    (CoreSetMeasure.PHYSICIAN_GLOBAL, "Physician global activity", "cm VAS 0-10"),
    (CoreSetMeasure.PATIENT_GLOBAL, "Patient global activity", "cm VAS 0-10"),
    (CoreSetMeasure.EXTRAMUSCULAR, "Extramuscular activity", "cm VAS 0-10"),
    (CoreSetMeasure.HAQ, "HAQ-DI", "0-3"),
    (CoreSetMeasure.MMT8, "MMT-8 total", "0-80"),
)
ENZYMES = (Enzyme.CK, Enzyme.ALDOLASE, Enzyme.AST, Enzyme.ALT, Enzyme.LDH)


@dataclass
class AssessmentLayout:
    """The assessment form: grade grid and myometry per trial muscle group and side."""

    groups: tuple[Any, ...] = TRIAL_MUSCLE_GROUPS
    sides: tuple[Side, ...] = SIDES
    phases: tuple[tuple[str, str], ...] = _choices(Phase, blank=False)
    grades: tuple[tuple[str, str], ...] = GRADE_CHOICES
    tasks: tuple[FunctionalTask, ...] = tuple(FunctionalTask)
    able: tuple[tuple[str, str], ...] = ABLE_CHOICES
    core_set: tuple[tuple[CoreSetMeasure, str, str], ...] = CORE_SET
    enzymes: tuple[Enzyme, ...] = ENZYMES
    extra: dict[str, Any] = field(default_factory=dict)


def _value(posted: Posted, name: str) -> str | None:
    text = posted.get(name, "").strip()
    return text or None


def flat_record(posted: Posted, inputs: tuple[Input, ...]) -> dict[str, Any]:
    """The posted values of a flat form (blank fields left out, so defaults apply)."""
    data: dict[str, Any] = {}
    for item in inputs:
        text = _value(posted, item.name)
        if text is not None:
            data[item.name] = text
    return data


def _text(value: Any) -> str:
    if value is None:
        return ""
    if value is NP:
        return "NP"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(getattr(value, "value", value))


def flat_values(record: Any, inputs: tuple[Input, ...]) -> Posted:
    """A stored flat record as the strings its form shows."""
    return {i.name: _text(getattr(record, i.name, None)) for i in inputs}


def assessment_values(a: r.Assessment) -> Posted:
    """A stored assessment as the strings of the assessment form (inverse of
    `assessment_record`)."""
    values: Posted = {
        "assessment_date": a.assessment_date.isoformat(),
        "phase": a.phase.value,
        "assessor": a.assessor or "",
        "note": a.note or "",
    }
    for g in a.muscle_grades:
        values[f"grade__{g.muscle_group.value}__{g.side.value}"] = _text(g.kendall_grade)
    for m in a.myometry:
        values[f"force__{m.muscle_group.value}__{m.side.value}"] = _text(m.force_n)
    for t in a.functional_tasks:
        able = "np" if t.not_performed else _text(t.able)
        values[f"task__{t.task.value}"] = able
        if t.time_s is not None:
            values["walk_time_s"] = _text(t.time_s)
    for c in a.core_set:
        values[f"core__{c.measure.value}"] = _text(c.value)
        if c.measure is CoreSetMeasure.MMT8 and c.scale_max:
            values["scale__mmt8"] = _text(c.scale_max)
    for e in a.enzymes:
        values[f"enzyme__{e.enzyme.value}"] = _text(e.value_u_per_l)
        values[f"uln__{e.enzyme.value}"] = _text(e.uln_u_per_l)
    return values


def assessment_input(field: str) -> str:
    """The assessment form's input for a flat field name of `clinic.record_fields`
    (`grade hip_flexors left` -> `grade__hip_flexors__left`)."""
    parts = field.split(" ")
    if parts[0] == "task" and parts[-1] == "time_s":
        return "walk_time_s"
    if parts[0] == "enzyme" and parts[-1] == "uln":
        return f"uln__{parts[1]}"
    if parts[0] == "core" and parts[-1] == "scale_max":
        return "scale__mmt8"
    return "__".join(parts)


def groups_shown(values: Posted) -> tuple[MuscleGroup, ...]:
    """The trial's muscle groups, plus any other group the values hold (an imported record may
    grade more groups; the edit form shows them so that saving does not drop them)."""
    extra = tuple(
        g
        for g in MuscleGroup
        if g not in TRIAL_MUSCLE_GROUPS
        and any(
            values.get(f"{kind}__{g.value}__{side.value}")
            for kind in ("grade", "force")
            for side in SIDES
        )
    )
    return (*TRIAL_MUSCLE_GROUPS, *extra)


def assessment_record(posted: Posted) -> tuple[dict[str, Any], dict[str, str]]:
    """The assessment as record data, and which input each record field came from (so an error
    on `myometry.3.force_n` is shown next to the input for that group and side)."""
    where: dict[str, str] = {}
    data: dict[str, Any] = {
        k: v for k in ("assessment_date", "phase", "assessor", "note") if (v := _value(posted, k))
    }
    for key, kind, value_field in (
        ("myometry", "force", "force_n"),
        ("muscle_grades", "grade", "kendall_grade"),
    ):
        items: list[dict[str, Any]] = []
        for group in groups_shown(posted):
            for side in SIDES:
                name = f"{kind}__{group.value}__{side.value}"
                text = _value(posted, name)
                if text is not None:
                    where[f"{key}.{len(items)}.{value_field}"] = name
                    items.append(
                        {"muscle_group": group.value, "side": side.value, value_field: text}
                    )
        data[key] = items
    tasks: list[dict[str, Any]] = []
    for task in FunctionalTask:
        able = _value(posted, f"task__{task.value}")
        time_s = _value(posted, "walk_time_s") if task is FunctionalTask.WALK_30M else None
        if able is None and time_s is None:
            continue
        entry: dict[str, Any] = {"task": task.value}
        if able == "np":
            entry["not_performed"] = True
        elif able is not None:
            entry["able"] = able
        if time_s is not None:
            entry["time_s"] = time_s
            where[f"functional_tasks.{len(tasks)}.time_s"] = "walk_time_s"
        where[f"functional_tasks.{len(tasks)}"] = f"task__{task.value}"
        tasks.append(entry)
    data["functional_tasks"] = tasks
    core: list[dict[str, Any]] = []
    for measure, _, _ in CORE_SET:
        text = _value(posted, f"core__{measure.value}")
        if text is not None:
            where[f"core_set.{len(core)}"] = f"core__{measure.value}"
            where[f"core_set.{len(core)}.value"] = f"core__{measure.value}"
            entry = {"measure": measure.value, "value": text}
            if measure is CoreSetMeasure.MMT8:
                entry["scale_max"] = _value(posted, "scale__mmt8") or 80
            core.append(entry)
    data["core_set"] = core
    enzymes: list[dict[str, Any]] = []
    for enzyme in ENZYMES:
        text = _value(posted, f"enzyme__{enzyme.value}")
        uln = _value(posted, f"uln__{enzyme.value}")
        if text is None and uln is None:
            continue
        n = len(enzymes)
        where[f"enzymes.{n}.value_u_per_l"] = f"enzyme__{enzyme.value}"
        where[f"enzymes.{n}.uln_u_per_l"] = f"uln__{enzyme.value}"
        entry = {"enzyme": enzyme.value, "value_u_per_l": text}
        if uln is not None:
            entry["uln_u_per_l"] = uln
        enzymes.append(entry)
    data["enzymes"] = enzymes
    return data, where


# --- infusion days ---------------------------------------------------------------------------

INFUSION_DAY_INPUTS = (
    Input("day_number", "Day of the course", "number", required=True),
    Input("infusion_date", "Date given", "date"),
    Input("product", "Product (blank: the course's)"),
    Input("lot_number", "Lot number (as on the vial)", required=True),
    Input("dose_g", "Dose given", "number", unit="g", required=True),
    Input("volume_ml", "Volume given", "number", unit="mL"),
    Input("total_minutes", "Total infusion time", "number", unit="min"),
    Input("given_by", "Given by (nurse)"),
    Input("note", "Note", "textarea"),
)
RATE_UNITS = (
    (RateUnit.ML_PER_KG_MIN.value, "mL/kg/min"),
    (RateUnit.ML_PER_H.value, "mL/h (pump)"),
)
GRADE_1_TO_5 = (("", "—"), *tuple((str(g), str(g)) for g in range(1, 6)))
STEP_ROWS = 6
REACTION_ROWS = 3


GRID_VALUES = {"step": ("rate", "minutes"), "reaction": ("type", "grade", "action")}


def grid_rows(values: Posted, prefix: str, minimum: int) -> int:
    """Rows a grid needs (numbered from 1): at least `minimum`, and one empty row after the
    last row with a typed value (a unit chosen on an empty row does not count)."""
    used = [
        int(parts[1])
        for name, text in values.items()
        if text
        and len(parts := name.split("__")) == 3
        and parts[0] == prefix
        and parts[1].isdigit()
        and parts[2] in GRID_VALUES[prefix]
    ]
    return max(minimum, max(used, default=0) + 1)


@dataclass
class InfusionDayLayout:
    """The infusion-day form: flat inputs, a rate-step grid and a reactions grid (rows are
    chosen values and numbers, never free-text lists)."""

    inputs: tuple[Input, ...] = INFUSION_DAY_INPUTS
    step_rows: int = STEP_ROWS
    rate_units: tuple[tuple[str, str], ...] = RATE_UNITS
    reaction_rows: int = REACTION_ROWS
    grades: tuple[tuple[str, str], ...] = GRADE_1_TO_5
    actions: tuple[tuple[str, str], ...] = _choices(ReactionAction)


def infusion_day_record(posted: Posted) -> tuple[dict[str, Any], dict[str, str]]:
    """The infusion day as record data, and which input each record field came from (an error
    on `rate_steps.1.rate` is shown next to the second filled row's rate)."""
    data = flat_record(posted, INFUSION_DAY_INPUTS)
    where: dict[str, str] = {}
    steps: list[dict[str, Any]] = []
    for row in range(1, grid_rows(posted, "step", STEP_ROWS) + 1):
        rate, minutes = (
            _value(posted, f"step__{row}__rate"),
            _value(posted, f"step__{row}__minutes"),
        )
        if rate is None and minutes is None:
            continue
        n = len(steps)
        where[f"rate_steps.{n}"] = where[f"rate_steps.{n}.rate"] = f"step__{row}__rate"
        where[f"rate_steps.{n}.minutes"] = f"step__{row}__minutes"
        unit = _value(posted, f"step__{row}__unit") or RateUnit.ML_PER_KG_MIN.value
        steps.append({"rate": rate, "unit": unit, "minutes": minutes})
    reactions: list[dict[str, Any]] = []
    for row in range(1, grid_rows(posted, "reaction", REACTION_ROWS) + 1):
        kind = _value(posted, f"reaction__{row}__type")
        grade = _value(posted, f"reaction__{row}__grade")
        action = _value(posted, f"reaction__{row}__action")
        if kind is None and grade is None and action is None:
            continue
        n = len(reactions)
        where[f"reactions.{n}"] = where[f"reactions.{n}.type"] = f"reaction__{row}__type"
        where[f"reactions.{n}.ctcae_grade"] = f"reaction__{row}__grade"
        where[f"reactions.{n}.action"] = f"reaction__{row}__action"
        reactions.append({"type": kind or "", "ctcae_grade": grade, "action": action})
    data["rate_steps"] = steps
    data["reactions"] = reactions
    return data, where


def _shown(value: Any) -> str:
    """A stored value as a form shows it (35.0 as 35, enums as their value, None blank)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return str(getattr(value, "value", value))


def infusion_day_values(day: Any) -> Posted:
    """A stored infusion day as the form's posted strings (to open it for editing)."""
    values: Posted = {i.name: _shown(getattr(day, i.name)) for i in INFUSION_DAY_INPUTS}
    for row, step in enumerate(day.rate_steps, start=1):
        values[f"step__{row}__rate"] = f"{step.rate:g}"
        values[f"step__{row}__unit"] = step.unit.value
        values[f"step__{row}__minutes"] = f"{step.minutes:g}"
    for row, reaction in enumerate(day.reactions, start=1):
        values[f"reaction__{row}__type"] = reaction.type
        values[f"reaction__{row}__grade"] = str(reaction.ctcae_grade)
        values[f"reaction__{row}__action"] = reaction.action.value if reaction.action else ""
    return values
