"""Load the example review (Wang 2012) into the store (protocol, records, events, forms)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from myoivig.review import repository as repo
from myoivig.review.example.build import build, events, protocol, raw_extractions, references


def load_example(session: Session, review: str) -> None:
    """Everything the example holds, written in the caller's audited unit of work."""
    if repo.load_protocol(session, review) is not None or repo.load_records(session, review):
        raise repo.ReviewStateError(f"review {review!r} already exists in this database")
    repo.save_protocol(session, protocol(), review)
    repo.add_records(session, references(), review)
    for event in events():
        repo.append_event(session, event, review)
    for form in raw_extractions():
        repo.save_extraction(session, form, review)
    # The reconciled forms, under the extractor name `review extract table` uses by default.
    for form in build().extractions:
        repo.save_extraction(session, form.model_copy(update={"extractor": "agreed"}), review)
