"""Starting the web application: the first admin account and the uvicorn server."""

from __future__ import annotations

import os
from collections.abc import Callable

import uvicorn

from myoivig.accounts.roles import Role
from myoivig.accounts.service import add_user, generate_password, user_count
from myoivig.store import Store
from myoivig.store.store import URL_ENV
from myoivig.web.app import create_app
from myoivig.web.settings import WARM_PAGES_ENV, WebSettings

FIRST_ADMIN = "admin"
WORKER_HEALTHCHECK_S = 60
KEEP_ALIVE_S = 30
"""Idle keep-alive connections are closed after this long (uvicorn's default is 5 s). A client
that sends its next request on a connection just as the server closes it gets a closed
connection instead of an answer; browsers keep idle connections for longer than 5 s, and the
load benchmarks' users (two connections each, one idle while the other works) hit exactly that
race. Clients should let idle connections go before this (the benchmarks: after 20 s)."""


def ensure_first_admin(store: Store, actor: str) -> tuple[str, str] | None:
    """With no account yet, create `admin` with a generated password and return (name,
    password) for the caller to show once; otherwise None. The password is never logged, and
    it is one-time: the account must change it at its first sign-in."""
    if user_count(store) > 0:
        return None
    password = generate_password()
    add_user(store, actor, FIRST_ADMIN, Role.ADMIN.value, [], password, must_change_password=True)
    return FIRST_ADMIN, password


def serve(
    store: Store,
    settings: WebSettings,
    host: str,
    port: int,
    announce: Callable[[str], None],
    workers: int = 1,
) -> None:
    """Serve the application until interrupted, in one process or in `workers` processes (each
    builds its own application from the environment, pointed at this store's database).
    Patient pages are built ahead of their readers (`web.page_warming`) unless
    MYOIVIG_WARM_PAGES says not to."""
    if WARM_PAGES_ENV not in os.environ:
        os.environ[WARM_PAGES_ENV] = "true"  # the workers read it from here
        settings = settings.model_copy(update={"warm_pages": True})
    if workers == 1:
        app = create_app(settings, store)
        announce(f"myoivig is running at http://{host}:{port}/ (Ctrl+C stops it)")
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            timeout_keep_alive=KEEP_ALIVE_S,
        )
        return
    store.require_current()  # refuse a wrong database here, once, not in every worker
    os.environ[URL_ENV] = store.url  # the workers are new processes: they read it from here
    announce(f"myoivig is running at http://{host}:{port}/ with {workers} worker processes")
    uvicorn.run(
        "myoivig.web.app:app_from_environment",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        timeout_keep_alive=KEEP_ALIVE_S,
        # uvicorn kills a worker whose health-check thread does not answer within this time;
        # at the default 5 s a busy worker on a loaded machine (the thread waits for the
        # interpreter lock) was killed mid-request and lost its caches.
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
    )


def start_clinic(store: Store, host: str, port: int, announce: Callable[[str], None]) -> None:
    """`myoivig run`: the first admin's one-time password when there is no account, then serve."""
    first = ensure_first_admin(store, "myoivig-run")
    announce(f"sign in at http://{host}:{port}/login")
    if first is not None:
        name, password = first
        announce(f"first admin account: {name}, one-time password: {password}")
        announce(
            "(shown only now, and you must change it at the first sign-in; add more users on "
            "the Users page or with `myoivig users add`)"
        )
    serve(store, WebSettings.from_env(database_url=store.url), host, port, announce)
