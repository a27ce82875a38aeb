"""Plausibility of records and plans: what is impossible, and what needs a second look.

Pure functions, so the importer, the planner, web forms and the API ask the same questions.
*Impossible* findings (a visit dated before the patient was born) are refused outright;
*implausible* ones (a 69 -> 150 kg jump, a weight that equals the last weight in pounds) are
let through only when someone confirms them. Every threshold is a setting with a default a site
can change; every finding names the record, the field and the value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from myoivig.domain.records import PatientDossier

# 1 kg = 2.20462 lb (international avoirdupois pound, 0.45359237 kg).
POUNDS_PER_KG = 2.20462


class PlausibilitySettings(BaseModel):
    """Thresholds of the plausibility checks [D]: local policy, defaults from issue 9."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # A weight more than this fraction away from the last recorded weight needs confirmation.
    weight_change_fraction: float = Field(default=0.10, gt=0, lt=1)
    # Adult BMI outside this range is almost certainly a typing or unit error.
    bmi_min: float = Field(default=13.0, gt=0)
    bmi_max: float = Field(default=60.0, gt=0)
    # "Equals the last weight in pounds": within this fraction of last weight x 2.20462.
    pounds_match_fraction: float = Field(default=0.02, ge=0, lt=0.5)
    # Adults do not grow: a height change larger than this needs confirmation.
    adult_age: int = Field(default=18, ge=0)
    adult_height_change_cm: float = Field(default=3.0, gt=0)


DEFAULT_PLAUSIBILITY = PlausibilitySettings()


class Level(StrEnum):
    IMPOSSIBLE = "impossible"
    IMPLAUSIBLE = "implausible"


@dataclass(frozen=True)
class Check:
    """One finding: a stable code, how bad it is, the field and value, and why."""

    code: str
    level: Level
    column: str
    value: str
    reason: str


@dataclass(frozen=True)
class RecordCheck:
    """A finding located in a stored or imported record (`record` names which one)."""

    table: str
    record: str
    check: Check


def check_weight_change(
    previous_kg: float, weight_kg: float, settings: PlausibilitySettings = DEFAULT_PLAUSIBILITY
) -> list[Check]:
    """A new weight against the last recorded one: pound slip first, then a large change."""
    in_pounds = previous_kg * POUNDS_PER_KG
    if abs(weight_kg - in_pounds) <= settings.pounds_match_fraction * in_pounds:
        return [
            Check(
                "weight_unit_slip",
                Level.IMPLAUSIBLE,
                "weight_kg",
                f"{weight_kg:g}",
                f"{weight_kg:g} kg equals the last weight {previous_kg:g} kg in pounds "
                f"({in_pounds:.0f} lb): likely typed in lb",
            )
        ]
    change = (weight_kg - previous_kg) / previous_kg
    if abs(change) > settings.weight_change_fraction:
        return [
            Check(
                "weight_change",
                Level.IMPLAUSIBLE,
                "weight_kg",
                f"{weight_kg:g}",
                f"{weight_kg:g} kg differs by {change:+.0%} from the last recorded weight "
                f"{previous_kg:g} kg (more than {settings.weight_change_fraction:.0%}): "
                "confirm it",
            )
        ]
    return []


def check_bmi(
    weight_kg: float, height_cm: float, settings: PlausibilitySettings = DEFAULT_PLAUSIBILITY
) -> list[Check]:
    """BMI outside the plausible adult range points at a weight or height typed wrongly."""
    body_mass_index = weight_kg / (height_cm / 100.0) ** 2
    if settings.bmi_min <= body_mass_index <= settings.bmi_max:
        return []
    return [
        Check(
            "bmi_implausible",
            Level.IMPLAUSIBLE,
            "weight_kg",
            f"{weight_kg:g}",
            f"weight {weight_kg:g} kg with height {height_cm:g} cm gives BMI "
            f"{body_mass_index:.1f}, outside {settings.bmi_min:g}-{settings.bmi_max:g}: check "
            "both values and their units",
        )
    ]


def check_height_change(
    previous_cm: float,
    height_cm: float,
    age: int | None,
    settings: PlausibilitySettings = DEFAULT_PLAUSIBILITY,
) -> list[Check]:
    """An adult's height should not move by more than measurement error."""
    if age is not None and age < settings.adult_age:
        return []
    if abs(height_cm - previous_cm) <= settings.adult_height_change_cm:
        return []
    return [
        Check(
            "height_change",
            Level.IMPLAUSIBLE,
            "height_cm",
            f"{height_cm:g}",
            f"height {height_cm:g} cm differs by {height_cm - previous_cm:+.1f} cm from the "
            f"recorded {previous_cm:g} cm (adult: more than "
            f"{settings.adult_height_change_cm:g} cm): confirm it",
        )
    ]


def _date_check(column: str, when: date, birth_year: int | None, today: date) -> list[Check]:
    if when > today:
        return [
            Check(
                "date_in_future",
                Level.IMPOSSIBLE,
                column,
                when.isoformat(),
                f"{column} {when.isoformat()} is in the future",
            )
        ]
    if birth_year is not None and when.year < birth_year:
        return [
            Check(
                "date_before_birth",
                Level.IMPOSSIBLE,
                column,
                when.isoformat(),
                f"{column} {when.isoformat()} is before the patient was born ({birth_year})",
            )
        ]
    return []


def check_dossier_plausibility(
    dossier: PatientDossier,
    settings: PlausibilitySettings = DEFAULT_PLAUSIBILITY,
    today: date | None = None,
) -> list[RecordCheck]:
    """Every dated record against birth and today; course weights against each other."""
    today = today or date.today()
    born = dossier.patient.birth_year
    code = dossier.patient.code
    found: list[RecordCheck] = []

    def dated(table: str, record: str, column: str, when: date | None) -> None:
        if when is not None:
            found.extend(
                RecordCheck(table, record, c) for c in _date_check(column, when, born, today)
            )

    dated("patients", f"patient {code}", "onset_date", dossier.patient.onset_date)
    for a in dossier.assessments:
        dated("assessments", f"patient {code} assessment", "assessment_date", a.assessment_date)
    for c in dossier.courses:
        dated("courses", f"patient {code} course {c.course_number}", "start_date", c.start_date)
    for lab in dossier.labs:
        dated("labs", f"patient {code} lab {lab.test.value}", "sample_date", lab.sample_date)
    for e in dossier.adverse_events:
        dated("adverse_events", f"patient {code} event {e.term!r}", "onset_date", e.onset_date)
    for t in dossier.therapies:
        for column in ("start_date", "stop_date"):
            dated("therapies", f"patient {code} therapy {t.drug.value}", column, getattr(t, column))

    weighed = sorted(
        (c for c in dossier.courses if c.weight_kg is not None), key=lambda c: c.course_number
    )
    height = dossier.patient.height_cm
    previous = None
    for course in weighed:
        assert course.weight_kg is not None
        record = f"patient {code} course {course.course_number}"
        checks: list[Check] = []
        if previous is not None and previous.weight_kg is not None:
            checks += check_weight_change(previous.weight_kg, course.weight_kg, settings)
        if height is not None:
            checks += check_bmi(course.weight_kg, height, settings)
        found.extend(RecordCheck("courses", record, c) for c in checks)
        previous = course
    return found
