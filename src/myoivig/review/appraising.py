"""Appraisal as the review pages run it: answers in, the algorithm's domain and overall
judgements out while the answers are given, and the result stored per study and tool.

The algorithms are `review.appraisal`'s (RoB 2 decision diagrams, ROBINS-I overall rule,
Newcastle-Ottawa stars with the AHRQ conversion, GRADE steps). This module names the questions,
judges whatever can already be judged, and builds the stored result the CLI stores too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from myoivig.review.appraisal import AppraisalError, grade, nos, rob2, robins_i
from myoivig.review.appraisal.answers import Answer

# RoB 2 signalling questions (effect of assignment to intervention), worded as in the tool:
# Sterne JAC et al., RoB 2: a revised tool for assessing risk of bias in randomised trials,
# BMJ 2019;366:l4898, and the RoB 2 full guidance document (version of 22 August 2019).
ROB2_QUESTIONS: tuple[tuple[str, str, str], ...] = (
    ("1.1", "D1", "Was the allocation sequence random?"),
    ("1.2", "D1", "Was the allocation sequence concealed until participants were enrolled and "
                  "assigned to interventions?"),
    ("1.3", "D1", "Did baseline differences between intervention groups suggest a problem with "
                  "the randomization process?"),
    ("2.1", "D2", "Were participants aware of their assigned intervention during the trial?"),
    ("2.2", "D2", "Were carers and people delivering the interventions aware of participants' "
                  "assigned intervention during the trial?"),
    ("2.3", "D2", "If Y/PY/NI to 2.1 or 2.2: Were there deviations from the intended "
                  "intervention that arose because of the trial context?"),
    ("2.4", "D2", "If Y/PY to 2.3: Were these deviations likely to have affected the outcome?"),
    ("2.5", "D2", "If Y/PY/NI to 2.4: Were these deviations from intended intervention balanced "
                  "between groups?"),
    ("2.6", "D2", "Was an appropriate analysis used to estimate the effect of assignment to "
                  "intervention?"),
    ("2.7", "D2", "If N/PN/NI to 2.6: Was there potential for a substantial impact (on the "
                  "result) of the failure to analyse participants in the group to which they "
                  "were randomized?"),
    ("3.1", "D3", "Were data for this outcome available for all, or nearly all, participants "
                  "randomized?"),
    ("3.2", "D3", "If N/PN/NI to 3.1: Is there evidence that the result was not biased by "
                  "missing outcome data?"),
    ("3.3", "D3", "If N/PN to 3.2: Could missingness in the outcome depend on its true value?"),
    ("3.4", "D3", "If Y/PY/NI to 3.3: Is it likely that missingness in the outcome depended on "
                  "its true value?"),
    ("4.1", "D4", "Was the method of measuring the outcome inappropriate?"),
    ("4.2", "D4", "Could measurement or ascertainment of the outcome have differed between "
                  "intervention groups?"),
    ("4.3", "D4", "If N/PN/NI to 4.1 and 4.2: Were outcome assessors aware of the intervention "
                  "received by study participants?"),
    ("4.4", "D4", "If Y/PY/NI to 4.3: Could assessment of the outcome have been influenced by "
                  "knowledge of intervention received?"),
    ("4.5", "D4", "If Y/PY/NI to 4.4: Is it likely that assessment of the outcome was "
                  "influenced by knowledge of intervention received?"),
    ("5.1", "D5", "Were the data that produced this result analysed in accordance with a "
                  "pre-specified analysis plan that was finalized before unblinded outcome data "
                  "were available for analysis?"),
    ("5.2", "D5", "Is the numerical result being assessed likely to have been selected, on the "
                  "basis of the results, from multiple eligible outcome measurements within the "
                  "outcome domain?"),
    ("5.3", "D5", "Is the numerical result being assessed likely to have been selected, on the "
                  "basis of the results, from multiple eligible analyses of the data?"),
)  # fmt: skip
ROB2_DOMAINS = {
    "D1": "Bias arising from the randomization process",
    "D2": "Bias due to deviations from intended interventions",
    "D3": "Bias due to missing outcome data",
    "D4": "Bias in measurement of the outcome",
    "D5": "Bias in selection of the reported result",
}
ANSWERS = tuple(a.value for a in Answer)
ROBINS_JUDGEMENTS = tuple(j.value for j in robins_i.RobinsJudgement)
TOOLS = ("rob2", "robins_i", "nos")


@dataclass(frozen=True)
class DomainJudgement:
    domain: str
    title: str
    judgement: str | None  # None while a question on the algorithm's path is unanswered
    explanation: str


@dataclass(frozen=True)
class Preview:
    """What the algorithm says of the answers so far: per domain, and overall when complete."""

    tool: str
    domains: list[DomainJudgement]
    overall: str | None
    reason: str
    result: dict[str, Any] | None  # the result to store, once every part is judged


def _rob2(fields: dict[str, str], study_id: str) -> tuple[dict[str, str], Preview]:
    answers: dict[str, Answer] = {}
    for qid, _, _ in ROB2_QUESTIONS:
        value = fields.get(f"q{qid}", "")
        if value:
            if value not in ANSWERS:
                raise AppraisalError(f"RoB 2 question {qid}: {value!r} is not one of {ANSWERS}")
            answers[qid] = Answer(value)
    domains: list[DomainJudgement] = []
    for domain_fn in rob2.DOMAINS:
        try:
            found = domain_fn(answers)
        except AppraisalError as missing:
            key = f"D{len(domains) + 1}"
            domains.append(DomainJudgement(key, ROB2_DOMAINS[key], None, str(missing)))
            continue
        domains.append(
            DomainJudgement(
                found.domain, ROB2_DOMAINS[found.domain], found.judgement.value, found.path
            )
        )
    inputs = {k: v.value for k, v in answers.items()}
    if any(d.judgement is None for d in domains):
        return inputs, Preview(
            "rob2", domains, None, "answer the questions each domain needs", None
        )
    result = rob2.assess(answers)
    return inputs, Preview(
        "rob2", domains, result.overall.value, result.reason, rob2_stored(study_id, result)
    )


def rob2_stored(study_id: str, result: rob2.Rob2Result) -> dict[str, Any]:
    """The stored RoB 2 result: overall, reason and each domain's judgement and path."""
    return {
        "study_id": study_id,
        "overall": result.overall.value,
        "reason": result.reason,
        "domains": [
            {"domain": d.domain, "judgement": d.judgement.value, "path": d.path}
            for d in result.domains
        ],
    }


def _robins(fields: dict[str, str], study_id: str) -> tuple[dict[str, str], Preview]:
    chosen = {}
    domains = []
    for domain in robins_i.DOMAINS:
        value = fields.get(f"d_{domain}", "")
        if value and value not in ROBINS_JUDGEMENTS:
            raise AppraisalError(f"ROBINS-I {domain}: {value!r} is not one of {ROBINS_JUDGEMENTS}")
        if value:
            chosen[domain] = robins_i.RobinsJudgement(value)
        title = domain.replace("_", " ")
        domains.append(DomainJudgement(domain, title, value or None, "" if value else "not judged"))
    inputs = {k: v.value for k, v in chosen.items()}
    if len(chosen) < len(robins_i.DOMAINS):
        return inputs, Preview("robins_i", domains, None, "judge every domain", None)
    result = robins_i.overall(chosen)
    out = {"study_id": study_id, "overall": result.overall.value, "reason": result.reason}
    return inputs, Preview("robins_i", domains, result.overall.value, result.reason, out)


def _nos(fields: dict[str, str], study_id: str) -> tuple[dict[str, int], Preview]:
    stars: dict[str, int] = {}
    for item in (*nos.SELECTION_ITEMS, "comparability", *nos.OUTCOME_ITEMS):
        value = fields.get(f"s_{item}", "")
        if value:
            if not value.isdigit():
                raise AppraisalError(f"NOS {item}: {value!r} is not a number of stars")
            stars[item] = int(value)
    domains = [
        DomainJudgement(item, item.replace("_", " "),
                        None if item not in stars else "★" * stars[item] or "no star", "")
        for item in (*nos.SELECTION_ITEMS, "comparability", *nos.OUTCOME_ITEMS)
    ]  # fmt: skip
    if len(stars) < len(domains):
        return stars, Preview("nos", domains, None, "give the stars of every item", None)
    result = nos.assess_cohort(stars)
    return stars, Preview("nos", domains, result.ahrq, result.reason, nos_stored(study_id, result))


def nos_stored(study_id: str, result: nos.NosResult) -> dict[str, Any]:
    """The stored Newcastle-Ottawa result: stars per part, total and the AHRQ standard."""
    return {"study_id": study_id, "selection": result.selection,
            "comparability": result.comparability, "outcome": result.outcome,
            "total": result.total, "ahrq": result.ahrq, "reason": result.reason}  # fmt: skip


def preview(tool: str, fields: dict[str, str], study_id: str) -> tuple[dict[str, Any], Preview]:
    """The tool's inputs read from the form, and what the algorithm judges of them so far."""
    if tool == "rob2":
        return _rob2(fields, study_id)
    if tool == "robins_i":
        return _robins(fields, study_id)
    if tool == "nos":
        return _nos(fields, study_id)
    raise AppraisalError(f"tool: {tool!r} is not one of {TOOLS}")


def stored_fields(tool: str, inputs: dict[str, Any]) -> dict[str, str]:
    """The form fields of stored inputs (to show and edit a stored appraisal)."""
    prefix = {"rob2": "q", "robins_i": "d_", "nos": "s_"}[tool]
    return {f"{prefix}{k}": str(v) for k, v in inputs.items()}


def save_appraisal(
    store: Any, review: str, study_id: str, tool: str, fields: dict[str, str], *, actor: str
) -> dict[str, Any]:
    """Judge and store one study's appraisal; refused (nothing stored) until complete."""
    from myoivig.review import repository as repo

    inputs, judged = preview(tool, fields, study_id)
    if judged.result is None:
        missing = [d.title for d in judged.domains if d.judgement is None]
        raise AppraisalError(f"study {study_id}: {judged.reason} (still open: {missing})")
    with store.unit_of_work(actor=actor) as session:
        repo.require_review(session, review)
        repo.save_appraisal(session, study_id, tool, inputs, judged.result, review)
    return judged.result


def stored_appraisal(store: Any, review: str, study_id: str, tool: str) -> dict[str, Any] | None:
    from myoivig.review import repository as repo

    with store.session() as session:
        repo.require_review(session, review)
        rows = repo.load_appraisals(session, review)
    return next((r for r in rows if r["study_id"] == study_id and r["tool"] == tool), None)


# -- GRADE --------------------------------------------------------------------------------------


def grade_input(item: dict[str, Any]) -> grade.GradeInput:
    """A GradeInput from the stored/YAML shape {outcome, randomised, down: {d: {levels,
    reason}}, up: {...}} that the CLI reads and the page writes."""
    try:
        down = {k: (int(v["levels"]), str(v.get("reason", "")))
                for k, v in (item.get("down") or {}).items()}  # fmt: skip
        up = {k: (int(v["levels"]), str(v.get("reason", "")))
              for k, v in (item.get("up") or {}).items()}  # fmt: skip
        return grade.GradeInput(str(item["outcome"]), bool(item["randomised"]), down, up)
    except (KeyError, TypeError, ValueError) as error:
        raise AppraisalError(f"GRADE {item.get('outcome', '?')}: {error}") from None


def grade_result(item: dict[str, Any]) -> dict[str, Any]:
    """The stored GRADE result for one outcome: start, certainty and every step with its reason."""
    r = grade.rate(grade_input(item))
    return {
        "outcome": r.outcome,
        "start": r.start.name.lower(),
        "certainty": r.certainty.name.lower(),
        "symbol": r.certainty.symbol,
        "steps": [{"domain": s.domain, "change": s.change, "reason": s.reason} for s in r.steps],
        "notes": r.notes,
    }


def grade_from_form(fields: dict[str, str]) -> dict[str, Any]:
    """The GRADE input of the web form: outcome, randomised, levels and reasons per domain."""
    outcome = fields.get("outcome", "").strip()
    if not outcome:
        raise AppraisalError("outcome: name the outcome this rating is for")

    def levels(name: str) -> int:
        text = fields.get(f"{name}_levels", "0") or "0"
        if not text.isdigit():
            raise AppraisalError(f"GRADE {outcome}: {name} levels {text!r} is not a number")
        return int(text)

    def part(domains: Any) -> dict[str, dict[str, Any]]:
        return {
            d: {"levels": levels(d), "reason": fields.get(f"{d}_reason", "").strip()}
            for d in domains
            if levels(d)
        }

    return {
        "outcome": outcome,
        "randomised": fields.get("randomised") == "yes",
        "down": part(grade.DOWN_DOMAINS),
        "up": part(grade.UP_DOMAINS),
    }


def save_grade(store: Any, review: str, fields: dict[str, str], *, actor: str) -> dict[str, Any]:
    """Rate one outcome and store it (as `myoivig review appraise grade` does)."""
    from myoivig.review import repository as repo

    item = grade_from_form(fields)
    result = grade_result(item)
    with store.unit_of_work(actor=actor) as session:
        repo.require_review(session, review)
        repo.save_appraisal(session, f"outcome:{result['outcome']}", "grade", item, result, review)
    return result


def grade_ratings(store: Any, review: str) -> list[dict[str, Any]]:
    """Every stored GRADE rating of the review (one per outcome)."""
    from myoivig.review import repository as repo

    with store.session() as session:
        repo.require_review(session, review)
        rows = repo.load_appraisals(session, review)
    return [r for r in rows if r["tool"] == "grade"]
