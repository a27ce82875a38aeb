"""Property tests: blinding holds for any decision history; kappa behaves like Cohen's kappa."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from myoivig.review.screening.agreement import cohen_kappa
from myoivig.review.screening.dataset import load_records_csv
from myoivig.review.screening.events import EventKind, ScreeningEvent, Stage, Verdict
from myoivig.review.screening.protocol import ScreeningProtocol
from myoivig.review.screening.ranking import relevance_scores
from myoivig.review.screening.workflow import ScreeningLog

PROTOCOL = ScreeningProtocol(("r",), ("ann", "bob"), ("dee",))
RECORDS = [f"r{i}" for i in range(6)]
T = datetime(2026, 1, 1, tzinfo=UTC)
verdicts = st.sampled_from([Verdict.INCLUDE, Verdict.EXCLUDE, Verdict.MAYBE])


def _decision(reviewer: str, record: str, verdict: Verdict) -> ScreeningEvent:
    reason = "r" if verdict is Verdict.EXCLUDE else None
    return ScreeningEvent(
        EventKind.DECISION, Stage.TITLE_ABSTRACT, record, reviewer, verdict, T, reason
    )


@settings(max_examples=60, deadline=None)
@given(
    ann=st.dictionaries(st.sampled_from(RECORDS), verdicts),
    other_ann=st.lists(verdicts, min_size=6, max_size=6),
    bob=st.dictionaries(st.sampled_from(RECORDS), verdicts),
)
def test_bob_sees_the_same_before_deciding_whatever_ann_decided(
    ann: dict[str, Verdict], other_ann: list[Verdict], bob: dict[str, Verdict]
) -> None:
    """Swap every one of ann's verdicts for another: bob's queue, his views of records he has
    not decided, and his training labels do not change."""
    alternative = {rid: other_ann[i] for i, rid in enumerate(ann)}
    logs = []
    for ann_verdicts in (ann, alternative):
        events = [_decision("ann", rid, v) for rid, v in ann_verdicts.items()]
        events += [_decision("bob", rid, v) for rid, v in bob.items()]
        logs.append(ScreeningLog(PROTOCOL, RECORDS, events))
    first, second = logs
    stage = Stage.TITLE_ABSTRACT
    assert first.queue("bob", stage) == second.queue("bob", stage)
    for rid in RECORDS:
        if rid not in bob:
            assert first.view("bob", stage, rid) == second.view("bob", stage, rid)
    undecided_by_bob = set(RECORDS) - set(bob)
    labels_1 = first.training_labels(stage, "bob")
    labels_2 = second.training_labels(stage, "bob")
    assert set(labels_1) & undecided_by_bob == set() == set(labels_2) & undecided_by_bob


@settings(max_examples=100, deadline=None)
@given(
    pairs=st.lists(
        st.tuples(st.sampled_from("abc"), st.sampled_from("abc")), min_size=1, max_size=40
    )
)
def test_kappa_is_symmetric_and_bounded(pairs: list[tuple[str, str]]) -> None:
    a = [x for x, _ in pairs]
    b = [y for _, y in pairs]
    k = cohen_kappa(a, b)
    assert k == cohen_kappa(b, a)
    if k is not None:
        assert -1.0 - 1e-12 <= k <= 1.0 + 1e-12
        if a == b:
            assert abs(k - 1.0) < 1e-12


def test_records_csv_with_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "records.csv"
    path.write_bytes("\ufeffrecord_id,title\nr1,静脉注射免疫球蛋白\n".encode())
    records = load_records_csv(path)
    assert records.record_ids == ("r1",) and records.texts == ("静脉注射免疫球蛋白",)


def test_no_features_means_record_order() -> None:
    empty = sp.csr_matrix((3, 0))
    scores = relevance_scores(empty, np.array([0, 1]), np.array([1, 0]))
    assert scores.tolist() == [0.0, 0.0, 0.0]
