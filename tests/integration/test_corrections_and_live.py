"""Corrections and live updates through the pipeline on the local stack: each rewrites the article
page and the feeds that carry it, nothing else, and the site still equals the offline build."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from broadsheet.contract.fields import slugify
from broadsheet.pages import FEED_FORMATS, ArticlePage, FeedPage, Listing, object_key
from broadsheet_dev.local.runtime import LocalStack
from tests.support import SAMPLES, Editor, assert_site_matches_offline_build

pytestmark = [pytest.mark.integration]

# The newest sample: the home feed, its author's and its section's feeds all carry it.
SLUG = "us-election-what-moscow-expects"
KEY = f"articles/{SLUG}.json"
CORRECTION = {"at": "2016-11-15T09:00:00Z", "text": "An earlier version gave the wrong date for the vote."}
AUTHOR_PAGE = "authors/irina-voronova/index.html"
LABELLED = f'<span class="live-label">Live</span> <a href="/articles/{SLUG}/">'.encode()
UPDATES = [
    {"at": "2016-11-14T18:05:00Z", "text": "Polls have closed in the first states."},
    {
        "at": "2016-11-14T19:40:00Z",
        "text": "The Kremlin has **no comment** yet.",
        "authors": ["Zoe Marchetti"],
    },
]


def sample() -> dict[str, object]:
    loaded: dict[str, object] = json.loads((SAMPLES / "articles" / f"{SLUG}.json").read_text())
    return loaded


def page_and_feeds(doc: dict[str, object]) -> set[str]:
    """The site keys of the article's page and of every feed that carries it."""
    authors = doc["authors"]
    assert isinstance(authors, list)
    listings = [Listing("home"), *(Listing("author", slugify(str(name))) for name in authors)]
    listings.append(Listing("section", str(doc["section"])))
    feeds = {FeedPage(listing, form).key for listing in listings for form in FEED_FORMATS}
    return {object_key(ArticlePage(SLUG).path), *feeds}


def changed(before: dict[str, str], after: dict[str, str]) -> set[str]:
    return {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}


def publish(stack: LocalStack, editor: Editor, doc: dict[str, object]) -> set[str]:
    """Upload `doc` as the article, wait for the pipeline, and return the site keys rewritten."""
    before = editor.site_stamps()
    editor.put_json(KEY, doc)
    stack.wait_drained()
    return changed(before, editor.site_stamps())


def test_a_correction_rewrites_only_the_article_page_and_its_feeds(
    stack: LocalStack, editor: Editor, tmp_path: Path
) -> None:
    stack.render_static_pages()
    editor.publish_samples()
    stack.wait_drained()
    doc = sample()
    try:
        rewritten = publish(stack, editor, doc | {"corrections": [CORRECTION]})
        assert rewritten == page_and_feeds(doc)
        page = editor.site_files()[object_key(ArticlePage(SLUG).path)]
        assert b'<p class="correction" id="correction-1"><strong>Correction, ' in page
        assert b'"@type":"CorrectionComment"' in page
        assert_site_matches_offline_build(editor, tmp_path)
    finally:
        editor.put_json(KEY, doc)
        stack.wait_drained()


def test_a_live_update_rewrites_the_page_and_feeds_and_ending_coverage_the_listings(
    stack: LocalStack, editor: Editor, tmp_path: Path
) -> None:
    stack.render_static_pages()
    editor.publish_samples()
    stack.wait_drained()
    doc = sample()
    try:
        opened = publish(stack, editor, doc | {"live": True, "updates": UPDATES[:1]})
        # The label appears on the listings: they are rewritten once, when the flag flips.
        assert {"index.html", AUTHOR_PAGE} <= opened
        assert LABELLED in editor.site_files()[AUTHOR_PAGE]

        updated = publish(stack, editor, doc | {"live": True, "updates": UPDATES})
        assert updated == page_and_feeds(doc)
        assert_site_matches_offline_build(editor, tmp_path / "live")

        ended = publish(stack, editor, doc | {"live": False, "updates": UPDATES})
        # Feeds do not show the flag; the page and the listings do.
        assert {object_key(ArticlePage(SLUG).path), "index.html", AUTHOR_PAGE} <= ended
        assert not any(key.endswith(("feed.xml", "rss.xml", "feed.json")) for key in ended)
        assert LABELLED not in editor.site_files()[AUTHOR_PAGE]
        assert_site_matches_offline_build(editor, tmp_path / "ended")
    finally:
        editor.put_json(KEY, doc)
        stack.wait_drained()
