"""The cohort report: the 1998 trial's per-patient table and group results recomputed from the
stored data, the paper's statements the data do not bear out, and a trajectory figure.

Table and summary come from the outcome engine (`table_rows`, `cohort_summary`). The trial
cohort has only the paper's per-patient summaries, no visits, so the trajectory figure (like the
paper's figure of patient 10) is drawn for a stored patient who has visits.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from myoivig.domain.records import PatientDossier
from myoivig.domain.synthetic import SYNTHETIC_LABEL, is_synthetic
from myoivig.outcomes.myometry import site_forces
from myoivig.outcomes.trial_claims import load_claims
from myoivig.outcomes.trial_report import (
    FOOTNOTE_PREDNISONE,
    LEGEND,
    TABLE_HEADERS,
    TableRow,
    cohort_summary,
    table_cells,
    table_rows,
)
from myoivig.reports.figures import muscle_group_figure, timeline_figure
from myoivig.reports.render import ReportError, ReportNotFoundError, figure_data_uri
from myoivig.reports.timeline import timeline
from myoivig.store import Store
from myoivig.store.repository import list_dossiers

GROUP_NAMES = {
    "isolated_dm_pm": "Isolated DM or PM",
    "overlap": "Overlap syndromes",
    "ibm": "Inclusion body myositis",
}


def _with_visits(dossier: PatientDossier) -> bool:
    return sum(1 for a in dossier.assessments if site_forces(a.myometry)) >= 2


def _interval(bounds: object) -> str:
    if not isinstance(bounds, list):
        return "—"
    return f"{100 * bounds[0]:.0f}–{100 * bounds[1]:.0f} %"


def trajectory(dossiers: list[PatientDossier], code: str | None) -> dict[str, Any]:
    """The chosen (or first) stored patient with myometry visits, drawn; or why there is none."""
    candidates = [d for d in dossiers if _with_visits(d)]
    if code is not None:
        chosen = next((d for d in dossiers if d.patient.code == code), None)
        if chosen is None:
            raise ReportError(f"--trajectory-patient {code!r}: no such patient")
        if not _with_visits(chosen):
            raise ReportError(f"--trajectory-patient {code!r}: fewer than two visits with myometry")
        how = "chosen with --trajectory-patient"
    elif candidates:
        chosen = candidates[0]
        how = "the first stored patient with myometry visits; choose another with "
        how += "--trajectory-patient CODE"
    else:
        return {"figures": [], "code": None, "how": "", "synthetic": False, "candidates": []}
    line = timeline(chosen.assessments, chosen.courses)
    synthetic = is_synthetic(chosen.patient)
    label = f"Patient {chosen.patient.code}" + (" — SYNTHETIC" if synthetic else "")
    return {
        "code": chosen.patient.code,
        "how": how,
        "synthetic": synthetic,
        "synthetic_label": SYNTHETIC_LABEL,
        "candidates": [d.patient.code for d in candidates],
        "figures": [
            {
                "title": "Force per muscle group with the IVIg courses shaded (as in the "
                "paper's figure of patient 10)",
                "uri": figure_data_uri(muscle_group_figure(line, label)),
            },
            {
                "title": "Mean myometry force, MMT-8 and CK (x ULN) over time",
                "uri": figure_data_uri(timeline_figure(line, label)),
            },
        ],
    }


def cohort_context(store: Store, trajectory_patient: str | None = None) -> dict[str, Any]:
    """The cohort report of every stored patient (the CLI)."""
    with store.session() as session:
        dossiers = list_dossiers(session)
    return dossiers_context(dossiers, trajectory_patient)


def table_of(rows: list[TableRow], pseudonymised: bool) -> tuple[list[str], list[list[str]]]:
    """Headers and cells of the per-patient table. The paper's case number is read from the
    clinic's code, so a pseudonymised table names each row by its pseudonym instead (never a
    number read from the pseudonym's digits), in pseudonym order."""
    if not pseudonymised:
        return list(TABLE_HEADERS), [table_cells(r) for r in rows]
    ordered = sorted(rows, key=lambda r: r.patient_code)
    cells = [[r.patient_code, *table_cells(replace(r, case=None))[1:]] for r in ordered]
    return ["Patient (pseudonym)", *TABLE_HEADERS[1:]], cells


def dossiers_context(
    dossiers: list[PatientDossier],
    trajectory_patient: str | None = None,
    pseudonymised: bool = False,
) -> dict[str, Any]:
    """The cohort report of the dossiers at hand (the web passes the caller's visible ones,
    pseudonymised for a researcher)."""
    if not any(d.reported_outcome for d in dossiers):
        raise ReportNotFoundError(
            "no patient has a reported outcome; run `myoivig demo load` first"
        )
    trial = [d for d in dossiers if d.reported_outcome]  # other stored patients are not in it
    source, claims = load_claims()
    summary = cohort_summary(trial, source, claims)
    rows = table_rows(trial)
    groups = summary["groups"]
    assert isinstance(groups, dict)
    ck = summary["ck"]
    assert isinstance(ck, dict)
    myometry = summary["myometry_change_pct"]
    assert isinstance(myometry, dict)
    non_ibm = summary["non_ibm"]
    assert isinstance(non_ibm, dict)
    trial_codes = {r.patient_code for r in rows}
    headers, cells = table_of(rows, pseudonymised)
    figure = trajectory(dossiers, trajectory_patient)
    return {
        "title": "Cohort report: IVIg trial (Mastaglia 1998) from stored data",
        "synthetic_banner": "",
        "source": source,
        "headers": headers,
        "rows": cells,
        "legend": LEGEND,
        "footnote": FOOTNOTE_PREDNISONE
        if any(r.prednisone_stopped_before_ivig for r in rows)
        else "",
        "patients": summary["patients"],
        "trial_patients": len(trial_codes),
        "total_courses": summary["total_courses"],
        "serious_adverse_events": summary["serious_adverse_events"],
        "response_rule": summary["response_rule"],
        "groups": [
            {
                "name": GROUP_NAMES.get(name, name),
                "responders": g["responders"],
                "patients": g["patients"],
                "undetermined": g["undetermined"],
                "cp": _interval(g["clopper_pearson_95"]),
                "wilson": _interval(g["wilson_95"]),
            }
            for name, g in groups.items()
        ],
        "non_ibm": non_ibm,
        "non_ibm_cp": _interval(non_ibm["clopper_pearson_95"]),
        "non_ibm_wilson": _interval(non_ibm["wilson_95"]),
        "ck": ck.get("all"),
        "myometry": myometry.get("all"),
        "adverse_events": summary["adverse_events"],
        "discrepancies": summary["discrepancies"],
        "agreements": summary["agreements"],
        "trajectory": figure,
        "other_patients": len(dossiers) - len(trial),
    }
