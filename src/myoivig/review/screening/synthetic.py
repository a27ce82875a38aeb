"""A SYNTHETIC review to screen: invented records (marked as such in every title's source) with a
protocol naming the screeners, for tests, benchmarks and demonstrations of the screening pages.
Nothing here is real literature."""

from __future__ import annotations

import random

from myoivig.review import repository as repo
from myoivig.review.prisma.events import RecordsImported
from myoivig.review.protocol import protocol_from_mapping
from myoivig.review.records import BibRecord
from myoivig.store import Store

REASONS = ("not a clinical study", "case report", "wrong population", "no IVIg outcome reported")
_RELEVANT = (
    "Intravenous immunoglobulin in adult dermatomyositis: an open trial of {n} patients",
    "IVIg add-on therapy for refractory polymyositis: muscle strength after {n} months",
    "High-dose intravenous immunoglobulin and creatine kinase in myositis, cohort of {n}",
)
_IRRELEVANT = (
    "Juvenile dermatomyositis skin findings in {n} children",
    "Mechanism of Fc receptor blockade in a mouse model, experiment {n}",
    "Editorial: the economics of plasma products, part {n}",
    "Rituximab in lupus nephritis: {n} patients followed for a year",
    "Case report: statin myopathy in a {n}-year-old man",
)


def synthetic_records(n: int, share_relevant: float = 0.1, seed: int = 0) -> list[BibRecord]:
    """`n` invented records; about `share_relevant` read like IVIg-in-myositis studies."""
    rng = random.Random(seed)
    records = []
    for i in range(1, n + 1):
        relevant = rng.random() < share_relevant
        template = rng.choice(_RELEVANT if relevant else _IRRELEVANT)
        title = template.format(n=rng.randint(5, 90))
        abstract = (
            f"SYNTHETIC record {i}. {title}. Outcomes were muscle strength and adverse events."
            if relevant
            else f"SYNTHETIC record {i}. {title}. No patient outcomes of immunoglobulin therapy."
        )
        records.append(
            BibRecord(
                record_id=f"syn-{i}",
                source="synthetic",
                source_format="synthetic",
                position=i,
                title=title,
                abstract=abstract,
                keywords=["myositis", "immunoglobulin"] if relevant else ["other"],
                journal="Synthetic Journal of Screening",
                year=2000 + i % 20,
            )
        )
    return records


def synthetic_protocol_mapping(screeners: list[str], arbiters: list[str]) -> dict[str, object]:
    """A protocol with the given screeners and arbiters (account user names)."""
    reviewers = [{"reviewer_id": s, "name": s, "roles": ["screener"]} for s in screeners]
    reviewers += [{"reviewer_id": a, "name": a, "roles": ["arbiter"]} for a in arbiters]
    return {
        "title": "SYNTHETIC review for the screening pages",
        "question": {
            "population": "Adults with polymyositis or dermatomyositis",
            "intervention": "Intravenous immunoglobulin (IVIg)",
            "outcomes": ["muscle strength"],
        },
        "sources": [{"name": "synthetic"}],
        "date_from": 1985,
        "date_to": 2030,
        "languages": ["en"],
        "inclusion_criteria": ["Clinical study of IVIg in adult myositis"],
        "exclusion_criteria": ["Juvenile dermatomyositis only", "Editorial or mechanism study"],
        "exclusion_reasons": list(REASONS),
        "reviewers": reviewers,
    }


def seed_review(
    store: Store,
    review: str,
    n_records: int,
    screeners: list[str],
    arbiters: list[str],
    *,
    seed: int = 0,
    actor: str = "synthetic-seed",
) -> list[BibRecord]:
    """Store the protocol and the synthetic records of a new review, with their import event
    (so the review's PRISMA flow counts them as identified, as a real import would)."""
    protocol = protocol_from_mapping(synthetic_protocol_mapping(screeners, arbiters), "synthetic")
    records = synthetic_records(n_records, seed=seed)
    with store.unit_of_work(actor=actor) as session:
        repo.save_protocol(session, protocol, review)
        repo.add_records(session, records, review)
        imported = RecordsImported(source="synthetic", record_ids=[r.record_id for r in records])
        repo.append_event(session, imported, review)
    return records
