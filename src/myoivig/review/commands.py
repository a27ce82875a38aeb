"""`myoivig review ...`: the systematic review workflow on the command line.

Every command that prints data has `--json` (stable snake_case keys). State lives in the store
named by MYOIVIG_DATABASE_URL (default ./myoivig.db); writes are audited under MYOIVIG_ACTOR.
Screening (`review screen`) is mounted separately from `myoivig.review.screening.commands`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import typer
import yaml
from rich.markup import escape
from rich.table import Table

from myoivig import terminal
from myoivig.atomic_files import OutputPathError, check_output, write_text
from myoivig.command_store import cli_actor, open_store
from myoivig.exit_codes import ExitCode
from myoivig.review import appraising
from myoivig.review.appraisal import AppraisalError, cebm, nos, rob2, robins_i
from myoivig.review.appraisal.answers import Answer
from myoivig.review.dedup import DedupSettings
from myoivig.review.dedup.merges import MergeError
from myoivig.review.evidence_table import poolable
from myoivig.review.example.output import write_example
from myoivig.review.extraction import (
    ExtractionError,
    disagreements,
    extraction_from_mapping,
)
from myoivig.review.importers import ImportFormatError
from myoivig.review.importers.text import DecodeError
from myoivig.review.names import (
    DEFAULT_REVIEW,
    ExportFormatError,
    ReviewNotFoundError,
    ReviewStateError,
    StrictImportRefused,
)
from myoivig.review.prisma import PrismaError
from myoivig.review.prisma.events import (
    FinalDecision,
    ReportNotRetrieved,
    SourceKind,
)
from myoivig.review.progress import import_progress
from myoivig.review.protocol import ProtocolError, load_protocol
from myoivig.review.pubmed import DEFAULT_BASE_URL, EutilsError
from myoivig.review.screening.commands import app as screening_app
from myoivig.review.screening.events import ScreeningError
from myoivig.store import StoreError

console = terminal.console()
errors = terminal.console(stderr=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
ReviewName = Annotated[str, typer.Option("--review", help="Name of the review in the database.")]
EXAMPLE_PROTOCOL = Path(__file__).parent / "example" / "protocol.yaml"
KNOWN_ERRORS = (
    ProtocolError,
    ImportFormatError,
    DecodeError,
    EutilsError,
    ExtractionError,
    AppraisalError,
    PrismaError,
    MergeError,
    ReviewStateError,
    ScreeningError,
    StrictImportRefused,
    ExportFormatError,
    StoreError,
    OutputPathError,
    yaml.YAMLError,
    OSError,
)

review_app = typer.Typer(
    name="review", help="Systematic review: protocol, import, search, dedup, extraction, "
    "appraisal, PRISMA.", no_args_is_help=True
)  # fmt: skip
protocol_app = typer.Typer(help="The review protocol (PICO, sources, criteria, reviewers).",
                           no_args_is_help=True)  # fmt: skip
search_app = typer.Typer(help="Search bibliographic databases.", no_args_is_help=True)
extract_app = typer.Typer(help="Extraction forms, dual extraction, reconciliation, study table.",
                          no_args_is_help=True)  # fmt: skip
appraise_app = typer.Typer(help="Appraisal: CEBM 2009, RoB 2, ROBINS-I, NOS, GRADE.",
                           no_args_is_help=True)  # fmt: skip

F = TypeVar("F", bound=Callable[..., Any])


def _json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


# Failures that mean "wrong command or missing thing" (exit 2) rather than "input refused" (1).
USAGE_ERRORS = (ReviewNotFoundError, StoreError, OutputPathError, OSError)


@contextmanager
def _errors() -> Iterator[None]:
    """Known failures become one clear line on stderr and the exit code of the table."""
    try:
        yield
    except KNOWN_ERRORS as error:
        errors.print(f"[red]error:[/red] {error}", soft_wrap=True)
        usage = isinstance(error, USAGE_ERRORS)
        raise typer.Exit(ExitCode.USAGE if usage else ExitCode.REJECTED_INPUT) from error


def _read_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8-sig"))


# -- protocol ------------------------------------------------------------------------------------


@protocol_app.command("init")
def protocol_init(
    path: Annotated[Path, typer.Argument(help="Where to write the template.")] = Path(
        "protocol.yaml"
    ),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a protocol template (the example review's, Wang 2012) to edit, then `protocol set`."""
    if path.exists() and not force:
        errors.print(f"[red]error:[/red] {path} exists (use --force to overwrite)")
        raise typer.Exit(ExitCode.USAGE)
    with _errors():
        write_text(path, EXAMPLE_PROTOCOL.read_text(encoding="utf-8"))
    console.print(f"wrote protocol template to {path}; edit it, then `myoivig review protocol set`")


@protocol_app.command("set")
def protocol_set(path: Path, review: ReviewName = DEFAULT_REVIEW) -> None:
    """Validate a protocol YAML file and store it for the review."""
    from myoivig.review import repository as repo

    with _errors():
        protocol = load_protocol(path)
        store = open_store(migrate=True)
        with store.unit_of_work(actor=cli_actor()) as s:
            repo.save_protocol(s, protocol, review)
    console.print(f"stored protocol {protocol.title!r} for review {review!r}")


@protocol_app.command("show")
def protocol_show(review: ReviewName = DEFAULT_REVIEW, as_json: JsonFlag = False) -> None:
    """Show the stored protocol."""
    from myoivig.review import repository as repo

    with _errors(), open_store().session() as s:
        protocol = repo.load_protocol(s, review)
    if protocol is None:
        errors.print(f"[red]error:[/red] review {review!r} has no protocol (use `protocol set`)")
        raise typer.Exit(ExitCode.USAGE)
    if as_json:
        _json(protocol.model_dump(mode="json"))
        return
    table = Table(title=protocol.title, show_header=False, title_justify="left")
    table.add_row("Population", protocol.question.population)
    table.add_row("Intervention", protocol.question.intervention)
    table.add_row("Comparator", protocol.question.comparator or "-")
    table.add_row("Outcomes", "; ".join(protocol.question.outcomes))
    table.add_row("Sources", ", ".join(s.name for s in protocol.sources))
    table.add_row("Dates", f"{protocol.date_from}-{protocol.date_to}")
    table.add_row("Languages", ", ".join(protocol.languages))
    table.add_row("Exclusion reasons", "; ".join(protocol.exclusion_reasons))
    table.add_row(
        "Reviewers", "; ".join(f"{r.name} ({', '.join(r.roles)})" for r in protocol.reviewers)
    )
    console.print(table)


# -- import and search ---------------------------------------------------------------------------


def import_(
    path: Annotated[Path, typer.Argument(help="Export file (RIS, MEDLINE, XML, CSV, CNKI...).")],
    source: Annotated[str, typer.Option("--source", help="Database name, e.g. MEDLINE, CNKI.")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="Format (detected when omitted).")
    ] = None,
    encoding: Annotated[str | None, typer.Option("--encoding", help="e.g. gb18030.")] = None,
    kind: Annotated[str, typer.Option("--kind", help="database | register | citation ...")] = (
        "database"
    ),
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="All or nothing: refuse the whole file if any record is malformed "
            "or the file breaks off.",
        ),
    ] = False,
    again: Annotated[
        bool,
        typer.Option(
            "--again", help="Import a file whose exact bytes are already in the review again."
        ),
    ] = False,
    review: ReviewName = DEFAULT_REVIEW,
    as_json: JsonFlag = False,
) -> None:
    """Import an export file; each complete record is kept, malformed ones are listed.

    The same file (same bytes) is imported into a review once; `--again` imports it anyway.
    """
    from myoivig.review import service

    if kind not in {"database", "register", "website", "organisation", "citation", "other"}:
        errors.print(f"[red]error:[/red] --kind {kind!r} is not a PRISMA source kind")
        raise typer.Exit(ExitCode.USAGE)
    with _errors():
        store = open_store(migrate=True)
        with import_progress(errors, enabled=errors.is_terminal and not as_json) as progress:
            done = service.import_records_file(
                store, path, source, actor=cli_actor(), fmt=fmt, encoding=encoding,
                kind=_source_kind(kind), review=review, again=again, strict=strict,
                progress=progress,
            )  # fmt: skip
    result = done.result
    summary = service.import_summary(path, source, result)
    summary["batch"] = done.batch
    summary["content_sha256"] = done.content_sha256
    if as_json:
        _json(summary)
        return
    for line in service.summary_lines(summary):
        console.print(line, soft_wrap=True)
    if done.earlier:
        console.print(
            f"[yellow]note:[/yellow] the same file was imported before as batch(es) "
            f"{', '.join(str(e.batch) for e in done.earlier)} (imported again with --again)"
        )
    if result.issues:
        table = Table(title=f"{len(result.issues)} malformed record(s), not imported",
                      title_justify="left")  # fmt: skip
        table.add_column("Position")
        table.add_column("Reason", overflow="fold")
        for issue in result.issues:
            table.add_row(str(issue.position), issue.reason)
        console.print(table)


def _source_kind(kind: str) -> SourceKind:
    allowed: dict[str, SourceKind] = {
        "database": "database",
        "register": "register",
        "website": "website",
        "organisation": "organisation",
        "citation": "citation",
        "other": "other",
    }
    return allowed[kind]


@search_app.command("pubmed")
def search_pubmed(
    query: Annotated[str, typer.Argument(help="PubMed query.")],
    year_from: Annotated[int, typer.Option("--from", help="First publication year.")],
    year_to: Annotated[int, typer.Option("--to", help="Last publication year.")],
    email: Annotated[str | None, typer.Option("--email", envvar="NCBI_EMAIL")] = None,
    api_key: Annotated[str | None, typer.Option("--api-key", envvar="NCBI_API_KEY")] = None,
    base_url: Annotated[
        str, typer.Option("--base-url", envvar="MYOIVIG_EUTILS_URL", help="E-utilities base.")
    ] = DEFAULT_BASE_URL,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, max=10000)] = 200,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count only; fetch nothing.")] = False,
    allow_gaps: Annotated[
        bool,
        typer.Option(
            "--allow-gaps",
            help="Store what was fetched even when it falls short of PubMed's count "
            "(the gaps are still reported).",
        ),
    ] = False,
    review: ReviewName = DEFAULT_REVIEW,
    as_json: JsonFlag = False,
) -> None:
    """Search PubMed (E-utilities, history server, rate-limited) and store the records.

    The date windows must add up to PubMed's total and the fetched records must equal it;
    otherwise nothing is stored (unless --allow-gaps) and every gap is reported.
    """
    from myoivig.review.search import PubMedSearch
    from myoivig.review.search import search_pubmed as run_search

    search = PubMedSearch(query, year_from, year_to, email=email, api_key=api_key,
                          base_url=base_url, batch_size=batch_size, dry_run=dry_run,
                          allow_gaps=allow_gaps)  # fmt: skip
    with _errors():
        store = None if dry_run else open_store(migrate=True)
        out = run_search(store, review, search, actor=cli_actor())
    if as_json:
        out.pop("batch")
        if dry_run:
            out.pop("malformed")
        _json(out)
    else:
        console.print(
            f"PubMed: {out['count']} records for {query!r} ({year_from}-{year_to}) in "
            f"{out['date_windows']} date window(s); stored {out['stored']}; "
            f"{out['requests']} requests"
        )
    for gap in out["gaps"]:
        errors.print(f"[yellow]gap:[/yellow] {gap}")


def records(
    source: Annotated[str | None, typer.Option("--source", help="Only this source.")] = None,
    include_merged: Annotated[
        bool, typer.Option("--all", help="Also records merged into another.")
    ] = False,
    review: ReviewName = DEFAULT_REVIEW,
    as_json: JsonFlag = False,
) -> None:
    """List the review's records (after merges unless --all), with ids for other commands."""
    from myoivig.review import repository as repo

    with _errors(), open_store().session() as s:
        repo.require_review(s, review)
        view = repo.merged_view(s, review)
        rows = repo.load_records(s, review) if include_merged else view.records
    rows = [r for r in rows if source is None or r.source == source]
    if as_json:
        _json(
            [
                {
                    "record_id": r.record_id,
                    "kept_as": view.canonical_of.get(r.record_id, r.record_id),
                    "source": r.source,
                    "year": r.year,
                    "first_author": r.authors[0] if r.authors else None,
                    "title": r.title,
                    "flags": r.flags,
                    "doi": r.doi,
                    "pmid": r.pmid,
                }
                for r in rows
            ]
        )
        return
    table = Table(title=f"{len(rows)} record(s)", title_justify="left")
    terminal.key_column(table, "Id", [r.record_id for r in rows])
    for col in ("Source", "Year", "First author", "Title"):
        table.add_column(col, overflow="fold")
    for r in rows:
        shown = r.title or f"[{', '.join(r.flags)}] {r.doi or r.pmid or ''}"
        table.add_row(r.record_id, r.source, str(r.year or ""),
                      r.authors[0] if r.authors else "", escape(shown))  # fmt: skip
    console.print(table)


def export(
    path: Annotated[Path, typer.Argument(help="File to write (must not exist yet).")],
    fmt: Annotated[
        str, typer.Option("--format", help="medline, pubmed_xml, endnote_xml, csv, ris, ...")
    ],
    source: Annotated[str | None, typer.Option("--source", help="Only this source.")] = None,
    include_merged: Annotated[
        bool, typer.Option("--all", help="Also records merged into another.")
    ] = False,
    review: ReviewName = DEFAULT_REVIEW,
) -> None:
    """Export the review's records (after merges unless --all) for a reference manager."""
    from myoivig.review import service

    with _errors():
        data, count = service.export_records(
            open_store(migrate=True), fmt, review=review, include_merged=include_merged,
            source=source,
        )  # fmt: skip
        with path.open("xb") as out:  # never overwrite a file by surprise
            out.write(data)
    console.print(f"wrote {count} records to {path} ({fmt})")


# -- dedup ---------------------------------------------------------------------------------------


def dedup(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report only; merge nothing.")] = False,
    auto_merge: Annotated[float, typer.Option("--auto-merge", min=0, max=1)] = 0.90,
    review_threshold: Annotated[float, typer.Option("--review-threshold", min=0, max=1)] = 0.60,
    review: ReviewName = DEFAULT_REVIEW,
    as_json: JsonFlag = False,
) -> None:
    """Find duplicates among not-yet-merged records; merge the confident ones, queue the rest."""
    from myoivig.review import duplicates

    with _errors():
        result = duplicates.find_and_merge(
            open_store(migrate=True), review, actor=cli_actor(), auto_merge=auto_merge,
            review_threshold=review_threshold, dry_run=dry_run,
        )  # fmt: skip
    out = {
        "records": result.records,
        "pairs_compared": result.pairs_compared,
        "skipped_blocks": result.skipped_blocks,
        "merged": result.merged,
        "clusters": result.clusters,
        "queue": [
            {"a": p.a, "b": p.b, "confidence": p.confidence, "rule": p.rule} for p in result.queue
        ],
    }
    if as_json:
        _json(out)
        return
    verb = "would merge" if dry_run else "merged"
    console.print(
        f"{result.records} records, {result.pairs_compared} pairs compared; {verb} "
        f"{len(result.clusters)} cluster(s); {len(result.queue)} pair(s) queued for a person"
    )
    if result.skipped_blocks:
        console.print(
            f"[yellow]note:[/yellow] {len(result.skipped_blocks)} blocking key(s) shared by more "
            f"than {DedupSettings().max_block} records were not compared (e.g. "
            + ", ".join(f"{k} ({n})" for k, n in list(result.skipped_blocks.items())[:3])
            + "); records matching only on those keys are not checked"
        )
    if result.queue:
        table = Table(title="Queued pairs (confirm with `review merge A B`)", title_justify="left")
        terminal.key_column(table, "A", [p.a for p in result.queue])
        terminal.key_column(table, "B", [p.b for p in result.queue])
        for col in ("Confidence", "Rule"):
            table.add_column(col, overflow="fold")
        for p in result.queue:
            table.add_row(p.a, p.b, f"{p.confidence:.2f}", p.rule)
        console.print(table)


def merge(
    record_ids: Annotated[list[str], typer.Argument(help="Records that are one publication.")],
    review: ReviewName = DEFAULT_REVIEW,
) -> None:
    """Merge records a person judged to be duplicates (reversible with `review unmerge`)."""
    from myoivig.review import duplicates

    if len(record_ids) < 2:
        errors.print("[red]error:[/red] give at least two record ids")
        raise typer.Exit(ExitCode.USAGE)
    with _errors():
        event_id = duplicates.merge_records(
            open_store(migrate=True), review, record_ids, actor=cli_actor()
        )
    console.print(f"{event_id}: merged {', '.join(record_ids)}")


def unmerge_(
    merge_id: Annotated[str, typer.Argument(help="The merge event to undo, e.g. merge-3.")],
    review: ReviewName = DEFAULT_REVIEW,
) -> None:
    """Undo a merge; its records become separate again."""
    from myoivig.review import duplicates

    with _errors():
        duplicates.unmerge_records(open_store(migrate=True), review, merge_id, actor=cli_actor())
    console.print(f"undid {merge_id}")


# -- decisions (final, after screening) ----------------------------------------------------------


def decide(
    record_ids: Annotated[list[str], typer.Argument()],
    stage: Annotated[str, typer.Option("--stage", help="title_abstract | full_text")],
    include: Annotated[bool, typer.Option("--include/--exclude")],
    reason: Annotated[str | None, typer.Option("--reason")] = None,
    review: ReviewName = DEFAULT_REVIEW,
) -> None:
    """Record FINAL decisions made outside dual screening (`review screen` outcomes need no
    such step: PRISMA derives them); a later decision supersedes an earlier one."""
    from myoivig.review import repository as repo

    if stage not in {"title_abstract", "full_text"}:
        errors.print(f"[red]error:[/red] --stage {stage!r} must be title_abstract or full_text")
        raise typer.Exit(ExitCode.USAGE)
    stage_value: Literal["title_abstract", "full_text"] = (
        "title_abstract" if stage == "title_abstract" else "full_text"
    )
    with _errors():
        store = open_store(migrate=True)
        with store.unit_of_work(actor=cli_actor()) as s:
            protocol = repo.load_protocol(s, review)
            if not include and stage == "full_text":
                if not reason:
                    raise ReviewStateError("a full-text exclusion needs --reason")
                if protocol and reason not in protocol.exclusion_reasons:
                    raise ReviewStateError(
                        f"reason {reason!r} is not in the protocol's exclusion_reasons "
                        f"{protocol.exclusion_reasons}"
                    )
            canonical = repo.merged_view(s, review).canonical_of
            unknown = [r for r in record_ids if r not in canonical]
            if unknown:
                raise ReviewStateError(f"unknown record ids {unknown}")
            merged_away = [f"{r} (-> {canonical[r]})" for r in record_ids if canonical[r] != r]
            if merged_away:
                raise ReviewStateError(
                    f"records merged into another record; decide on the kept one: {merged_away}"
                )
            for rid in record_ids:
                repo.append_event(
                    s, FinalDecision(record_id=rid, stage=stage_value, include=include,
                                     reason=reason), review
                )  # fmt: skip
    console.print(f"recorded {len(record_ids)} {stage} decision(s)")


def not_retrieved(
    record_ids: Annotated[list[str], typer.Argument()],
    reason: Annotated[str, typer.Option("--reason")] = "",
    review: ReviewName = DEFAULT_REVIEW,
) -> None:
    """Mark reports that could not be retrieved."""
    from myoivig.review import repository as repo

    with _errors():
        store = open_store(migrate=True)
        with store.unit_of_work(actor=cli_actor()) as s:
            for rid in record_ids:
                repo.append_event(s, ReportNotRetrieved(record_id=rid, reason=reason), review)
    console.print(f"marked {len(record_ids)} report(s) not retrieved")


def study(
    study_id: Annotated[str, typer.Argument()],
    record_ids: Annotated[list[str], typer.Argument(help="Reports of this one study.")],
    meta_analysis: Annotated[bool, typer.Option("--meta-analysis")] = False,
    primary: Annotated[
        str | None,
        typer.Option("--primary", help="Report whose numbers the study table pools."),
    ] = None,
    review: ReviewName = DEFAULT_REVIEW,
) -> None:
    """Group included reports into one study (patients are then counted once)."""
    from myoivig.review import extracting

    if primary is not None and primary not in record_ids:
        errors.print(f"[red]error:[/red] --primary {primary!r} is not one of {record_ids}")
        raise typer.Exit(ExitCode.USAGE)
    with _errors():
        extracting.assign_study(
            open_store(migrate=True), review, study_id, record_ids, actor=cli_actor(),
            in_meta_analysis=meta_analysis, primary_report=primary,
        )  # fmt: skip
    console.print(f"study {study_id}: {', '.join(record_ids)}")


# -- extraction ----------------------------------------------------------------------------------


@extract_app.command("add")
def extract_add(
    path: Annotated[Path, typer.Argument(help="YAML file: one form or a list of forms.")],
    review: ReviewName = DEFAULT_REVIEW,
    as_json: JsonFlag = False,
) -> None:
    """Validate and store extraction forms (all or none)."""
    from myoivig.review import extracting

    with _errors():
        data = _read_yaml(path)
        items = data if isinstance(data, list) else [data]
        forms = [extraction_from_mapping(item) for item in items]
        extracting.store_forms(open_store(migrate=True), review, forms, actor=cli_actor())
    stored = [{"study_id": f.study_id, "extractor": f.extractor} for f in forms]
    if as_json:
        _json({"stored": stored})
    else:
        console.print(f"stored {len(forms)} extraction form(s)")


@extract_app.command("diff")
def extract_diff(
    study_id: str,
    extractor_a: str,
    extractor_b: str,
    review: ReviewName = DEFAULT_REVIEW,
    as_json: JsonFlag = False,
) -> None:
    """Field-level disagreements between two extractors."""
    with _errors():
        a, b = _two_forms(study_id, extractor_a, extractor_b, review)
        diffs = disagreements(a, b)
    if as_json:
        _json([d.model_dump(mode="json") for d in diffs])
        return
    if not diffs:
        console.print(f"{study_id}: {extractor_a} and {extractor_b} agree on every field")
        return
    table = Table(title=f"{study_id}: {len(diffs)} disagreement(s)", title_justify="left")
    for col in ("Field", extractor_a, extractor_b):
        table.add_column(col, overflow="fold")
    for d in diffs:
        table.add_row(d.field, json.dumps(d.value_a, ensure_ascii=False),
                      json.dumps(d.value_b, ensure_ascii=False))  # fmt: skip
    console.print(table)


def _two_forms(study_id: str, a: str, b: str, review: str) -> tuple[Any, ...]:
    from myoivig.review import extracting

    return extracting.two_forms(open_store(), review, study_id, a, b)


@extract_app.command("reconcile")
def extract_reconcile(
    study_id: str,
    extractor_a: str,
    extractor_b: str,
    choose: Annotated[
        list[str] | None, typer.Option("--choose", help="field=a or field=b, per disagreement.")
    ] = None,
    reviewer: Annotated[str, typer.Option("--as", help="Name for the agreed form.")] = "agreed",
    review: ReviewName = DEFAULT_REVIEW,
) -> None:
    """Store the agreed form; refuses while any disagreement lacks a choice."""
    from myoivig.review import extracting

    choices: dict[str, Literal["a", "b"]] = {}
    for item in choose or []:
        field, _, side = item.partition("=")
        if side not in {"a", "b"}:
            errors.print(f"[red]error:[/red] --choose {item!r}: use FIELD=a or FIELD=b")
            raise typer.Exit(ExitCode.USAGE)
        choices[field] = "a" if side == "a" else "b"
    with _errors():
        extracting.reconcile_named(
            open_store(migrate=True), review, study_id, (extractor_a, extractor_b), choices,
            agreed_as=reviewer, actor=cli_actor(),
        )  # fmt: skip
    console.print(f"{study_id}: stored reconciled form as {reviewer!r}")


@extract_app.command("table")
def extract_table(
    extractor: Annotated[str, typer.Option("--extractor", help="Which forms to use.")] = "agreed",
    out: Annotated[Path | None, typer.Option("--out", help="Write CSV here.")] = None,
    complete: Annotated[
        bool, typer.Option("--complete", help="Only studies with xi and ni (ready to pool).")
    ] = False,
    review: ReviewName = DEFAULT_REVIEW,
    as_json: JsonFlag = False,
) -> None:
    """Study table with metafor column names (xi, ni, ai, n1i, ci, n2i) for `myoivig meta run`:
    one row per study, reports linked by `review study` taken once."""
    from myoivig.review import service

    with _errors():
        if out:
            check_output(out, {".csv"})
        frame = service.included_studies(open_store(), review, extractor)
        if complete:
            frame = poolable(frame)
    if out:
        with _errors():
            write_text(out, frame.to_csv(index=False))
    if as_json:
        _json(json.loads(frame.to_json(orient="records")))
    elif not out:
        console.print(frame.to_string(index=False))
    else:
        console.print(f"wrote {len(frame)} studies to {out}")


# -- appraisal -----------------------------------------------------------------------------------


def _store_appraisal(study_id: str, tool: str, inputs: dict[str, Any], result: dict[str, Any],
                     review: str) -> None:  # fmt: skip
    from myoivig.review import repository as repo

    store = open_store(migrate=True)
    with store.unit_of_work(actor=cli_actor()) as s:
        repo.save_appraisal(s, study_id, tool, inputs, result, review)


@appraise_app.command("cebm")
def appraise_cebm(
    study_id: str,
    design: Annotated[str, typer.Option("--design", help="rct, controlled, prospective_open...")],
    control_group: Annotated[bool, typer.Option("--control-group")] = False,
    follow_up: Annotated[float | None, typer.Option("--follow-up", min=0, max=1)] = None,
    wide_ci: Annotated[bool, typer.Option("--wide-ci")] = False,
    poor_quality: Annotated[bool, typer.Option("--poor-quality")] = False,
    review: ReviewName = DEFAULT_REVIEW,
    as_json: JsonFlag = False,
) -> None:
    """Oxford CEBM 2009 level of evidence from the design."""
    with _errors():
        kind = cebm.kind_from_design(design, control_group)
        result = cebm.level(cebm.CebmInput(kind, follow_up, wide_ci, False, poor_quality))
        out = {"study_id": study_id, "level": result.level, "reasons": result.reasons}
        _store_appraisal(study_id, "cebm", {"design": design, "control_group": control_group,
                         "follow_up": follow_up, "wide_ci": wide_ci,
                         "poor_quality": poor_quality}, out, review)  # fmt: skip
    _print_result(out, as_json)


@appraise_app.command("rob2")
def appraise_rob2(
    study_id: str,
    answers: Annotated[Path, typer.Argument(help="YAML mapping question -> Y/PY/PN/N/NI/NA.")],
    review: ReviewName = DEFAULT_REVIEW,
    as_json: JsonFlag = False,
) -> None:
    """Cochrane RoB 2 domain judgements and overall, from signalling answers."""
    with _errors():
        raw = _read_yaml(answers) or {}
        try:
            parsed = {str(k): Answer(str(v)) for k, v in raw.items()}
        except ValueError as error:
            raise AppraisalError(f"{answers}: {error}") from error
        out = appraising.rob2_stored(study_id, rob2.assess(parsed))
        _store_appraisal(study_id, "rob2", {k: v.value for k, v in parsed.items()}, out, review)
    _print_result(out, as_json)


@appraise_app.command("nos")
def appraise_nos(
    study_id: str,
    stars: Annotated[Path, typer.Argument(help="YAML mapping NOS item -> stars.")],
    review: ReviewName = DEFAULT_REVIEW,
    as_json: JsonFlag = False,
) -> None:
    """Newcastle-Ottawa (cohort) stars and the AHRQ good/fair/poor standard."""
    with _errors():
        data = _read_yaml(stars) or {}
        out = appraising.nos_stored(
            study_id, nos.assess_cohort({str(k): v for k, v in data.items()})
        )
        _store_appraisal(study_id, "nos", data, out, review)
    _print_result(out, as_json)


@appraise_app.command("robins-i")
def appraise_robins(
    study_id: str,
    domains: Annotated[Path, typer.Argument(help="YAML mapping domain -> judgement.")],
    review: ReviewName = DEFAULT_REVIEW,
    as_json: JsonFlag = False,
) -> None:
    """ROBINS-I overall judgement from the seven domain judgements."""
    with _errors():
        data = _read_yaml(domains) or {}
        try:
            parsed = {str(k): robins_i.RobinsJudgement(str(v)) for k, v in data.items()}
        except ValueError as error:
            raise AppraisalError(f"{domains}: {error}") from error
        result = robins_i.overall(parsed)
        out = {"study_id": study_id, "overall": result.overall.value, "reason": result.reason}
        _store_appraisal(study_id, "robins_i", data, out, review)
    _print_result(out, as_json)


@appraise_app.command("grade")
def appraise_grade(
    path: Annotated[
        Path, typer.Argument(help="YAML list of outcomes (outcome, randomised, down, up).")
    ],
    review: ReviewName = DEFAULT_REVIEW,
    as_json: JsonFlag = False,
) -> None:
    """GRADE certainty per outcome with the reason for every step."""
    with _errors():
        items = _read_yaml(path) or []
        results: list[dict[str, Any]] = []
        for item in items:
            results.append(appraising.grade_result(item))
            _store_appraisal(f"outcome:{results[-1]['outcome']}", "grade", item, results[-1],
                             review)  # fmt: skip
    if as_json:
        _json(results)
        return
    for row in results:
        console.print(f"{row['outcome']}: {row['symbol']} {row['certainty']}")
        for step in row["steps"]:
            console.print(f"  {step['change']:+d} {step['domain']}: {step['reason']}")
        for note in row["notes"]:
            console.print(f"  note: {note}")


def _print_result(out: dict[str, Any], as_json: bool) -> None:
    if as_json:
        _json(out)
        return
    table = Table(show_header=False)
    for key, value in out.items():
        if isinstance(value, list):
            value = "\n".join(
                json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else str(v) for v in value
            )
        table.add_row(key, str(value))
    console.print(table)


# -- PRISMA and the example ----------------------------------------------------------------------


def prisma(
    out: Annotated[Path, typer.Option("--out", help="Diagram path; .svg and .png are written.")],
    title: Annotated[str, typer.Option("--title")] = "",
    checklist_out: Annotated[Path | None, typer.Option("--checklist", help="Write CSV.")] = None,
    review: ReviewName = DEFAULT_REVIEW,
    as_json: JsonFlag = False,
) -> None:
    """PRISMA 2020 flow diagram derived from the recorded events (checked before drawing).

    A review in progress is drawn as it stands (boxes 'so far' and what awaits a decision) with a
    note saying so; it is not an error, so the exit code is 0 as for a finished review.
    """
    from myoivig.review import service

    with _errors():
        result = service.prisma_diagram(
            open_store(), review, out, title=title, checklist_out=checklist_out
        )
    counts, paths = result.counts, result.files
    if as_json:
        data = {"counts": counts.model_dump(mode="json"), "files": [str(p) for p in paths]}
        if counts.in_progress:
            data["note"] = service.in_progress_note(counts)
        _json(data)
    else:
        console.print(f"wrote {', '.join(str(p) for p in paths)}")
        console.print(
            f"identified {sum(counts.database_results.values())}, duplicates {counts.duplicates}, "
            f"screened {counts.records_screened}, excluded {counts.records_excluded}, "
            f"assessed {counts.databases.assessed}, studies {counts.new_studies} "
            f"(reports {counts.new_reports})" + (" so far" if counts.in_progress else "")
        )
        if counts.in_progress:
            console.print(f"note: {service.in_progress_note(counts)}")


def example(
    out: Annotated[Path, typer.Option("--out", help="Folder for the artefacts.")] = Path(
        "review-example"
    ),
    store_as: Annotated[
        str | None,
        typer.Option("--store", help="Also load it into the database as this review name."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """The example review (Wang 2012) worked through: PRISMA, evidence table, 308 vs 194."""

    with _errors():
        paths = write_example(out)
        reconciliation = json.loads(paths["reconciliation.json"].read_text(encoding="utf-8"))
        if store_as:
            from myoivig.review.example.load import load_example

            with open_store(migrate=True).unit_of_work(actor=cli_actor()) as s:
                load_example(s, store_as)
    if as_json:
        _json({"files": {k: str(v) for k, v in paths.items()},
               "reconciliation": reconciliation, "stored_as": store_as})  # fmt: skip
        return
    console.print(f"wrote {len(paths)} files to {out}")
    if store_as:
        console.print(f"loaded into the database as review {store_as!r}")
    console.print(paths["reconciliation.md"].read_text(encoding="utf-8"))


def register(app: typer.Typer) -> None:
    """Mount `myoivig review ...` on the root app."""
    review_app.add_typer(protocol_app, name="protocol")
    review_app.command("import")(import_)
    review_app.command("records")(records)
    review_app.command("export")(export)
    review_app.add_typer(search_app, name="search")
    review_app.command("dedup")(dedup)
    review_app.command("merge")(merge)
    review_app.command("unmerge")(unmerge_)
    review_app.command("decide")(decide)
    review_app.command("not-retrieved")(not_retrieved)
    review_app.command("study")(study)
    review_app.add_typer(extract_app, name="extract")
    review_app.add_typer(appraise_app, name="appraise")
    review_app.command("prisma")(prisma)
    review_app.command("example")(example)
    review_app.add_typer(screening_app, name="screen")
    app.add_typer(review_app, name="review")
