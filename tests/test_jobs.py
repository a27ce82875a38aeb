"""Background jobs: the in-process runner and the RQ queue on the local Redis server."""

from __future__ import annotations

import os
import time
import uuid

import pytest

from myoivig.jobs import InProcessRunner, JobError, JobState, RQRunner, runner_for


def _wait(handle: object, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while handle.state() in (JobState.QUEUED, JobState.RUNNING):  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, "job did not finish"
        time.sleep(0.01)


def test_in_process_runner_runs_and_reports_failures() -> None:
    runner = InProcessRunner()
    try:
        good = runner.submit(sum, [1, 2, 3])
        bad = runner.submit(int, "not a number")
        _wait(good)
        _wait(bad)
        assert good.state() is JobState.FINISHED and good.result() == 6
        assert bad.state() is JobState.FAILED
        with pytest.raises(JobError, match="has not finished"):
            bad.result()
    finally:
        runner.shutdown()


def test_cpu_bound_jobs_run_in_a_worker_process_that_persists() -> None:
    runner = InProcessRunner()
    try:
        first = runner.submit(os.getpid, cpu_bound=True)
        bad = runner.submit(int, "not a number", cpu_bound=True)
        _wait(first, 120.0)  # the first job waits for the worker process to start
        _wait(bad)
        second = runner.submit(os.getpid, cpu_bound=True)
        _wait(second)
        assert first.result() != os.getpid()  # not this process, so not its interpreter lock
        assert second.result() == first.result()  # the same worker: its caches persist
        assert bad.state() is JobState.FAILED
    finally:
        runner.shutdown()


def test_unknown_runner_and_unreachable_redis_are_clear_errors() -> None:
    with pytest.raises(JobError, match="MYOIVIG_JOBS"):
        runner_for("celery")
    with pytest.raises(JobError, match="cannot reach Redis"):
        RQRunner("redis://127.0.0.1:1/0")


def test_rq_runner_through_the_local_redis() -> None:
    from rq import SimpleWorker

    try:
        runner = RQRunner("redis://127.0.0.1:6379/15", queue=f"test-{uuid.uuid4().hex[:8]}")
    except JobError as exc:  # the suite needs Redis (.ci/run starts it); say so plainly
        pytest.fail(f"local Redis needed: {exc}")
    try:
        handle = runner.submit(sum, [4, 5], description="sum")
        assert handle.state() is JobState.QUEUED
        SimpleWorker([runner.queue], connection=runner.connection).work(burst=True)
        assert handle.state() is JobState.FINISHED
        assert handle.result() == 9
    finally:
        runner.queue.delete(delete_jobs=True)
        runner.shutdown()


def _reports_twice(total: int) -> int:
    """A job that reports progress (module level: RQ imports it by name)."""
    from myoivig.jobs.progress import report

    report("count", total // 2, total)
    report("count", total, total)
    return total


def _fails(text: str) -> int:
    return int(text)


def test_in_process_jobs_report_progress_and_are_found_by_id() -> None:
    runner = InProcessRunner()
    try:
        handle = runner.submit(_reports_twice, 10)
        _wait(handle)
        found = runner.handle(handle.id)
        assert found is handle
        progress = found.progress()
        assert progress is not None and (progress.phase, progress.done, progress.total) == (
            "count",
            10,
            10,
        )
        assert progress.percent == 100
        assert runner.handle("local-0-nothing") is None
        failed = runner.submit(int, "x")
        _wait(failed)
        assert "invalid literal" in (failed.error() or "")
        assert handle.error() is None
    finally:
        runner.shutdown()


def test_rq_jobs_report_progress_and_are_found_by_id_from_another_runner() -> None:
    from rq import SimpleWorker

    queue = f"test-{uuid.uuid4().hex[:8]}"
    runner = RQRunner("redis://127.0.0.1:6379/15", queue=queue)
    other = RQRunner("redis://127.0.0.1:6379/15", queue=queue)  # e.g. another server process
    try:
        handle = runner.submit(_reports_twice, 8)
        failing = runner.submit(_fails, "x")
        SimpleWorker([runner.queue], connection=runner.connection).work(burst=True)
        found = other.handle(handle.id)
        assert found is not None and found.state() is JobState.FINISHED and found.result() == 8
        progress = found.progress()
        assert progress is not None and (progress.done, progress.total) == (8, 8)
        assert other.handle("no-such-job") is None
        assert "invalid literal" in (other.handle(failing.id).error() or "")  # type: ignore[union-attr]
    finally:
        runner.queue.delete(delete_jobs=True)
        runner.shutdown()
        other.shutdown()
