"""Fixtures for the review tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from review_fake_eutils import FakeArticle, FakeEutils, make_handler

from myoivig.store import Store


@pytest.fixture
def cli_store(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    """The parametrised store, used by the CLI (MYOIVIG_DATABASE_URL) as well."""
    monkeypatch.setenv("MYOIVIG_DATABASE_URL", store.url)
    monkeypatch.setenv("MYOIVIG_ACTOR", "lead")
    monkeypatch.chdir(tmp_path)
    return store


@pytest.fixture
def fake_eutils() -> Iterator[FakeEutils]:
    articles = [
        FakeArticle(
            pmid=str(1_000_000 + i),
            published=date(1985 + (i % 27), 1 + (i % 12), 1 + (i % 28)),
            title=f"Intravenous immunoglobulin in myositis study {i}",
        )
        for i in range(120)
    ]
    state = FakeEutils(articles=articles)
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}/entrez/eutils/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary SQLite store as the configured database, an actor, and tmp_path as cwd."""
    monkeypatch.setenv("MYOIVIG_DATABASE_URL", f"sqlite:///{tmp_path / 'review.db'}")
    monkeypatch.setenv("MYOIVIG_ACTOR", "tester")
    monkeypatch.chdir(tmp_path)
    return tmp_path
