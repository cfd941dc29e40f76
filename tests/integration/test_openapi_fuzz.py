"""Every endpoint against its own OpenAPI schema: any request the schema allows gets an answer
the schema documents, in the documented shape, never an undocumented server error
(schemathesis, bounded examples)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import positive_data_acceptance

from patronage.api.app import create_app
from patronage.bootstrap import Patronage
from tests.support.projections import catch_up_all, seed_many

STAFF = {"Authorization": "Bearer staff-key-for-tests"}
# Without a Stripe key these answer a documented 503 (localstripe tests cover the rest).
NEEDS_STRIPE = {"/checkout", "/checkout/payments", "/checkout/confirmations"}


def fuzz(operation: Any, excluded: list[Callable[..., Any]]) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
    def answers_as_documented(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=STAFF, excluded_checks=excluded)

    answers_as_documented()


def check_operations(patronage: Patronage, method: str) -> set[str]:
    """Fuzz every operation of `method`; the paths covered."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(patronage))
    operations = [result.ok() for result in schema.include(method=method).get_all_operations()]
    for operation in operations:
        # Schema-valid requests a rule rightly refuses (a date range that ends before it
        # starts, an unsupported currency) are fine: positive acceptance is not checked.
        excluded: list[Callable[..., Any]] = [positive_data_acceptance]
        if operation.path in NEEDS_STRIPE:
            excluded.append(not_a_server_error)
        fuzz(operation, excluded)
    return {operation.path for operation in operations}


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_read_endpoints_answer_as_documented(patronage: Patronage) -> None:
    seed_many(patronage.ledger, supporters=5, gifts_each=2)
    catch_up_all(patronage)
    paths = check_operations(patronage, "GET")
    assert {
        "/staff/supporters",
        "/staff/inbox",
        "/ticker/{campaign}",
        "/healthz",
        "/readyz",
        "/staff/projections",
    } <= paths


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_write_endpoints_answer_as_documented(patronage: Patronage) -> None:
    paths = check_operations(patronage, "POST")
    assert {"/asks", "/checkout/quote", "/webhooks/stripe", "/staff/receipts/single",
            "/staff/projections/{view}/skip"} <= paths  # fmt: skip
