"""Records as flat, named values: what a stale-edit comparison lists field by field.

An assessment is a tree (grades and forces per muscle group and side, tasks, core set, enzymes);
comparing "your value / now stored / when you opened it" needs one name per cell, e.g.
`grade shoulder_abductors left`. Values are JSON-ready (enums as their strings, dates as ISO
days, "not performed" as `NP`) so they can travel in a form's hidden field and in API answers.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from myoivig.domain import records as r
from myoivig.domain.values import NP

FlatValues = dict[str, Any]


def shown(value: Any) -> Any:
    """A field value as it is compared and displayed."""
    if value is NP:
        return "NP"
    if isinstance(value, date):
        return value.isoformat()
    return value.value if hasattr(value, "value") else value


def _task(task: r.FunctionalTaskResult) -> str | None:
    if task.not_performed:
        return "not performed"
    return None if task.able is None else ("able" if task.able else "unable")


def assessment_fields(a: r.Assessment) -> FlatValues:
    """One named value per cell of the assessment."""
    values: FlatValues = {
        "assessment_date": shown(a.assessment_date),
        "phase": shown(a.phase),
        "assessor": a.assessor,
        "note": a.note,
    }
    for g in a.muscle_grades:
        values[f"grade {g.muscle_group.value} {g.side.value}"] = shown(g.kendall_grade)
    for m in a.myometry:
        values[f"force {m.muscle_group.value} {m.side.value}"] = shown(m.force_n)
    for t in a.functional_tasks:
        values[f"task {t.task.value}"] = _task(t)
        if t.time_s is not None:
            values[f"task {t.task.value} time_s"] = t.time_s
    for c in a.core_set:
        values[f"core {c.measure.value}"] = shown(c.value)
        if c.scale_max is not None:
            values[f"core {c.measure.value} scale_max"] = c.scale_max
    for e in a.enzymes:
        values[f"enzyme {e.enzyme.value}"] = shown(e.value_u_per_l)
        if e.uln_u_per_l is not None:
            values[f"enzyme {e.enzyme.value} uln"] = e.uln_u_per_l
    return values


def record_fields(record: r.Record) -> FlatValues:
    """Named values of any clinic record (patient code and provenance left out)."""
    if isinstance(record, r.Assessment):
        return assessment_fields(record)
    return {
        name: shown(getattr(record, name))
        for name in type(record).model_fields
        if name not in {"patient_code", "source"}
    }


def opened_values(text: str | None) -> FlatValues | None:
    """The flat values a form was opened with (its hidden field), or None when absent or
    unreadable: they only inform the comparison shown, never what is saved."""
    import json

    if not text:
        return None
    try:
        found = json.loads(text)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None
