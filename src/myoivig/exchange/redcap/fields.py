"""The REDCap project myoivig exports: instruments, fields, events and repeating instruments.

One list of `RedcapField`s is the single description used to write the data dictionary, to
write and read the records file and to check a dictionary supplied on import. Choice codes are
the position of the value in its vocabulary (1, 2, ...): new vocabulary values are appended, so
codes stay stable. Numeric fields accept REDCap's missing-data code `NP` ("not performed"),
which the project must list under Project Setup > Additional customizations > Missing Data Codes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from myoivig.domain.records import CORE_SET_RANGES
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
    Sex,
    Side,
    TherapyTiming,
)

RECORD_ID = "record_id"
NOT_PERFORMED_CODE = "NP"
ABLE_CHOICES = (("1", "Able"), ("0", "Unable"), ("9", "Not performed"))
YESNO = (("1", "Yes"), ("0", "No"))


@dataclass(frozen=True)
class RedcapField:
    """One row of the data dictionary, plus how it maps to the myoivig model."""

    name: str
    form: str
    field_type: str
    label: str
    attr: str = ""  # attribute of the mapped record ('' for fields handled by the form's code)
    choices: tuple[tuple[str, str], ...] = ()
    values: tuple[str, ...] = ()  # model value per choice, same order as `choices`
    validation: str = ""
    minimum: str = ""
    maximum: str = ""
    branching: str = ""
    required: bool = False
    note: str = ""
    section: str = ""
    np_allowed: bool = False
    annotation: str = field(default="")
    identifier: bool = False  # names a person: REDCap leaves it out of de-identified exports

    def choice_text(self) -> str:
        if self.field_type in {"yesno", "truefalse"}:
            return ""  # REDCap defines these choices itself (1 Yes, 0 No)
        return " | ".join(f"{code}, {label}" for code, label in self.choices)

    def decode(self) -> dict[str, str]:
        """Choice code -> model value."""
        return dict(zip((c for c, _ in self.choices), self.values, strict=True))

    def encode(self) -> dict[str, str]:
        """Model value -> choice code."""
        return {v: c for c, v in zip((c for c, _ in self.choices), self.values, strict=True)}


def _label(value: str) -> str:
    return value.replace("_", " ").capitalize()


def _enum(
    name: str, form: str, label: str, attr: str, vocab: type[Enum], **kw: object
) -> RedcapField:
    members = [str(m.value) for m in vocab]
    labels = {"F": "Female", "M": "Male", "X": "Other"} if vocab is Sex else {}
    return RedcapField(
        name,
        form,
        kw.pop("field_type", "dropdown"),  # type: ignore[arg-type]
        label,
        attr,
        choices=tuple((str(i), labels.get(v, _label(v))) for i, v in enumerate(members, 1)),
        values=tuple(members),
        **kw,  # type: ignore[arg-type]
    )


def _code_of(vocab: type[Enum], value: Enum) -> str:
    return str([m.value for m in vocab].index(value.value) + 1)


def _number(
    name: str,
    form: str,
    label: str,
    attr: str,
    low: float,
    high: float | None,
    integer: bool = False,
    **kw: object,
) -> RedcapField:
    def text(x: float | None) -> str:
        return "" if x is None else (str(int(x)) if float(x).is_integer() else str(x))

    return RedcapField(
        name,
        form,
        "text",
        label,
        attr,
        validation="integer" if integer else "number",
        minimum=text(low),
        maximum=text(high),
        **kw,  # type: ignore[arg-type]
    )


def _date(name: str, form: str, label: str, attr: str, **kw: object) -> RedcapField:
    return RedcapField(name, form, "text", label, attr, validation="date_ymd", **kw)  # type: ignore[arg-type]


def _text(
    name: str, form: str, label: str, attr: str, notes: bool = False, **kw: object
) -> RedcapField:
    return RedcapField(name, form, "notes" if notes else "text", label, attr, **kw)  # type: ignore[arg-type]


# Muscle groups tested once (axial) versus on both sides.
AXIAL_GROUPS = (MuscleGroup.NECK_FLEXORS, MuscleGroup.NECK_EXTENSORS)


def muscle_sites() -> list[tuple[MuscleGroup, Side]]:
    sites: list[tuple[MuscleGroup, Side]] = []
    for group in MuscleGroup:
        sides = (Side.AXIAL,) if group in AXIAL_GROUPS else (Side.LEFT, Side.RIGHT)
        sites.extend((group, side) for side in sides)
    return sites


def _patient() -> list[RedcapField]:
    f = "patient"
    overlap = _code_of(Diagnosis, Diagnosis.OVERLAP_MYOSITIS)
    return [
        _text(RECORD_ID, f, "Patient code (pseudonymous)", "code", required=True),
        _text("site_code", f, "Site code", "site_code"),
        _text("site_name", f, "Site name", "", branching="[site_code] <> ''"),
        _text("site_country", f, "Site country", "", branching="[site_code] <> ''"),
        _enum("sex", f, "Sex", "sex", Sex, field_type="radio", required=True),
        _number("age_at_entry", f, "Age at entry (years)", "age_at_entry", 0, 120, True),
        _number("birth_year", f, "Year of birth", "birth_year", 1900, 2100, True),
        _enum("diagnosis", f, "Diagnosis", "diagnosis", Diagnosis, required=True),
        _enum(
            "overlap_disease",
            f,
            "Overlap connective-tissue disease",
            "overlap_disease",
            OverlapDisease,
            branching=f"[diagnosis] = '{overlap}'",
        ),
        _date("onset_date", f, "Disease onset date", "onset_date"),
        _number(
            "disease_duration_years",
            f,
            "Disease duration (years)",
            "disease_duration_years",
            0,
            100,
        ),
        _enum(
            "disease_duration_qualifier",
            f,
            "Disease duration is",
            "disease_duration_qualifier",
            Qualifier,
            branching="[disease_duration_years] <> ''",
        ),
        _number("height_cm", f, "Height (cm)", "height_cm", 40, 250),
        _text("patient_source", f, "Source of the data", "source", notes=True),
        _text("patient_note", f, "Note", "note", notes=True),
    ]


def _therapy() -> list[RedcapField]:
    f = "therapy"
    other = _code_of(Drug, Drug.OTHER)
    return [
        _enum("th_drug", f, "Drug", "drug", Drug, required=True),
        _text(
            "th_drug_label",
            f,
            "Drug name as given by the source",
            "drug_label",
            branching=f"[th_drug] = '{other}'",
        ),
        _number("th_dose_mg_per_day", f, "Dose (mg/day)", "dose_mg_per_day", 0, 2000),
        _date("th_start_date", f, "Start date", "start_date"),
        _date("th_stop_date", f, "Stop date", "stop_date"),
        _enum("th_timing", f, "Timing relative to IVIg", "timing", TherapyTiming),
        _text("th_note", f, "Note", "note", notes=True),
    ]


def _lab() -> list[RedcapField]:
    f = "lab"
    return [
        _date("lab_sample_date", f, "Sample date", "sample_date"),
        _enum("lab_test", f, "Test", "test", LabTest, required=True),
        RedcapField(
            "lab_not_performed",
            f,
            "yesno",
            "Not performed",
            "not_performed",
            choices=YESNO,
            values=("true", "false"),
        ),
        _number("lab_value", f, "Value", "value", 0, None, branching="[lab_not_performed] <> '1'"),
        _text("lab_unit", f, "Unit", "unit", branching="[lab_not_performed] <> '1'"),
        _text(
            "lab_text_value",
            f,
            "Text result (blood group, antibodies)",
            "text_value",
            branching="[lab_not_performed] <> '1'",
        ),
    ]


def _course() -> list[RedcapField]:
    f = "ivig_course"
    return [
        _number("crs_number", f, "Course number", "course_number", 1, 1000, True, required=True),
        _text("crs_product", f, "IVIg product", "product"),
        _date("crs_start_date", f, "First infusion day", "start_date"),
        _number("crs_days", f, "Infusion days", "days", 1, 7, True, required=True),
        _number(
            "crs_planned_dose_g", f, "Planned daily dose (g/day)", "planned_daily_dose_g", 0, 200
        ),
        _number("crs_given_dose_g", f, "Given daily dose (g/day)", "given_daily_dose_g", 0, 200),
        _number("crs_weight_kg", f, "Body weight at the course (kg)", "weight_kg", 2, 400),
        _number(
            "crs_rate_ml_kg_min",
            f,
            "Maximum infusion rate (mL/kg/min)",
            "infusion_rate_ml_per_kg_min",
            0,
            0.2,
        ),
        _text("crs_note", f, "Note", "note", notes=True),
    ]


def _infusion_day() -> list[RedcapField]:
    f = "infusion_day"
    derived = "Derived from the course; on import it must agree with the course."
    recorded = "[inf_lot] <> ''"
    return [
        _number(
            "inf_course_number", f, "Course number", "", 1, 1000, True, required=True, note=derived
        ),
        _number("inf_day", f, "Day of the course", "", 1, 7, True, required=True),
        _date(
            "inf_date",
            f,
            "Infusion date",
            "",
            note="Recorded day: the date given; otherwise derived from the course start.",
        ),
        _number(
            "inf_dose_g",
            f,
            "Dose given (g)",
            "",
            0,
            200,
            note="Recorded day: the dose given; otherwise the course's daily dose.",
        ),
        _number("inf_rate_ml_kg_min", f, "Maximum infusion rate (mL/kg/min)", "", 0, 0.2),
        _text(
            "inf_lot",
            f,
            "Lot number (as printed on the vial)",
            "",
            section="Recorded infusion day",
            note="Required for a recorded day; blank: the day is derived from the course.",
        ),
        _text("inf_product", f, "Product given that day", "", branching=recorded),
        _number("inf_volume_ml", f, "Volume infused (mL)", "", 0, 5000, branching=recorded),
        _number("inf_total_min", f, "Total infusion time (min)", "", 1, 1440, branching=recorded),
        _text(
            "inf_rate_steps",
            f,
            "Rate steps run (JSON list)",
            "",
            notes=True,
            branching=recorded,
            note=RATE_STEPS_NOTE,
        ),
        _text(
            "inf_reactions",
            f,
            "Infusion reactions (JSON list)",
            "",
            notes=True,
            branching=recorded,
            note=REACTIONS_NOTE,
        ),
        _text("inf_given_by", f, "Given by", "", branching=recorded, identifier=True),
        _text("inf_note", f, "Note on the day", "", notes=True, branching=recorded),
    ]


# REDCap cannot repeat inside a repeating instrument: a day's lists are JSON in a notes field.
RATE_STEPS_NOTE = (
    'JSON list of steps, e.g. [{"rate": 0.01, "unit": "ml_per_kg_min", "minutes": 30}]; '
    "unit ml_per_kg_min or ml_per_h"
)
REACTIONS_NOTE = (
    'JSON list, e.g. [{"type": "headache", "ctcae_grade": 1, "action": "slowed"}]; action optional'
)


def _adverse_event() -> list[RedcapField]:
    f = "adverse_event"
    return [
        _text("ae_term", f, "Adverse event", "term", required=True),
        _date("ae_onset_date", f, "Onset date", "onset_date"),
        _number("ae_course_number", f, "During IVIg course number", "course_number", 1, 1000, True),
        RedcapField(
            "ae_serious",
            f,
            "yesno",
            "Serious",
            "serious",
            choices=YESNO,
            values=("true", "false"),
            required=True,
        ),
        RedcapField(
            "ae_ctcae_grade",
            f,
            "dropdown",
            "CTCAE grade",
            "ctcae_grade",
            choices=tuple((str(g), f"Grade {g}") for g in range(1, 6)),
            values=tuple(str(g) for g in range(1, 6)),
        ),
        _enum(
            "ae_relation_to_ivig",
            f,
            "Relation to IVIg (WHO-UMC causality category)",
            "relation_to_ivig",
            IvigRelation,
        ),
        _enum("ae_outcome", f, "Outcome", "outcome", AdverseEventOutcome),
        _enum("ae_action", f, "Action taken", "action", AdverseEventAction),
        _text("ae_note", f, "Note", "note", notes=True),
    ]


def _visit() -> list[RedcapField]:
    f = "visit"
    return [
        _date("vis_date", f, "Assessment date", "assessment_date", required=True),
        _enum("vis_phase", f, "Phase", "phase", Phase, field_type="radio", required=True),
        _text("vis_assessor", f, "Assessor", "assessor"),
        _text("vis_note", f, "Note", "note", notes=True),
    ]


def _core_set() -> list[RedcapField]:
    f = "core_set"
    out = []
    for measure in CoreSetMeasure:
        low, high, unit = CORE_SET_RANGES[measure]
        out.append(
            _number(
                f"cs_{measure.value}",
                f,
                f"{_label(measure.value)} ({unit})",
                "",
                low,
                high,
                np_allowed=True,
            )
        )
    out.append(
        RedcapField(
            "cs_mmt8_scale",
            f,
            "radio",
            "MMT-8 scale maximum",
            "",
            choices=(("80", "80"), ("150", "150"), ("260", "260")),
            values=("80", "150", "260"),
            branching="[cs_mmt8] <> ''",
        )
    )
    return out


def _enzymes() -> list[RedcapField]:
    f = "enzymes"
    out = []
    for enzyme in Enzyme:
        name = enzyme.value.upper() if len(enzyme.value) <= 3 else _label(enzyme.value)
        out.append(
            _number(f"enz_{enzyme.value}", f, f"{name} (U/L)", "", 0, 1_000_000, np_allowed=True)
        )
        out.append(
            _number(
                f"enz_{enzyme.value}_uln", f, f"{name} upper limit of normal (U/L)", "", 0, 100_000
            )
        )
    return out


def site_suffix(group: MuscleGroup, side: Side) -> str:
    return f"{group.value}_{side.value}"


def _strength() -> list[RedcapField]:
    f = "strength"
    out = []
    for i, (group, side) in enumerate(muscle_sites()):
        out.append(
            _number(
                f"myo_{site_suffix(group, side)}",
                f,
                f"Myometry {_label(group.value).lower()} {side.value} (N)",
                "",
                0,
                2000,
                np_allowed=True,
                section="Myometry (N)" if i == 0 else "",
            )
        )
    for i, (group, side) in enumerate(muscle_sites()):
        out.append(
            _number(
                f"mrc_{site_suffix(group, side)}",
                f,
                f"Kendall grade {_label(group.value).lower()} {side.value} (0-10)",
                "",
                0,
                10,
                True,
                np_allowed=True,
                section="Kendall 0-10 grades" if i == 0 else "",
            )
        )
    return out


def _function() -> list[RedcapField]:
    f = "function"
    out = [
        RedcapField(
            f"fn_{task.value}",
            f,
            "radio",
            _label(task.value),
            "",
            choices=ABLE_CHOICES,
            values=("true", "false", "NP"),
        )
        for task in FunctionalTask
    ]
    out.append(_number("fn_walk_30m_time_s", f, "30 m walk time (s)", "", 0, 3600))
    return out


FIELDS: tuple[RedcapField, ...] = tuple(
    _patient()
    + _therapy()
    + _lab()
    + _course()
    + _infusion_day()
    + _adverse_event()
    + _visit()
    + _core_set()
    + _enzymes()
    + _strength()
    + _function()
)
FIELDS_BY_NAME = {f.name: f for f in FIELDS}
FORMS: tuple[str, ...] = tuple(dict.fromkeys(f.form for f in FIELDS))


def form_fields(form: str) -> list[RedcapField]:
    return [f for f in FIELDS if f.form == form]


@dataclass(frozen=True)
class Event:
    name: str
    unique_name: str
    forms: tuple[str, ...]
    repeating_forms: tuple[str, ...] = ()
    repeating_event: bool = False


ARM = 1
EVENTS: tuple[Event, ...] = (
    Event("Enrolment", "enrolment_arm_1", ("patient", "therapy", "lab"), ("therapy", "lab")),
    Event(
        "IVIg treatment",
        "treatment_arm_1",
        ("ivig_course", "infusion_day", "adverse_event"),
        ("ivig_course", "infusion_day", "adverse_event"),
    ),
    Event(
        "Assessment visit",
        "visit_arm_1",
        ("visit", "core_set", "enzymes", "strength", "function"),
        repeating_event=True,
    ),
)
EVENTS_BY_NAME = {e.unique_name: e for e in EVENTS}
FORM_LABELS = {
    "patient": "Patient",
    "therapy": "Concurrent therapy",
    "lab": "Laboratory result",
    "ivig_course": "IVIg course",
    "infusion_day": "Infusion day",
    "adverse_event": "Adverse event",
    "visit": "Assessment visit",
    "core_set": "IMACS core set",
    "enzymes": "Muscle enzymes",
    "strength": "Muscle strength",
    "function": "Functional tasks",
}
