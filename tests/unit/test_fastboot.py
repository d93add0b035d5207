"""compose/fastboot.py without a JVM: the template copy writes a node's own ids, and the class archive's
life cycle (record a list, promote it, map the archive) is decided from the files next to the jars."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose import fastboot
from compose.config import parse_properties


@pytest.fixture
def jdk(tmp_path) -> str:
    java = tmp_path / "jdk" / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text("")
    (tmp_path / "jdk" / "release").write_text('JAVA_VERSION="17.0.15"\n')
    return str(java)


@pytest.fixture
def lib(tmp_path) -> Path:
    path = tmp_path / "kafka" / "lib"
    path.mkdir(parents=True)
    return path


def test_a_copy_of_the_template_names_its_cluster_node_and_a_fresh_log_dir_id(tmp_path):
    template = tmp_path / "template"
    (template / fastboot.METADATA_DIR).mkdir(parents=True)
    (template / fastboot.METADATA_DIR / "00000000000000000000-0000000000.checkpoint").write_bytes(b"bootstrap")
    one, two = tmp_path / "n1" / "data", tmp_path / "n2" / "data"
    assert fastboot.format_from_template(template, one, "clusterAAAAAAAAAAAAAAA", 1)
    assert fastboot.format_from_template(template, two, "clusterAAAAAAAAAAAAAAA", 2)
    metas = [parse_properties((d / fastboot.META).read_text()) for d in (one, two)]
    assert [m["node.id"] for m in metas] == ["1", "2"]
    assert {m["cluster.id"] for m in metas} == {"clusterAAAAAAAAAAAAAAA"} and {m["version"] for m in metas} == {"1"}
    assert metas[0]["directory.id"] != metas[1]["directory.id"] and len(metas[0]["directory.id"]) == 22
    assert (one / fastboot.METADATA_DIR / "00000000000000000000-0000000000.checkpoint").read_bytes() == b"bootstrap"


def test_a_formatted_dir_is_left_alone_like_ignore_formatted(tmp_path):
    template = tmp_path / "template"
    (template / fastboot.METADATA_DIR).mkdir(parents=True)
    data = tmp_path / "data"
    assert fastboot.format_from_template(template, data, "first-cluster-id-aaaaa", 1)
    before = (data / fastboot.META).read_text()
    assert not fastboot.format_from_template(template, data, "other-cluster-id-bbbbb", 1)
    assert (data / fastboot.META).read_text() == before


def test_without_a_list_the_broker_records_one_and_a_short_list_is_not_used(jdk, lib):
    flags = fastboot.class_sharing_flags(jdk, lib)
    assert len(flags) == 1 and flags[0].startswith(f"-XX:DumpLoadedClassList={lib}/broker-")
    recording = Path(flags[0].partition("=")[2])
    recording.write_text("java/lang/Object id: 0\n" * 10)  # a broker that died early
    again = fastboot.class_sharing_flags(jdk, lib)
    assert again[0].startswith("-XX:DumpLoadedClassList=") and not list(lib.glob("*.classlist"))


def test_a_recorded_list_is_promoted_without_its_unfinished_line(jdk, lib, monkeypatch):
    recording = Path(fastboot.class_sharing_flags(jdk, lib)[0].partition("=")[2])
    recording.write_text("".join(f"a/C{i} id: {i}\n" for i in range(fastboot.MIN_CLASSES)) + "a/Half")
    dumped = []
    monkeypatch.setattr(fastboot, "_dump_archive", lambda java, lib, classlist, archive, failed: dumped.append(
        classlist.read_text()) or archive.write_text("archive") or True)
    flags = fastboot.class_sharing_flags(jdk, lib)
    archive = next(lib.glob("broker-*.jsa"))
    assert flags == [f"-XX:SharedArchiveFile={archive}", "-Xshare:auto"]
    assert dumped[0].count("\n") == fastboot.MIN_CLASSES and "a/Half" not in dumped[0]
    assert not recording.exists()
    assert fastboot.class_sharing_flags(jdk, lib) == flags and len(dumped) == 1  # made once, then mapped


def test_after_a_failed_dump_no_flags_and_no_retry(jdk, lib):
    tag = fastboot._java_tag(jdk)
    (lib / f"broker-{tag}.jsa.failed").write_text("java -Xshare:dump ...: error")
    assert fastboot.class_sharing_flags(jdk, lib) == []


def test_fast_boot_can_be_turned_off(monkeypatch):
    for value, on in (("0", False), ("off", False), ("1", True), ("", True)):
        monkeypatch.setenv("KAFKALAB_FAST_BOOT", value)
        assert fastboot.enabled() is on
