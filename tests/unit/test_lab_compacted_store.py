"""compacted-store on the simulator: what the log holds after each cleaning, what a restart rebuilds."""

from __future__ import annotations

import pytest

from scenarios import session
from scenarios.engine.knobs import KnobError


def _calls(obs, action):
    return [c["result"] for c in obs.calls if c["action"] == action]


def test_delete_policy_loses_customers_at_restart_and_takes_keyless_records():
    outcome = session.check("compacted-store", {})
    obs = outcome.last
    (restart,) = _calls(obs, "restart")
    assert restart["lost"] == ["cust_0", "cust_2", "cust_3"] and restart["log"]["log_start"] > 0
    assert "offset" in _calls(obs, "put_keyless")[0]
    failed = [c for c in outcome.checks if not c.passed]
    assert failed[0].name.startswith("a restart keeps") and 'cleanup_policy = "compact"' in failed[0].hint


def test_compaction_keeps_one_record_per_key_at_its_offset_then_drops_the_tombstone():
    outcome = session.check("compacted-store", {"cleanup_policy": "compact"})
    assert outcome.passed, [c for c in outcome.checks if not c.passed]
    obs = outcome.last
    cleaned, later = _calls(obs, "wait_log")
    assert [r[0] for r in cleaned["records"]] == [5, 6, 7, 8, 9, 10] and cleaned["gaps"] == [0, 1, 2, 3, 4]
    assert cleaned["records"][4] == [9, "cust_4", None]  # the tombstone, kept through the first cleaning
    assert all(r[2] is not None for r in later["records"]) and later["log_start"] == 0  # compaction never moves it
    assert "compacted topic" in _calls(obs, "put_keyless")[0]["refused"]
    before, after = (r["profiles"] for r in _calls(obs, "serve"))
    assert before == after and sorted(after) == ["cust_0", "cust_1", "cust_2", "cust_3"]
    assert after["cust_0"]["version"] == 3 and after["cust_2"]["version"] == 2


def test_a_long_min_compaction_lag_keeps_the_cleaner_away_and_the_hint_says_so():
    outcome = session.check("compacted-store", {"cleanup_policy": "compact", "min_compaction_lag_ms": 60_000})
    failed = {c.name: c for c in outcome.checks if not c.passed}
    name = "after cleaning: one record per customer, at its original offset, with gaps"
    assert name in failed and "min.compaction.lag.ms" in failed[name].hint
    assert "a restart keeps every customer at its latest profile" not in failed  # nothing lost, just not cleaned


def test_bad_settings_are_one_line_naming_the_knob():
    with pytest.raises(KnobError, match="cleanup_policy"):
        session.check("compacted-store", {"cleanup_policy": "compacted"})
    with pytest.raises(KnobError, match="delete_retention_ms = 60000 is refused"):
        session.check("compacted-store", {"delete_retention_ms": 60_000})
