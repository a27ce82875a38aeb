"""`myoivig review screen ...`: simulation and the screening workflow.

Mounted by the review CLI as ``review screen``. By default the workflow works on a stored review
(``--review NAME``, default ``default``, the name the other review commands use): its records,
protocol (screeners, arbiters, exclusion reasons) and event log are read from the database, and
each decision is written through the audited store with the reviewer as the actor. With
``--events FILE`` (plus ``--records`` and ``--protocol``) it works offline on a CSV/JSON events
file instead, for simulation and exercises.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from myoivig.command_store import open_store
from myoivig.exit_codes import ExitCode
from myoivig.review.names import DEFAULT_REVIEW, ReviewStateError
from myoivig.review.protocol import ProtocolError
from myoivig.review.screening.agreement import pair_agreements
from myoivig.review.screening.eventfile import read_events, read_protocol, write_events
from myoivig.review.screening.events import (
    EventKind,
    ScreeningError,
    ScreeningEvent,
    Stage,
    Verdict,
    parse_stage,
)
from myoivig.review.screening.ranking import Classifier, ModelSettings, relevance_scores
from myoivig.review.screening.stopping_defaults import DEFAULT_CONFIDENCE, DEFAULT_RECALL_TARGET
from myoivig.review.screening.workflow import ScreeningLog
from myoivig.store import StoreError

if TYPE_CHECKING:  # heavy modules load inside the commands that use them
    from myoivig.review.screening.dataset import RecordTexts

app = typer.Typer(
    name="screen",
    help="Screening: blinded dual review, kappa, active-learning ranking, stopping, simulation.",
    no_args_is_help=True,
)
console = Console()

RecordsOpt = Annotated[
    Path | None, typer.Option("--records", help="File mode: records CSV (id, title, abstract).")
]
ProtocolOpt = Annotated[
    Path | None, typer.Option("--protocol", help="File mode: screening protocol JSON.")
]
EventsOpt = Annotated[
    Path | None,
    typer.Option("--events", help="File mode: events file (.csv or .json) instead of a review."),
]
ReviewOpt = Annotated[
    str | None,
    typer.Option("--review", help="Stored review to screen (default: 'default'; database mode)."),
]
StageOpt = Annotated[str, typer.Option("--stage", help="title_abstract (ta) or full_text (ft).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON with stable keys.")]
RecallOpt = Annotated[float, typer.Option("--recall-target", help="Recall the rule must assure.")]
ConfidenceOpt = Annotated[float, typer.Option("--confidence", help="Confidence of that assurance.")]
ClassifierOpt = Annotated[Classifier, typer.Option("--classifier", help="Linear model to rank.")]


KNOWN_ERRORS = (ScreeningError, ProtocolError, ReviewStateError, StoreError, ValueError)


def _fail(exc: Exception) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(ExitCode.USAGE)


def _emit(payload: Any) -> None:
    typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))


@dataclass(frozen=True)
class Where:
    """Where the screening state lives: a stored review (database) or an events file."""

    review: str | None
    records: Path | None = None
    protocol: Path | None = None
    events: Path | None = None

    @classmethod
    def choose(
        cls, review: str | None, records: Path | None, protocol: Path | None, events: Path | None
    ) -> Where:
        """Database mode unless --events is given; the modes cannot be mixed."""
        if events is None:
            if records is not None or protocol is not None:
                raise ScreeningError(
                    "--records/--protocol belong to file mode: give --events too, or use "
                    "--review NAME for a stored review"
                )
            return cls(review=review or DEFAULT_REVIEW)
        if review is not None:
            raise ScreeningError("give either --review (database) or --events (file), not both")
        if records is None or protocol is None:
            raise ScreeningError("file mode (--events) also needs --records and --protocol")
        return cls(review=None, records=records, protocol=protocol, events=events)


def _load_log(where: Where) -> ScreeningLog:
    from myoivig.review import repository as repo
    from myoivig.review.screening.dataset import load_records_csv

    if where.review is not None:
        with open_store(migrate=True).session() as session:
            return repo.load_screening(session, where.review).log
    assert where.records and where.protocol and where.events  # guaranteed by Where.choose
    texts = load_records_csv(where.records)
    return ScreeningLog(read_protocol(where.protocol), texts.record_ids, read_events(where.events))


def _record(where: Where, event: ScreeningEvent) -> None:
    """Validate and append one event; a refused event writes nothing."""
    from myoivig.review import repository as repo

    if where.review is not None:
        with open_store(migrate=True).unit_of_work(actor=event.reviewer) as session:
            repo.record_screening(session, event, where.review)
        return
    assert where.events is not None
    write_events(where.events, _load_log(where).with_event(event).events)


def _texts(where: Where, log: ScreeningLog) -> RecordTexts:
    """Text the ranking model reads (title + abstract) for each screenable record."""
    from myoivig.review import repository as repo
    from myoivig.review.screening.dataset import RecordTexts, load_records_csv

    if where.review is None:
        assert where.records is not None
        return load_records_csv(where.records)
    with open_store(migrate=True).session() as session:
        by_id = {r.record_id: r for r in repo.merged_view(session, where.review).records}
    texts = tuple(by_id[rid].screening_text for rid in log.record_ids)
    return RecordTexts(log.record_ids, texts)


def _event_json(event: ScreeningEvent) -> dict[str, Any]:
    return {
        "at": event.at.isoformat(),
        "kind": event.kind.value,
        "stage": event.stage.value,
        "record_id": event.record_id,
        "reviewer": event.reviewer,
        "verdict": event.verdict.value,
        "reason": event.reason,
        "note": event.note,
    }


@app.command("simulate")
def simulate_command(
    data: Annotated[Path, typer.Option("--data", help="Labelled CSV (title, abstract, label).")],
    label_column: Annotated[str, typer.Option("--label-column")] = "label_included",
    seed: Annotated[int, typer.Option("--seed", help="Seed for the prior records.")] = 0,
    n_prior_included: Annotated[int, typer.Option("--n-prior-included")] = 1,
    n_prior_excluded: Annotated[int, typer.Option("--n-prior-excluded")] = 1,
    classifier: ClassifierOpt = Classifier.SVM,
    recall_target: RecallOpt = DEFAULT_RECALL_TARGET,
    confidence: ConfidenceOpt = DEFAULT_CONFIDENCE,
    as_json: JsonOpt = False,
) -> None:
    """Replay a labelled dataset: recall curve, WSS@95/@100, last relevant, stopping point."""
    from myoivig.review.screening.dataset import load_labelled_csv
    from myoivig.review.screening.features import build_features
    from myoivig.review.screening.simulation import SimulationSettings, choose_priors, simulate

    try:
        dataset = load_labelled_csv(data, label_column)
        features = build_features(dataset.texts)
        priors = choose_priors(dataset.labels, n_prior_included, n_prior_excluded, seed)
        settings = SimulationSettings(
            model=ModelSettings(classifier=classifier, seed=seed),
            recall_target=recall_target,
            confidence=confidence,
        )
        result = simulate(features, dataset.labels, priors, settings)
    except KNOWN_ERRORS as exc:
        raise _fail(exc) from None
    summary = result.summary()
    summary["dataset"] = dataset.name
    summary["prior_record_ids"] = [dataset.record_ids[i] for i in result.priors]
    summary["classifier"] = classifier.value
    summary["seed"] = seed
    if as_json:
        _emit(summary)
        return
    table = Table(title=f"Simulation of {dataset.name}")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in summary.items():
        if key not in ("recall_curve", "prior_rows"):
            shown = f"{value:.3f}" if isinstance(value, float) else str(value)
            table.add_row(key, shown)
    console.print(table)


def _record_event(
    kind: EventKind,
    where: tuple[str | None, Path | None, Path | None, Path | None],
    reviewer: str,
    record_id: str,
    stage: str,
    verdict: Verdict,
    reason: str | None,
    note: str | None,
    at: str | None,
    as_json: bool,
) -> None:
    try:
        place = Where.choose(*where)
        when = datetime.fromisoformat(at) if at else datetime.now(UTC)
        event = ScreeningEvent(
            kind=kind,
            stage=parse_stage(stage),
            record_id=record_id,
            reviewer=reviewer,
            verdict=verdict,
            at=when,
            reason=reason or None,
            note=note or None,
        )
        _record(place, event)
    except KNOWN_ERRORS as exc:
        raise _fail(exc) from None
    if as_json:
        _emit(_event_json(event))
    else:
        console.print(f"recorded {kind.value}: {reviewer} {verdict.value} {record_id} ({stage})")


@app.command("decide")
def decide_command(
    reviewer: Annotated[str, typer.Option("--reviewer")],
    record_id: Annotated[str, typer.Option("--record")],
    stage: StageOpt,
    verdict: Annotated[Verdict, typer.Option("--verdict")],
    reason: Annotated[str | None, typer.Option("--reason")] = None,
    note: Annotated[str | None, typer.Option("--note")] = None,
    at: Annotated[str | None, typer.Option("--at", help="ISO time (default: now, UTC).")] = None,
    review: ReviewOpt = None,
    records: RecordsOpt = None,
    protocol: ProtocolOpt = None,
    events: EventsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record one reviewer's independent decision (an exclusion needs --reason).

    In database mode the write is audited with the reviewer as the actor.
    """
    _record_event(
        EventKind.DECISION,
        (review, records, protocol, events),
        reviewer,
        record_id,
        stage,
        verdict,
        reason,
        note,
        at,
        as_json,
    )


@app.command("resolve")
def resolve_command(
    reviewer: Annotated[str, typer.Option("--reviewer", help="The resolving third reviewer.")],
    record_id: Annotated[str, typer.Option("--record")],
    stage: StageOpt,
    verdict: Annotated[Verdict, typer.Option("--verdict")],
    reason: Annotated[str | None, typer.Option("--reason")] = None,
    note: Annotated[str | None, typer.Option("--note")] = None,
    at: Annotated[str | None, typer.Option("--at")] = None,
    review: ReviewOpt = None,
    records: RecordsOpt = None,
    protocol: ProtocolOpt = None,
    events: EventsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Resolve a conflict as a third reviewer."""
    _record_event(
        EventKind.RESOLUTION,
        (review, records, protocol, events),
        reviewer,
        record_id,
        stage,
        verdict,
        reason,
        note,
        at,
        as_json,
    )


@app.command("conflicts")
def conflicts_command(
    stage: StageOpt = "title_abstract",
    review: ReviewOpt = None,
    records: RecordsOpt = None,
    protocol: ProtocolOpt = None,
    events: EventsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List open conflicts at a stage with the decisions behind them (for resolvers)."""
    try:
        log = _load_log(Where.choose(review, records, protocol, events))
        found = log.conflicts(parse_stage(stage))
    except KNOWN_ERRORS as exc:
        raise _fail(exc) from None
    payload = [
        {
            "record_id": c.record_id,
            "stage": c.stage.value,
            "decisions": [_event_json(e) for e in c.decisions],
        }
        for c in found
    ]
    if as_json:
        _emit(payload)
        return
    table = Table(title=f"Open conflicts ({len(found)})")
    table.add_column("record")
    table.add_column("decisions")
    for c in found:
        text = "; ".join(
            f"{e.reviewer}: {e.verdict.value}" + (f" ({e.reason})" if e.reason else "")
            for e in c.decisions
        )
        table.add_row(c.record_id, text)
    console.print(table)


@app.command("kappa")
def kappa_command(
    stage: StageOpt = "title_abstract",
    review: ReviewOpt = None,
    records: RecordsOpt = None,
    protocol: ProtocolOpt = None,
    events: EventsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Cohen's kappa and agreement counts for every reviewer pair at a stage."""
    try:
        log = _load_log(Where.choose(review, records, protocol, events))
        pairs = pair_agreements(log, parse_stage(stage))
    except KNOWN_ERRORS as exc:
        raise _fail(exc) from None
    payload = [
        {
            "stage": p.stage.value,
            "reviewer_a": p.reviewer_a,
            "reviewer_b": p.reviewer_b,
            "n_records": p.n_records,
            "n_agree": p.n_agree,
            "percent_agreement": p.percent_agreement,
            "kappa": p.kappa,
            "table": p.table,
        }
        for p in pairs
    ]
    if as_json:
        _emit(payload)
        return
    table = Table(title="Agreement")
    for column in ("pair", "records", "agree", "kappa"):
        table.add_column(column)
    for p in pairs:
        kappa = "undefined" if p.kappa is None else f"{p.kappa:.3f}"
        table.add_row(f"{p.reviewer_a} / {p.reviewer_b}", str(p.n_records), str(p.n_agree), kappa)
    console.print(table)


@app.command("rank")
def rank_command(
    reviewer: Annotated[str, typer.Option("--reviewer")],
    stage: StageOpt = "title_abstract",
    limit: Annotated[int, typer.Option("--limit", help="Show the first N (0 = all).")] = 20,
    classifier: ClassifierOpt = Classifier.SVM,
    features_cache: Annotated[
        Path | None,
        typer.Option("--features-cache", help="Reuse the feature matrix from this .npz file."),
    ] = None,
    review: ReviewOpt = None,
    records: RecordsOpt = None,
    protocol: ProtocolOpt = None,
    events: EventsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The reviewer's queue, ranked by a model trained on blinding-safe labels only."""
    import numpy as np

    from myoivig.review.screening.featurecache import cached_features

    try:
        place = Where.choose(review, records, protocol, events)
        log = _load_log(place)
        texts = _texts(place, log)
        stage_value: Stage = parse_stage(stage)
        features = cached_features(texts.texts, features_cache)
        row_of = {rid: i for i, rid in enumerate(texts.record_ids)}
        labels = log.training_labels(stage_value, reviewer)
        labelled = np.asarray([row_of[r] for r in labels], dtype=np.int64)
        values = np.asarray(list(labels.values()), dtype=np.int64)
        scores = relevance_scores(features, labelled, values, ModelSettings(classifier=classifier))
        queue = log.queue(reviewer, stage_value)
    except KNOWN_ERRORS as exc:
        raise _fail(exc) from None
    queue.sort(key=lambda rid: (-scores[row_of[rid]], row_of[rid]))
    shown = queue if limit <= 0 else queue[:limit]
    ranking = [
        {"rank": i + 1, "record_id": rid, "score": float(scores[row_of[rid]])}
        for i, rid in enumerate(shown)
    ]
    payload = {
        "reviewer": reviewer,
        "stage": stage_value.value,
        "n_training_labels": len(labels),
        "n_queue": len(queue),
        "ranking": ranking,
    }
    if as_json:
        _emit(payload)
        return
    table = Table(title=f"Queue of {reviewer} ({len(queue)} records)")
    table.add_column("rank", justify="right")
    table.add_column("record")
    table.add_column("score", justify="right")
    for item in ranking:
        table.add_row(str(item["rank"]), str(item["record_id"]), f"{item['score']:.3f}")
    console.print(table)


@app.command("stop")
def stop_command(
    stage: StageOpt = "title_abstract",
    recall_target: RecallOpt = DEFAULT_RECALL_TARGET,
    confidence: ConfidenceOpt = DEFAULT_CONFIDENCE,
    review: ReviewOpt = None,
    records: RecordsOpt = None,
    protocol: ProtocolOpt = None,
    events: EventsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """May the team stop? Hypergeometric test (Callaghan & Müller-Hansen 2020) on final labels,
    at pre-declared checkpoints with a Bonferroni correction over every test the screen makes.

    Valid only if records were screened in ranked order: the test treats the most recently
    finalised records as a sample of what was left.
    """
    try:
        log = _load_log(Where.choose(review, records, protocol, events))
        stage_value = parse_stage(stage)
        sequence = [label for _, label in log.screening_sequence(stage_value)]
        from myoivig.review.screening.stopping import stopping_test

        result = stopping_test(sequence, len(log.eligible(stage_value)), recall_target, confidence)
    except KNOWN_ERRORS as exc:
        raise _fail(exc) from None
    payload = asdict(result) | {"stage": stage_value.value, "can_stop": result.can_stop}
    if as_json:
        _emit(payload)
        return
    verdict = "may stop" if result.can_stop else "keep screening"
    console.print(
        f"{verdict}: p = {result.p_value:.4f} for H0 'recall < {recall_target:.0%}' "
        f"(confidence {confidence:.0%}; Bonferroni over {result.tests_declared} tests, last "
        f"checkpoint at {result.records_tested} records); {result.relevant_found} relevant in "
        f"{result.n_screened}/{result.n_total} screened"
    )


@app.command("summary")
def summary_command(
    review: ReviewOpt = None,
    records: RecordsOpt = None,
    protocol: ProtocolOpt = None,
    events: EventsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Derived counts per stage (eligible, pending, conflicts, included, excluded by reason)."""
    try:
        log = _load_log(Where.choose(review, records, protocol, events))
    except KNOWN_ERRORS as exc:
        raise _fail(exc) from None
    payload: list[dict[str, Any]] = [asdict(log.summary(stage)) for stage in Stage]
    for item in payload:
        item["stage"] = item["stage"].value
    if as_json:
        _emit(payload)
        return
    table = Table(title="Screening summary")
    for column in ("stage", "eligible", "pending", "conflicts", "included", "excluded"):
        table.add_column(column)
    for item in payload:
        table.add_row(
            item["stage"],
            *(
                str(item[k])
                for k in ("eligible", "pending", "conflicts_open", "included", "excluded")
            ),
        )
    console.print(table)


@app.command("view")
def view_command(
    reviewer: Annotated[str, typer.Option("--reviewer")],
    record_id: Annotated[str, typer.Option("--record")],
    stage: StageOpt = "title_abstract",
    review: ReviewOpt = None,
    records: RecordsOpt = None,
    protocol: ProtocolOpt = None,
    events: EventsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One record as a reviewer may see it: others' decisions stay hidden until both decided."""
    try:
        log = _load_log(Where.choose(review, records, protocol, events))
        view = log.view(reviewer, parse_stage(stage), record_id)
    except KNOWN_ERRORS as exc:
        raise _fail(exc) from None
    payload = {
        "record_id": view.record_id,
        "stage": view.stage.value,
        "reviewer": view.reviewer,
        "own": None if view.own is None else _event_json(view.own),
        "others_visible": view.others is not None,
        "others": None if view.others is None else [_event_json(e) for e in view.others],
        "status": None if view.status is None else view.status.value,
    }
    if as_json:
        _emit(payload)
        return
    own = "not yet decided" if view.own is None else view.own.verdict.value
    console.print(f"{record_id} ({view.stage.value}) for {reviewer}: own decision {own}")
    if view.others is None:
        console.print("other reviewers' decisions: hidden until every reviewer has decided")
    else:
        for event in view.others:
            console.print(f"  {event.reviewer}: {event.verdict.value} {event.reason or ''}")
        console.print(f"status: {view.status.value if view.status else '-'}")
