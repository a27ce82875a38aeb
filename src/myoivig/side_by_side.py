"""Two jobs at once on two cores: one in a forked child process, one in this process.

`myoivig run` on an empty database loads the demo data (parsing, checking and writing about
30,000 records) and imports the web stack (FastAPI, the templates, the application); both are
CPU-bound Python, so threads would take turns on one core. Forking lets the two run side by
side, and the server still starts only once the data are committed.
"""

from __future__ import annotations

import os
import pickle
import signal
import traceback
from collections.abc import Callable
from typing import TypeVar

from myoivig.store import Store

T = TypeVar("T")


class ChildFailedError(RuntimeError):
    """The child process died without a result (killed, or its error could not be sent)."""


def _read_all(fd: int) -> bytes:
    chunks: list[bytes] = []
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


def _error_payload(error: BaseException) -> bytes:
    """The child's error as the parent will raise it: itself when it survives a pickle round
    trip (an import refusal with its problem list), else its type, words and traceback (some
    exceptions pickle but cannot be rebuilt from their arguments)."""
    try:
        payload = pickle.dumps((False, error))
        pickle.loads(payload)
        return payload
    except Exception:
        words = "".join(traceback.format_exception(error)).rstrip()
        return pickle.dumps((False, ChildFailedError(f"{type(error).__name__}: {error}\n{words}")))


def _child(store: Store, work: Callable[[], T], write_fd: int) -> None:
    status = 0
    try:
        store.engine.dispose(close=False)  # the parent's pooled connections stay the parent's
        try:
            payload = pickle.dumps((True, work()))
        except BaseException as error:
            status = 1
            payload = _error_payload(error)
        with os.fdopen(write_fd, "wb") as pipe:
            pipe.write(payload)
    finally:
        os._exit(status)


def _in_memory(store: Store) -> bool:
    """An in-memory SQLite database lives in one process: a child would fill its own copy."""
    url = store.engine.url
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def work_while(store: Store, work: Callable[[], T], meanwhile: Callable[[], object]) -> T:
    """`work()` (which uses `store`) in a forked child while `meanwhile()` runs here; returns
    the child's result or raises its error here. Without `os.fork`, or for an in-memory
    database, the two run one after the other. If anything here fails or is interrupted before
    the child's result is in, the child is stopped (SIGTERM: its open transaction is rolled
    back, so nothing is half-written) and reaped."""
    if not hasattr(os, "fork") or _in_memory(store):
        done = work()
        meanwhile()
        return done
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _child(store, work, write_fd)
    os.close(write_fd)
    try:
        meanwhile()
        payload = _read_all(read_fd)
    except BaseException:
        os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)
        raise
    finally:
        os.close(read_fd)
    _, status = os.waitpid(pid, 0)
    if not payload:
        raise ChildFailedError(f"the background process stopped without a result ({status=})")
    try:
        ok, value = pickle.loads(payload)
    except Exception as error:
        unreadable = f"the background process's answer could not be read: {error}"
        raise ChildFailedError(unreadable) from error
    if not ok:
        raise value
    result: T = value
    return result
