"""Rendering: a page id and the index become the exact bytes of one output file.

Rendering is a pure function of the indexed content and the settings (which hold the
clock): no build stamps, entries ordered by sort key, so the incremental pipeline and the
offline build produce identical bytes. HTML pages are rendered here; feeds and sitemaps in
their own modules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from functools import lru_cache
from itertools import groupby
from typing import Any

from markupsafe import Markup

from broadsheet.clock import now
from broadsheet.contract.fields import slugify
from broadsheet.contract.media import MediaItem
from broadsheet.contract.models import Article, AuthorProfile
from broadsheet.index.entries import Byline, Entry
from broadsheet.index.ports import IndexedArticle, IndexReader
from broadsheet.index.related import related_entries
from broadsheet.pages import (
    NOT_FOUND,
    NOT_FOUND_KEY,
    STATIC_KEYS,
    AliasPage,
    ArticlePage,
    FeedPage,
    Listing,
    ListingPage,
    Page,
    PreviewPage,
    SitemapPage,
    StaticPage,
    article_path,
    feeds_of,
    object_key,
    older_page_of_front,
    page_count,
)
from broadsheet.preview import preview_expiry, preview_key, sign
from broadsheet.render import coverage, feeds, seo, sitemaps
from broadsheet.render.body import render_body
from broadsheet.render.fragments import render_pass, split_loop
from broadsheet.render.front import front_view, pinned_entries
from broadsheet.render.pictures import (
    THUMBNAIL_SIZES,
    author_portrait,
    body_pictures,
    figure,
    picture,
    published_media,
    social_image,
    structured_images,
)
from broadsheet.render.templating import (
    HTML,
    HTML_CACHE,
    MONTHS,
    NOT_FOUND_CACHE,
    PRIVATE_CACHE,
    Output,
    display_time,
    month_name,
    render_template,
    stylesheet,
)
from broadsheet.settings import Settings

__all__ = ["HTML", "HTML_CACHE", "Output", "display_time", "render_page", "stylesheet"]


def render_page(page: Page, index: IndexReader, settings: Settings) -> Output | None:
    """The output file for `page`, or None when the page should not exist. The one place that
    decides what each kind of page is made of."""
    match page:
        case ArticlePage():
            return _article(page, index, settings)
        case ListingPage():
            return _listing(page, index, settings)
        case FeedPage():
            return feeds.render_feed(page, index, settings)
        case SitemapPage():
            return sitemaps.render_shard(page, index, settings)
        case StaticPage():
            return _static(page, index, settings)
        case PreviewPage():
            return _preview(page, index, settings)
        case AliasPage():
            raise ValueError(f"{page.id} is kept in the alias store, not rendered")


def _common(
    settings: Settings,
    path: str,
    title: str,
    description: str,
    kind: str,
    language: str,
    *,
    feeds_from: Listing | None = None,
    breadcrumbs: list[tuple[str, str]] | None = None,
    jsonld: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    site_url = settings.site_url.rstrip("/")
    crumbs = breadcrumbs or []
    structured = list(jsonld or [])
    if crumbs:
        structured.append(seo.breadcrumb_list([(name, site_url + url) for name, url in crumbs]))
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
            "feeds": _feed_links(feeds_from, settings),
            "jsonld": [seo.script_json(data) for data in structured],
            "og_type": "article" if kind == "article" else "website",
            "breadcrumbs": [{"name": name, "url": url} for name, url in crumbs],
            # Search engines may show large previews of the page's images.
            "robots": "max-image-preview:large",
            "image": None,
        },
        "css_href": "/" + stylesheet().key,
    }


def _feed_links(listing: Listing | None, settings: Settings) -> list[dict[str, str]]:
    """The site's feeds, and the listing's own when it has them, for discovery links."""
    titles = {"atom": "Atom", "rss": "RSS", "json": "JSON Feed"}
    links = []
    sources = [(Listing("home"), settings.site_name)]
    if listing is not None and listing.kind != "home" and feeds_of(listing):
        sources.append((listing, f"{settings.site_name}: {_humanise(listing.key)}"))
    for source, name in sources:
        for feed in feeds_of(source):
            links.append(
                {
                    "title": f"{name} ({titles[feed.format]})",
                    "url": feed.path,
                    "type": feeds.TYPES[feed.format],
                }
            )
    return links


def _html(template: str, key: str, context: dict[str, Any], cache: str = HTML_CACHE) -> Output:
    return render_template(template, key, context, HTML, cache)


def _stamp(value: datetime) -> dict[str, str]:
    return {"iso": value.isoformat(), "display": display_time(value)}


def _bylines(bylines: tuple[Byline, ...]) -> list[dict[str, str]]:
    return [{"name": b.name, "url": Listing("author", b.slug).base_path} for b in bylines]


def _preview(page: PreviewPage, index: IndexReader, settings: Settings) -> Output | None:
    """A draft as its article page will look, at its signed address: never indexed by search
    engines, never cached, and gone once published, deleted or expired."""
    indexed = index.get_article(page.slug)
    secret = settings.preview_secret.get_secret_value().encode("utf-8")
    if indexed is None or indexed.article.status != "draft" or not secret:
        return None
    expires = preview_expiry(indexed.article)
    if expires <= now(settings):
        return None
    key = preview_key(sign(secret, page.slug, expires), page.slug)
    path = "/" + key.removesuffix("index.html")
    return _article_output(indexed, index, path, key, settings, preview=True)


def _article(page: ArticlePage, index: IndexReader, settings: Settings) -> Output | None:
    indexed = index.get_article(page.slug)
    if indexed is None or not indexed.live:
        return None
    return _article_output(indexed, index, page.path, object_key(page.path), settings, preview=False)


def _article_output(
    indexed: IndexedArticle, index: IndexReader, path: str, key: str, settings: Settings, *, preview: bool
) -> Output:
    article = indexed.article
    language = article.language or settings.language
    site_url = settings.site_url.rstrip("/")
    media = published_media(article, index)
    view = _article_view(article, language, media, settings)
    lead = media.get(article.image.name) if article.image else None
    shared = social_image(lead, article.image.alt, site_url) if lead and article.image else None
    crumbs = [("Home", "/")]
    if view["section"]:
        crumbs.append((view["section"]["name"], view["section"]["url"]))
    crumbs.append((article.title, path))
    structured = seo.news_article(
        url=site_url + path,
        headline=article.title,
        description=article.teaser,
        published=article.published_at,
        modified=article.modified_at,
        authors=[(a["name"], site_url + a["url"]) for a in view["authors"]],
        section=view["section"]["name"] if view["section"] else None,
        keywords=list(article.tags),
        language=language,
        source_url=str(article.source.url) if article.source else None,
        site_name=settings.site_name,
        site_url=site_url + "/",
        images=structured_images(lead, site_url) if lead else (),
    )
    structured = _with_additions(structured, article, site_url + path)
    description = article.teaser or article.title
    context = _common(
        settings,
        path,
        article.title,
        description,
        "article",
        language,
        breadcrumbs=[] if preview else crumbs,
        jsonld=[] if preview else [structured],
    )
    context["article"] = view
    related = related_entries(article.slug, indexed.sort_key, indexed.listings, index)
    # Related entries without thumbnails: an article page then depends only on what listings show
    # of its neighbours, which is what the planner re-renders it for.
    context["related"] = [_item_view(entry, {}) for entry in related]
    context["page"]["image"] = shared
    if preview:
        # A draft has no public address to point search engines at, and must not be kept by
        # any cache: the next edit or the publication replaces it.
        context["page"]["canonical"] = None
        context["page"]["robots"] = "noindex, nofollow"
        return _html("article.html", key, context, PRIVATE_CACHE)
    return _html("article.html", key, context)


def _with_additions(structured: dict[str, Any], article: Article, url: str) -> dict[str, Any]:
    """The article's structured data with its corrections, and as a live blog when it is one."""
    if article.corrections:
        structured["correction"] = seo.correction_comments([(c.at, c.text) for c in article.corrections])
    if not article.is_live_blog:
        return structured
    ended = None if article.live else max([u.at for u in article.updates], default=article.published_at)
    updates = [
        (f"{url}#update-{n}", u.at, coverage.plain_text(u.text), list(u.authors))
        for n, u in reversed(list(enumerate(article.updates, start=1)))
    ]
    return seo.live_blog_posting(structured, start=article.published_at, end=ended, updates=updates)


def _article_view(
    article: Article, language: str, media: dict[str, MediaItem], settings: Settings
) -> dict[str, Any]:
    image = article.image
    lead = media.get(image.name) if image else None
    corrections = coverage.correction_views(article)
    return {
        "lead": figure(lead, image.alt, image.caption, image.credit, lead=True) if lead and image else None,
        "schema_type": "LiveBlogPosting" if article.is_live_blog else "NewsArticle",
        "live": article.live,
        "updates": coverage.update_views(article) if article.is_live_blog else [],
        "corrections": corrections,
        "corrected": corrections[-1]["at"] if corrections else None,
        "title": article.title,
        "teaser": article.teaser,
        "language": language,
        "authors": _bylines(tuple(Byline(n, slugify(n)) for n in article.authors)),
        "published": _stamp(article.published_at),
        "updated": _stamp(article.modified_at) if article.modified_at else None,
        "section": (
            {"name": _humanise(article.section), "url": Listing("section", article.section).base_path}
            if article.section
            else None
        ),
        "tags": [{"name": name, "url": Listing("tag", slugify(name)).base_path} for name in article.tags],
        "body_html": render_body(article.body, body_pictures(media), remote_images=settings.remote_images),
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
        start = (page.number - 1) * size
        chunk = index.span(listing.id, start, start + size)
        last = page_count(chunk.total, size)
        if page.number > last:
            return None
        newer = listing.page(page.number + 1) if page.number < last else listing.page(0)
        older_path = listing.page(page.number - 1).path if page.number > 1 else None
        pagination = {"older": older_path, "newer": newer.path, "number": page.number}
    profile = index.get_profile(listing.key) if listing.kind == "author" and page.number == 0 else None
    heading, intro, link = _listing_heading(listing, chunk.entries, index, settings, page.number, profile)
    title = heading if page.number == 0 else f"{heading}, page {page.number}"
    if listing.kind != "home" or page.number:
        title = f"{title} — {settings.site_name}"
    description = intro or f"{heading}: articles from {settings.site_name}, newest first."
    crumbs: list[tuple[str, str]] = []
    jsonld: list[dict[str, Any]] = []
    if listing.kind == "home" and page.number == 0:
        jsonld.append(
            seo.website(settings.site_name, settings.site_url.rstrip("/") + "/", settings.site_description)
        )
    elif listing.kind == "home":
        crumbs = [("Home", "/"), (f"Page {page.number}", page.path)]
    else:
        crumbs = [("Home", "/")]
        if listing.kind == "month":
            crumbs.append(("Archive", "/archive/"))
        crumbs.append((heading, listing.base_path))
        if page.number:
            crumbs.append((f"Page {page.number}", page.path))
    portrait = None
    if profile is not None:
        portrait, person = _profile(profile, index, settings, page.path)
        jsonld.append(person)
    context = _common(
        settings, page.path, title, description, "listing", settings.language,
        feeds_from=listing, breadcrumbs=crumbs, jsonld=jsonld,
    )  # fmt: skip
    context["listing"] = {"heading": heading, "intro": intro, "link": link, "kind": listing.kind}
    context["listing"]["portrait"] = portrait
    river, thumbnails, context["front"] = _front_and_river(page, chunk.entries, index)
    context["pagination"] = pagination
    split = split_loop("listing.html", "item in items")
    if split is None:
        context["items"] = [_item_view(e, thumbnails) for e in river]
        return _html("listing.html", object_key(page.path), context)
    context["items"] = [_item_html(e, thumbnails.get(e.image) if e.image else None) for e in river]
    return Output(object_key(page.path), split.outer.render(**context).encode("utf-8"), HTML, HTML_CACHE)


def _front_and_river(
    page: ListingPage, entries: Sequence[Entry], index: IndexReader
) -> tuple[list[Entry], dict[str, MediaItem], dict[str, Any] | None]:
    """A listing page's river (its entries less the stories pinned above it), the thumbnails of
    everything it shows, and its curated top (None unless a front's first page pins stories)."""
    lead, tops = pinned_entries(page.listing, index) if page.number == 0 else (None, [])
    above = {e.slug for e in tops} | ({lead.slug} if lead else set())
    river = [e for e in entries if e.slug not in above]
    shown = river + tops + ([lead] if lead else [])
    thumbnails = index.get_media(sorted({e.image for e in shown if e.image}))
    return river, thumbnails, front_view(lead, tops, thumbnails, _item_view)


def _item_html(entry: Entry, thumbnail: MediaItem | None) -> Markup:
    # An article's entry differs from one listing to the next only by the listing's id.
    return _rendered_item(replace(entry, listing=""), thumbnail)


# An entry looks the same on every listing it is on: its item is rendered once per process.
@lru_cache(maxsize=20_000)
def _rendered_item(entry: Entry, thumbnail: MediaItem | None) -> Markup:
    split = split_loop("listing.html", "item in items")
    assert split is not None  # noqa: S101 - called only once the template is split
    return render_pass(split, _item_view(entry, {entry.image: thumbnail} if thumbnail else {}))


def _profile(
    profile: AuthorProfile, index: IndexReader, settings: Settings, path: str
) -> tuple[Markup | None, dict[str, Any]]:
    """An author's portrait (if published) and the `ProfilePage` JSON-LD of their first page."""
    site_url = settings.site_url.rstrip("/")
    shown = author_portrait(profile, index)
    person = seo.profile_page(
        url=site_url + path,
        name=profile.name,
        description=profile.bio,
        same_as=str(profile.url) if profile.url else None,
        image=social_image(shown[1], "", site_url) if shown else None,
    )
    return (shown[0] if shown else None), person


def _listing_heading(
    listing: Listing,
    entries: tuple[Entry, ...],
    index: IndexReader,
    settings: Settings,
    number: int,
    profile: AuthorProfile | None,
) -> tuple[str, str, dict[str, str] | None]:
    """Heading, intro and external link of a listing page, from that page's own entries (and, on
    an author's first page, their profile)."""
    if listing.kind == "home":
        return settings.site_name, settings.site_description if number == 0 else "", None
    if listing.kind == "month":
        return month_name(listing.key), "", None
    if listing.kind == "section":
        return _humanise(listing.key), "", None
    if listing.kind == "tag":
        return _tag_label(listing.key, entries, index), "", None
    names = [b.name for e in entries for b in e.authors if b.slug == listing.key]
    heading = names[0] if names else _humanise(listing.key)
    if number != 0 or profile is None:
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


def _item_view(entry: Entry, thumbnails: dict[str, MediaItem]) -> dict[str, Any]:
    shown = thumbnails.get(entry.image) if entry.image else None
    return {
        # Beside its own linked title, a thumbnail adds nothing a reader needs: no alt text.
        "thumbnail": picture(shown, "", THUMBNAIL_SIZES, css_class="thumb") if shown else None,
        "title": entry.title,
        "url": article_path(entry.slug),
        "teaser": entry.teaser,
        "authors": _bylines(entry.authors),
        "published": _stamp(datetime.fromisoformat(entry.published)),
        "live": entry.live_coverage,
    }


def _archive(index: IndexReader, settings: Settings) -> Output:
    """The archive index: every month with articles, newest first, grouped by year."""
    months = sorted(index.months(), reverse=True)
    years = []
    for year, group in groupby(months, key=lambda m: int(m[0][:4])):
        years.append(
            {
                "year": year,
                "months": [
                    {
                        "name": MONTHS[int(month[5:]) - 1],
                        "url": Listing("month", month).base_path,
                        "count": count,
                    }
                    for month, count in group
                ],
            }
        )
    path = "/archive/"
    context = _common(
        settings, path, f"Archive — {settings.site_name}", f"Every month of {settings.site_name}'s articles.",
        "archive", settings.language, breadcrumbs=[("Home", "/"), ("Archive", path)],
    )  # fmt: skip
    context["archive"] = {"years": years}
    return _html("archive.html", STATIC_KEYS["archive"], context)


def _static(page: StaticPage, index: IndexReader, settings: Settings) -> Output | None:
    if page.name == NOT_FOUND:
        context = _common(
            settings, "/404.html", f"Page not found — {settings.site_name}", "This page does not exist.",
            "not_found", settings.language,
        )  # fmt: skip
        context["page"]["robots"] = None  # a missing page has no images to preview
        return _html("404.html", NOT_FOUND_KEY, context, NOT_FOUND_CACHE)
    if page.name == "archive":
        return _archive(index, settings)
    if page.name == "robots":
        return sitemaps.render_robots(settings)
    if page.name == "sitemap-index":
        return sitemaps.render_index(index, settings)
    if page.name == "news-sitemap":
        return sitemaps.render_news(index, settings)
    return stylesheet()


def _humanise(slug: str) -> str:
    text = slug.replace("-", " ")
    return text[:1].upper() + text[1:]
