"""Course schedule: induction then maintenance courses as dated infusion days.

Courses start every `interval_days` (28 for "monthly" / "every 4 weeks", Octagam 10 % US
label section 2.3) after the previous course's first day; infusion days within a course are
consecutive.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from myoivig.protocol.errors import PlanningError
from myoivig.protocol.regimens import CourseKind, Regimen


@dataclass(frozen=True)
class ScheduledCourse:
    number: int  # 1-based, induction is course 1
    kind: CourseKind
    days: tuple[date, ...]
    daily_dose_g: float | None = None


def build_schedule(
    regimen: Regimen,
    start: date,
    maintenance_courses: int,
    induction_days: int | None = None,
    maintenance_days: int | None = None,
    induction_daily_g: float | None = None,
    maintenance_daily_g: float | None = None,
) -> list[ScheduledCourse]:
    """Induction course on `start`, then `maintenance_courses` courses at the regimen interval."""
    if not 0 <= maintenance_courses <= 60:
        raise PlanningError("maintenance_courses", maintenance_courses, "must be 0-60")
    n_ind = induction_days or regimen.induction.days_default
    n_main = maintenance_days or regimen.maintenance.days_default
    regimen.induction.check_days(n_ind)
    regimen.maintenance.check_days(n_main)
    courses = [
        ScheduledCourse(1, CourseKind.INDUCTION, _days(start, n_ind), induction_daily_g),
    ]
    for i in range(maintenance_courses):
        first = start + timedelta(days=regimen.interval_days * (i + 1))
        courses.append(
            ScheduledCourse(
                i + 2, CourseKind.MAINTENANCE, _days(first, n_main), maintenance_daily_g
            )
        )
    return courses


def _days(first: date, n: int) -> tuple[date, ...]:
    return tuple(first + timedelta(days=k) for k in range(n))
