"""Reconcile on a seeded local stack: wall time, CPU, pages compared and requests, per page.

`python -m bench.reconcile_probe 1000` seeds a site of that many articles (index and pages, as
the publish benchmark does) and runs the daily reconcile on it once: a clean site, so every
kind of drift must be zero, and every page is rendered and compared. The seeded index names no
content-bucket versions (the corpus is indexed straight from files), so every key counts as
hinted; hints and render requests are kept, not sent, so nothing moves while it is measured.
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import botocore.client

from bench import corpus
from bench.publish import seeded_site
from broadsheet.runtime.reconcile import run_reconcile, services

if TYPE_CHECKING:
    from broadsheet.adapters.sqs import SqsHints


class _Kept:
    """A queue that keeps what it is asked to send (stands in for the hints and render queues)."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, items: list[str], cause: str = "", changed: int | None = None) -> None:
        self.sent += items


_CALL = "_make_api_call"


def probe(n: int) -> dict[str, Any]:
    """Seed `n` articles, reconcile once; what it cost."""
    with tempfile.TemporaryDirectory() as work:
        content = corpus.write_broadsheet(corpus.articles(n), Path(work))
        with seeded_site(n, 1, content) as site:
            site.stack.wait_drained(timeout=1800)
            calls: Counter[str] = Counter()
            original = getattr(botocore.client.BaseClient, _CALL)

            def counted(client: botocore.client.BaseClient, operation: str, params: dict[str, Any]) -> Any:
                if threading.current_thread() is threading.main_thread():
                    calls[f"{client.meta.service_model.service_name}:{operation}"] += 1
                return original(client, operation, params)

            kept = replace(services(), hints=cast("SqsHints", _Kept()), render_queue=_Kept())
            setattr(botocore.client.BaseClient, _CALL, counted)
            try:
                wall, cpu = time.perf_counter(), time.thread_time()
                report = run_reconcile(kept)
                wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
            finally:
                setattr(botocore.client.BaseClient, _CALL, original)
    pages = report.pages.compared
    return {
        "articles": n,
        "pages_compared": pages,
        "drift": report.drift(),
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "wall_ms_per_page": round(1000 * wall / max(pages, 1), 2),
        "cpu_ms_per_page": round(1000 * cpu / max(pages, 1), 2),
        "requests": dict(sorted(calls.items())),
    }


if __name__ == "__main__":
    for size in sys.argv[1:] or ["1000"]:
        print(probe(int(size)), flush=True)
