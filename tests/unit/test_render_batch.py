"""A render batch publishes its distinct pages side by side; what one page raises is its own."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from broadsheet.clock import now
from broadsheet.errors import TransientError
from broadsheet.memory import MemoryIndex
from broadsheet.pages import STATIC_PAGES, STYLESHEET
from broadsheet.pipeline import publish_side_by_side
from broadsheet.settings import Settings
from broadsheet.site import Change, DirSiteStore, PageResult
from broadsheet.templating import Output


class FailingStore(DirSiteStore):
    """A site folder whose writes of one key fail, and which records the threads that wrote."""

    def __init__(self, root: Path, failing: str) -> None:
        super().__init__(root)
        self.failing = failing
        self.threads: set[str] = set()

    def put(self, output: Output) -> None:
        self.threads.add(threading.current_thread().name)
        if output.key == self.failing:
            raise TransientError(f"site write failed for {output.key}")
        super().put(output)


def test_a_batch_publishes_its_pages_on_threads_and_a_failure_stays_with_its_page(tmp_path: Path) -> None:
    store = FailingStore(tmp_path, failing="404.html")
    svc: Any = SimpleNamespace(index=MemoryIndex(now(Settings())), site=store, settings=Settings())
    ids = [page.id for page in STATIC_PAGES]
    outcomes = publish_side_by_side([*ids, ids[0]], svc)
    assert sorted(outcomes) == sorted(ids)
    failed = {page_id for page_id, outcome in outcomes.items() if isinstance(outcome, BaseException)}
    assert failed == {STATIC_PAGES[0].id}
    assert all(
        isinstance(outcome, PageResult) for page_id, outcome in outcomes.items() if page_id not in failed
    )
    stylesheet = outcomes[STYLESHEET.id]
    assert isinstance(stylesheet, PageResult) and stylesheet.change is Change.WRITTEN
    assert "404.html" not in store.list_keys()
    assert threading.current_thread().name not in store.threads


def test_a_single_page_is_left_to_the_record_handler(tmp_path: Path) -> None:
    svc: Any = SimpleNamespace(
        index=MemoryIndex(now(Settings())), site=DirSiteStore(tmp_path), settings=Settings()
    )
    assert publish_side_by_side([STATIC_PAGES[0].id, "no-such-kind:x"], svc) == {}
