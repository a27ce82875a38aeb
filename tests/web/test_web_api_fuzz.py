"""API fuzzing (issue 15 item 1): schemathesis generates requests from the OpenAPI document for
every operation, authenticated as each role, and checks that no response is a server error and
that every response matches the document (status code, content type, headers, body schema).

Bounded: EXAMPLES generated cases per operation and role, derandomised so a run is repeatable.
Schemathesis' "schema-valid request rejected" check is left out: the document gives each field's
type and range, not the clinical rules (a known diagnosis, a visit after birth, a plausible
weight) that refuse a well-typed value with 422 and a message naming the field.
"""

from __future__ import annotations

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance
from web_helpers import ROLES_USERS

from myoivig.accounts.service import create_token
from myoivig.store import Store

EXAMPLES = 12


@pytest.mark.parametrize("role", [*ROLES_USERS, None], ids=lambda role: role or "no-token")
def test_api_answers_every_generated_request_without_error_and_as_documented(
    web_app: FastAPI, clinic_store: Store, role: str | None
) -> None:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", web_app)
    headers = {}
    if role is not None:
        token = create_token(clinic_store, "test", ROLES_USERS[role][0])
        headers["Authorization"] = f"Bearer {token}"
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        try:
            check()
        except (Exception, BaseExceptionGroup) as error:  # try every operation, list failures
            failures.append(f"{operation.label} as {role}: {error}")
    assert operations >= 10, "the OpenAPI document lists the API's operations"
    assert not failures, "\n\n".join(failures)
