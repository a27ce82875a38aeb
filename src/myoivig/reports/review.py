"""The review report of a stored systematic review: PRISMA 2020 flow, characteristics of the
included studies, appraisal, forest plot of the response proportion and the GRADE summary of
findings.

Counts come from the review's recorded events (`derive`), the study table from the reconciled
extractions (`study_table`), the pooled proportion from the evidence engine (logit
proportions, REML random effects: the engine's default for the bundled example), appraisals
and GRADE ratings from what was recorded with `myoivig review appraise`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from myoivig.evidence.effect_sizes import escalc
from myoivig.evidence.errors import EvidenceError
from myoivig.evidence.model import rma
from myoivig.evidence.plots import ForestSection, data_text_for, forest_plot
from myoivig.reports.render import ReportNotFoundError, figure_data_uri
from myoivig.review import repository as repo
from myoivig.review.appraisal.cebm import CebmInput, kind_from_design, level
from myoivig.review.evidence_table import poolable, study_table
from myoivig.review.prisma import PrismaError
from myoivig.review.prisma.diagram import figure as prisma_figure
from myoivig.review.prisma.flow import derive_living
from myoivig.review.studies import links_from_assignments
from myoivig.store import Store

POOLING = ("PLO", "REML")  # logit proportion, REML random effects (see module docstring)
AGREED = "agreed"  # the extractor name of reconciled forms (`review extract reconcile`)


def _cell(value: Any) -> Any:
    """A table cell, with pandas' missing values as None (the template prints a dash)."""
    return None if value is None or bool(pd.isna(value)) else value


def _judgement(result: dict[str, Any]) -> tuple[str, str]:
    for key in ("level", "overall", "ahrq", "certainty"):
        if result.get(key) is not None:
            judgement = str(result[key])
            break
    else:
        judgement = "recorded"
    reason = result.get("reason") or "; ".join(str(r) for r in result.get("reasons", []))
    return judgement, str(reason)


def _forest(frame: Any) -> dict[str, Any]:
    table = poolable(frame)
    if len(table) < 2:
        return {
            "uri": None,
            "why": f"{len(table)} study(ies) with responders and patients "
            "evaluated; pooling needs at least two",
            "summary": None,
        }
    measure, method = POOLING
    xi = table["xi"].to_numpy(dtype=float)
    ni = table["ni"].to_numpy(dtype=float)
    try:
        es = escalc(measure, xi=xi, ni=ni, labels=[str(s) for s in table["study"]])
        fit = rma(es, method=method)
    except EvidenceError as error:  # e.g. REML not converging: say so, draw nothing
        return {"uri": None, "why": f"the model could not be fitted ({error})", "summary": None}
    text = data_text_for({"xi": xi, "ni": ni}, measure)
    fig = forest_plot(
        [ForestSection(None, fit, text)],
        data_header="Events/n",
        title="Response to IVIg (proportion of patients)",
    )
    return {
        "uri": figure_data_uri(fig),
        "why": "",
        "summary": fit.summary(),
        "k": fit.k,
        "patients": int(ni.sum()),
    }


def grade_row(appraisal: dict[str, Any]) -> dict[str, Any]:
    """A recorded GRADE rating as the report shows it: only what was recorded, with "not
    recorded" where an element is missing (no certainty is ever derived here)."""
    result = appraisal["result"]

    def text(key: str) -> str:
        value = result.get(key)
        return str(value).replace("_", " ") if value not in (None, "") else "not recorded"

    return {
        "outcome": result.get("outcome") or str(appraisal["study_id"]).removeprefix("outcome:"),
        "start": text("start"),
        "certainty": text("certainty"),
        "symbol": result.get("symbol") or "",
        "steps": [
            {
                "change": int(step.get("change", 0)),
                "domain": str(step.get("domain", "")).replace("_", " "),
                "reason": step.get("reason", ""),
            }
            for step in result.get("steps") or []
        ],
        "notes": [str(n) for n in result.get("notes") or []],
    }


def review_context(store: Store, name: str) -> dict[str, Any]:
    with store.session() as s:
        protocol = repo.load_protocol(s, name)
        records = repo.load_records(s, name)
        if protocol is None and not records:
            raise ReportNotFoundError(f"review {name!r} not found in this database")
        events, open_screening = repo.prisma_state(s, name)
        forms = [f for f in repo.load_extractions(s, name) if f.extractor == AGREED]
        links = links_from_assignments(repo.load_events(s, name))
        appraisals = repo.load_appraisals(s, name)
    try:
        counts = derive_living(events, open_screening)  # a review in progress is drawn so
        prisma = {
            "uri": figure_data_uri(prisma_figure(counts)),
            "error": None,
            "counts": counts.model_dump(mode="json"),
        }
    except PrismaError as error:
        prisma = {"uri": None, "error": str(error), "counts": None}
    frame = study_table(forms, links)
    studies = [{k: _cell(v) for k, v in row.items()} for row in frame.to_dict("records")]
    stored_cebm = {a["study_id"] for a in appraisals if a["tool"] == "cebm"}
    appraisal_rows = []
    for a in appraisals:
        if a["tool"] == "grade":
            continue
        judgement, reason = _judgement(a["result"])
        appraisal_rows.append(
            {
                "study": a["study_id"],
                "tool": a["tool"],
                "judgement": judgement,
                "reason": reason,
                "basis": "recorded",
            }
        )
    for row in studies:
        if row["study_id"] not in stored_cebm and row["design"]:
            derived = level(CebmInput(kind_from_design(str(row["design"]))))
            appraisal_rows.append(
                {
                    "study": row["study_id"],
                    "tool": "cebm",
                    "judgement": derived.level,
                    "reason": "; ".join(derived.reasons),
                    "basis": "from the extracted design",
                }
            )
    grade = [grade_row(a) for a in appraisals if a["tool"] == "grade"]
    forest = _forest(frame)
    return {
        "title": f"Review report {name}",
        "synthetic_banner": "",
        "name": name,
        "protocol": None
        if protocol is None
        else {
            "title": protocol.title,
            "years": f"{protocol.date_from}–{protocol.date_to}",
            "sources": ", ".join(src.name for src in protocol.sources),
            "inclusion": protocol.inclusion_criteria,
        },
        "records": len(records),
        "prisma": prisma,
        "studies": studies,
        "appraisals": appraisal_rows,
        "forest": forest,
        "pooling": "logit-transformed proportions, REML random-effects model",
        "grade": grade,
    }
