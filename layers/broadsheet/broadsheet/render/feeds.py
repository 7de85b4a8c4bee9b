"""Feeds of a listing's newest articles: Atom, RSS 2.0 and JSON Feed 1.1, with full content.

Every id is the article's canonical URL, so ids are stable across rebuilds; the feed's own
date is its newest entry's, never the build time.
"""

from __future__ import annotations

import json
from datetime import datetime
from email.utils import format_datetime
from typing import Any

from broadsheet.index.ports import IndexReader
from broadsheet.pages import FEED_SIZE, FeedPage, Listing, article_path
from broadsheet.render.body import render_body
from broadsheet.render.coverage import feed_additions
from broadsheet.render.pictures import body_pictures, published_media, social_image
from broadsheet.render.templating import FEED_CACHE, Output, month_name, render_template
from broadsheet.settings import Settings

__all__ = ["FEED_SIZE", "TYPES", "render_feed"]
TYPES = {"atom": "application/atom+xml", "rss": "application/rss+xml", "json": "application/feed+json"}
_CONTENT_TYPES = {
    "atom": "application/atom+xml; charset=utf-8",
    "rss": "application/rss+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}
_EPOCH = "1970-01-01T00:00:00+00:00"


def render_feed(page: FeedPage, index: IndexReader, settings: Settings) -> Output | None:
    """A feed file, or None when its listing is empty (the home feed always exists)."""
    chunk = index.newest(page.listing.id, FEED_SIZE)
    if chunk.total == 0 and page.listing.kind != "home":
        return None
    articles = index.get_articles([e.slug for e in chunk.entries])
    site_url = settings.site_url.rstrip("/")
    items: list[dict[str, Any]] = []
    for entry in chunk.entries:
        indexed = articles.get(entry.slug)
        if indexed is None:
            continue
        article = indexed.article
        url = site_url + article_path(article.slug)
        media = published_media(article, index)
        lead = media.get(article.image.name) if article.image else None
        html = render_body(
            article.body, body_pictures(media), base=site_url, remote_images=settings.remote_images
        )
        items.append(
            {
                "id": url,
                "url": url,
                "title": article.title,
                "summary": article.teaser,
                "content_html": str(html + feed_additions(article, url)),
                "image": social_image(lead, article.image.alt, site_url) if lead and article.image else None,
                "published": article.published_at,
                "modified": article.modified_at or article.published_at,
                "authors": [
                    {"name": b.name, "url": site_url + Listing("author", b.slug).base_path}
                    for b in entry.authors
                ],
                "tags": list(article.tags),
                "source": str(article.source.url) if article.source else None,
            }
        )
    feed = {
        "title": _title(page.listing, settings),
        "description": settings.site_description,
        "home": site_url + page.listing.base_path,
        "self": site_url + page.path,
        "language": settings.language,
        "updated": max((item["modified"] for item in items), default=None),
        "items": items,
    }
    if page.format == "json":
        body = json.dumps(_json_feed(feed), ensure_ascii=False, indent=1, sort_keys=True) + "\n"
        return Output(page.key, body.encode("utf-8"), _CONTENT_TYPES["json"], FEED_CACHE)
    template = "feed-atom.xml" if page.format == "atom" else "feed-rss.xml"
    context = {"feed": feed, "epoch": _EPOCH, "rfc822": _rfc822}
    return render_template(template, page.key, context, _CONTENT_TYPES[page.format], FEED_CACHE)


def _title(listing: Listing, settings: Settings) -> str:
    if listing.kind == "home":
        return settings.site_name
    name = month_name(listing.key) if listing.kind == "month" else listing.key.replace("-", " ").title()
    return f"{settings.site_name}: {name}"


def _rfc822(value: datetime) -> str:
    return format_datetime(value)


def _json_feed(feed: dict[str, Any]) -> dict[str, Any]:
    items = []
    for item in feed["items"]:
        entry: dict[str, Any] = {
            "id": item["id"],
            "url": item["url"],
            "title": item["title"],
            "content_html": item["content_html"],
            "date_published": item["published"].isoformat(),
            "date_modified": item["modified"].isoformat(),
            "authors": item["authors"],
        }
        if item["summary"]:
            entry["summary"] = item["summary"]
        if item["tags"]:
            entry["tags"] = item["tags"]
        if item["source"]:
            entry["external_url"] = item["source"]
        if item["image"]:
            entry["image"] = item["image"]["url"]
        items.append(entry)
    return {
        "version": "https://jsonfeed.org/version/1.1",
        "title": feed["title"],
        "home_page_url": feed["home"],
        "feed_url": feed["self"],
        "description": feed["description"],
        "language": feed["language"],
        "items": items,
    }
