"""The clinic's infusion-day rules applied to imported recorded days (REDCap and FHIR).

An import has no one to confirm a warning, so only the rules whose breach the clinic never
saves apply: the day within its course (`domain.consistency`, via `check_dossier`) and no rate
step above the product's applicable maximum, or above its at-risk maximum for a patient the
imported record shows at risk (`clinic.infusion_checks.check_rates`). The confirmable checks
(a dose above the course's daily dose, a volume that does not fit the dose, a rate that cannot
be checked, a rate above the at-risk maximum when the record cannot tell whether the patient is
at risk, which is so unless age, eGFR or BMI shows the risk since the planner's declared risk
factors are not stored) are left to the clinic, as for the tabular import.
"""

from __future__ import annotations

from myoivig.clinic.infusion_checks import check_rates, day_at_risk, day_product, rate_caps_for
from myoivig.domain import records as r
from myoivig.io.importer import Bundle
from myoivig.io.problems import Problem
from myoivig.io.sheets import format_value
from myoivig.protocol.catalogue import Catalogue
from myoivig.protocol.settings import ProtocolSettings


def rate_problems(
    bundle: Bundle,
    catalogue: Catalogue,
    settings: ProtocolSettings,
    source: str,
    column: str,
) -> list[Problem]:
    """Every recorded rate step above its applicable maximum, named by patient, course, day,
    `column` (where the steps are in the source) and the step's rate."""
    problems = []
    for dossier in bundle.dossiers:
        courses = {c.course_number: c for c in dossier.courses}
        for day in dossier.infusion_days:
            course = courses.get(day.course_number)
            if course is not None:
                problems += _day_problems(dossier, day, course, catalogue, settings, source, column)
    return problems


def _day_problems(
    dossier: r.PatientDossier,
    day: r.InfusionDay,
    course: r.Course,
    catalogue: Catalogue,
    settings: ProtocolSettings,
    source: str,
    column: str,
) -> list[Problem]:
    name = day_product(day, course)
    risk = day_at_risk(dossier.patient, dossier.labs, day, course, settings)
    caps = rate_caps_for(name, dossier.patient.diagnosis, catalogue, settings, risk)
    return [
        Problem(
            source,
            None,
            column,
            format_value(day.rate_steps[int(found.field.split(".")[1])].rate),
            f"patient {dossier.patient.code}, course {course.course_number} day "
            f"{day.day_number}: {found.message}",
        )
        for found in check_rates(day, course, name, caps)
        if not found.needs_confirmation
    ]
