"""The order API fuzzed from its own OpenAPI document: schemathesis turns the document into Hypothesis
strategies of requests, valid ones and invalid ones, sent in process over ASGI. No request gets a 5xx,
a refusal (4xx) writes nothing, an acceptance writes exactly one order and its one OrderCreated, and
every answer matches the document (status, content type, schema).

Schemathesis is used as a library (``schema.as_strategy``) under the project's Hypothesis profiles,
not as a pytest plugin: the plugin is off (``-p no:schemathesis`` in pyproject.toml) because loading
it costs every pytest process seconds.
"""

from __future__ import annotations

from collections import Counter

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation import GenerationMode

from adapters.memory_store import MemoryStore
from scenarios.web.app import create_app
from scenarios.web.endpoints import OrderApiEndpoints
from services.ids import SeededIds
from services.order_api import OrderApi
from tests.unit.test_http_app import FixedClock, written

STORE = MemoryStore()
APP = create_app(OrderApiEndpoints(OrderApi(STORE, FixedClock(), SeededIds(11))))
SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", APP)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
REQUESTS = st.one_of(
    SCHEMA.as_strategy(GenerationMode.POSITIVE),
    SCHEMA["/orders"]["POST"].as_strategy(GenerationMode.NEGATIVE),
    SCHEMA["/orders/{orderId}"]["GET"].as_strategy(GenerationMode.NEGATIVE),
)


# Each request costs ~25 ms (generation, the ASGI round trip, validation): half the profile's count.
EXAMPLES = max(settings.default.max_examples // 2, 50)


def test_no_request_is_a_5xx_and_a_refused_one_writes_nothing() -> None:
    statuses: Counter[int] = Counter()

    @settings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(case=REQUESTS)
    def property_holds(case: schemathesis.Case) -> None:
        before = written(STORE)
        response = case.call()
        after = written(STORE)
        assert response.status_code < 500, response.text
        if response.status_code == 201:
            assert after == (before[0] + 1, before[1] + 1)
        else:
            assert after == before, f"{case.method} {case.path} -> {response.status_code} wrote {before} -> {after}"
        case.validate_response(response, checks=CHECKS)
        statuses[response.status_code] += 1

    property_holds()
    assert statuses[201] and statuses[400], statuses  # the requests reached both sides of the write
