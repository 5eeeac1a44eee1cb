"""Every service's OpenAPI document, fuzzed (schemathesis, bounded and derandomized so CI is repeatable): no 5xx,
and every answer as documented — status code, content type, body schema (problem details included)."""

from __future__ import annotations

import asyncio

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bancheng_services.stack import Stack
from bancheng_services.testing import auth

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]
EXAMPLES = settings(max_examples=20, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck),
                    phases=[Phase.explicit, Phase.generate])


async def _fuzz(stack: Stack, name: str) -> None:
    """Each operation of a service with a bounded, repeatable set of generated requests; every failure listed."""
    schema = schemathesis.openapi.from_url(f"{stack.procs[name].url}/openapi.json")
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @EXAMPLES
        def probe(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=auth("admin"), checks=CHECKS)

        try:
            await asyncio.to_thread(probe)  # requests is synchronous: off the loop the broker fixture runs on
        except (Exception, BaseExceptionGroup) as exc:  # the failing example and what it broke, reported below
            lines = [ln for ln in str(exc).splitlines() if ln.strip()]
            failures.append(f"{operation.label}: " + " | ".join(lines[:12])[:1500])
    assert failures == [], "\n\n".join(failures)


@pytest.mark.timeout(900)
@pytest.mark.parametrize("name", ["intake", "triage", "sla", "oversight"])
async def test_no_5xx_and_every_answer_as_documented(probed_stack: Stack, name: str) -> None:
    await _fuzz(probed_stack, name)
