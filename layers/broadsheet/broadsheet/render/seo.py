"""Structured data for search engines: schema.org JSON-LD, and the safe way to embed it in a page.

The builders return plain dicts; `script_json` turns one into text that can sit inside
`<script type="application/ld+json">` whatever the article's title, authors or tags contain.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from markupsafe import Markup

SCHEMA_ORG = "https://schema.org"
# Google truncates longer headlines in rich results and reports them as an error.
HEADLINE_LIMIT = 110
ELLIPSIS = "…"
# `<` and `>` could open `</script` or `<!--`, `&` could start a character reference in an XHTML
# reading, and U+2028/U+2029 end a line in older JavaScript parsers. In JSON each may only stand
# inside a string, where the \u escape means the same character.
_SCRIPT_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def script_json(data: Mapping[str, Any]) -> Markup:
    """Compact, deterministic JSON of `data` that cannot end or confuse the script element holding it."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return Markup(text.translate(_SCRIPT_ESCAPES))  # noqa: S704 - every markup character is escaped above


def truncate_headline(text: str, limit: int = HEADLINE_LIMIT) -> str:
    """`text` cut to at most `limit` characters on a word boundary, with an ellipsis when cut."""
    text = text.strip()
    if len(text) <= limit:
        return text
    window = text[:limit]
    space = max((i for i, c in enumerate(window) if c.isspace()), default=0)
    kept = text[:space].rstrip(" \t\n,;:–—-") if space > 0 else ""
    return (kept or text[: limit - 1]) + ELLIPSIS


def news_article(
    *,
    url: str,
    headline: str,
    description: str,
    published: datetime,
    modified: datetime | None,
    authors: Sequence[tuple[str, str]],
    section: str | None,
    keywords: Sequence[str],
    language: str,
    source_url: str | None,
    site_name: str,
    site_url: str,
    images: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """A schema.org `NewsArticle` naming every author; `authors` are (name, absolute page URL) pairs;
    `images` the lead image's JPEGs (url, width, height) in the shapes search engines ask for."""
    data: dict[str, Any] = {
        "@context": SCHEMA_ORG,
        "@type": "NewsArticle",
        "headline": truncate_headline(headline),
        "datePublished": published.isoformat(),
        "dateModified": (modified or published).isoformat(),
        "author": [{"@type": "Person", "name": name, "url": page} for name, page in authors],
        "publisher": {"@type": "Organization", "name": site_name, "url": site_url},
        "mainEntityOfPage": {"@type": "WebPage", "@id": url},
        "url": url,
        "inLanguage": language,
    }
    if description:
        data["description"] = description
    if section:
        data["articleSection"] = section
    if keywords:
        data["keywords"] = list(keywords)
    if source_url:
        data["isBasedOn"] = source_url
    if images:
        data["image"] = [image_object(image) for image in images]
    return data


def image_object(image: Mapping[str, Any]) -> dict[str, Any]:
    """A schema.org `ImageObject` from an image's absolute url, width and height."""
    return {"@type": "ImageObject", "url": image["url"], "width": image["width"], "height": image["height"]}


def profile_page(
    *, url: str, name: str, description: str, same_as: str | None, image: Mapping[str, Any] | None
) -> dict[str, Any]:
    """A schema.org `ProfilePage` about one author, a `Person` with their bio, site and portrait."""
    person: dict[str, Any] = {"@type": "Person", "name": name, "url": url}
    if description:
        person["description"] = description
    if same_as:
        person["sameAs"] = [same_as]
    if image:
        person["image"] = image_object(image)
    return {"@context": SCHEMA_ORG, "@type": "ProfilePage", "url": url, "mainEntity": person}


def correction_comments(corrections: Sequence[tuple[datetime, str]]) -> list[dict[str, Any]]:
    """schema.org `CorrectionComment`s for an article's `correction`, in order of time."""
    return [
        {"@type": "CorrectionComment", "datePublished": at.isoformat(), "text": text}
        for at, text in sorted(corrections, key=lambda pair: pair[0])
    ]


def live_blog_posting(
    article: Mapping[str, Any],
    *,
    start: datetime,
    end: datetime | None,
    updates: Sequence[tuple[str, datetime, str, Sequence[str]]],
) -> dict[str, Any]:
    """`article` (a `news_article`) as a schema.org `LiveBlogPosting`; `updates` are (anchor URL,
    time, plain text, author names), newest first; `end` is None while coverage goes on."""
    data = {**article, "@type": "LiveBlogPosting", "coverageStartTime": start.isoformat()}
    if end is not None:
        data["coverageEndTime"] = end.isoformat()
    posts = []
    for url, at, text, authors in updates:
        post: dict[str, Any] = {
            "@type": "BlogPosting",
            "headline": truncate_headline(text) or article["headline"],
            "articleBody": text,
            "datePublished": at.isoformat(),
            "url": url,
        }
        if authors:
            post["author"] = [{"@type": "Person", "name": name} for name in authors]
        posts.append(post)
    data["liveBlogUpdate"] = posts
    return data


def breadcrumb_list(items: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """A schema.org `BreadcrumbList` from (name, absolute URL) pairs, outermost first."""
    return {
        "@context": SCHEMA_ORG,
        "@type": "BreadcrumbList",
        "itemListElement": [
            {"@type": "ListItem", "position": position, "name": name, "item": url}
            for position, (name, url) in enumerate(items, start=1)
        ],
    }


def website(name: str, url: str, description: str) -> dict[str, Any]:
    """A schema.org `WebSite` for the home page."""
    data: dict[str, Any] = {"@context": SCHEMA_ORG, "@type": "WebSite", "name": name, "url": url}
    if description:
        data["description"] = description
    return data
