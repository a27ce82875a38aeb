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
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from enum import StrEnum
from typing import Any, Protocol


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


class JobRunner(Protocol):
    def submit(
        self,
        func: Callable[..., Any],
        *args: Any,
        description: str = "",
        cpu_bound: bool = False,
    ) -> JobHandle: ...

    def shutdown(self) -> None: ...


class _FutureHandle:
    def __init__(self, job_id: str, future: Future[Any]) -> None:
        self._id = job_id
        self._future = future

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
    jobs)."""

    def __init__(self, workers: int = 1) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="myoivig-job")
        self._lock = threading.Lock()
        self._count = 0

    def submit(
        self,
        func: Callable[..., Any],
        *args: Any,
        description: str = "",
        cpu_bound: bool = False,
    ) -> JobHandle:
        with self._lock:
            self._count += 1
            job_id = f"local-{self._count}"
        if not cpu_bound:
            return _FutureHandle(job_id, self._pool.submit(func, *args))
        process = _worker_process()
        try:
            return _FutureHandle(job_id, process.submit(func, *args))
        except BrokenProcessPool:  # the worker died (e.g. killed): start another once
            return _FutureHandle(job_id, _worker_process(process).submit(func, *args))

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

    def shutdown(self) -> None:
        self.connection.close()


def runner_for(kind: str, redis_url: str = "redis://127.0.0.1:6379/0") -> JobRunner:
    """The runner a setting names: 'inprocess' (default) or 'redis'."""
    if kind == "inprocess":
        return InProcessRunner()
    if kind == "redis":
        return RQRunner(redis_url)
    raise JobError(f"MYOIVIG_JOBS: unknown value {kind!r} (allowed: inprocess, redis)")
