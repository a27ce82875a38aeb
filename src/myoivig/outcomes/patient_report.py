"""One patient's outcomes computed from stored assessments (not from reported summaries).

The trial compared each patient with a run-in baseline of at least three assessments before IVIg
(Mastaglia 1998). This report applies the engine's rules to a stored dossier:
- run-in baseline and trend (mean by default) for the mean myometry force, the MMT-8 total and
  CK, with the trial's warning when fewer than three run-in assessments exist;
- for each measure, the most recent treatment/follow-up assessment that has it against the
  baseline: myometry % change with the paired t test (per-site run-in baseline), the MRC rule
  (per-site run-in mean grades), functional tasks, CK change and normalisation, the ACR/EULAR
  TIS and the IMACS DOI (against the last run-in assessment that has the measure), and the
  trial's responder rule from those parts;
- ProDERM confirmed deterioration over the treatment/follow-up visits.
Each part that cannot be computed says why instead of guessing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any

from myoivig.domain.vocab import CoreSetMeasure, Enzyme, Phase
from myoivig.outcomes.core_set import CoreSetError, ScoringSettings
from myoivig.outcomes.enzymes import EnzymeChange
from myoivig.outcomes.from_records import (
    core_set_change,
    core_set_visit,
    population_for,
    run_in_points,
)
from myoivig.outcomes.functional import functional_change
from myoivig.outcomes.imacs_doi import imacs_definition_of_improvement
from myoivig.outcomes.myometry import baseline_forces, mean_force, myometry_change, site_forces
from myoivig.outcomes.proderm import confirmed_deterioration
from myoivig.outcomes.record_shapes import AssessmentLike, numeric
from myoivig.outcomes.runin import BaselineMethod, run_in_baseline
from myoivig.outcomes.strength_grades import Site, mrc_improvement, site_grades
from myoivig.outcomes.tis import total_improvement_score
from myoivig.outcomes.trial_response import classify_trial_response, trial_responder


def _mean_force_of(a: AssessmentLike) -> float | None:
    forces = site_forces(a.myometry)
    return mean_force(forces) if forces else None


def _core_of(measure: CoreSetMeasure) -> Callable[[AssessmentLike], float | None]:
    def value(a: AssessmentLike) -> float | None:
        for v in a.core_set:
            if v.measure is measure:
                return numeric(v.value)
        return None

    return value


def _enzyme(a: AssessmentLike, enzyme: Enzyme) -> tuple[float | None, float | None]:
    for e in a.enzymes:
        if e.enzyme is enzyme:
            return numeric(e.value_u_per_l), e.uln_u_per_l
    return None, None


RUN_IN_MEASURES: tuple[tuple[str, Callable[[AssessmentLike], float | None], bool], ...] = (
    ("myometry_mean_force_n", _mean_force_of, True),
    ("mmt8", _core_of(CoreSetMeasure.MMT8), True),
    ("ck_u_per_l", lambda a: _enzyme(a, Enzyme.CK)[0], False),
)


def _run_in(assessments: Sequence[AssessmentLike], method: BaselineMethod) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value_of, higher_is_better in RUN_IN_MEASURES:
        points = run_in_points(assessments, value_of)
        if not points:
            out[name] = {"available": False, "reason": "no run-in value"}
            continue
        baseline = run_in_baseline(points, method)
        trend = baseline.trend
        out[name] = {
            "available": True,
            "baseline": baseline.value,
            "method": baseline.method.value,
            "n_assessments": baseline.n_assessments,
            "slope_per_month": trend.slope_per_month if trend else None,
            "slope_ci": [trend.ci_low, trend.ci_high]
            if trend and trend.ci_low is not None
            else None,
            "deteriorating_during_run_in": baseline.deteriorating(higher_is_better),
            "warnings": list(baseline.warnings),
        }
    return out


def _mean_grades(run_in: Sequence[AssessmentLike]) -> dict[Site, float]:
    series: dict[Site, list[int]] = {}
    for a in run_in:
        for site, grade in site_grades(a.muscle_grades).items():
            series.setdefault(site, []).append(grade)
    return {site: sum(v) / len(v) for site, v in series.items()}


def _guarded(compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return {"available": True, **compute()}
    except (ValueError, CoreSetError) as error:
        return {"available": False, "reason": str(error)}


def _dates(before: AssessmentLike | None, after: AssessmentLike) -> dict[str, Any]:
    return {
        "baseline_date": before.assessment_date.isoformat() if before else None,
        "follow_up_date": after.assessment_date.isoformat(),
    }


def _mrc_part(run_in: Sequence[AssessmentLike], later: Sequence[AssessmentLike]) -> dict[str, Any]:
    """MRC grades at the latest graded visit against the run-in mean (the trial's rule)."""
    latest = _last_with(later, lambda a: bool(site_grades(a.muscle_grades)), "muscle grades")
    result = mrc_improvement(_mean_grades(run_in), site_grades(latest.muscle_grades))
    if result.compared_units == 0:
        raise ValueError("no muscle group graded both at run-in and after")
    return {**_dates(None, latest), **asdict(result)}


def _functional_part(
    run_in: Sequence[AssessmentLike], later: Sequence[AssessmentLike]
) -> dict[str, Any]:
    """Functional tasks at the latest visit with tasks against the last run-in with tasks."""
    has_tasks = lambda a: any(  # noqa: E731 - a one-line predicate
        t.able is not None and not t.not_performed for t in a.functional_tasks
    )
    reference = _last_with(run_in, has_tasks, "run-in functional tasks")
    latest = _last_with(later, has_tasks, "functional tasks")
    change = functional_change(reference.functional_tasks, latest.functional_tasks)
    before = {t.task for t in reference.functional_tasks if t.able is not None}
    if not before & {t.task for t in latest.functional_tasks if t.able is not None}:
        raise ValueError("no functional task assessed both times")
    return {
        **_dates(reference, latest),
        "gained": [t.value for t in change.gained],
        "lost": [t.value for t in change.lost],
        "walk_30m_change_s": change.walk_30m_change_s,
        "walk_30m_change_pct": change.walk_30m_change_pct,
        "improved": change.improved(),
    }


def latest_trial_responder(assessments: Sequence[AssessmentLike]) -> bool | None:
    """The trial's responder rule (functional AND MRC improvement) at the latest treatment or
    follow-up visit, as the patient page's criteria panel shows it; None when undetermined.
    Computes only those two parts, so a patient list can apply it to many patients."""
    ordered = sorted(assessments, key=lambda a: a.assessment_date)
    run_in = [a for a in ordered if a.phase is Phase.RUN_IN]
    later = [a for a in ordered if a.phase is not Phase.RUN_IN]
    if not run_in or not later:
        return None
    functional = _guarded(lambda: _functional_part(run_in, later)).get("improved")
    mrc = _guarded(lambda: _mrc_part(run_in, later)).get("improved")
    return trial_responder(functional, mrc)


def patient_outcomes(
    code: str,
    diagnosis: Any,
    assessments: Sequence[AssessmentLike],
    method: BaselineMethod = BaselineMethod.MEAN,
    settings: ScoringSettings | None = None,
) -> dict[str, Any]:
    """The outcome report of one patient as JSON-ready data."""
    ordered = sorted(assessments, key=lambda a: a.assessment_date)
    run_in = [a for a in ordered if a.phase is Phase.RUN_IN]
    later = [a for a in ordered if a.phase is not Phase.RUN_IN]
    report: dict[str, Any] = {
        "code": code,
        "assessments": len(ordered),
        "run_in_assessments": len(run_in),
        "run_in": _run_in(ordered, method),
        "latest": None,
    }
    if not run_in or not later:
        report["note"] = (
            "needs at least one run-in and one treatment/follow-up assessment to compare"
        )
        return report
    report["latest"] = {"assessment_date": later[-1].assessment_date.isoformat()}

    def myometry() -> dict[str, Any]:
        latest = _last_with(later, lambda a: bool(site_forces(a.myometry)), "myometry")
        change = myometry_change(baseline_forces(ordered, method), site_forces(latest.myometry))
        data = asdict(change)
        data["sites"] = [f"{g.value}/{s.value}" for g, s in change.sites]
        return {**_dates(None, latest), **data}

    def ck() -> dict[str, Any]:
        has_ck = lambda a: _enzyme(a, Enzyme.CK)[0] is not None  # noqa: E731
        reference = _last_with(run_in, has_ck, "run-in CK")
        latest = _last_with(later, has_ck, "CK after IVIg")
        (before, uln), (after, uln_after) = (
            _enzyme(reference, Enzyme.CK),
            _enzyme(latest, Enzyme.CK),
        )
        assert before is not None and after is not None
        change = EnzymeChange(before, after, uln or uln_after)
        return {
            **_dates(reference, latest),
            "before": before,
            "after": after,
            "uln": change.uln,
            "percent_change": change.percent_change,
            "normal_after": change.normal_after,
            "normalised": change.normalised,
        }

    def tis_and_doi() -> dict[str, Any]:
        has_core = lambda a: bool(a.core_set) or bool(a.enzymes)  # noqa: E731
        reference = _last_with(run_in, has_core, "run-in core set")
        latest = _last_with(later, has_core, "core set after IVIg")
        change = core_set_change(reference, latest, population_for(diagnosis))
        tis = total_improvement_score(change, settings)
        doi = imacs_definition_of_improvement(change)
        return {
            **_dates(reference, latest),
            "population": change.population.value,
            "tis": tis.tis,
            "tis_min": tis.tis_min,
            "tis_max": tis.tis_max,
            "tis_category": tis.category.value if tis.category else None,
            "missing_measures": [m.value for m in tis.missing],
            "imacs_doi": doi.responder,
        }

    parts = {
        "myometry": _guarded(myometry),
        "mrc": _guarded(lambda: _mrc_part(run_in, later)),
        "functional": _guarded(lambda: _functional_part(run_in, later)),
        "ck": _guarded(ck),
        "tis_doi": _guarded(tis_and_doi),
    }
    report["latest"].update(parts)
    functional_improved = parts["functional"].get("improved")
    mrc_improved = parts["mrc"].get("improved")
    ck_change = (
        EnzymeChange(parts["ck"]["before"], parts["ck"]["after"], parts["ck"]["uln"])
        if parts["ck"]["available"]
        else None
    )
    response = classify_trial_response(functional_improved, mrc_improved, ck_change)
    report["latest"]["trial_response"] = {
        "responder": response.responder,
        "outcome": response.outcome.value,
    }
    report["proderm_deterioration"] = _guarded(lambda: _deterioration(run_in[-1], later))
    return report


def _last_with(
    assessments: Sequence[AssessmentLike], has: Callable[[AssessmentLike], bool], what: str
) -> AssessmentLike:
    """The most recent assessment that has the measure; the part is unavailable otherwise."""
    for a in reversed(assessments):
        if has(a):
            return a
    raise ValueError(f"no assessment with {what}")


def _deterioration(reference: AssessmentLike, later: Sequence[AssessmentLike]) -> dict[str, Any]:
    scales = {v.scale_max for a in (reference, *later) for v in a.core_set
              if v.measure is CoreSetMeasure.MMT8 and v.scale_max}  # fmt: skip
    if len(scales) != 1:
        raise ValueError("needs MMT-8 totals on one scale (80 or 150) at baseline and after")
    result = confirmed_deterioration(
        core_set_visit(reference), [core_set_visit(a) for a in later], int(scales.pop() or 0)
    )
    return {
        "confirmed": result.confirmed,
        "confirmed_at": (
            later[result.confirmed_at_visit].assessment_date.isoformat()
            if result.confirmed_at_visit is not None
            else None
        ),
        "visits_meeting_criterion": [
            later[i].assessment_date.isoformat()
            for i, met in enumerate(result.met_per_visit)
            if met
        ],
        "incomplete_visits": [
            later[i].assessment_date.isoformat() for i in result.incomplete_visits
        ],
    }
