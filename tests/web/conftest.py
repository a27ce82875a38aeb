"""Fixtures for the web tests: the two-site clinic on each database backend, signed-in clients.

The clinic is built once per test module and backend (building it hashes six passwords with
argon2id); tests that change it use names of their own so they do not disturb each other.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from web_helpers import Clinic, build_clinic, sign_in

from myoivig.store import Store
from myoivig.web.app import create_app
from myoivig.web.settings import WebSettings

PG_ADMIN_URL = os.environ.get(
    "MYOIVIG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture(scope="module", params=("sqlite", "postgresql"))
def clinic_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    """A migrated store holding the two-site clinic, one per backend and test module."""
    name = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('web') / 'clinic.db'}"
    else:
        request.getfixturevalue("postgres_server")  # skips (or fails in CI) without a server
        import psycopg

        name = f"myoivig_web_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(_dsn(PG_ADMIN_URL), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        url = f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    store = Store.from_url(url)
    store.upgrade()
    store.info_clinic = build_clinic(store)  # type: ignore[attr-defined]
    yield store
    store.dispose()
    if name is not None:
        import psycopg

        with psycopg.connect(_dsn(PG_ADMIN_URL), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def clinic(clinic_store: Store) -> Clinic:
    found: Clinic = clinic_store.info_clinic  # type: ignore[attr-defined]
    return found


@pytest.fixture(scope="module")
def web_app(clinic_store: Store) -> FastAPI:
    return create_app(WebSettings(database_url=clinic_store.url), clinic_store)


@pytest.fixture
def client_for(web_app: FastAPI) -> Iterator[Callable[[str | None], TestClient]]:
    """A new client signed in as the named user (None: not signed in)."""
    clients: list[TestClient] = []

    def make(name: str | None) -> TestClient:
        client = TestClient(web_app, base_url="http://127.0.0.1")
        clients.append(client)
        return client if name is None else sign_in(client, name)

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def artifacts() -> Path:
    """Where browser tests leave screenshots (kept after the run, ignored by git)."""
    folder = Path(__file__).parents[2] / "test-artifacts" / "web"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
