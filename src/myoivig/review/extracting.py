"""Dual data extraction as the review pages run it: each extractor fills a form per study blind
to the other, then a reconciler chooses per disagreeing field and the agreed form is stored.

The rules are `review.extraction`'s (validation, `disagreements`, `reconcile`); this module reads
the web form into an `Extraction`, keeps extractors blind and stores in audited units of work.
The CLI's `review extract add|diff|reconcile` store through the same repository functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from myoivig.review import repository as repo
from myoivig.review.extraction import (
    Disagreement,
    Extraction,
    ExtractionError,
    StudyDesign,
    disagreements,
    extraction_from_mapping,
    reconcile,
)
from myoivig.review.names import ReviewStateError
from myoivig.store import Store

AGREED = "agreed"
DIAGNOSES = ("pm", "dm", "overlap", "ibm", "amyopathic_dm", "juvenile_dm", "other")
RESPONSE_ROWS = 4  # rows of the response table on the form (IVIg and control arms)
DESIGNS = tuple(d.value for d in StudyDesign)


def _number(fields: dict[str, str], name: str, kind: type[int] | type[float]) -> Any:
    text = fields.get(name, "").strip()
    if not text:
        return None
    try:
        return kind(text)
    except ValueError:
        word = "a whole number" if kind is int else "a number"
        raise ExtractionError(f"{name}: {text!r} is not {word}") from None


def _text(fields: dict[str, str], name: str) -> str | None:
    return fields.get(name, "").strip() or None


def _yes_no(fields: dict[str, str], name: str) -> bool | None:
    return {"yes": True, "no": False}.get(fields.get(name, ""))


def extraction_from_form(fields: dict[str, str], study_id: str, extractor: str) -> Extraction:
    """An `Extraction` from the flat web form; errors name the study and the field."""
    try:
        diagnoses = [
            {"diagnosis": d, "n": n}
            for d in DIAGNOSES
            if (n := _number(fields, f"diag_{d}", int)) is not None
        ]
        responses = []
        for i in range(RESPONSE_ROWS):
            measure = _text(fields, f"r{i}_measure")
            responders = _number(fields, f"r{i}_responders", int)
            evaluated = _number(fields, f"r{i}_evaluated", int)
            if measure is None and responders is None and evaluated is None:
                continue
            responses.append(
                {
                    "measure": measure,
                    "arm": fields.get(f"r{i}_arm", "ivig"),
                    "responders": responders,
                    "evaluated": evaluated,
                    "primary": fields.get(f"r{i}_primary") == "1",
                }
            )
        ck_values = {
            "before_u_per_l": _number(fields, "ck_before", float),
            "after_u_per_l": _number(fields, "ck_after", float),
            "n": _number(fields, "ck_n", int),
        }
        data: dict[str, Any] = {
            "study_id": study_id,
            "extractor": extractor,
            "first_author": _text(fields, "first_author"),
            "year": _number(fields, "year", int),
            "design": _text(fields, "design"),
            "n_ivig": _number(fields, "n_ivig", int),
            "n_randomised": _number(fields, "n_randomised", int),
            "diagnoses": diagnoses,
            "regimen": {
                "dose_g_per_kg_per_course": _number(fields, "dose_g_per_kg", float),
                "days_per_course": _number(fields, "days_per_course", int),
                "interval_weeks": _number(fields, "interval_weeks", float),
                "courses_min": _number(fields, "courses_min", int),
                "courses_max": _number(fields, "courses_max", int),
                "product": _text(fields, "product"),
                "text": _text(fields, "regimen_text"),
            },
            "concurrent_therapy": [
                line.strip()
                for line in fields.get("concurrent_therapy", "").splitlines()
                if line.strip()
            ],
            "responses": responses,
            "ck": (
                ck_values | {"statistic": fields.get("ck_statistic") or "mean"}
                if any(v is not None for v in ck_values.values())
                else None
            ),
            "adverse_events": {
                "patients_any": _number(fields, "ae_any", int),
                "serious": _number(fields, "ae_serious", int),
                "thromboembolic": _number(fields, "ae_thromboembolic", int),
                "text": _text(fields, "ae_text"),
            },
            "steroid_sparing": _yes_no(fields, "steroid_sparing"),
            "steroid_sparing_text": _text(fields, "steroid_sparing_text"),
            "note": _text(fields, "note"),
        }
    except ExtractionError as error:
        raise ExtractionError(f"study {study_id}: {error}") from None
    return extraction_from_mapping(data)


def form_fields(form: Extraction | None) -> dict[str, str]:
    """The flat web form of a stored extraction (empty strings where nothing is recorded)."""
    if form is None:
        return {}

    def shown(value: object) -> str:
        return "" if value is None else str(value)

    fields = {
        "first_author": shown(form.first_author),
        "year": shown(form.year),
        "design": form.design.value if form.design else "",
        "n_ivig": shown(form.n_ivig),
        "n_randomised": shown(form.n_randomised),
        "dose_g_per_kg": shown(form.regimen.dose_g_per_kg_per_course),
        "days_per_course": shown(form.regimen.days_per_course),
        "interval_weeks": shown(form.regimen.interval_weeks),
        "courses_min": shown(form.regimen.courses_min),
        "courses_max": shown(form.regimen.courses_max),
        "product": shown(form.regimen.product),
        "regimen_text": shown(form.regimen.text),
        "concurrent_therapy": "\n".join(form.concurrent_therapy),
        "ae_any": shown(form.adverse_events.patients_any),
        "ae_serious": shown(form.adverse_events.serious),
        "ae_thromboembolic": shown(form.adverse_events.thromboembolic),
        "ae_text": shown(form.adverse_events.text),
        "steroid_sparing": {True: "yes", False: "no", None: ""}[form.steroid_sparing],
        "steroid_sparing_text": shown(form.steroid_sparing_text),
        "note": shown(form.note),
    }
    for d in form.diagnoses:
        fields[f"diag_{d.diagnosis}"] = str(d.n)
    for i, r in enumerate(form.responses[:RESPONSE_ROWS]):
        fields |= {
            f"r{i}_measure": r.measure,
            f"r{i}_arm": r.arm,
            f"r{i}_responders": str(r.responders),
            f"r{i}_evaluated": str(r.evaluated),
            f"r{i}_primary": "1" if r.primary else "",
        }
    if form.ck is not None:
        fields |= {
            "ck_before": shown(form.ck.before_u_per_l),
            "ck_after": shown(form.ck.after_u_per_l),
            "ck_statistic": form.ck.statistic,
            "ck_n": shown(form.ck.n),
        }
    return fields


@dataclass(frozen=True)
class StudyExtraction:
    """One study on the extraction page, as the signed-in reviewer may see it (blind)."""

    study_id: str
    report_ids: list[str]
    mine: bool
    other_extractors: int  # how many others filled a form (never whose values)
    agreed: bool

    @property
    def ready_to_reconcile(self) -> bool:
        return self.mine and self.other_extractors >= 1


def extraction_overview(store: Store, review: str, reviewer: str) -> list[StudyExtraction]:
    """Every study (assigned with `review study` or already extracted) and where it stands."""
    from myoivig.review.studies import links_from_assignments

    with store.session() as session:
        repo.require_review(session, review)
        links = {
            link.study_id: list(link.report_ids)
            for link in links_from_assignments(repo.load_events(session, review))
        }
        forms = repo.load_extractions(session, review)
    by_study: dict[str, set[str]] = {}
    for form in forms:
        by_study.setdefault(form.study_id, set()).add(form.extractor)
    out = []
    for study_id in sorted(set(links) | set(by_study)):
        extractors = by_study.get(study_id, set())
        out.append(
            StudyExtraction(
                study_id=study_id,
                report_ids=links.get(study_id, []),
                mine=reviewer in extractors,
                other_extractors=len(extractors - {reviewer, AGREED}),
                agreed=AGREED in extractors,
            )
        )
    return out


def own_form(store: Store, review: str, study_id: str, reviewer: str) -> Extraction | None:
    """The reviewer's own form of a study, never anyone else's."""
    with store.session() as session:
        repo.require_review(session, review)
        forms = repo.load_extractions(session, review, study_id)
    return next((f for f in forms if f.extractor == reviewer), None)


def save_own_form(
    store: Store, review: str, study_id: str, fields: dict[str, str], *, reviewer: str
) -> Extraction:
    """Validate and store the reviewer's form (replacing their earlier one) in one unit of work."""
    if reviewer == AGREED:
        raise ExtractionError(f"extractor name {AGREED!r} is kept for reconciled forms")
    form = extraction_from_form(fields, study_id, reviewer)
    with store.session() as session:
        repo.require_review(session, review)
    if not _is_extractor(store, review, reviewer):
        raise ExtractionError(
            f"study {study_id}: {reviewer!r} is not an extractor in the review's protocol"
        )
    with store.unit_of_work(actor=reviewer) as session:
        repo.require_review(session, review)
        repo.save_extraction(session, form, review)
    return form


def store_forms(store: Store, review: str, forms: list[Extraction], *, actor: str) -> None:
    """Store validated forms all or none (`myoivig review extract add`)."""
    with store.unit_of_work(actor=actor) as session:
        for form in forms:
            repo.save_extraction(session, form, review)


def two_forms(store: Store, review: str, study_id: str, a: str, b: str) -> tuple[Extraction, ...]:
    """Two named extractors' forms of a study; ExtractionError naming what is missing."""
    with store.session() as session:
        forms = {f.extractor: f for f in repo.load_extractions(session, review, study_id)}
    missing = [x for x in (a, b) if x not in forms]
    if missing:
        raise ExtractionError(f"study {study_id}: no form by {missing} (have {sorted(forms)})")
    return forms[a], forms[b]


def reconcile_named(
    store: Store,
    review: str,
    study_id: str,
    extractors: tuple[str, str],
    choices: dict[str, Literal["a", "b"]],
    *,
    agreed_as: str,
    actor: str,
) -> Extraction:
    """Reconcile two named extractors' forms with per-field choices and store the agreed form
    under `agreed_as` (`myoivig review extract reconcile`)."""
    a, b = two_forms(store, review, study_id, *extractors)
    agreed = reconcile(a, b, choices, agreed_as)
    with store.unit_of_work(actor=actor) as session:
        repo.save_extraction(session, agreed, review)
    return agreed


@dataclass(frozen=True)
class Reconciliation:
    study_id: str
    extractor_a: str
    extractor_b: str
    disagreements: list[Disagreement]
    top_fields: list[str]  # what a choice is made for (reconcile chooses per top-level field)
    agreed: Extraction | None


def _top(field: str) -> str:
    return field.split(".")[0].split("[")[0]


def reconciliation(store: Store, review: str, study_id: str, reviewer: str) -> Reconciliation:
    """The two extractors' disagreements, for a reviewer who has filled their own form (or
    takes no part in extracting this study): extractors stay blind until they have submitted."""
    with store.session() as session:
        repo.require_review(session, review)
        forms = repo.load_extractions(session, review, study_id)
    extractors = {f.extractor: f for f in forms if f.extractor != AGREED}
    if reviewer not in extractors and _is_extractor(store, review, reviewer):
        raise ReviewStateError(
            f"study {study_id}: fill in your own extraction form before seeing the others'"
        )
    names = sorted(extractors, key=lambda n: (n != reviewer, n))[:2]
    if len(names) < 2:
        raise ExtractionError(
            f"study {study_id}: reconciling needs two extractors' forms (have {sorted(extractors)})"
        )
    a, b = extractors[names[0]], extractors[names[1]]
    diffs = disagreements(a, b)
    agreed = next((f for f in forms if f.extractor == AGREED), None)
    return Reconciliation(
        study_id, a.extractor, b.extractor, diffs, sorted({_top(d.field) for d in diffs}), agreed
    )


def _is_extractor(store: Store, review: str, reviewer: str) -> bool:
    from myoivig.review.protocol import ReviewerRole

    with store.session() as session:
        protocol = repo.load_protocol(session, review)
    if protocol is None:
        return True  # no protocol: treat every reviewer as a possible extractor (stay blind)
    return any(r.reviewer_id == reviewer for r in protocol.reviewers_with(ReviewerRole.EXTRACTOR))


def store_reconciled(
    store: Store,
    review: str,
    study_id: str,
    choices: dict[str, str],
    *,
    reviewer: str,
) -> Extraction:
    """Store the agreed form; refused (nothing stored) while a disagreement has no choice."""
    found = reconciliation(store, review, study_id, reviewer)
    picked: dict[str, Literal["a", "b"]] = {}
    for field, side in choices.items():
        if side not in ("a", "b"):
            raise ExtractionError(f"study {study_id}: choice for {field}: {side!r} is not a or b")
        picked[field] = "a" if side == "a" else "b"
    with store.session() as session:
        forms = {f.extractor: f for f in repo.load_extractions(session, review, study_id)}
    agreed = reconcile(forms[found.extractor_a], forms[found.extractor_b], picked, AGREED)
    with store.unit_of_work(actor=reviewer) as session:
        repo.save_extraction(session, agreed, review)
    return agreed


def assign_study(
    store: Store,
    review: str,
    study_id: str,
    record_ids: list[str],
    *,
    actor: str,
    in_meta_analysis: bool = False,
    primary_report: str | None = None,
) -> None:
    """Group reports into one study (a later grouping moves a report); unknown record ids and a
    primary report that is not one of them are refused. `myoivig review study` calls this."""
    from myoivig.review.prisma.events import StudyAssigned

    study_id = study_id.strip()
    if not study_id or len(study_id) > 64:
        raise ExtractionError(f"study_id: {study_id!r} must be 1-64 characters")
    if not record_ids:
        raise ExtractionError(f"study {study_id}: name at least one report (record id)")
    if primary_report is not None and primary_report not in record_ids:
        raise ExtractionError(
            f"study {study_id}: primary report {primary_report!r} is not one of {record_ids}"
        )
    with store.unit_of_work(actor=actor) as session:
        repo.require_review(session, review)
        known = {r.record_id for r in repo.load_records(session, review)}
        unknown = [r for r in record_ids if r not in known]
        if unknown:
            raise ExtractionError(f"study {study_id}: unknown record ids {unknown}")
        event = StudyAssigned(
            study_id=study_id,
            record_ids=record_ids,
            in_meta_analysis=in_meta_analysis,
            primary_report=primary_report,
        )
        repo.append_event(session, event, review)
