"""Run in a fresh process by the publish benchmark: import the render function as Lambda would,
render the pages of the largest listing (the home page: first page, oldest page, its feeds)
against the running stack's index, and print the process's peak memory as JSON.

The environment (endpoint, table, buckets) is the running local stack's.
"""

from __future__ import annotations

import importlib
import json
import time
from pathlib import Path

from broadsheet.adapters import clients
from broadsheet.adapters.dynamo import DynamoIndex
from broadsheet.pages import Listing, Page, feeds_of
from broadsheet.render.html import render_page
from broadsheet.settings import settings


def peak_rss() -> int:
    """This process's peak resident memory in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def main() -> None:
    """Import, render, report."""
    started = time.perf_counter()
    importlib.import_module("app")
    imported = time.perf_counter() - started
    after_import = peak_rss()
    config = settings()
    index = DynamoIndex(clients.dynamodb(), config.table_name)
    home = Listing("home")
    total = index.count(home.id)
    pages: list[Page] = [home.page(0), home.page(1), *feeds_of(home)]
    sizes = {}
    started = time.perf_counter()
    for page in pages:
        output = render_page(page, index, config)
        sizes[page.id] = len(output.body) if output else 0
    print(
        json.dumps(
            {
                "listing": home.id,
                "entries": total,
                "pages": sizes,
                "import_seconds": imported,
                "render_seconds": time.perf_counter() - started,
                "peak_after_import": after_import,
                "peak": peak_rss(),
            }
        )
    )


if __name__ == "__main__":
    main()
