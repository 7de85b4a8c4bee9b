"""Rendering: a page id and the index become the exact bytes of one output file.

Rendering is a pure function of the indexed content and the settings (which hold the
clock): no build stamps, entries ordered by sort key, so the incremental pipeline and the
offline build produce identical bytes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from broadsheet.body import render_body
from broadsheet.entries import Byline, Entry
from broadsheet.index import IndexReader
from broadsheet.models import Article, slugify
from broadsheet.pages import (
    NOT_FOUND,
    NOT_FOUND_KEY,
    ArticlePage,
    Listing,
    ListingPage,
    Page,
    StaticPage,
    article_path,
    object_key,
    older_page_of_front,
    page_count,
)
from broadsheet.settings import Settings

HTML = "text/html; charset=utf-8"
CSS = "text/css; charset=utf-8"
# Listings go stale for seconds at the edge, not hours; browsers always revalidate.
HTML_CACHE = "public, max-age=0, s-maxage=60, stale-while-revalidate=30"
NOT_FOUND_CACHE = "public, max-age=0, s-maxage=10"
ASSET_CACHE = "public, max-age=31536000, immutable"
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


@dataclass(frozen=True)
class Output:
    """One file of the site: where it goes, its bytes and how it is served."""

    key: str
    body: bytes
    content_type: str
    cache_control: str


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The one Jinja environment every page is rendered with."""
    return Environment(
        loader=PackageLoader("broadsheet", "templates"),
        autoescape=select_autoescape(),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@lru_cache(maxsize=1)
def stylesheet() -> Output:
    """The stylesheet, under a name that carries its content hash."""
    body = resources.files("broadsheet").joinpath("static/site.css").read_bytes()
    digest = hashlib.sha256(body).hexdigest()[:12]
    return Output(f"assets/site.{digest}.css", body, CSS, ASSET_CACHE)


def display_time(value: datetime) -> str:
    """A date and time as readers see it: `21 December 2015 | 22:00`, in the article's offset."""
    return f"{value.day} {_MONTHS[value.month - 1]} {value.year} | {value:%H:%M}"


def render_page(page: Page, index: IndexReader, settings: Settings) -> Output | None:
    """The output file for `page`, or None when the page should not exist."""
    if isinstance(page, ArticlePage):
        return _article(page, index, settings)
    if isinstance(page, ListingPage):
        return _listing(page, index, settings)
    return _static(page, settings)


def _common(
    settings: Settings, path: str, title: str, description: str, kind: str, language: str
) -> dict[str, Any]:
    site_url = settings.site_url.rstrip("/")
    return {
        "site": {
            "name": settings.site_name,
            "url": site_url,
            "description": settings.site_description,
            "language": settings.language,
        },
        "page": {
            "title": title,
            "description": description,
            "canonical": site_url + path,
            "path": path,
            "kind": kind,
            "language": language,
        },
        "css_href": "/" + stylesheet().key,
    }


def _html(template: str, key: str, context: dict[str, Any], cache: str = HTML_CACHE) -> Output:
    text = environment().get_template(template).render(**context)
    return Output(key, text.encode("utf-8"), HTML, cache)


def _stamp(value: datetime) -> dict[str, str]:
    return {"iso": value.isoformat(), "display": display_time(value)}


def _bylines(bylines: tuple[Byline, ...]) -> list[dict[str, str]]:
    return [{"name": b.name, "url": Listing("author", b.slug).base_path} for b in bylines]


def _article(page: ArticlePage, index: IndexReader, settings: Settings) -> Output | None:
    indexed = index.get_article(page.slug)
    if indexed is None or not indexed.live:
        return None
    article = indexed.article
    language = article.language or settings.language
    context = _common(
        settings, page.path, article.title, article.teaser or article.title, "article", language
    )
    context["article"] = _article_view(article, language)
    return _html("article.html", object_key(page.path), context)


def _article_view(article: Article, language: str) -> dict[str, Any]:
    return {
        "title": article.title,
        "teaser": article.teaser,
        "language": language,
        "authors": _bylines(tuple(Byline(n, slugify(n)) for n in article.authors)),
        "published": _stamp(article.published_at),
        "updated": _stamp(article.updated_at) if article.updated_at else None,
        "section": (
            {"name": _humanise(article.section), "url": Listing("section", article.section).base_path}
            if article.section
            else None
        ),
        "tags": [{"name": name, "url": Listing("tag", slugify(name)).base_path} for name in article.tags],
        "body_html": render_body(article.body),
        "source": {"name": article.source.name, "url": str(article.source.url)} if article.source else None,
    }


def _listing(page: ListingPage, index: IndexReader, settings: Settings) -> Output | None:
    listing, size = page.listing, settings.page_size
    if page.number == 0:
        chunk = index.newest(listing.id, size)
        if chunk.total == 0 and listing.kind != "home":
            return None
        older = older_page_of_front(chunk.total, size)
        pagination: dict[str, Any] = {
            "older": listing.page(older).path if older else None,
            "newer": None,
            "number": None,
        }
    else:
        total = index.count(listing.id)
        last = page_count(total, size)
        if page.number > last:
            return None
        start = (page.number - 1) * size
        chunk = index.span(listing.id, start, start + size)
        newer = listing.page(page.number + 1) if page.number < last else listing.page(0)
        older_path = listing.page(page.number - 1).path if page.number > 1 else None
        pagination = {"older": older_path, "newer": newer.path, "number": page.number}
    heading, intro, link = _listing_heading(listing, chunk.entries, index, settings, page.number)
    title = heading if page.number == 0 else f"{heading}, page {page.number}"
    if listing.kind != "home" or page.number:
        title = f"{title} — {settings.site_name}"
    description = intro or f"{heading}: articles from {settings.site_name}, newest first."
    context = _common(settings, page.path, title, description, "listing", settings.language)
    context["listing"] = {"heading": heading, "intro": intro, "link": link, "kind": listing.kind}
    context["items"] = [_item_view(e) for e in chunk.entries]
    context["pagination"] = pagination
    return _html("listing.html", object_key(page.path), context)


def _listing_heading(
    listing: Listing, entries: tuple[Entry, ...], index: IndexReader, settings: Settings, number: int
) -> tuple[str, str, dict[str, str] | None]:
    """Heading, intro and external link of a listing page, from that page's own entries."""
    if listing.kind == "home":
        return settings.site_name, settings.site_description if number == 0 else "", None
    if listing.kind == "month":
        year, month = listing.key.split("-")
        return f"{_MONTHS[int(month) - 1]} {int(year)}", "", None
    if listing.kind == "section":
        return _humanise(listing.key), "", None
    if listing.kind == "tag":
        return _tag_label(listing.key, entries, index), "", None
    names = [b.name for e in entries for b in e.authors if b.slug == listing.key]
    heading = names[0] if names else _humanise(listing.key)
    if number != 0:
        return heading, "", None
    profile = index.get_profile(listing.key)
    if profile is None:
        return heading, "", None
    link = {"name": "Website", "url": str(profile.url)} if profile.url else None
    return profile.name, profile.bio, link


def _tag_label(tag: str, entries: tuple[Entry, ...], index: IndexReader) -> str:
    for entry in entries:
        indexed = index.get_article(entry.slug)
        if indexed:
            for name in indexed.article.tags:
                if slugify(name) == tag:
                    return name
    return _humanise(tag)


def _item_view(entry: Entry) -> dict[str, Any]:
    return {
        "title": entry.title,
        "url": article_path(entry.slug),
        "teaser": entry.teaser,
        "authors": _bylines(entry.authors),
        "published": _stamp(datetime.fromisoformat(entry.published)),
    }


def _static(page: StaticPage, settings: Settings) -> Output:
    if page.name == NOT_FOUND:
        context = _common(
            settings, "/404.html", f"Page not found — {settings.site_name}", "This page does not exist.",
            "not_found", settings.language,
        )  # fmt: skip
        return _html("404.html", NOT_FOUND_KEY, context, NOT_FOUND_CACHE)
    return stylesheet()


def _humanise(slug: str) -> str:
    text = slug.replace("-", " ")
    return text[:1].upper() + text[1:]
