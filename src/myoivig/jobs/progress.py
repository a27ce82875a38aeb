"""Progress a running job reports, read by the page that polls it.

A job function calls `report(phase, done, total)`; it does not know which runner runs it. Under
the in-process runner the figures go to the job's slot (a dict the handle reads); under RQ they
go to the job's `meta` in Redis, so a page served by any process can read them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class JobProgress:
    """Where a job stands: a phase name and `done` of `total` (total 0 while unknown)."""

    phase: str
    done: int
    total: int

    @property
    def percent(self) -> int | None:
        return None if self.total <= 0 else min(100, round(100 * self.done / self.total))


_SLOT: ContextVar[dict[str, JobProgress] | None] = ContextVar("myoivig_job_slot", default=None)


@contextmanager
def progress_slot(slot: dict[str, JobProgress]) -> Iterator[None]:
    """Within this block `report` writes into `slot` (the in-process runner's job)."""
    token = _SLOT.set(slot)
    try:
        yield
    finally:
        _SLOT.reset(token)


def report(phase: str, done: int, total: int) -> None:
    """Record the current job's progress; outside a job (e.g. from the CLI) it does nothing."""
    progress = JobProgress(phase, done, total)
    slot = _SLOT.get()
    if slot is not None:
        slot["progress"] = progress
        return
    try:
        from rq import get_current_job
    except ImportError:  # pragma: no cover - rq is a dependency
        return
    job = get_current_job()
    if job is not None:
        job.meta["progress"] = [phase, done, total]
        job.save_meta()


def read_rq_progress(job: Any) -> JobProgress | None:
    """The progress an RQ job saved in its meta, read fresh from Redis."""
    meta = job.get_meta(refresh=True)
    value = meta.get("progress")
    if not value:
        return None
    phase, done, total = value
    return JobProgress(str(phase), int(done), int(total))
