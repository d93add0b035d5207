"""The saga machine must catch a consumer that forgets its idempotency check.

``EventServiceSkippingDedup`` is a test-only wiring: it still records each event id as processed,
but applies the event even when the id was processed before. A redelivered PaymentCompleted (after
a process dies between publishing and committing, or after an outbox is published twice) then
reserves stock a second time. The machine has to find such a schedule on its own and fail with a
duplicate-effect invariant.
"""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from services.events import Event, encode
from services.runner import EventService

from .saga_invariants import DUPLICATE
from .saga_support import replay
from .test_saga_machine import SagaMachine


class EventServiceSkippingDedup(EventService):
    """The planted bug: the processed-id bookkeeping is kept, the check that uses it is gone."""

    def _apply(self, event: Event) -> None:
        with self.store.transaction() as tx:
            if not tx.is_processed(self.group_id, event.event_id):
                tx.mark_processed(self.group_id, event.event_id)
            for caused in self.handler.handle(tx, event, self.clock.now_ms()):
                tx.add_outbox(*encode(caused, self.topics))


class SagaMachineSkippingDedup(SagaMachine):
    service_class = EventServiceSkippingDedup
    last_script: str | None = None  # the script of the latest run: Hypothesis replays the failure last

    def teardown(self) -> None:
        try:
            super().teardown()
        finally:
            if self.lab is not None:
                SagaMachineSkippingDedup.last_script = self.lab.dumps()


def test_the_machine_catches_an_event_applied_twice_and_its_script_replays_it() -> None:
    bounded = settings(
        max_examples=300,  # it is found within a few dozen; the bound keeps a regression from hanging
        stateful_step_count=40,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],  # shrinking is for people; here it would only cost time
        suppress_health_check=[HealthCheck.too_slow],
        report_multiple_bugs=False,
    )
    with pytest.raises(AssertionError) as caught:
        run_state_machine_as_test(SagaMachineSkippingDedup, settings=bounded)
    assert DUPLICATE in str(caught.value), f"failed, but not on a duplicate effect: {caught.value}"

    script = json.loads(SagaMachineSkippingDedup.last_script)
    with pytest.raises(AssertionError, match=re.escape(DUPLICATE)):
        replay(script, service_class=EventServiceSkippingDedup)
    # The same schedule is harmless to the real services: the bug, not the schedule, broke the saga.
    replay(script)
