"""Living PRISMA: a review in progress yields a checked flow with what still awaits a decision.

Pure derivations on the PRISMA scenario of test_review_prisma (records still without decisions,
conflicts awaiting the third reviewer, full text in progress), the arithmetic check of the
awaiting boxes, the diagram's labels and the CSV; then the stored screening fixture
(screening_small.ris, two screeners and an arbiter) on SQLite and PostgreSQL, where the counts
follow each decision through `review.service.prisma_counts`, the function the page and CLI use.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from test_review_prisma import scenario
from test_review_screening_store import CASE_REPORT, NOT_CLINICAL, WRONG_POP, _setup, rec

from myoivig.reports.render import render_html
from myoivig.reports.review import review_context
from myoivig.review import repository as repo
from myoivig.review import service
from myoivig.review.dedup import auto_merge_events, find_duplicates
from myoivig.review.names import DEFAULT_REVIEW
from myoivig.review.prisma import PrismaError
from myoivig.review.prisma.diagram import figure
from myoivig.review.prisma.events import (
    DuplicatesRemoved,
    FinalDecision,
    RecordsImported,
    RecordsRemoved,
    ReviewEvent,
    StudyAssigned,
)
from myoivig.review.prisma.flow import (
    InProgress,
    OpenScreening,
    PrismaCounts,
    check,
    derive,
    derive_living,
)
from myoivig.review.screening.events import EventKind, ScreeningEvent, Stage, Verdict
from myoivig.review.service import prisma_counts_csv
from myoivig.store import Store

T0 = datetime(2030, 1, 2, 3, 0, tzinfo=UTC)  # later than the import, so it is the newest event


def _without(events: list[ReviewEvent], *drop: tuple[str, str]) -> list[ReviewEvent]:
    """The scenario without the final decisions on (record, stage) in `drop` (not yet made)."""
    return [
        e
        for e in events
        if not (isinstance(e, FinalDecision) and (e.record_id, e.stage) in set(drop))
    ]


def test_a_finished_review_derives_as_before_and_prints_no_progress() -> None:
    events = scenario()
    living = derive_living(events)
    assert living == derive(events) and living.in_progress is None
    assert (
        "in_progress" not in living.model_dump() and "in_progress" not in living.model_dump_json()
    )
    csv = prisma_counts_csv(living)
    assert csv.startswith("box,count\n") and "status" not in csv and "in_progress" not in csv


def test_before_any_decision_every_record_awaits_screening() -> None:
    before = (RecordsImported, DuplicatesRemoved, RecordsRemoved)  # nothing decided yet
    events = [e for e in scenario() if isinstance(e, before)]
    c = derive_living(events)
    p = c.in_progress
    assert p is not None
    # 15 identified, 4 removed before screening: 11 awaiting, none screened or excluded
    assert (c.records_screened, c.records_excluded, p.records_awaiting_screening) == (0, 0, 11)
    assert (c.databases.sought, c.databases.assessed, c.new_reports, c.new_studies) == (0, 0, 0, 0)
    # the citation goes straight to retrieval and awaits its full-text decision
    assert (c.other.sought, c.other.assessed, p.other_reports_awaiting_full_text_decision) == (
        1,
        0,
        1,
    )
    assert p.newest_event == max(e.at for e in events)
    with pytest.raises(PrismaError, match="lack a final title/abstract decision"):
        derive(events)  # the finished-review derivation still refuses it


def test_counts_after_a_few_title_abstract_decisions() -> None:
    # m5, m6 (excluded in the finished scenario) and c2 (passed) are still undecided; c2's
    # full-text decision cannot have been made yet either
    events = _without(
        scenario(),
        ("m5", "title_abstract"),
        ("m6", "title_abstract"),
        ("c2", "title_abstract"),
        ("c2", "full_text"),
    )
    events = [e for e in events if not isinstance(e, StudyAssigned)]  # c2's study is not formed yet
    c = derive_living(events)
    p = c.in_progress
    assert p is not None
    assert (c.records_screened, c.records_excluded, p.records_awaiting_screening) == (8, 3, 3)
    assert (c.databases.sought, c.databases.not_retrieved, c.databases.assessed) == (5, 1, 4)
    assert p.reports_awaiting_full_text_decision == 0
    assert (c.new_reports, c.new_studies) == (2, 2)
    check(c)  # identified 15 - removed 4 = screened 8 + awaiting 3


def test_a_conflict_awaiting_the_third_reviewer_counts_as_awaiting_screening() -> None:
    events = _without(scenario(), ("m5", "title_abstract"), ("m6", "title_abstract"))
    conflict = OpenScreening(conflicts_title_abstract=frozenset({"m5"}), newest_event=T0)
    c = derive_living(events, conflict)
    p = c.in_progress
    assert p is not None
    assert (p.records_awaiting_screening, p.records_awaiting_conflict_resolution) == (2, 1)
    assert (c.records_screened, c.records_excluded) == (9, 3)
    assert p.newest_event == T0  # a screening event newer than every final decision
    # resolved (the arbiter excludes m5): no longer a conflict, one record fewer awaiting
    resolved = [*events, FinalDecision(record_id="m5", stage="title_abstract", include=False)]
    c = derive_living(resolved, OpenScreening(newest_event=T0 + timedelta(minutes=1)))
    p = c.in_progress
    assert p is not None
    assert (p.records_awaiting_screening, p.records_awaiting_conflict_resolution) == (1, 0)
    assert (c.records_screened, c.records_excluded) == (10, 4)
    assert p.newest_event == T0 + timedelta(minutes=1)
    # a stale conflict id on a record that now has its final decision is not counted
    stale = OpenScreening(conflicts_title_abstract=frozenset({"m5"}))
    p = derive_living(resolved, stale).in_progress
    assert p is not None and p.records_awaiting_conflict_resolution == 0
    # and the last decision finishes the review: exactly the finished flow
    done = [*resolved, FinalDecision(record_id="m6", stage="title_abstract", include=False)]
    assert derive_living(done, stale) == derive(scenario())


def test_full_text_stage_in_progress() -> None:
    events = _without(scenario(), ("m0", "full_text"), ("m3", "full_text"), ("x1", "full_text"))
    events = [e for e in events if not isinstance(e, StudyAssigned)]
    open_ = OpenScreening(conflicts_full_text=frozenset({"m3"}))
    c = derive_living(events, open_)
    p = c.in_progress
    assert p is not None
    assert p.records_awaiting_screening == 0 and c.records_screened == 11
    assert (c.databases.sought, c.databases.not_retrieved, c.databases.assessed) == (6, 1, 3)
    assert (
        p.reports_awaiting_full_text_decision,
        p.reports_awaiting_full_text_conflict_resolution,
    ) == (2, 1)
    assert c.databases.excluded == {"case report": 1}
    assert (c.other.sought, c.other.assessed, p.other_reports_awaiting_full_text_decision) == (
        1,
        0,
        1,
    )
    assert (c.new_reports, c.new_studies) == (2, 2)
    with pytest.raises(PrismaError, match="m0 retrieved but has no final full-text decision"):
        derive(events)


def test_inconsistent_events_still_raise_in_progress() -> None:
    events = _without(scenario(), ("m5", "title_abstract"))
    with pytest.raises(PrismaError, match="never imported"):
        derive_living(
            [*events, FinalDecision(record_id="zz", stage="title_abstract", include=True)]
        )


def test_check_rejects_awaiting_boxes_that_do_not_add_up() -> None:
    events = _without(scenario(), ("m5", "title_abstract"), ("m6", "title_abstract"))
    good = derive_living(events, OpenScreening(conflicts_title_abstract=frozenset({"m5"})))
    p = good.in_progress
    assert p is not None
    check(good)

    def broken(**change: int) -> PrismaCounts:
        return good.model_copy(update={"in_progress": p.model_copy(update=change)})

    with pytest.raises(PrismaError, match="records_screened 9 \\+ awaiting screening 3 != "):
        check(broken(records_awaiting_screening=3))
    with pytest.raises(PrismaError, match="conflicts awaiting resolution 3 > records awaiting"):
        check(broken(records_awaiting_conflict_resolution=3))
    with pytest.raises(PrismaError, match="awaiting a full-text decision 1"):
        check(broken(reports_awaiting_full_text_decision=1))
    empty = InProgress(newest_event=T0)
    with pytest.raises(PrismaError, match="marked in progress but no record awaits"):
        check(derive(scenario()).model_copy(update={"in_progress": empty}))


def test_diagram_and_csv_label_what_awaits_and_when() -> None:
    events = _without(
        scenario(), ("m5", "title_abstract"), ("m6", "title_abstract"), ("m0", "full_text")
    )
    events = [e for e in events if not isinstance(e, StudyAssigned)]
    open_ = OpenScreening(conflicts_title_abstract=frozenset({"m5"}), newest_event=T0)
    c = derive_living(events, open_)
    # each box's text as one line of words (boxes wrap lines and keep '(n = 2)' together)
    texts = "\n".join(" ".join(t.get_text().split()) for t in figure(c, "ivig").axes[0].texts)
    assert "Review in progress: counts as of the newest event, 2030-01-02 03:00 UTC" in texts
    assert "Records awaiting screening (n = 2)" in texts
    assert "of which conflicts awaiting the third reviewer (n = 1)" in texts
    assert "Reports awaiting full-text decision (n = 1)" in texts
    assert "Records screened so far (n = 9)" in texts
    assert "Studies included in review so far" in texts
    finished = "\n".join(t.get_text() for t in figure(derive(scenario())).axes[0].texts)
    assert "so far" not in finished and "awaiting" not in finished
    csv = prisma_counts_csv(c).splitlines()
    assert csv[0] == "box,count"
    assert csv[1].startswith('"status","review in progress, counts as of the newest event 2030')
    assert '"records_screened",9' in csv
    assert '"in_progress.records_awaiting_screening",2' in csv
    assert '"in_progress.records_awaiting_conflict_resolution",1' in csv
    assert '"in_progress.reports_awaiting_full_text_decision",1' in csv
    assert '"in_progress.newest_event",2030-01-02T03:00:00Z' in csv


# -- the stored screening fixture, through the service the page and the CLI call ---------------

REVIEW = DEFAULT_REVIEW  # `_setup` stores the fixture under the default review name


def _decide(store: Store, reviewer: str, n: int, stage: Stage, verdict: Verdict, minute: int,
            reason: str | None = None) -> None:  # fmt: skip
    kind = EventKind.RESOLUTION if reviewer == "r3" else EventKind.DECISION
    event = ScreeningEvent(kind, stage, rec(n), reviewer, verdict, T0.replace(minute=minute),
                           reason)  # fmt: skip
    with store.unit_of_work(actor=reviewer) as s:
        repo.record_screening(s, event)


def _awaiting(c: PrismaCounts) -> tuple[int, int, int, int]:
    p = c.in_progress
    assert p is not None
    return (
        p.records_awaiting_screening,
        p.records_awaiting_conflict_resolution,
        p.reports_awaiting_full_text_decision,
        p.reports_awaiting_full_text_conflict_resolution,
    )


def test_stored_review_counts_follow_screening(store: Store) -> None:
    started = datetime.now(UTC) - timedelta(seconds=5)
    _setup(store)
    with store.unit_of_work(actor="lead") as s:  # record 8 duplicates record 1
        for event in auto_merge_events(find_duplicates(repo.merged_view(s).records)):
            repo.append_event(s, event)
    counts_now = service.prisma_counts
    c = counts_now(store, REVIEW)
    assert (sum(c.database_results.values()), c.duplicates, c.records_screened) == (8, 1, 0)
    assert _awaiting(c) == (7, 0, 0, 0)
    assert c.in_progress is not None and c.in_progress.newest_event >= started

    ta, ft = Stage.TITLE_ABSTRACT, Stage.FULL_TEXT
    for n in (1, 2):
        _decide(store, "r1", n, ta, Verdict.INCLUDE, n)
    c = counts_now(store, REVIEW)  # one reviewer's decisions make nothing final
    assert (c.records_screened, _awaiting(c)) == (0, (7, 0, 0, 0))
    assert c.in_progress is not None and c.in_progress.newest_event == T0.replace(minute=2)
    for n in (1, 2):
        _decide(store, "r2", n, ta, Verdict.INCLUDE, 10 + n)
    _decide(store, "r1", 4, ta, Verdict.EXCLUDE, 13, NOT_CLINICAL)
    _decide(store, "r2", 4, ta, Verdict.EXCLUDE, 14, NOT_CLINICAL)
    _decide(store, "r1", 5, ta, Verdict.INCLUDE, 15)
    _decide(store, "r2", 5, ta, Verdict.EXCLUDE, 16, CASE_REPORT)  # a conflict
    c = counts_now(store, REVIEW)
    assert (c.records_screened, c.records_excluded, c.databases.sought) == (3, 1, 2)
    assert _awaiting(c) == (4, 1, 2, 0)
    context = review_context(store, REVIEW)  # the review report draws it too, and says so
    report = context["prisma"]
    assert report["uri"] and report["error"] is None
    assert report["counts"]["in_progress"]["records_awaiting_conflict_resolution"] == 1
    assert "The review is in progress: the counts are as of the newest event" in render_html(
        "review.html", context
    )
    _decide(store, "r3", 5, ta, Verdict.INCLUDE, 17)  # the arbiter resolves it
    c = counts_now(store, REVIEW)
    assert (c.records_screened, c.records_excluded, c.databases.sought) == (4, 1, 3)
    assert _awaiting(c) == (3, 0, 3, 0)

    # full text while title/abstract is still open for records 3, 6, 7
    _decide(store, "r1", 1, ft, Verdict.INCLUDE, 20)
    _decide(store, "r2", 1, ft, Verdict.INCLUDE, 21)
    _decide(store, "r1", 2, ft, Verdict.EXCLUDE, 22, CASE_REPORT)
    _decide(store, "r2", 2, ft, Verdict.EXCLUDE, 23, WRONG_POP)  # reasons differ: a conflict
    c = counts_now(store, REVIEW)
    assert (c.databases.assessed, c.databases.excluded, c.new_reports) == (1, {}, 1)
    assert _awaiting(c) == (3, 0, 2, 1)
    assert c.in_progress is not None and c.in_progress.newest_event == T0.replace(minute=23)

    # finish: the rest of title/abstract excluded, the full-text conflict resolved, report 5
    # excluded; nothing awaits and the flow is exactly the finished derivation
    for minute, n in enumerate((3, 6, 7), start=30):
        _decide(store, "r1", n, ta, Verdict.EXCLUDE, minute, NOT_CLINICAL)
        _decide(store, "r2", n, ta, Verdict.EXCLUDE, minute + 10, NOT_CLINICAL)
    _decide(store, "r3", 2, ft, Verdict.EXCLUDE, 50, CASE_REPORT)
    _decide(store, "r1", 5, ft, Verdict.EXCLUDE, 51, WRONG_POP)
    _decide(store, "r2", 5, ft, Verdict.EXCLUDE, 52, WRONG_POP)
    c = counts_now(store, REVIEW)
    assert c.in_progress is None
    with store.session() as s:
        assert c == derive(repo.prisma_events(s))
    assert (c.records_screened, c.records_excluded, c.databases.assessed) == (7, 4, 3)
    assert c.databases.excluded == {CASE_REPORT: 1, WRONG_POP: 1}


def test_awaiting_labels_stay_inside_their_boxes() -> None:
    """The in-progress diagram's extra boxes (also beside an other-methods column) hold their
    text, measured with the renderer as test_prisma_labels_fit does for the finished one."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    events = _without(
        scenario(), ("m5", "title_abstract"), ("m0", "full_text"), ("x1", "full_text")
    )
    events = [e for e in events if not isinstance(e, StudyAssigned)]
    open_ = OpenScreening(conflicts_title_abstract=frozenset({"m5"}), newest_event=T0)
    fig = figure(derive_living(events, open_), "A review in progress")
    ax = fig.axes[0]
    renderer = FigureCanvasAgg(fig).get_renderer()
    boxes = [p.get_window_extent(renderer) for p in ax.patches]
    checked = 0
    for text in ax.texts:
        anchor = ax.transData.transform(text.get_position())
        holders = [b for b in boxes if b.contains(*anchor)]
        if not holders or "await" not in text.get_text().lower():
            continue
        box = min(holders, key=lambda b: b.width * b.height)
        extent = text.get_window_extent(renderer)
        assert box.x0 <= extent.x0 and extent.x1 <= box.x1, text.get_text()[:40]
        assert box.y0 <= extent.y0 and extent.y1 <= box.y1, text.get_text()[:40]
        checked += 1
    assert checked == 4  # the column header, the status box and the two awaiting boxes
