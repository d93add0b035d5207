"""The private broker's throwaway dirs: named per process, never seen without their owner, and the orphan
sweep leaves alone what a live lab (in any process) may still be making or using. No JVM needed."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time

import pytest

from scenarios.worlds import servers


@pytest.fixture
def tmp_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("KAFKALAB_HOME", str(tmp_path / "home"))  # the launcher's lock file
    return tmp_path


def test_a_private_dir_is_named_for_this_process_and_has_its_owner_from_the_start(tmp_dir):
    root = servers._own_dir()
    assert root.parent == tmp_dir and root.name.startswith(servers.own_dir_prefix())
    assert (root / servers.OWNER_FILE).read_text().strip() == str(os.getpid())
    assert [p.name for p in tmp_dir.iterdir() if p.name.startswith(".")] == []  # no staging dir left


def test_the_sweep_removes_only_dirs_of_dead_labs_and_old_ownerless_ones(tmp_dir):
    finished = subprocess.Popen(["true"])
    finished.wait()

    def make(name: str, owner: int | None, age_s: float = 0.0):
        root = tmp_dir / f"{servers.DIR_PREFIX}{name}"
        root.mkdir()
        if owner is not None:
            (root / servers.OWNER_FILE).write_text(f"{owner}\n")
        stamp = time.time() - age_s
        os.utime(root, (stamp, stamp))
        return root

    alive, dead = make("alive", os.getpid()), make("dead", finished.pid)
    starting, stale = make("starting", None), make("stale", None, age_s=servers.OWNERLESS_GRACE_S + 5)
    servers._stop_orphans()
    assert alive.exists() and starting.exists()
    assert not dead.exists() and not stale.exists()
