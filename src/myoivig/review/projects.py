"""Review projects as the web workspace uses them: create a review from a protocol form, see its
imports, and import an uploaded export file as a background job with progress.

The CLI (`myoivig review protocol set`, `myoivig review import`) and these functions share the
same rules: the protocol model (`review.protocol`) validates, `review.service.import_records_file`
imports in one audited unit of work.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from myoivig.jobs.progress import report
from myoivig.review import repository as repo
from myoivig.review.prisma.events import SourceKind
from myoivig.review.protocol import ProtocolError, ReviewerRole, ReviewProtocol
from myoivig.review.protocol import protocol_from_mapping as _validate
from myoivig.review.search import PubMedSearch
from myoivig.store import Store

REVIEW_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
SOURCE_KINDS: tuple[SourceKind, ...] = (
    "database",
    "register",
    "website",
    "organisation",
    "citation",
    "other",
)
MAX_UPLOAD_BYTES = 200 * 1024 * 1024  # a 25,000-record RIS export is about 60 MB


class ReviewProjectError(ValueError):
    """A review cannot be created or a file cannot be imported as asked; names field and value."""


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _year(text: str) -> int | str:
    text = text.strip()
    return int(text) if text.isdigit() else text  # the model names a non-number by field


def _source(line: str) -> dict[str, str]:
    """'MEDLINE | PubMed E-utilities | query' -> an information source (last two optional)."""
    name, _, rest = (part.strip() for part in line.partition("|"))
    interface, _, query = (part.strip() for part in rest.partition("|"))
    source = {"name": name}
    if interface:
        source["interface"] = interface
    if query:
        source["query"] = query
    return source


def _reviewer(line: str, accounts: set[str]) -> dict[str, Any]:
    """'name: screener, arbiter' -> a reviewer; the name must be a reviewer account."""
    name, sep, roles = line.partition(":")
    name = name.strip()
    if not sep or not roles.strip():
        raise ReviewProjectError(
            f"reviewers: line {line!r} must read 'account: role, role' "
            f"(roles: {', '.join(r.value for r in ReviewerRole)})"
        )
    if name not in accounts:
        known = ", ".join(sorted(accounts)) or "none"
        raise ReviewProjectError(
            f"reviewers: {name!r} is not an account with the reviewer or admin role "
            f"(accounts: {known})"
        )
    return {
        "reviewer_id": name,
        "name": name,
        "roles": [r.strip() for r in roles.split(",") if r.strip()],
    }


def protocol_from_form(form: dict[str, str], reviewer_accounts: set[str]) -> ReviewProtocol:
    """A protocol from the web form's fields (one list item per line); errors name the field.

    Reviewers are accounts: screening decisions are recorded under the signed-in account's name,
    so a reviewer who is not an account could never screen.
    """
    mapping: dict[str, Any] = {
        "title": form.get("title", "").strip(),
        "question": {
            "population": form.get("population", "").strip(),
            "intervention": form.get("intervention", "").strip(),
            "comparator": form.get("comparator", "").strip() or None,
            "outcomes": _lines(form.get("outcomes", "")),
        },
        "sources": [_source(line) for line in _lines(form.get("sources", ""))],
        "date_from": _year(form.get("date_from", "")),
        "date_to": _year(form.get("date_to", "")),
        "languages": [x.strip() for x in form.get("languages", "").split(",") if x.strip()],
        "inclusion_criteria": _lines(form.get("inclusion_criteria", "")),
        "exclusion_criteria": _lines(form.get("exclusion_criteria", "")),
        "exclusion_reasons": _lines(form.get("exclusion_reasons", "")),
        "reviewers": [
            _reviewer(line, reviewer_accounts) for line in _lines(form.get("reviewers", ""))
        ],
    }
    per_record = form.get("reviewers_per_record", "").strip()
    if per_record:
        mapping["reviewers_per_record"] = int(per_record) if per_record.isdigit() else per_record
    if not mapping["title"]:
        raise ReviewProjectError("title: a review needs a title")
    try:
        protocol = _validate(mapping, "protocol form")
    except ProtocolError as error:
        raise ReviewProjectError(str(error)) from None
    if len(protocol.reviewers_with(ReviewerRole.SCREENER)) < protocol.reviewers_per_record:
        raise ReviewProjectError(
            f"reviewers: {protocol.reviewers_per_record} independent screeners per record need "
            f"at least {protocol.reviewers_per_record} reviewers with the role 'screener'"
        )
    return protocol


def check_review_name(name: str) -> str:
    """Review names appear in URLs and file names: letters, digits, '-' and '_' only."""
    if not REVIEW_NAME.match(name) or name == "new":
        raise ReviewProjectError(
            f"name: {name!r} is not a review name (1-64 letters, digits, '-' or '_', "
            "starting with a letter or digit)"
        )
    return name


def create_review(store: Store, name: str, protocol: ReviewProtocol, *, actor: str) -> None:
    """Store a new review's protocol in one audited unit of work; an existing name is refused."""
    check_review_name(name)
    with store.unit_of_work(actor=actor) as session:
        if name in repo.review_names(session):
            raise ReviewProjectError(f"name: a review named {name!r} exists already")
        repo.save_protocol(session, protocol, name)


@dataclass(frozen=True)
class ImportBatch:
    """One stored import (a file or a search) as the review page lists it."""

    number: int
    source: str
    source_kind: str
    source_format: str
    file_name: str | None
    query: str | None
    record_count: int
    malformed_count: int
    by: str | None
    at: str


@dataclass(frozen=True)
class ReviewOverview:
    name: str
    protocol: ReviewProtocol | None
    imports: list[ImportBatch]
    record_count: int


def review_overview(store: Store, name: str) -> ReviewOverview:
    """The review page's facts; ReviewNotFoundError when no such review is stored.

    Imports are the review's `records_imported` events (files and searches alike; batch n is
    the n-th), with the file name and format of the batch row a file import also keeps.
    """
    from sqlalchemy import func, select

    from myoivig.review.prisma.events import RecordsImported
    from myoivig.review.tables import ReviewEventRow, ReviewImportBatchRow, ReviewRecordRow

    with store.session() as session:
        repo.require_review(session, name)
        files = {
            row.number: row
            for row in session.scalars(
                select(ReviewImportBatchRow).where(ReviewImportBatchRow.review == name)
            ).all()
        }
        payloads = session.scalars(
            select(ReviewEventRow.payload)
            .where(ReviewEventRow.review == name, ReviewEventRow.kind == "records_imported")
            .order_by(ReviewEventRow.id)
        ).all()
        count = session.scalar(
            select(func.count()).select_from(ReviewRecordRow).where(ReviewRecordRow.review == name)
        )
        imports = []
        for number, payload in enumerate(payloads, start=1):
            event = RecordsImported.model_validate(payload)
            file = files.get(number)
            imports.append(
                ImportBatch(
                    number=number,
                    source=event.source,
                    source_kind=event.source_kind,
                    source_format=file.source_format if file else "pubmed_xml (search)",
                    file_name=file.file_name if file else None,
                    query=event.query,
                    record_count=len(event.record_ids),
                    malformed_count=event.malformed,
                    by=event.actor,
                    at=event.at.strftime("%Y-%m-%d %H:%M"),
                )
            )
        return ReviewOverview(
            name=name,
            protocol=repo.load_protocol(session, name),
            imports=imports,
            record_count=int(count or 0),
        )


@dataclass(frozen=True)
class ImportRequest:
    """An uploaded export waiting to be imported (picklable: it crosses to a job worker)."""

    database_url: str
    review: str
    path: str
    source: str
    kind: SourceKind
    fmt: str | None
    encoding: str | None
    strict: bool
    again: bool
    actor: str


def _safe_file_name(name: str) -> str:
    base = Path(name.replace("\\", "/")).name
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._") or "upload"
    return cleaned[:120]


def prepare_import(
    store: Store,
    review: str,
    *,
    file_name: str,
    data: bytes,
    source: str,
    kind: str,
    fmt: str | None,
    encoding: str | None,
    strict: bool,
    again: bool,
    actor: str,
) -> ImportRequest:
    """Check the upload's fields and keep its bytes in a private folder for the import job.

    Checked here, before a job is queued, so the form can show the error at once: the review
    exists, a source is named, the kind and format are known, the file is not empty or too big.
    """
    from myoivig.review.importers import SUPPORTED_FORMATS

    with store.session() as session:
        repo.require_review(session, review)
    source = source.strip()
    if not source or len(source) > 64:
        raise ReviewProjectError(f"source: {source!r} must name the database (1-64 characters)")
    if kind not in SOURCE_KINDS:
        raise ReviewProjectError(f"kind: {kind!r} is not a PRISMA source kind {SOURCE_KINDS}")
    if fmt is not None and fmt not in SUPPORTED_FORMATS:
        raise ReviewProjectError(f"format: {fmt!r} is not one of {', '.join(SUPPORTED_FORMATS)}")
    if encoding is not None:
        import codecs

        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ReviewProjectError(f"encoding: {encoding!r} is not a known encoding") from None
    if not data:
        raise ReviewProjectError(f"file: {file_name!r} is empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise ReviewProjectError(
            f"file: {file_name!r} has {len(data):,} bytes, more than the {MAX_UPLOAD_BYTES:,} "
            "an upload may have; import it with `myoivig review import`"
        )
    folder = Path(tempfile.mkdtemp(prefix="myoivig-upload-"))
    path = folder / _safe_file_name(file_name)
    path.write_bytes(data)
    return ImportRequest(
        database_url=store.url,
        review=review,
        path=str(path),
        source=source,
        kind=kind,  # checked against SOURCE_KINDS above
        fmt=fmt,
        encoding=encoding,
        strict=strict,
        again=again,
        actor=actor,
    )


def run_import(request: ImportRequest) -> dict[str, Any]:
    """The import job: import the uploaded file, report progress, return the summary.

    Refusals (strict import refused, same file imported before, unreadable format) come back as
    a summary with `refused` set, not as a failed job: the page shows them like the CLI does.
    The uploaded copy is deleted afterwards whatever happens.
    """
    from myoivig.review import service
    from myoivig.review.importers import ImportFormatError
    from myoivig.review.names import StrictImportRefused

    path = Path(request.path)
    last = [-1]

    def progress(phase: str, done: int, total: int) -> None:
        step = max(1, total // 100) if total else 500
        if done == total or done - last[0] >= step or done < last[0]:
            last[0] = done
            report(phase, done, total)

    store = Store.from_url(request.database_url)
    try:
        done = service.import_records_file(
            store, path, request.source, actor=request.actor, fmt=request.fmt,
            encoding=request.encoding, kind=request.kind, review=request.review,
            again=request.again, strict=request.strict, progress=progress,
        )  # fmt: skip
    except (
        StrictImportRefused,
        service.AlreadyImportedError,
        ImportFormatError,
        repo.ReviewStateError,
        UnicodeDecodeError,
    ) as error:
        return {"refused": str(error), "file": path.name}
    finally:
        store.dispose()
        shutil.rmtree(path.parent, ignore_errors=True)
    summary = service.import_summary(path, request.source, done.result)
    summary["file"] = path.name
    summary["batch"] = done.batch
    summary["refused"] = None
    return summary


def reviewer_accounts(store: Store) -> set[str]:
    """Accounts that may screen: active users with the reviewer or admin role."""
    from myoivig.accounts.roles import Role
    from myoivig.accounts.service import list_users

    with store.session() as session:
        return {
            user.name
            for user in list_users(session)
            if user.role in (Role.REVIEWER, Role.ADMIN) and user.active
        }


def protocol_form_defaults() -> dict[str, str]:
    """An empty protocol form with the usual choices filled in (two screeners, 1990 to now)."""
    from datetime import date

    return {
        "name": "",
        "title": "",
        "population": "",
        "intervention": "",
        "comparator": "",
        "outcomes": "",
        "sources": "MEDLINE | PubMed E-utilities\nCNKI",
        "date_from": "1990",
        "date_to": str(date.today().year),
        "languages": "en, zh",
        "inclusion_criteria": "",
        "exclusion_criteria": "",
        "exclusion_reasons": "wrong population\nwrong intervention\nwrong study design\n"
        "wrong outcomes\nduplicate publication",
        "reviewers": "",
        "reviewers_per_record": "2",
    }


@dataclass(frozen=True)
class ReviewSummary:
    name: str
    title: str | None
    record_count: int


def review_summaries(store: Store) -> list[ReviewSummary]:
    """Every stored review with its title and record count, for the list page."""
    from sqlalchemy import func, select

    from myoivig.review.tables import ReviewRecordRow

    with store.session() as session:
        counts: dict[str, int] = {
            review: int(n)
            for review, n in session.execute(
                select(ReviewRecordRow.review, func.count()).group_by(ReviewRecordRow.review)
            ).all()
        }
        out = []
        for name in repo.review_names(session):
            try:
                protocol = repo.load_protocol(session, name)
            except ProtocolError:
                protocol = None
            out.append(
                ReviewSummary(name, protocol.title if protocol else None, int(counts.get(name, 0)))
            )
        return out


def search_form_defaults(protocol: ReviewProtocol | None) -> dict[str, str]:
    """The search form filled from the protocol: its MEDLINE/PubMed strategy and years."""
    query = ""
    if protocol is not None:
        for source in protocol.sources:
            if source.query and source.name.upper() in ("MEDLINE", "PUBMED"):
                query = source.query
                break
    return {
        "query": query,
        "year_from": str(protocol.date_from) if protocol else "",
        "year_to": str(protocol.date_to) if protocol else "",
    }


def pubmed_search_from_form(
    store: Store,
    review: str,
    *,
    query: str,
    year_from: str,
    year_to: str,
    count_only: bool,
    base_url: str,
    email: str | None,
    api_key: str | None,
) -> PubMedSearch:
    """A PubMed search from the review page's form; errors name the field and value."""
    from myoivig.review.pubmed import EutilsError

    with store.session() as session:
        repo.require_review(session, review)
    years = []
    for field, text in (("year_from", year_from), ("year_to", year_to)):
        if not text.strip().isdigit():
            raise ReviewProjectError(f"{field}: {text!r} is not a year")
        years.append(int(text))
    search = PubMedSearch(query.strip(), years[0], years[1], email=email, api_key=api_key,
                          base_url=base_url, dry_run=count_only)  # fmt: skip
    try:
        search.check()
    except EutilsError as error:
        raise ReviewProjectError(str(error)) from None
    return search
