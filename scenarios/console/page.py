"""The console's one HTML page: Chart.js, the console's script and style inlined, so the live page and a
report open without a network (a report is one file; its data is inlined too)."""

from __future__ import annotations

import html
import json
from functools import cache
from importlib import resources
from typing import Any

BODY = """<header><h1>{title}</h1><span class="meta" id="meta">loading…</span>
<select id="stage" style="display:none" aria-label="stage"></select></header>
<nav><a href="#topics" data-tab="topics">Topics &amp; messages</a><a href="#saga" data-tab="saga">Saga timeline</a>
<a href="#groups" data-tab="groups">Consumer groups</a><a href="#dlq" data-tab="dlq">Dead letters</a>
<a href="#lab" data-tab="lab">Lab</a></nav>
<div id="notice" role="status"></div>
<main>
<section id="topics"><h2>Topics</h2><div id="topics-table"></div>
<h2>Messages</h2><form id="search-form">topic <input id="q-topic" list="topic-names" size="16"
placeholder="(every topic)" aria-label="topic"><datalist id="topic-names"></datalist>
header <input id="q-header" value="correlation-id" size="16" aria-label="header name">
= <input id="q-value" placeholder="value, e.g. an order id" size="38" aria-label="header value">
<button type="submit">search</button></form><div id="messages"></div></section>
<section id="saga"><h2>Saga timeline</h2><form id="saga-form">correlation id
<input id="saga-id" size="40" aria-label="correlation id"><button type="submit">show</button></form>
<div id="timeline"></div><h3>Sagas seen</h3><div id="saga-list"></div></section>
<section id="groups"><h2>Consumer groups</h2><form id="load-form" style="display:none">place
<input id="load-orders" type="number" value="60" min="1" size="5" aria-label="orders"> orders at
<input id="load-rate" type="number" value="20" min="1" size="4" aria-label="rate">/s <button type="submit">load</button>
— run <input id="scale-count" type="number" value="3" min="1" max="12" aria-label="instances"> instances of
<select id="scale-service" aria-label="service"><option>inventory</option><option>payment</option><option>order</option></select>
<button type="button" id="scale">scale</button></form>
<div id="groups-list"></div></section>
<section id="dlq"><h2>Dead letters</h2><form id="redrive-form"><button type="button" id="redrive-all">redrive all</button>
or the one at <input id="r-topic" value="payments.dlq" size="14" aria-label="dead-letter topic">
partition <input id="r-partition" type="number" min="0" value="0" size="3" aria-label="partition">
offset <input id="r-offset" type="number" min="0" value="0" size="5" aria-label="offset">
<button type="submit">redrive</button></form><div id="dlq-table"></div></section>
<section id="lab"><h2>The lab</h2><div id="lab-view"></div></section>
</main>"""


@cache
def _asset(name: str) -> str:
    return resources.files("scenarios").joinpath(name).read_text(encoding="utf-8")


def _script(text: str) -> str:
    return text.replace("</script", "<\\/script")


def render_page(*, live: bool, title: str, data: dict[str, Any] | None = None) -> str:
    """The page; ``data`` (a report's stages) is inlined and the page reads it instead of the API."""
    # "<" as \u003c: no "</script>" or "<!--" in the data can end or bend the script element
    inlined = "" if data is None else json.dumps(data, sort_keys=True, default=str).replace("<", "\\u003c")
    embedded = "" if data is None else f"<script>window.KAFKALAB_REPORT = {inlined};</script>"
    return "".join((
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        f"<title>{html.escape(title)}</title><style>{_asset('console/assets/console.css')}</style></head>",
        f"<body data-live=\"{int(live)}\">", BODY.format(title=html.escape(title)), embedded,
        f"<script>{_script(_asset('assets/vendor/chart.umd.min.js'))}</script>",
        f"<script>{_script(_asset('console/assets/console.js'))}</script></body></html>",
    ))
