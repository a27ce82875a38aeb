"""Two job runners behind one small interface: submit a function, poll its handle.

Functions given to a runner must be importable module-level functions with picklable arguments
and result (RQ stores them in Redis); the in-process runner accepts the same so code written for
one works with the other. A job marked `cpu_bound` (a model fit) runs, with the in-process
runner, in one spawned worker process: on a worker thread its Python parts would hold the
server's interpreter lock, and every page served meanwhile would wait for it.
"""

from __future__ import annotations

import multiprocessing
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from enum import StrEnum
from typing import Any, Protocol

from myoivig.jobs.progress import JobProgress, progress_slot, read_rq_progress


class JobError(RuntimeError):
    """The job queue cannot be used (e.g. Redis is not reachable); the message says which."""


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


class JobHandle(Protocol):
    """A submitted job: its id, where it stands, and its result once finished."""

    @property
    def id(self) -> str: ...

    def state(self) -> JobState: ...

    def result(self) -> Any:
        """The return value; raises JobError unless the job finished."""
        ...

    def error(self) -> str | None:
        """Why a failed job failed (one line), else None."""
        ...

    def progress(self) -> JobProgress | None:
        """The last progress the job reported (`myoivig.jobs.progress.report`), if any."""
        ...


class JobRunner(Protocol):
    def submit(
        self,
        func: Callable[..., Any],
        *args: Any,
        description: str = "",
        cpu_bound: bool = False,
    ) -> JobHandle: ...

    def handle(self, job_id: str) -> JobHandle | None:
        """A job submitted earlier (from this or, with a queue, any process), or None."""
        ...

    def shutdown(self) -> None: ...


class _FutureHandle:
    def __init__(self, job_id: str, future: Future[Any], slot: dict[str, JobProgress]) -> None:
        self._id = job_id
        self._future = future
        self._slot = slot

    @property
    def id(self) -> str:
        return self._id

    def state(self) -> JobState:
        if self._future.running():
            return JobState.RUNNING
        if not self._future.done():
            return JobState.QUEUED
        return JobState.FAILED if self._future.exception() is not None else JobState.FINISHED

    def result(self) -> Any:
        if self.state() is not JobState.FINISHED:
            raise JobError(f"job {self._id} has not finished ({self.state().value})")
        return self._future.result()

    def error(self) -> str | None:
        if not self._future.done() or self._future.exception() is None:
            return None
        return str(self._future.exception())

    def progress(self) -> JobProgress | None:
        return self._slot.get("progress")


def _run_with_slot(slot: dict[str, JobProgress], func: Callable[..., Any], *args: Any) -> Any:
    with progress_slot(slot):
        return func(*args)


_PROCESS: ProcessPoolExecutor | None = None
_PROCESS_LOCK = threading.Lock()


def _worker_process(broken: ProcessPoolExecutor | None = None) -> ProcessPoolExecutor:
    """The one spawned worker process of this server process (started on first use; a new one
    replaces `broken`). Spawned, not forked: the server's threads hold locks and connections."""
    global _PROCESS
    with _PROCESS_LOCK:
        if _PROCESS is None or _PROCESS is broken:
            _PROCESS = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn")
            )
        return _PROCESS


class InProcessRunner:
    """Jobs on worker threads of this process (the embedded default); `cpu_bound` jobs on the
    process's one spawned worker process (its caches, e.g. feature matrices, persist between
    jobs).

    Handles are kept for the last `keep` jobs so a page can poll a job by its id.
    """

    def __init__(self, workers: int = 1, keep: int = 200) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="myoivig-job")
        self._lock = threading.Lock()
        self._count = 0
        self._keep = keep
        self._handles: dict[str, _FutureHandle] = {}

    def submit(
        self,
        func: Callable[..., Any],
        *args: Any,
        description: str = "",
        cpu_bound: bool = False,
    ) -> JobHandle:
        slot: dict[str, JobProgress] = {}  # progress reported from this process's threads
        with self._lock:
            self._count += 1
            job_id = f"local-{self._count}-{uuid.uuid4().hex[:12]}"
        if not cpu_bound:
            future = self._pool.submit(_run_with_slot, slot, func, *args)
        else:
            process = _worker_process()
            try:
                future = process.submit(func, *args)
            except BrokenProcessPool:  # the worker died (e.g. killed): start another once
                future = _worker_process(process).submit(func, *args)
        handle = _FutureHandle(job_id, future, slot)
        with self._lock:
            self._handles[job_id] = handle
            while len(self._handles) > self._keep:
                del self._handles[next(iter(self._handles))]
        return handle

    def handle(self, job_id: str) -> JobHandle | None:
        with self._lock:
            return self._handles.get(job_id)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


_RQ_STATES = {
    "queued": JobState.QUEUED,
    "deferred": JobState.QUEUED,
    "scheduled": JobState.QUEUED,
    "started": JobState.RUNNING,
    "finished": JobState.FINISHED,
    "failed": JobState.FAILED,
    "stopped": JobState.FAILED,
    "canceled": JobState.FAILED,
}


class _RQHandle:
    def __init__(self, job: Any) -> None:
        self._job = job

    @property
    def id(self) -> str:
        return str(self._job.id)

    def state(self) -> JobState:
        status = self._job.get_status(refresh=True)
        return _RQ_STATES.get(str(getattr(status, "value", status)), JobState.QUEUED)

    def result(self) -> Any:
        if self.state() is not JobState.FINISHED:
            raise JobError(f"job {self.id} has not finished ({self.state().value})")
        return self._job.return_value()

    def error(self) -> str | None:
        if self.state() is not JobState.FAILED:
            return None
        info = self._job.latest_result()
        text = getattr(info, "exc_string", None) or "the job failed"
        return str(text).strip().splitlines()[-1]

    def progress(self) -> JobProgress | None:
        return read_rq_progress(self._job)


class RQRunner:
    """Jobs on an RQ queue in Redis; `rq worker <queue> --url <redis_url>` runs them."""

    def __init__(self, redis_url: str, queue: str = "myoivig", timeout_s: int = 600) -> None:
        from redis import Redis
        from redis.exceptions import RedisError
        from rq import Queue

        try:
            connection = Redis.from_url(redis_url, socket_connect_timeout=2)
            connection.ping()
        except (RedisError, ValueError) as exc:
            raise JobError(f"MYOIVIG_REDIS_URL: cannot reach Redis at {redis_url}: {exc}") from None
        self.connection = connection
        self.queue = Queue(queue, connection=connection, default_timeout=timeout_s)

    def submit(
        self,
        func: Callable[..., Any],
        *args: Any,
        description: str = "",
        cpu_bound: bool = False,  # every RQ job runs in a worker process already
    ) -> JobHandle:
        job = self.queue.enqueue(func, *args, description=description or None, result_ttl=3600)
        return _RQHandle(job)

    def handle(self, job_id: str) -> JobHandle | None:
        from rq.exceptions import NoSuchJobError
        from rq.job import Job

        try:
            return _RQHandle(Job.fetch(job_id, connection=self.connection))
        except NoSuchJobError:
            return None

    def shutdown(self) -> None:
        self.connection.close()


def runner_for(kind: str, redis_url: str = "redis://127.0.0.1:6379/0") -> JobRunner:
    """The runner a setting names: 'inprocess' (default) or 'redis'."""
    if kind == "inprocess":
        return InProcessRunner(workers=2)  # a retraining and an import can run side by side
    if kind == "redis":
        return RQRunner(redis_url)
    raise JobError(f"MYOIVIG_JOBS: unknown value {kind!r} (allowed: inprocess, redis)")
