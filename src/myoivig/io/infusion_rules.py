"""The clinic's rate rule applied to imported recorded days (tabular, REDCap and FHIR imports).

An import has no one to confirm a warning, so only the rules whose breach the clinic never
saves apply: the day within its course (`domain.consistency`, via `check_dossier`) and no rate
step above the product's applicable maximum, or above its at-risk maximum for a patient the
imported record shows at risk (`clinic.infusion_checks.check_rates`). The confirmable checks
(a dose above the course's daily dose, a volume that does not fit the dose, a rate that cannot
be checked, a rate above the at-risk maximum when the record cannot tell whether the patient is
at risk, which is so unless age, eGFR or BMI shows the risk, since the planner's declared risk
factors are not stored) are left to the clinic, whatever the import's `accept_warnings`: a rate
error is never accepted, and a confirmable problem is never applied (the clinic asks for it when
the day is next edited). One function for every importer, so that the formats cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from myoivig.clinic.infusion_checks import check_rates, day_at_risk, day_product, rate_caps_for
from myoivig.domain import records as r
from myoivig.io.problems import Problem
from myoivig.io.sheets import format_value
from myoivig.protocol.catalogue import Catalogue
from myoivig.protocol.settings import ProtocolSettings

RowOf = Callable[[r.InfusionDay], int | None]


def _no_row(day: r.InfusionDay) -> int | None:
    return None


def rate_problems(
    dossiers: Iterable[r.PatientDossier],
    catalogue: Catalogue,
    settings: ProtocolSettings,
    source: str,
    column: str,
    row_of: RowOf = _no_row,
) -> list[Problem]:
    """Every recorded rate step above its applicable maximum, named by `source`, the day's row
    (`row_of`, when the source has one row per day), `column` (where the steps are in the
    source), the step's rate, and patient, course, day, maximum, basis and source citation."""
    problems = []
    for dossier in dossiers:
        courses = {c.course_number: c for c in dossier.courses}
        for day in dossier.infusion_days:
            course = courses.get(day.course_number)
            if course is not None:
                problems += _day_problems(
                    dossier, day, course, catalogue, settings, source, column, row_of(day)
                )
    return problems


def _day_problems(
    dossier: r.PatientDossier,
    day: r.InfusionDay,
    course: r.Course,
    catalogue: Catalogue,
    settings: ProtocolSettings,
    source: str,
    column: str,
    row: int | None,
) -> list[Problem]:
    name = day_product(day, course)
    risk = day_at_risk(dossier.patient, dossier.labs, day, course, settings)
    caps = rate_caps_for(name, dossier.patient.diagnosis, catalogue, settings, risk)
    return [
        Problem(
            source,
            row,
            column,
            format_value(day.rate_steps[int(found.field.split(".")[1])].rate),
            f"patient {dossier.patient.code}, course {course.course_number} day "
            f"{day.day_number}: {found.message}",
        )
        for found in check_rates(day, course, name, caps)
        if not found.needs_confirmation
    ]
