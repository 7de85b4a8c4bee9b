"""Listing items rendered once per article: the same bytes as the listing template rendered whole."""

from __future__ import annotations

import pytest

from broadsheet.clock import now as clock_now
from broadsheet.contract.media import MediaItem, rendition_widths
from broadsheet.index.memory import MemoryIndex
from broadsheet.pages import ListingPage, all_pages
from broadsheet.render import html
from broadsheet.render.fragments import split_loop
from broadsheet.render.html import render_page
from broadsheet.settings import Settings
from tests.unit.fakes import make_article

SCRIPT = "<script>alert(1)</script>"


def _site(settings: Settings) -> MemoryIndex:
    index = MemoryIndex(clock_now(settings))
    index.add_media(MediaItem("lead.jpg", "0" * 20, 4000, 3000, rendition_widths(4000), ("avif", "jpg")))
    image = {"src": "media/lead.jpg", "alt": "A harbour"}
    for n in range(45):
        changes: dict[str, object] = {
            "published_at": f"2015-12-{1 + n % 28:02d}T{n % 24:02d}:00:00+03:00",
            "authors": ["Anna Writer", "Boris Second", "Chen Third"][: 1 + n % 3],
            "tags": ["Foreign policy", SCRIPT][: n % 3],
            "section": "analysis" if n % 2 else None,
        }
        if n % 4 == 0:
            changes["image"] = image
        if n % 5 == 0:
            changes["live"] = True
        if n % 6 == 0:
            changes["teaser"] = ""
        if n % 7 == 0:
            changes["title"] = f'{SCRIPT} & "quotes" {n}'
        index.add_article(make_article(f"story-{n}", **{k: v for k, v in changes.items() if v is not None}))
    return index


def test_listing_template_splits_at_its_item_loop() -> None:
    assert split_loop("listing.html", "item in items") is not None
    assert split_loop("listing.html", "nothing in nowhere") is None


def test_listing_pages_from_item_fragments_equal_the_whole_template(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(now="2016-01-01T00:00:00Z", page_size=7)
    index = _site(settings)
    pages = [page for page in all_pages(index, settings.page_size) if isinstance(page, ListingPage)]
    assert len(pages) > 20
    from_fragments = [render_page(page, index, settings) for page in pages]
    monkeypatch.setattr(html, "split_loop", lambda name, loop: None)
    whole = [render_page(page, index, settings) for page in pages]
    assert from_fragments == whole
    bodies = b"".join(output.body for output in whole if output is not None)
    assert b"<picture" in bodies and b"live-label" in bodies and b"&lt;script&gt;" in bodies
