"""Searching PubMed for a review and storing what was found: one use case for the CLI
(`myoivig review search pubmed`) and the review page (a background job).

The date windows must add up to PubMed's count and the fetched records must equal it; otherwise
nothing is stored (unless gaps are allowed) and every gap is reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from myoivig.review.pubmed import DEFAULT_BASE_URL, EutilsConfig, EutilsError, PubMedClient
from myoivig.review.records import ImportResult
from myoivig.store import Store


@dataclass(frozen=True)
class PubMedSearch:
    """One PubMed search as asked (picklable: it crosses to a job worker)."""

    query: str
    year_from: int
    year_to: int
    email: str | None = None
    api_key: str | None = None
    base_url: str = DEFAULT_BASE_URL
    batch_size: int = 200
    dry_run: bool = False
    allow_gaps: bool = False

    def check(self) -> None:
        """Refuse a search that cannot run, naming the field (before anything is sent)."""
        if not self.query.strip():
            raise EutilsError("query: a PubMed query is needed")
        if not 1800 <= self.year_from <= self.year_to <= 2200:
            raise EutilsError(
                f"years: {self.year_from}-{self.year_to} is not a range of publication years"
            )


def search_pubmed(
    store: Store | None, review: str, search: PubMedSearch, *, actor: str
) -> dict[str, Any]:
    """Run the search; store the records as one import batch unless counting only (`store`
    may then be None: a count opens no database).

    Raises EutilsError (nothing stored) when the fetch falls short of PubMed's count and gaps are
    not allowed. The result holds the query, PubMed's count, date windows, what was stored,
    malformed records, requests made and gaps.
    """
    from myoivig.review import repository as repo

    search.check()
    config = EutilsConfig(
        email=search.email,
        api_key=search.api_key,
        base_url=search.base_url,
        batch_size=search.batch_size,
    )
    client = PubMedClient(config)
    try:
        if search.dry_run:
            count, parts = client.plan(search.query, search.year_from, search.year_to)
            windows_total = sum(p.count for p in parts)
            gaps = (
                []
                if windows_total == count
                else [f"date windows hold {windows_total} records but PubMed counted {count}"]
            )
            return {"query": search.query, "count": count, "date_windows": len(parts),
                    "stored": 0, "malformed": 0, "requests": client.requests, "gaps": gaps,
                    "batch": None}  # fmt: skip
        outcome = client.search(search.query, search.year_from, search.year_to)
    finally:
        client.close()
    if outcome.gaps and not search.allow_gaps:
        raise EutilsError(
            f"PubMed counted {outcome.count} records for {search.query!r} but the fetch is "
            "incomplete; nothing stored (use --allow-gaps to store it anyway): "
            + "; ".join(outcome.gaps)
        )
    if store is None:
        raise ValueError("a search that stores records needs a store")
    result = ImportResult(source="MEDLINE", source_format="pubmed_xml", encoding="utf-8",
                          records=outcome.records, issues=outcome.issues)  # fmt: skip
    with store.unit_of_work(actor=actor) as session:
        batch = repo.next_batch(session, review)
        renamed = [
            r.model_copy(update={"record_id": f"MEDLINE-{batch}:{r.position}"})
            for r in result.records
        ]
        repo.add_import(
            session,
            result.model_copy(update={"records": renamed}),
            review=review,
            query=f"{search.query} [pdat {search.year_from}-{search.year_to}]",
        )
    return {
        "query": search.query,
        "count": outcome.count,
        "date_windows": len(outcome.parts),
        "stored": len(outcome.records),
        "malformed": len(outcome.issues),
        "requests": outcome.requests,
        "gaps": outcome.gaps,
        "batch": batch,
    }


def run_search_job(
    database_url: str, review: str, search: PubMedSearch, actor: str
) -> dict[str, Any]:
    """Background job for the review page: a refusal comes back as `refused`, not a failure."""
    store = Store.from_url(database_url)
    try:
        return search_pubmed(store, review, search, actor=actor) | {"refused": None}
    except EutilsError as error:
        return {"refused": str(error), "query": search.query}
    finally:
        store.dispose()
