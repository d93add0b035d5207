"""The tuning grid spec and how ``kafkalab tune`` reads it from the command line."""

from __future__ import annotations

import argparse

import pytest

from scenarios.cli.tune import register, spec_from_args
from scenarios.tuning.grid import GridSpec, Knobs, TuningError, build, default_grid


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    return parser.parse_args(["tune", *argv])


def test_default_grid_varies_one_knob_at_a_time_from_librdkafka_defaults() -> None:
    cells = default_grid().cells()
    assert cells[0].name == "baseline" and cells[0].knobs == Knobs()
    assert Knobs().librdkafka() == {"linger.ms": 5, "batch.size": 1_000_000, "batch.num.messages": 10_000,
                                    "compression.type": "none", "acks": "all", "enable.idempotence": False}
    assert [c.name for c in cells][1:4] == ["linger.ms=0", "linger.ms=20", "linger.ms=100"]
    assert all(len(c.changed) == 1 for c in cells[1:])
    assert {c.knobs.compression for c in cells} == {"none", "gzip", "snappy", "lz4", "zstd"}
    assert len(cells) == 12


def test_each_mode_skips_values_equal_to_the_base() -> None:
    cells = GridSpec(vary={"linger_ms": [5, 50]}).cells()
    assert [c.name for c in cells] == ["baseline", "linger.ms=50"]


def test_product_mode_skips_and_lists_combinations_librdkafka_refuses() -> None:
    spec = GridSpec(vary={"acks": ["1", "all"], "idempotence": [False, True]}, combine="product")
    assert [c.name for c in spec.cells()] == ["acks=1", "baseline", "enable.idempotence=true"]
    assert spec.skipped() == ["acks=1 enable.idempotence=true: acks=1 conflicts with enable.idempotence=true, "
                              "which needs acks=all"]


@pytest.mark.parametrize(("vary", "message"), [
    ({"linger_ms": [-1]}, "linger.ms: Input should be greater than or equal to 0"),
    ({"compression": ["lz5"]}, "compression.type: Input should be 'none', 'gzip', 'snappy', 'lz4' or 'zstd'"),
    ({"colour": ["red"]}, "'colour' is not a knob"),
])
def test_a_bad_grid_is_one_line_naming_the_setting(vary: dict, message: str) -> None:
    with pytest.raises(TuningError) as caught:
        build(GridSpec, vary=vary)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_idempotence_with_acks_1_is_refused_when_the_base_is_built() -> None:
    with pytest.raises(TuningError, match="acks=1 conflicts with enable.idempotence=true"):
        build(Knobs, acks="1", idempotence=True)


def test_java_settings_drop_batch_num_messages_and_spell_booleans_as_java_does() -> None:
    java = Knobs(linger_ms=20, idempotence=True).java()
    assert java == {"linger.ms": "20", "batch.size": "1000000", "compression.type": "none", "acks": "all",
                    "enable.idempotence": "true"}


def test_command_line_vary_set_and_rate_zero_build_the_grid() -> None:
    spec = spec_from_args(_args("--vary", "compression.type=none,lz4", "--set", "linger.ms=20", "--rate", "0",
                                "--records", "500", "--runs", "2"))
    assert [c.name for c in spec.cells()] == ["baseline", "compression.type=lz4"]
    assert spec.base.linger_ms == 20 and spec.runs == 2
    assert spec.workload.rate is None and spec.workload.records == 500


def test_command_line_rejects_a_malformed_pair() -> None:
    with pytest.raises(TuningError, match="write KNOB=VALUE"):
        spec_from_args(_args("--set", "linger.ms"))


def test_a_toml_grid_file_is_a_declarative_spec(tmp_path) -> None:
    grid = tmp_path / "grid.toml"
    grid.write_text('combine = "product"\nruns = 1\n[base]\n"linger.ms" = 10\n[vary]\n"linger.ms" = [0, 10]\n'
                    'compression = ["none", "zstd"]\n[workload]\nrate = 2000\nkeys = 0\n')
    spec = spec_from_args(_args("--grid", str(grid)))
    assert len(spec.cells()) == 4 and spec.workload.keys == 0 and spec.base.linger_ms == 10
