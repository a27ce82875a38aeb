"""`work_while`: the child's result or its error comes back; the child writes to the store
while this process works; a failure here stops the child and leaves nothing half-written."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from myoivig.domain import records as r
from myoivig.io.problems import ImportRejectedError, Problem
from myoivig.side_by_side import ChildFailedError, work_while
from myoivig.store import Store, repository
from myoivig.store.tables import SiteRow


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(f"sqlite:///{tmp_path / 'side.db'}")
    s.upgrade()
    return s


def _sites(store: Store) -> int:
    with store.session() as session:
        return int(session.scalar(select(func.count()).select_from(SiteRow)) or 0)


def test_the_child_writes_while_this_process_works(store: Store) -> None:
    parent = os.getpid()
    seen: list[int] = []

    def work() -> int:
        with store.unit_of_work("test") as session:
            repository.add_site(session, r.Site(site_code="S1", name="Site one"))
        return os.getpid()

    child = work_while(store, work, lambda: seen.append(os.getpid()))
    assert child != parent and seen == [parent]
    assert _sites(store) == 1  # committed by the child, read here with the parent's pool


def test_the_childs_error_is_raised_here_with_its_details(store: Store) -> None:
    def work() -> None:
        raise ImportRejectedError([Problem("patients", 3, "sex", "Q", "not a sex code")])

    with pytest.raises(ImportRejectedError) as info:
        work_while(store, work, lambda: None)
    assert info.value.problems[0].value == "Q"


def test_a_failure_here_stops_the_child_and_nothing_is_written(store: Store) -> None:
    def slow_work() -> None:
        with store.unit_of_work("test") as session:
            repository.add_site(session, r.Site(site_code="S2", name="Site two"))
            session.flush()
            time.sleep(30)  # stopped long before it would commit

    def failing() -> None:
        time.sleep(0.5)
        raise RuntimeError("the web stack failed to import")

    started = time.monotonic()
    with pytest.raises(RuntimeError, match="web stack"):
        work_while(store, slow_work, failing)
    assert time.monotonic() - started < 10
    assert _sites(store) == 0


class _TwoPartError(ValueError):
    """Pickles, but cannot be rebuilt from its arguments (like some of the domain's errors)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")


def test_an_error_that_cannot_be_rebuilt_comes_back_as_its_words(store: Store) -> None:
    def work() -> None:
        raise _TwoPartError("rate_steps", "above the maximum")

    with pytest.raises(ChildFailedError, match=r"_TwoPartError: rate_steps: above the maximum"):
        work_while(store, work, lambda: None)


def test_an_in_memory_database_is_filled_in_this_process() -> None:
    memory = Store("sqlite://")
    memory.upgrade()
    parent = os.getpid()

    def work() -> int:
        with memory.unit_of_work("test") as session:
            repository.add_site(session, r.Site(site_code="M1", name="Memory site"))
        return os.getpid()

    assert work_while(memory, work, lambda: None) == parent
    assert _sites(memory) == 1
