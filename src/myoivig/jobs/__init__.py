"""Background jobs: run slow work (retraining, imports, plots) without making a page wait.

`runner_for(kind, redis_url)` gives the in-process runner (the embedded default: one server
process, a worker thread) or the RQ runner (a real queue on Redis, for more than one server
process; `rq worker myoivig` processes it).
"""

from myoivig.jobs.runner import (
    InProcessRunner,
    JobError,
    JobHandle,
    JobRunner,
    JobState,
    RQRunner,
    runner_for,
)

__all__ = [
    "InProcessRunner",
    "JobError",
    "JobHandle",
    "JobRunner",
    "JobState",
    "RQRunner",
    "runner_for",
]
