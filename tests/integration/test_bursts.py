"""A burst of uploads renders each listing once or twice, not once per article, and converges.

While the ingest queue holds a backlog (or the planner runs behind the index), the render
function holds a listing's first request (its message group, the page, waits behind it) and
renders it when the hold ends, answering every request for the page that stands for changes
made before. The module starts a stack of its own: the burst would change the pages the session
stack's other tests look at. It takes about 100 s on two busy cores, hence `isolated`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import broadsheet.site
from broadsheet.pages import Page
from broadsheet.render.html import render_page
from broadsheet_dev.local.runtime import LocalStack, reset_services
from tests.support import Editor, assert_site_matches_offline_build, start_stack

pytestmark = [pytest.mark.integration, pytest.mark.isolated, pytest.mark.burst]

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
    """Every page the functions render (a request the stored page answers is not a render)."""

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
    renders = Renders(render_page)
    monkeypatch.setattr(broadsheet.site, "render_page", renders)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: editor.put_json(f"articles/burst-{n}.json", article(n)), range(BURST)))
    own.wait_drained(timeout=400)
    assert {f"article:burst-{n}" for n in range(BURST)} <= set(renders.pages)
    assert 1 <= renders.pages.count(HOME) <= 2, renders.pages.count(HOME)
    assert_site_matches_offline_build(editor, tmp_path)
