"""Sitemaps for search engines: an index of monthly shards (so a new article rewrites one
shard), a Google News sitemap of the last two days, and robots.txt pointing at them."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta

from broadsheet.clock import now
from broadsheet.index.entries import Entry
from broadsheet.index.ports import IndexReader
from broadsheet.pages import STATIC_KEYS, Listing, SitemapPage, article_path
from broadsheet.render.templating import HTML_CACHE, TEXT, XML, Output, render_template
from broadsheet.settings import Settings

NEWS_WINDOW = timedelta(days=2)
NEWS_LIMIT = 1000
# The newest entries read first when looking for the last two days' articles: most days this
# reaches past the window, and only a busier site reads up to NEWS_LIMIT.
NEWS_FIRST_READ = 50


def render_shard(page: SitemapPage, index: IndexReader, settings: Settings) -> Output | None:
    """One month's articles, or None when the month has none."""
    listing = Listing("month", page.month)
    every = index.span(listing.id, 0, sys.maxsize)
    if every.total == 0:
        return None
    entries = sorted(every.entries, key=lambda e: e.sort_key)
    context = {"urls": [_url(e, settings) for e in entries]}
    return render_template("sitemap.xml", page.key, context, XML, HTML_CACHE)


def render_index(index: IndexReader, settings: Settings) -> Output:
    """The sitemap index: every monthly shard, and the news sitemap while it has articles."""
    site_url = settings.site_url.rstrip("/")
    sitemaps = [site_url + SitemapPage(month).path for month, _ in index.months()]
    if _recent(index, settings):
        sitemaps.append(f"{site_url}/{STATIC_KEYS['news-sitemap']}")
    return render_template(
        "sitemap-index.xml", STATIC_KEYS["sitemap-index"], {"sitemaps": sitemaps}, XML, HTML_CACHE
    )


def render_news(index: IndexReader, settings: Settings) -> Output | None:
    """Articles of the last two days for Google News, or None when there are none."""
    recent = _recent(index, settings)
    if not recent:
        return None
    context = {
        "urls": [_url(e, settings) for e in recent],
        "publication": settings.site_name,
        "language": settings.language.split("-")[0].lower(),
    }
    return render_template("news-sitemap.xml", STATIC_KEYS["news-sitemap"], context, XML, HTML_CACHE)


def render_robots(settings: Settings) -> Output:
    """robots.txt: everything but draft previews may be crawled; the sitemap index is named."""
    sitemap = f"{settings.site_url.rstrip('/')}/sitemap.xml"
    body = f"User-agent: *\nDisallow: /preview/\nAllow: /\n\nSitemap: {sitemap}\n"
    return Output(STATIC_KEYS["robots"], body.encode("utf-8"), TEXT, HTML_CACHE)


def _recent(index: IndexReader, settings: Settings) -> list[Entry]:
    """The live articles of the last two days, newest first, at most NEWS_LIMIT of them."""
    since = now(settings) - NEWS_WINDOW
    limit = NEWS_FIRST_READ
    while True:
        newest = index.newest("home", limit).entries
        recent = [e for e in newest if datetime.fromisoformat(e.published) >= since]
        # Listings run newest first by publication time: an older entry ends the window.
        if len(recent) < len(newest) or len(newest) < limit or limit >= NEWS_LIMIT:
            return recent
        limit = NEWS_LIMIT


def _url(entry: Entry, settings: Settings) -> dict[str, str]:
    return {
        "loc": settings.site_url.rstrip("/") + article_path(entry.slug),
        "lastmod": entry.modified,
        "title": entry.title,
        "published": entry.published,
    }
