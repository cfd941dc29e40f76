"""The read endpoints against their own OpenAPI schema: any request the schema allows gets
an answer the schema documents, never a server error (schemathesis, bounded examples)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from patronage.api.app import create_app
from patronage.bootstrap import Patronage
from tests.support.projections import catch_up_all, seed_many

STAFF = {"Authorization": "Bearer staff-key-for-tests"}


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_read_endpoints_answer_as_documented(patronage: Patronage) -> None:
    seed_many(patronage.ledger, supporters=5, gifts_each=2)
    catch_up_all(patronage)
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(patronage))
    operations = [
        result.ok() for result in schema.include(path_regex="^/(staff|ticker)").get_all_operations()
    ]
    assert len(operations) == 9
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
        def answers_as_documented(case: schemathesis.Case) -> None:
            # A date range that ends before it starts is schema-valid and rightly refused.
            case.call_and_validate(headers=STAFF, excluded_checks=[positive_data_acceptance])

        answers_as_documented()
