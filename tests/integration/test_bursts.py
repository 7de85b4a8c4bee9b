"""A burst of uploads renders each listing once or twice, not once per article, and converges.

While the ingest queue holds a backlog, the render function holds a listing's first request
(its message group, the page, waits behind it) and renders it when the hold ends, answering every
request for the page sent before. The module starts a stack of its own: the burst would change
the pages the session stack's other tests look at.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import broadsheet.runtime.render
import broadsheet.site
from broadsheet.pages import Page
from broadsheet_dev.local.runtime import LocalStack, reset_services
from tests.support import Editor, start_stack

pytestmark = [pytest.mark.integration, pytest.mark.isolated]

BURST = 100
HOME = "home:0"


@pytest.fixture(scope="module")
def own() -> Iterator[LocalStack]:
    """A stack of this module's own (fixed clock, small pages); the environment restored after."""
    saved = dict(os.environ)
    stack = start_stack()
    try:
        yield stack
    finally:
        stack.stop()
        os.environ.clear()
        os.environ.update(saved)
        reset_services()


class Renders:
    """Every page the functions render (the stored page answering a request is not a render)."""

    def __init__(self, render: Callable[..., Any]) -> None:
        self.render = render
        self.pages: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, page: Page, *args: Any) -> Any:
        with self.lock:
            self.pages.append(page.id)
        return self.render(page, *args)


def article(number: int) -> dict[str, object]:
    return {
        "title": f"Burst article {number}",
        "teaser": f"The teaser of burst article {number}.",
        "authors": ["Burst Desk", f"Writer {number % 3}"],
        "published_at": f"2026-11-{1 + number % 28:02d}T{number % 24:02d}:00:00Z",
        "section": "bursts",
        "tags": [f"batch-{number % 4}"],
        "body": f"The body of burst article {number}.",
    }


def test_a_burst_renders_the_home_page_at_most_twice_and_converges(
    own: LocalStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    editor = Editor(own)
    renders = Renders(broadsheet.site.render_page)
    monkeypatch.setattr(broadsheet.site, "render_page", renders)
    started = time.monotonic()
    from broadsheet.adapters.sqs import SqsBacklog, SqsRenderQueue

    log = []
    orig_hold, orig_depth = SqsRenderQueue.hold, SqsBacklog.depth

    def hold(self, receipts, seconds):
        log.append((round(time.monotonic() - started, 1), "hold", len(receipts), seconds))
        return orig_hold(self, receipts, seconds)

    def depth(self):
        d = orig_depth(self)
        log.append((round(time.monotonic() - started, 1), "depth", d))
        return d

    monkeypatch.setattr(SqsRenderQueue, "hold", hold)
    monkeypatch.setattr(SqsBacklog, "depth", depth)
    orig_pub = broadsheet.runtime.render.publish_page

    def pub(page, *a):
        r = orig_pub(page, *a)
        if page.id == HOME:
            log.append((round(time.monotonic() - started, 1), "home", r.change.value))
        return r

    monkeypatch.setattr(broadsheet.runtime.render, "publish_page", pub)
    orig_batch = broadsheet.runtime.render.render_batch
    def rb(reqs, svc):
        try:
            return orig_batch(reqs, svc)
        except Exception as e:
            log.append((round(time.monotonic() - started, 1), "error", repr(e)))
            raise
    poller = next(p for p in own.pollers if p.name == "RenderFunction")
    h = poller.handler
    def wrapped(event, context):
        try:
            r = h(event, context)
            if r and r.get("batchItemFailures"):
                log.append((round(time.monotonic() - started, 1), "fail", len(event["Records"]), len(r["batchItemFailures"])))
            return r
        except Exception as e:
            import traceback
            log.append((round(time.monotonic() - started, 1), "error", traceback.format_exc()[-1500:]))
            raise
    poller.handler = wrapped
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: editor.put_json(f"articles/burst-{n}.json", article(n)), range(BURST)))
    try:
        own.wait_drained(timeout=300)
    finally:
        for l in log:
            if l[1] != "depth":
                print(l)
        print([(p.name, p.errors, getattr(p, "failed", None)) for p in own.pollers])
    for l in log:
        print(l)
    print(len(renders.pages), renders.pages.count(HOME), time.monotonic() - started)
    from collections import Counter

    print(Counter(p.split(":")[0] for p in renders.pages))
    print(Counter(renders.pages).most_common(15))
    assert {f"article:burst-{n}" for n in range(BURST)} <= set(renders.pages)
    assert renders.pages.count(HOME) <= 2, renders.pages.count(HOME)
    assert editor.site_files() == editor.offline_build(tmp_path)
