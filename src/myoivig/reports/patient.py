"""The patient report's content: record, courses, timeline figures, criteria per visit, adverse
events, continuation advice and the open alerts of the next course.

Everything clinical comes from the areas: outcomes (`patient_outcomes`, applied at each visit to
the assessments recorded up to that visit), protocol (`advise_dossier`, `plan_patient`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from myoivig.domain.records import Assessment, PatientDossier
from myoivig.domain.synthetic import SYNTHETIC_LABEL, is_synthetic
from myoivig.domain.vocab import Phase
from myoivig.outcomes.patient_report import patient_outcomes
from myoivig.protocol.catalogue import load_catalogue
from myoivig.protocol.dossier import advise_dossier, patient_age
from myoivig.protocol.errors import ProtocolError
from myoivig.protocol.report import advice_dict, alert_dict
from myoivig.protocol.service import plan_dossier, plan_summary
from myoivig.reports.render import figure_data_uri
from myoivig.reports.timeline import timeline
from myoivig.store import Store
from myoivig.store.repository import load_dossier

LOT_NOTE = (
    "Lots are those of the recorded infusion days (days recorded of the course's days); "
    '"not recorded" means no infusion day of that course has been recorded.'
)


def words(value: object) -> str:
    """An enum value or code as words (dermatomyositis, stopped before ivig)."""
    text = getattr(value, "value", value)
    return "" if text is None else str(text).replace("_", " ")


def patient_header(dossier: PatientDossier, today: date) -> dict[str, Any]:
    p = dossier.patient
    return {
        "code": p.code,
        "synthetic": is_synthetic(p),
        "synthetic_label": SYNTHETIC_LABEL,
        "sex": p.sex.value,
        "age": patient_age(dossier, today),
        "age_basis": "from birth year" if p.birth_year is not None else "at entry",
        "diagnosis": words(p.diagnosis),
        "overlap": words(p.overlap_disease) if p.overlap_disease else None,
        "onset": p.onset_date.isoformat() if p.onset_date else None,
        "duration_y": p.disease_duration_years,
        "height_cm": p.height_cm,
        "site": p.site_code,
        "source": p.source,
    }


def _product_name(key: str | None) -> str:
    if not key:
        return "not recorded"
    product = load_catalogue().find(key)
    return product.name if product else key


def course_lots(dossier: PatientDossier, course_number: int) -> list[str]:
    """The lot numbers given in one course, in the order of its recorded days, each once."""
    days = sorted(
        (d for d in dossier.infusion_days if d.course_number == course_number),
        key=lambda d: d.day_number,
    )
    return list(dict.fromkeys(d.lot_number for d in days))


def course_rows(dossier: PatientDossier) -> list[dict[str, Any]]:
    rows = []
    for c in sorted(dossier.courses, key=lambda c: c.course_number):
        daily = c.given_daily_dose_g if c.given_daily_dose_g is not None else c.planned_daily_dose_g
        rows.append(
            {
                "number": c.course_number,
                "start": c.start_date.isoformat() if c.start_date else "undated",
                "days": c.days,
                "product": _product_name(c.product),
                "planned_daily_g": c.planned_daily_dose_g,
                "given_daily_g": c.given_daily_dose_g,
                "course_total_g": None if daily is None else daily * c.days,
                "total_basis": "given" if c.given_daily_dose_g is not None else "planned",
                "weight_kg": c.weight_kg,
                "g_per_kg": None
                if daily is None or not c.weight_kg
                else daily * c.days / c.weight_kg,
                "rate": c.infusion_rate_ml_per_kg_min,
                "lots": course_lots(dossier, c.course_number),
                "days_recorded": sum(
                    1 for d in dossier.infusion_days if d.course_number == c.course_number
                ),
                "note": c.note or "",
            }
        )
    return rows


def _part(part: dict[str, Any], text: str) -> dict[str, str]:
    if not part.get("available"):
        return {"text": "—", "why": str(part.get("reason", ""))}
    return {"text": text, "why": ""}


def _sign(flag: object) -> str:
    if flag is None:
        return "undetermined"
    return "improved" if flag is True else "not improved" if flag is False else str(flag)


def visit_rows(dossier: PatientDossier) -> list[dict[str, Any]]:
    """Each treatment/follow-up visit judged against the run-in, as of that visit."""
    p = dossier.patient
    ordered: list[Assessment] = sorted(dossier.assessments, key=lambda a: a.assessment_date)
    starts = sorted(c.start_date for c in dossier.courses if c.start_date is not None)
    rows = []
    for i, visit in enumerate(ordered):
        if visit.phase is Phase.RUN_IN:
            continue
        report = patient_outcomes(p.code, p.diagnosis, ordered[: i + 1])
        latest = report.get("latest")
        if latest is None:
            continue
        myo, mrc, fun = latest["myometry"], latest["mrc"], latest["functional"]
        ck, core = latest["ck"], latest["tis_doi"]
        significance = {True: "p<0.05", False: "NS", None: "no test"}
        rows.append(
            {
                "date": visit.assessment_date.isoformat(),
                "phase": words(visit.phase),
                "courses_before": sum(1 for s in starts if s < visit.assessment_date),
                "myometry": _part(
                    myo,
                    f"{myo.get('percent_change', 0):+.1f} % "
                    f"({significance.get(myo.get('significant'))})",
                ),
                "mrc": _part(mrc, _sign(mrc.get("improved"))),
                "functional": _part(fun, _sign(fun.get("improved"))),
                "ck": _part(
                    ck,
                    f"{ck.get('before', 0):g} → {ck.get('after', 0):g} U/L"
                    + (" (normal)" if ck.get("normal_after") else ""),
                ),
                "tis": _part(
                    core,
                    f"{core.get('tis')} ({words(core.get('tis_category')) or 'no category'})"
                    if core.get("tis") is not None
                    else f"incomplete ({core.get('tis_min')}–{core.get('tis_max')})",
                ),
                "doi": _part(
                    core,
                    {True: "met", False: "not met", None: "undetermined"}.get(
                        core.get("imacs_doi"), "undetermined"
                    ),
                ),
                "trial": words(latest["trial_response"]["outcome"]),
            }
        )
    return rows


def adverse_event_rows(dossier: PatientDossier) -> list[dict[str, Any]]:
    return [
        {
            "onset": e.onset_date.isoformat() if e.onset_date else "",
            "course": e.course_number,
            "term": e.term,
            "serious": e.serious,
            "grade": e.ctcae_grade,
            "outcome": words(e.outcome) if e.outcome else "",
            "action": words(e.action) if e.action else "",
        }
        for e in sorted(dossier.adverse_events, key=lambda e: e.onset_date or date.min)
    ]


def therapy_rows(dossier: PatientDossier) -> list[dict[str, Any]]:
    return [
        {
            "drug": t.drug_label or words(t.drug),
            "dose": t.dose_mg_per_day,
            "start": t.start_date.isoformat() if t.start_date else "",
            "stop": t.stop_date.isoformat() if t.stop_date else "",
            "timing": words(t.timing) if t.timing else "",
        }
        for t in dossier.therapies
    ]


def next_course_alerts(dossier: PatientDossier, today: date) -> dict[str, Any]:
    """The alerts the next course would carry now (nothing is recorded: no overrides)."""
    try:
        outcome = plan_dossier(dossier, today=today)
    except ProtocolError as error:
        return {"error": str(error), "alerts": [], "blocked": True, "blocking": [], "plan": ""}
    return {
        "error": None,
        "plan": plan_summary(outcome.plan),
        "alerts": [alert_dict(a) for a in outcome.alerts],
        "blocked": outcome.blocked,
        "blocking": list(outcome.blocking_codes),
    }


def patient_context(store: Store, code: str, today: date | None = None) -> dict[str, Any]:
    """Everything the patient report shows (raises RecordNotFoundError for an unknown code)."""
    with store.session() as session:
        dossier = load_dossier(session, code)
    return dossier_context(dossier, today)


def dossier_context(dossier: PatientDossier, today: date | None = None) -> dict[str, Any]:
    """The patient report of a dossier at hand (a pseudonymised one gives a pseudonymised
    report: the record's code, notes and birth year are not in it)."""
    today = today or date.today()
    code = dossier.patient.code
    header = patient_header(dossier, today)
    line = timeline(dossier.assessments, dossier.courses)
    from myoivig.reports.figures import muscle_group_figure, timeline_figure  # matplotlib

    figures = []
    if line.has_data:
        label = f"Patient {code}" + (" — SYNTHETIC" if header["synthetic"] else "")
        figures.append(
            {
                "title": "Mean myometry force, MMT-8 and CK over time (IVIg courses shaded)",
                "uri": figure_data_uri(timeline_figure(line, label)),
            }
        )
        if line.group_force_n:
            figures.append(
                {
                    "title": "Force per muscle group (IVIg courses shaded)",
                    "uri": figure_data_uri(muscle_group_figure(line, label)),
                }
            )
    advice = advice_dict(advise_dossier(dossier))
    return {
        "title": f"Patient report {code}",
        "generated": today.isoformat(),
        "synthetic_banner": SYNTHETIC_LABEL if header["synthetic"] else "",
        "patient": header,
        "therapies": therapy_rows(dossier),
        "courses": course_rows(dossier),
        "lot_note": LOT_NOTE,
        "figures": figures,
        "ck_without_uln": line.ck_without_uln,
        "undated_courses": line.undated_courses,
        "visits": visit_rows(dossier),
        "run_in_visits": sum(1 for a in dossier.assessments if a.phase is Phase.RUN_IN),
        "adverse_events": adverse_event_rows(dossier),
        "advice": advice,
        "next_course": next_course_alerts(dossier, today),
    }
