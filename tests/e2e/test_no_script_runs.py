"""No article text ever runs as script in a reader's browser (DESIGN.md, invariant 3).

XSS payloads from the corpora go into every text field of articles, which are published through
the local stack and read in a real Chromium from the local edge: once with the production
response headers (CSP, nosniff…) and once with every header stripped but the content type, so
that the markup alone must be inert. Each page is loaded after a probe has replaced `alert`,
`confirm`, `prompt` and `print` and set a trap for a global flag; Chromium's debugger reports
every script the page compiles, and every request leaving the page's origin is recorded and
refused. The pages read are every page and feed the articles changed, and the site's three
feeds after each wave of twenty articles (a feed holds the newest twenty).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import Browser

from broadsheet_dev.local.runtime import LocalStack
from tests.e2e.xss import (
    CONTROL_PAGE,
    FIELDS,
    Payload,
    Plan,
    Reader,
    Visit,
    assert_json_ld_is_the_article,
    assert_restored,
    corpus,
    etags,
    plan,
    sample,
)
from tests.support import ROOT, Editor

pytestmark = [pytest.mark.e2e]

# Payloads taken evenly from the whole corpus: all of it takes the local stack far longer than
# a test run should (the figures below say how many of how many).
SAMPLE = 200
WAVE = 20
FEEDS = ("/feed.xml", "/rss.xml", "/feed.json")
DRAIN_SECONDS = 900
ARTIFACTS = ROOT / "test-artifacts"
# The names a report may give each field.
NAMES = {
    "title": {"title"},
    "teaser": {"teaser"},
    "body": {"body"},
    "author": {"authors", "authors[0]"},
    "tag": {"tags", "tags[0]"},
    "section": {"section"},
    "source name": {"source", "source.name"},
    "source url": {"source", "source.url"},
}


@dataclass
class Run:
    """What publishing and reading the payloads did."""

    total: int
    payloads: list[Payload]
    plan: Plan
    reports: dict[str, dict[str, Any] | None]
    site: dict[str, str]
    visits: list[Visit]
    seconds: float


def page_path(key: str) -> str:
    """The public path that serves a site key."""
    return "/" + key.removesuffix("index.html")


def upload(editor: Editor, files: list[tuple[str, dict[str, Any]]]) -> None:
    def put(item: tuple[str, dict[str, Any]]) -> None:
        editor.put(item[0], json.dumps(item[1], ensure_ascii=False).encode("utf-8"))

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(put, files))


@pytest.fixture(scope="module")
def run(stack: LocalStack, browser: Browser) -> Iterator[Run]:
    assert stack.edge is not None
    editor, started = Editor(stack), time.monotonic()
    everything = corpus()
    payloads = sample(everything, SAMPLE)
    files = plan(payloads)
    stamps = editor.site_stamps()
    content_before = set(editor.content_files())
    contexts = [browser.new_context(), browser.new_context()]
    readers = [
        Reader(contexts[0], stack.edge.url, headers=True),
        Reader(contexts[1], stack.edge.url, headers=False),
    ]
    visits: list[Visit] = []
    articles = list(files.articles.items())
    try:
        upload(editor, [(key, doc) for key, doc in files.files() if key in files.rejected])
        for start in range(0, len(articles), WAVE):
            upload(editor, articles[start : start + WAVE])
            stack.wait_drained(timeout=DRAIN_SECONDS)
            visits += [reader.visit(feed) for feed in FEEDS for reader in readers]
        site = editor.site_stamps()
        changed = sorted(k for k, stamp in site.items() if stamps.get(k) != stamp)
        for key in changed:
            if not key.startswith("assets/"):
                visits += [reader.visit(page_path(key)) for reader in readers]
        reports = {key: editor.report(key) for key, _ in files.files()}
        yield Run(len(everything), payloads, files, reports, site, visits, time.monotonic() - started)
    finally:
        for context in contexts:
            context.close()
        for key in files.articles:
            editor.delete(key)
        stack.wait_drained(timeout=DRAIN_SECONDS)
        # Rejected files were never indexed: removing them and their reports needs no pipeline.
        for key, _ in files.files():
            editor.s3.delete_object(Bucket=editor.content, Key=f"reports/{key}.errors.json")
        for key in files.rejected:
            editor.s3.delete_object(Bucket=editor.content, Key=key)
    assert_restored(etags(editor.site_stamps()), etags(stamps))
    assert set(editor.content_files()) == content_before


@pytest.fixture(scope="module")
def control_site() -> Iterator[str]:
    """A site of one page that runs script, for checking the probe itself."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = self.path == "/"
            body = CONTROL_PAGE if found else b"not found"
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("headers", [True, False], ids=["as-served", "headers-stripped"])
def test_the_probe_sees_script_run_and_requests_leave(
    browser: Browser, control_site: str, headers: bool
) -> None:
    context = browser.new_context()
    try:
        visit = Reader(context, control_site, headers=headers).visit("/")
    finally:
        context.close()
    assert visit.flag
    assert {"alert(1)", "xss = 1", "print()"} <= set(visit.ran)
    assert any("script compiled from" in script for script in visit.scripts)
    assert {"img[onerror]", "script (no type)"} <= set(visit.found)
    assert any(thing.startswith("a[href=javascript:") for thing in visit.found)
    assert any("elsewhere.example" in request for request in visit.foreign)


def test_every_payload_is_published_or_its_file_reported_by_field(run: Run) -> None:
    for key in run.plan.articles:
        assert run.reports[key] is None, (key, run.reports[key])
        assert f"articles/{key.removeprefix('articles/').removesuffix('.json')}/index.html" in run.site, key
    for key, (slot, payload) in run.plan.rejected.items():
        report = run.reports[key]
        assert report is not None, (key, slot, payload)
        named = {str(e["field"]) for e in report["errors"]}
        assert named and named <= NAMES[slot], (key, slot, payload.text, report["errors"])
    placed = sum(len(p) for p in run.plan.placed.values())
    assert placed + len(run.plan.rejected) == len(run.payloads)


@pytest.mark.parametrize("headers", [True, False], ids=["with-edge-headers", "without-headers"])
def test_no_payload_opens_a_dialog_runs_script_or_reaches_another_origin(run: Run, headers: bool) -> None:
    visits = [v for v in run.visits if v.headers == headers]
    assert visits and all(v.status == 200 for v in visits), [
        (v.url, v.status) for v in visits if v.status != 200
    ]
    executed = [(v.url, sign) for v in visits for sign in v.executed]
    assert executed == []
    outside = [(v.url, request) for v in visits for request in v.foreign]
    assert outside == []


@pytest.mark.parametrize("headers", [True, False], ids=["with-edge-headers", "without-headers"])
def test_pages_hold_nothing_that_could_run(run: Run, headers: bool) -> None:
    found = [(v.url, thing) for v in run.visits if v.headers == headers for thing in v.found]
    assert found == []
    blocked = [(v.url, violation) for v in run.visits if v.headers == headers for violation in v.violations]
    assert [b for b in blocked if b[1].startswith("script")] == []


def test_json_ld_parses_and_is_the_only_script_on_article_pages(run: Run) -> None:
    pages = 0
    for key, doc in run.plan.articles.items():
        path = "/articles/" + key.removeprefix("articles/").removesuffix(".json") + "/"
        for visit in [v for v in run.visits if v.url == path]:
            pages += 1
            assert_json_ld_is_the_article(visit.ld, doc, path)
    assert pages == 2 * len(run.plan.articles)


def test_the_figures(run: Run, capsys: pytest.CaptureFixture[str]) -> None:
    fields = Counter(slot for slot, _ in run.plan.rejected.values())
    figures: dict[str, Any] = {
        "payloads_in_corpus": run.total,
        "payloads_tried": len(run.payloads),
        "payloads_published": sum(len(p) for p in run.plan.placed.values()),
        "payloads_in_rejected_files": len(run.plan.rejected),
        "rejected_by_field": dict(sorted(fields.items())),
        "articles_published": len(run.plan.articles),
        "files_rejected": len(run.plan.rejected),
        "pages_loaded": len(run.visits),
        "pages_loaded_with_headers": sum(1 for v in run.visits if v.headers),
        "dialogs": sum(len(v.dialogs) for v in run.visits),
        "script_executions": sum(len(v.executed) for v in run.visits),
        "cross_origin_requests": sum(len(v.foreign) for v in run.visits),
        "csp_violations": sum(len(v.violations) for v in run.visits),
        "csp_violations_by_page": dict(
            Counter(f"{v.url} {x.split(' ')[0]}" for v in run.visits for x in v.violations)
        ),
        "seconds": round(run.seconds, 1),
    }
    assert figures["pages_loaded"] == 2 * figures["pages_loaded_with_headers"]
    assert set(FIELDS) >= set(fields)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "no-script-runs.json").write_text(json.dumps(figures, indent=2) + "\n")
    with capsys.disabled():
        print(
            f"\nno script runs: {figures['payloads_tried']} of {figures['payloads_in_corpus']} payloads "
            f"tried ({figures['payloads_published']} published in {figures['articles_published']} "
            f"articles, {figures['files_rejected']} in files rejected by field); "
            f"{figures['pages_loaded']} page loads in Chromium (half without security headers); "
            f"{figures['dialogs']} dialogs, {figures['script_executions']} script executions, "
            f"{figures['cross_origin_requests']} cross-origin requests, "
            f"{figures['csp_violations']} CSP violations; {run.seconds:.0f} s"
        )
