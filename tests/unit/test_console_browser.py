"""The console in a real headless Chromium over the simulated shop (the same flows run on the real
broker in tests/kafka/test_console_kafka.py)."""

from __future__ import annotations

import pytest

from scenarios import labs, learner
from scenarios.cli.console import LearnerLab, lab_world
from scenarios.console.serve import ConsoleStack
from scenarios.settings import Settings
from tests import console_flow


@pytest.fixture(scope="module")
def browser():
    with console_flow.chromium() as b:
        yield b


def test_console_follows_the_seed_orders_and_redrives_until_the_loop_guard_refuses(browser, tmp_path) -> None:
    settings = Settings.resolve({"lab_dir": str(tmp_path)})
    stack = ConsoleStack("sim", settings, seed=3, speed=5, max_redrives=console_flow.MAX_REDRIVES)
    try:
        console_flow.seed_orders_flow(browser, stack.url, "sim")
    finally:
        stack.close()


def test_console_and_its_report_show_lag_rise_and_fall_in_the_consumer_lag_lab(browser, tmp_path) -> None:
    settings = Settings.resolve({"lab_dir": str(tmp_path)})
    lab = labs.get("consumer-lag")
    verdict = learner.start(lab.name, "sim", 0, settings)  # the broken start, checked: what the lab view shows
    spec = lab_world(lab, settings, "sim", 0)
    assert spec.per_kind["inventory"].work_ms > 0  # the lab's slow inventory service
    stack = ConsoleStack("sim", settings, spec=spec, seed=0, speed=2,  # the load at 40/s is 20/s in virtual time
                         lab=LearnerLab(lab, settings))
    try:
        seen = console_flow.lag_flow(browser, stack.url, "sim", rate=40)
        page = console_flow.new_page(browser)
        page.goto(f"{stack.url}/console#lab")
        page.wait_for_selector("#lab-view tr.check")
        text = page.inner_text("#lab-view")
        assert "FAIL" in text and "Next hint" in text and "inventory_instances = 3" in text, text
        assert "inventory_instances = 1" in page.inner_text("#lab-view pre.knobs")  # lab.toml as it stands
        console_flow.shot(page, "sim", "lab")
        page.close()
    finally:
        stack.close()
    assert seen["peak"] >= 15 and seen["last"] == 0
    _the_report_of(verdict.outcome, browser, tmp_path)


def _the_report_of(outcome, browser, tmp_path) -> None:
    """The same check as a report: one file, opened from disk, with the lag chart and the views."""
    from scenarios.console.report import write_report

    path = write_report(tmp_path / "report.html", outcome, labs.get(outcome.lab))
    html = path.read_text()
    assert "src=" not in html.split("<body", 1)[1].split("<script>", 1)[0]  # nothing to fetch: all inlined
    page = console_flow.new_page(browser)
    page.goto(path.as_uri() + "#groups")
    page.wait_for_selector("body[data-ready='1']")
    assert page.locator("#stage option").count() == len(outcome.stages)
    peak = page.evaluate("() => Math.max(...window.kafkalabCharts['inventory-service'].data.datasets"
                         ".flatMap(d => d.data.map(p => p.y)))")
    assert peak >= 30  # one slow instance: lag keeps growing
    assert "load ends" in page.evaluate("() => JSON.stringify(window.kafkalabCharts['inventory-service']"
                                        ".options.plugins.rebalanceLines.marks)")
    console_flow.shot(page, "report", "report-groups")
    page.click("nav a[data-tab='saga']")
    page.locator("#saga-list tr").filter(has_text="COMPLETED").first.locator("a.cid").click()
    page.wait_for_function("() => document.querySelectorAll('#timeline .step').length >= 3")
    assert page.inner_text("#saga-status") == "COMPLETED"
    page.fill("#saga-id", "nope")  # bad input in a report: the same one line
    page.click("#saga-form button")
    page.wait_for_function("() => document.getElementById('notice').textContent.includes('no record carries')")
    page.click("nav a[data-tab='lab']")
    assert "FAIL" in page.inner_text("#lab-view") and "Next hint" in page.inner_text("#lab-view")
    assert "inventory_instances" in page.inner_text("#lab-view .task")
    assert not page.errors, page.errors
    page.close()


def test_report_command_replays_a_recording_and_writes_one_html_file(tmp_path, capsys) -> None:
    from scenarios.cli import main

    run = tmp_path / "run.jsonl"
    assert main(["scenario", "run", "happy-path", "--trace", str(run)]) == 0
    capsys.readouterr()
    assert main(["report", str(run), "--out", str(tmp_path / "out" / "report.html")]) == 0
    assert "reproduced exactly" in capsys.readouterr().out
    html = (tmp_path / "out" / "report.html").read_text()
    assert "window.KAFKALAB_REPORT" in html and "happy-path" in html
