"""The patient report lists the lots given in each course, from the recorded infusion days
(SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from reports_dossiers import responder_dossier

from myoivig.domain import records as r
from myoivig.reports.patient import patient_context
from myoivig.reports.render import ReportFormat, render
from myoivig.store import Store
from myoivig.store.repository import add_dossier, existing_sites


def _day(course: r.Course, day: int, lot: str) -> r.InfusionDay:
    assert course.start_date is not None
    return r.InfusionDay(
        patient_code=course.patient_code,
        course_number=course.course_number,
        day_number=day,
        infusion_date=course.start_date + timedelta(days=day - 1),
        product=course.product,
        lot_number=lot,
        dose_g=28,
        rate_steps=[r.RateStepGiven(rate=0.01, minutes=30), r.RateStepGiven(rate=0.04, minutes=60)],
    )


def test_the_report_lists_each_courses_lots_in_day_order(store: Store) -> None:
    dossier = responder_dossier()
    first, second = dossier.courses[0], dossier.courses[1]
    days = [
        _day(first, 2, "B2222Q"),
        _day(first, 1, "A1111P"),
        _day(first, 3, "A1111P"),
        _day(second, 1, "C3333R"),
    ]
    with store.unit_of_work("setup") as session:
        add_dossier(
            session, dossier.model_copy(update={"infusion_days": days}), existing_sites(session)
        )
    context = patient_context(store, "RPT-01")
    lots = [(c["number"], c["lots"], c["days_recorded"]) for c in context["courses"]]
    assert lots[:3] == [(1, ["A1111P", "B2222Q"], 3), (2, ["C3333R"], 1), (3, [], 0)]
    html = render("patient.html", context, ReportFormat.HTML).decode()
    assert "A1111P, B2222Q" in html and "(3/5 days)" in html
    assert "not recorded" in html  # courses without a recorded day say so
