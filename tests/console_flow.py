"""The console's browser flows, the same in both worlds: tests/unit (simulator) and tests/kafka call them.

A real headless Chromium (Debian's ``chromium``, driven by Playwright's Python API; Playwright never
downloads a browser here) opens the console a ``ConsoleStack`` serves. Waits poll the page with a
deadline (Playwright's ``wait_for_function``); nothing sleeps. Screenshots of the main views go to
``.kafkalab/artifacts/console-<mode>/`` (or $KAFKALAB_ARTIFACTS), printed for the CI log.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("KAFKALAB_CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[1]
SEED_ORDERS = {  # the seed README's three orders
    "normal": {"customerId": "cust_happy_path", "productId": "prod_123", "quantity": 2, "amount": 250.50},
    "out_of_stock": {"customerId": "cust_large_quantity", "productId": "prod_123", "quantity": 10, "amount": 250.00},
    "poison": {"customerId": "cust_dlq_test", "productId": "prod_ignore", "quantity": 1, "amount": 99.00},
}
EXPECTED_STEPS = {
    "normal": ["OrderCreated", "PaymentCompleted", "InventoryReserved"],
    "out_of_stock": ["OrderCreated", "PaymentCompleted", "InventoryFailed", "PaymentRefunded"],
    "poison": ["OrderCreated", "PaymentCompleted", "PaymentCompleted", "InventoryFailed", "PaymentRefunded"],
}
EXPECTED_KINDS = {"out_of_stock": {"PaymentRefunded": "compensation"}, "poison": {"PaymentRefunded": "compensation"}}
MAX_REDRIVES = 2  # so the third redrive is the one the loop guard refuses


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium; missing: a skip locally, a failure under CI=true."""
    problem = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problem = "playwright is not installed (pip install -e '.[dev]')"
    if problem is None and not os.access(CHROMIUM, os.X_OK):
        problem = f"no chromium at {CHROMIUM} (apt-get install -y chromium)"
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(problem)
        pytest.skip(problem)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            yield browser
        finally:
            browser.close()


def artifacts(mode: str) -> Path:
    where = Path(os.environ.get("KAFKALAB_ARTIFACTS", ROOT / ".kafkalab" / "artifacts")) / f"console-{mode}"
    where.mkdir(parents=True, exist_ok=True)
    return where


def call(url: str, method: str = "GET", body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data, {"Content-Type": "application/json"}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def new_page(browser: Any) -> Any:
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    return page


def shot(page: Any, mode: str, name: str) -> None:
    path = artifacts(mode) / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


def steps_of(page: Any) -> list[tuple[str, str]]:
    found = page.eval_on_selector_all("#timeline .step", "els => els.map(e => [e.dataset.event, e.dataset.kind])")
    return [tuple(s) for s in found]


def seed_orders_flow(browser: Any, url: str, mode: str, timeout_ms: int = 30_000) -> None:
    """Place the seed's three orders, find each by correlation id, check its timeline and the DLQ entry,
    redrive until the loop guard refuses, and refuse bad input with a message and a 4xx."""
    ids = {}
    for name, body in SEED_ORDERS.items():
        status, answer = call(f"{url}/orders", "POST", body)
        assert status == 201, answer
        ids[name] = answer["orderId"]
    page = new_page(browser)
    page.goto(f"{url}/console#saga")
    page.wait_for_selector("body[data-ready='1']", timeout=timeout_ms)
    for name, cid in ids.items():
        page.fill("#saga-id", cid)
        page.click("#saga-form button")
        expected = EXPECTED_STEPS[name]
        page.wait_for_function(
            "n => document.querySelectorAll('#timeline .step').length >= n", arg=len(expected), timeout=timeout_ms)
        page.wait_for_function("s => document.getElementById('saga-status')?.textContent === s",
                               arg="COMPLETED" if name == "normal" else "CANCELLED", timeout=timeout_ms)
        steps = steps_of(page)
        assert [e for e, _ in steps] == expected, (name, steps)
        for event, kind in EXPECTED_KINDS.get(name, {}).items():
            assert (event, kind) in steps, (name, steps)
        if name == "poison":
            assert steps[2] == ("PaymentCompleted", "dlq"), steps
            assert "prod_ignore" in page.inner_text("#timeline .step.dlq")
            assert "kl-" not in page.inner_text("#timeline")  # a kafka run's prefix is not shown
            shot(page, mode, "saga-timeline")

    # bad input: a clear line on the page, a 4xx from the API, nothing written
    page.fill("#saga-id", "no-such-order")
    page.click("#saga-form button")
    page.wait_for_function("() => document.getElementById('notice').textContent.includes('no record carries')")
    assert call(f"{url}/console/api/saga/no-such-order")[0] == 404
    page.click("nav a[data-tab='topics']")
    page.fill("#q-topic", "nope")
    page.click("#search-form button")
    page.wait_for_function("() => document.getElementById('notice').textContent.includes(\"no topic 'nope'\")")
    assert call(f"{url}/console/api/messages?topic=nope")[0] == 404
    page.fill("#q-topic", "")
    page.fill("#q-value", ids["normal"])
    page.click("#search-form button")
    page.wait_for_function("() => document.querySelectorAll('#messages tr.message').length === 3", timeout=timeout_ms)
    shot(page, mode, "messages")

    # the dead letter, redriven until the loop guard refuses
    page.click("nav a[data-tab='dlq']")
    before = _settled_ends(url, timeout_ms / 1000)
    letter = page.locator("#dlq-table tr.letter").filter(has_text=ids["poison"])
    assert letter.count() == 1
    assert "prod_ignore" in letter.inner_text() and "kl-" not in letter.inner_text()
    for attempt in range(1, MAX_REDRIVES + 2):
        rows = page.locator("#dlq-table tr.letter")
        assert rows.count() == attempt
        rows.last.locator("button.redrive").click()
        if attempt <= MAX_REDRIVES:
            page.wait_for_function("() => document.getElementById('notice').textContent.startsWith('redriven 1')")
            page.wait_for_function("n => document.querySelectorAll('#dlq-table tr.letter').length === n",
                                   arg=attempt + 1, timeout=timeout_ms)
        else:
            page.wait_for_function("() => document.getElementById('notice').textContent.includes('loop guard')")
    shot(page, mode, "dead-letters")
    last = call(f"{url}/console/api/snapshot")[1]["dlq"][-1]
    assert last["redrives"] == MAX_REDRIVES
    where = {"topic": last["topic"], "partition": last["partition"], "offset": last["offset"]}
    assert call(f"{url}/console/api/redrive", "POST", where)[0] == 409
    # a letter that is gone: typed in on the page, and asked of the API
    page.fill("#r-offset", "999999")
    page.click("#redrive-form button[type=submit]")
    page.wait_for_function("() => document.getElementById('notice').textContent.includes('it is gone')")
    gone = {"topic": "payments.dlq", "partition": 0, "offset": 999_999}
    assert call(f"{url}/console/api/redrive", "POST", gone)[0] == 404
    after = _ends(url)
    assert after["payments"] == before["payments"] + MAX_REDRIVES, (before, after)  # only the redrives wrote
    assert not page.errors, page.errors
    page.close()


def _ends(url: str) -> dict[str, int]:
    topics = call(f"{url}/console/api/snapshot")[1]["topics"]
    return {t["name"]: sum(p["end"] for p in t["partitions"]) for t in topics}


def _settled_ends(url: str, timeout_s: float) -> dict[str, int]:
    """The end offsets once the sagas have stopped writing: the same in two of the page's refreshes, and
    every record up to them read (on a real broker the snapshot can trail the saga by a refresh)."""
    deadline = time.monotonic() + timeout_s
    last: tuple[int, dict[str, int]] | None = None
    while time.monotonic() < deadline:
        snap = call(f"{url}/console/api/snapshot")[1]
        ends = {t["name"]: sum(p["end"] for p in t["partitions"]) for t in snap["topics"]}
        read_all = all(t["records"] == sum(p["end"] - p["begin"] for p in t["partitions"]) for t in snap["topics"])
        if last is None or snap["nowMs"] != last[0]:
            if last is not None and ends == last[1] and read_all and ends.get("payments"):
                return ends
            last = (snap["nowMs"], ends)
        time.sleep(0.05)
    raise AssertionError(f"the topics' end offsets did not settle within {timeout_s} s: {last}")


def lag_flow(browser: Any, url: str, mode: str, rate: int = 20, timeout_ms: int = 30_000) -> dict[str, int]:
    """The consumer-lag lab's shop: a load from the page; the chart's lag rises, then falls to 0."""
    page = new_page(browser)
    page.goto(f"{url}/console#groups")
    page.wait_for_selector("[data-group='inventory-service'] canvas", timeout=timeout_ms)
    page.fill("#load-orders", "60")
    page.fill("#load-rate", str(rate))
    page.click("#load-form button")
    totals = """g => { const c = window.kafkalabCharts[g]; if (!c) return [];
                       const sets = c.data.datasets; if (!sets.length) return [];
                       return sets[0].data.map((_, i) => sets.reduce((a, d) => a + d.data[i].y, 0)); }"""
    page.wait_for_function(f"() => Math.max(0, ...({totals})('inventory-service')) >= 15", timeout=timeout_ms)
    page.select_option("#scale-service", "inventory")
    page.fill("#scale-count", "3")
    page.click("#scale")  # three members for three partitions: a rebalance, marked on the chart
    page.wait_for_function("() => JSON.stringify(window.kafkalabCharts['inventory-service'].options.plugins"
                           ".rebalanceLines.marks).includes('rebalance:')", timeout=timeout_ms)
    shot(page, mode, "consumer-groups")
    page.wait_for_function(f"() => {{ const t = ({totals})('inventory-service'); "
                           "return t.length && Math.max(...t) >= 15 && t[t.length - 1] === 0; }", timeout=timeout_ms)
    series = page.evaluate(f"() => ({totals})('inventory-service')")
    assert page.inner_text("[data-group='inventory-service'] .total-lag") == "0"
    assert not page.errors, page.errors
    page.close()
    return {"peak": max(series), "last": series[-1]}
