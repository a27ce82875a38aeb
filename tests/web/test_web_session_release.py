"""No route holds a database connection while waiting for a request thread.

A route's read session (`web.auth.read_session`) is closed when the route function returns,
but FastAPI checks a returned value against the route's response model before that, in another
request thread. With every request thread waiting for a connection and every connection held by
a finished route waiting for a thread, the process stood still until the pool's 30 s timeout
(50 users on the API patient list). So a synchronous route that reads through the read session
and has a response model must return a `Response` itself (the model then only documents it).
Generated from the route table, so a new route cannot be forgotten."""

from __future__ import annotations

import inspect
import typing

from fastapi import FastAPI, Response
from fastapi.routing import APIRoute

from myoivig.web.auth import read_session


def _uses_read_session(route: APIRoute) -> bool:
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        if dependant.call is read_session:
            return True
        pending += dependant.dependencies
    return False


def _api_routes(app: FastAPI) -> list[tuple[str, APIRoute]]:
    """(path, route) of every FastAPI route, including those of included routers."""
    found: list[tuple[str, APIRoute]] = []
    for route in app.routes:
        if hasattr(route, "effective_route_contexts"):  # FastAPI >= 0.16x keeps routers nested
            found += [
                (context.path, context.original_route)
                for context in route.effective_route_contexts()
                if isinstance(context.original_route, APIRoute)
            ]
        elif isinstance(route, APIRoute):
            found.append((route.path, route))
    return found


def test_routes_with_a_read_session_answer_in_their_own_thread(web_app: FastAPI) -> None:
    checked, offending = 0, []
    for path, route in _api_routes(web_app):
        if not _uses_read_session(route):
            continue
        checked += 1
        if inspect.iscoroutinefunction(route.endpoint) or route.response_field is None:
            continue
        returns = typing.get_type_hints(route.endpoint).get("return")
        if not (isinstance(returns, type) and issubclass(returns, Response)):
            offending.append(f"{sorted(route.methods)} {path} -> {returns}")
    assert checked >= 15  # the patient pages, forms, audit, research and the API reads
    assert not offending, offending


def test_the_patient_list_api_still_documents_its_answer(web_app: FastAPI) -> None:
    schema = web_app.openapi()
    answer = schema["paths"]["/api/v1/patients"]["get"]["responses"]["200"]
    assert answer["content"]["application/json"]["schema"]["type"] == "object"
