"""Application layer of the review area: what the CLI (and any page or API) asks for, in one place.

Each function checks everything that can be checked before work starts (the review exists,
output paths are usable), computes the result, and only then writes files, atomically.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from myoivig.atomic_files import check_output, write_text
from myoivig.review import repository as repo
from myoivig.review.prisma.checklist import checklist, to_csv
from myoivig.review.prisma.diagram import diagram_paths
from myoivig.review.prisma.diagram import save as save_diagram
from myoivig.review.prisma.flow import PrismaCounts, derive
from myoivig.store import Store


@dataclass(frozen=True)
class PrismaOutput:
    """The flow counts drawn and the files written."""

    counts: PrismaCounts
    files: list[Path]


def prisma_diagram(
    store: Store,
    review: str,
    out: Path,
    *,
    title: str = "",
    checklist_out: Path | None = None,
) -> PrismaOutput:
    """Derive the PRISMA 2020 counts of a stored review and draw them (SVG + PNG).

    An unknown review or output extension is refused before anything is written, so a typo
    never replaces a real diagram with an empty one.
    """
    diagram_paths(out)
    if checklist_out is not None:
        check_output(checklist_out, {".csv"})
    with store.session() as session:
        repo.require_review(session, review)
        counts = derive(repo.prisma_events(session, review))
    files = save_diagram(counts, out, title=title)
    if checklist_out is not None:
        files.append(write_text(checklist_out, to_csv(checklist())))
    return PrismaOutput(counts, files)
