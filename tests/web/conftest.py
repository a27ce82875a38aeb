"""Fixtures for the web tests: the two-site clinic on each database backend, signed-in clients."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from web_clinic_data import PASSWORD, Clinic, build_clinic

from myoivig.store import Store
from myoivig.web.app import create_app
from myoivig.web.settings import WebSettings

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def clinic(store: Store) -> Clinic:
    return build_clinic(store)


@pytest.fixture
def web_app(store: Store, clinic: Clinic) -> FastAPI:
    return create_app(WebSettings(database_url=store.url), store)


def csrf_of(html: str) -> str:
    found = CSRF_FIELD.search(html)
    assert found, "page has no CSRF field"
    return found.group(1)


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> TestClient:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"name": name, "password": password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client


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
