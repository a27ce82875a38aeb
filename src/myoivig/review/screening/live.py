"""Live screening: a per-reviewer ranking retrained in the background, and protocol highlights.

The page never waits for the model: the next record comes from the last finished ranking (or
record order before the first model), while a job retrains on the labels this reviewer may learn
from (final outcomes plus the reviewer's own decisions: never another reviewer's undisclosed
decision, `ScreeningLog.training_labels`). A retrain asked for while one runs is remembered and
started when it finishes, so at most one job per reviewer and stage is queued.
"""

from __future__ import annotations

import html
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy.engine import make_url

from myoivig.jobs import JobHandle, JobRunner, JobState
from myoivig.review import screening_cache
from myoivig.review.protocol import ReviewProtocol
from myoivig.review.records import BibRecord
from myoivig.review.screening.events import Stage
from myoivig.store import Store

if TYPE_CHECKING:
    import scipy.sparse as sp


@dataclass(frozen=True)
class Ranking:
    """Record ids, most likely relevant first, and what the model learnt from.

    `pool`: the records that were unlabelled for this reviewer, best first: the reviewer's
    queue is built from it (a record the reviewer still has to decide is never labelled for
    them: it is neither final nor their own decision).
    """

    record_ids: tuple[str, ...]
    trained_on: int
    relevant_labels: int
    seconds: float
    pool: tuple[str, ...] = ()


def record_text(record: BibRecord) -> str:
    """What the model reads: title, abstract and keywords."""
    parts = [record.title or "", record.abstract or "", " ".join(record.keywords)]
    return " ".join(p for p in parts if p).strip()


@lru_cache(maxsize=4)
def _store(database_url: str) -> Store:
    return Store.from_url(database_url)


_FEATURES: dict[tuple[str, str, int], tuple[tuple[str, ...], sp.csr_matrix]] = {}
_FEATURES_LOCK = threading.Lock()


def _features(
    key: tuple[str, str, int], ids: tuple[str, ...], texts: Callable[[], list[str]]
) -> sp.csr_matrix:
    """TF-IDF features of a review's records, built once per set of records (per process)."""
    with _FEATURES_LOCK:
        cached = _FEATURES.get(key)
        if cached is not None and cached[0] == ids:
            return cached[1]
    from myoivig.review.screening.features import build_features  # scipy, on first use

    matrix = build_features(texts())
    with _FEATURES_LOCK:
        _FEATURES[key] = (ids, matrix)
    return matrix


def retrain_ranking(database_url: str, review: str, stage: str, reviewer: str) -> Ranking:
    """Background job: rank the review's screenable records for one reviewer.

    A module-level function with plain arguments so an RQ worker process can run it too. The
    labels come from this process's caught-up screening state (`screening_cache`), not from a
    replay of the log, so a retrain costs the model fit, not a pass over 10,000 events.
    """
    started = time.perf_counter()
    state = screening_cache.current(_store(database_url), review)
    with state.lock:
        ids = state.log.record_ids
        labels = state.log.training_labels(Stage(stage), reviewer)
        records = state.records

    def texts() -> list[str]:
        return [record_text(records[rid]) if rid in records else "" for rid in ids]

    features = _features((database_url, review, len(ids)), ids, texts)
    position = {rid: i for i, rid in enumerate(ids)}
    labelled = np.array([position[rid] for rid in labels], dtype=np.int64)
    values = np.array(list(labels.values()), dtype=np.int64)
    from myoivig.review.screening.ranking import relevance_scores  # scikit-learn

    scores = relevance_scores(features, labelled, values)
    order = np.argsort(-scores, kind="stable")
    ranked = tuple(ids[i] for i in order)
    return Ranking(
        ranked,
        trained_on=len(labels),
        relevant_labels=int(values.sum()),
        seconds=time.perf_counter() - started,
        pool=tuple(rid for rid in ranked if rid not in labels),
    )


def _in_memory(database_url: str) -> bool:
    url = make_url(database_url)
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


@dataclass
class _Slot:
    ranking: Ranking | None = None
    job: JobHandle | None = None
    wanted_again: bool = False
    error: str | None = None


@dataclass
class LiveRankings:
    """The last ranking per (review, stage, reviewer) and the retraining jobs behind them."""

    runner: JobRunner
    database_url: str
    _slots: dict[tuple[str, str, str], _Slot] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _submit(self, slot: _Slot, key: tuple[str, str, str]) -> None:
        slot.job = self.runner.submit(
            retrain_ranking,
            self.database_url,
            *key,
            description=f"retrain {key}",
            cpu_bound=not _in_memory(self.database_url),  # another process cannot open that
        )
        slot.wanted_again = False

    def _poll(self, slot: _Slot, key: tuple[str, str, str]) -> None:
        if slot.job is None:
            return
        state = slot.job.state()
        if state is JobState.FINISHED:
            slot.ranking = slot.job.result()
            slot.job, slot.error = None, None
        elif state is JobState.FAILED:
            slot.job, slot.error = None, "the last retraining failed; ranking kept"
        if slot.job is None and slot.wanted_again:
            self._submit(slot, key)

    def current(self, review: str, stage: Stage, reviewer: str) -> tuple[Ranking | None, bool]:
        """The last finished ranking (None before the first) and whether a retrain is running."""
        key = (review, stage.value, reviewer)
        with self._lock:
            slot = self._slots.setdefault(key, _Slot())
            self._poll(slot, key)
            return slot.ranking, slot.job is not None

    def retrain(self, review: str, stage: Stage, reviewer: str) -> None:
        """Ask for a new ranking; never waits for it."""
        key = (review, stage.value, reviewer)
        with self._lock:
            slot = self._slots.setdefault(key, _Slot())
            self._poll(slot, key)
            if slot.job is None:
                self._submit(slot, key)
            else:
                slot.wanted_again = True

    def wait(self, review: str, stage: Stage, reviewer: str, timeout_s: float = 30.0) -> None:
        """Block until no retrain is pending (tests and benchmarks only)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.current(review, stage, reviewer)[1]:
                return
            time.sleep(0.02)


# -- highlighting ----------------------------------------------------------------------------------

STOPWORDS = frozenset(
    [
        "with",
        "without",
        "from",
        "that",
        "this",
        "those",
        "these",
        "their",
        "have",
        "been",
        "were",
        "which",
        "when",
        "where",
        "than",
        "into",
        "other",
        "more",
        "most",
        "less",
        "only",
        "also",
        "such",
        "each",
        "both",
        "any",
        "all",
        "not",
        "nor",
        "who",
        "whom",
        "whose",
        "what",
        "study",
        "studies",
        "patients",
        "patient",
        "adult",
        "adults",
        "report",
        "reports",
        "reported",
        "trial",
        "trials",
    ]
)


def _terms(texts: list[str]) -> list[str]:
    """Content words (4+ letters, or an acronym such as IVIg) from criteria, longest first."""
    found: set[str] = set()
    for text in texts:
        for word in re.findall(r"[A-Za-z][A-Za-z\-]+", text):
            lower = word.lower()
            if lower in STOPWORDS:
                continue
            if len(word) >= 4 or (len(word) >= 2 and any(c.isupper() for c in word[1:])):
                found.add(lower)
    return sorted(found, key=lambda t: (-len(t), t))


def protocol_terms(protocol: ReviewProtocol) -> tuple[list[str], list[str]]:
    """Inclusion terms (criteria and PICO) and exclusion terms (exclusion criteria) to mark."""
    question = protocol.question
    include = _terms([*protocol.inclusion_criteria, question.population, question.intervention])
    exclude = [t for t in _terms(list(protocol.exclusion_criteria)) if t not in include]
    return include, exclude


def highlight(text: str, include: list[str], exclude: list[str]) -> str:
    """HTML of `text`: escaped first, then inclusion and exclusion terms wrapped in <mark>."""
    escaped = html.escape(text, quote=True)
    kinds = {t: "include" for t in include} | {t: "exclude" for t in exclude}
    if not kinds:
        return escaped
    alternatives = "|".join(re.escape(html.escape(t)) for t in sorted(kinds, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w&])({alternatives})(?!\w)", re.IGNORECASE)

    def mark(match: re.Match[str]) -> str:
        kind = kinds.get(match.group(1).lower(), "include")
        return f'<mark class="{kind}">{match.group(1)}</mark>'

    return pattern.sub(mark, escaped)
