"""`<picture>` markup for a published image: modern formats in `<source srcset sizes>`, a JPEG
`<img>` with its width and height so that the page does not shift when it arrives.

The markup is made here from what the index records of an image (`MediaItem`), never from what an
editor wrote: an article body's `![alt](media/<file>)` is sanitised first and only then becomes a
picture, so no `<source>`, `srcset` or `sizes` from an editor ever reaches a page.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from markupsafe import Markup, escape

from broadsheet.contract.media import MIME, MediaItem
from broadsheet.contract.models import Article
from broadsheet.index.ports import IndexReader

# The width the article column takes: the page's 48rem less its 1.25rem padding on each side.
COLUMN_SIZES = "(min-width: 48rem) 45.5rem, calc(100vw - 2.5rem)"
THUMBNAIL_SIZES = "6rem"


def srcset(item: MediaItem, fmt: str, base: str = "") -> str:
    """Every rendition of one format, as a `srcset` value (`base` makes the addresses absolute)."""
    return ", ".join(f"{base}/{item.key(width, fmt)} {width}w" for width in item.widths)


def picture(
    item: MediaItem, alt: str, sizes: str, *, lead: bool = False, base: str = "", css_class: str = ""
) -> Markup:
    """A `<picture>` for `item`: eager and high priority for the lead image, lazy otherwise."""
    sources = "".join(
        f'<source type="{MIME[fmt]}" srcset="{escape(srcset(item, fmt, base))}" sizes="{escape(sizes)}">'
        for fmt in item.formats
        if fmt != "jpg"
    )
    width = item.widths[-1]
    loading = 'fetchpriority="high" loading="eager"' if lead else 'loading="lazy" decoding="async"'
    classes = f' class="{escape(css_class)}"' if css_class else ""
    img = (
        f'<img src="{escape(base)}/{escape(item.key(width, "jpg"))}" '
        f'srcset="{escape(srcset(item, "jpg", base))}" sizes="{escape(sizes)}" '
        f'width="{width}" height="{item.height_at(width)}" alt="{escape(alt)}" '
        f"{loading}>"
    )
    return Markup(f"<picture{classes}>{sources}{img}</picture>")  # noqa: S704 - every value is escaped


def social_image(item: MediaItem, alt: str, site_url: str) -> dict[str, Any]:
    """What og:image, twitter:image and JSON-LD name: the JPEG at least 1,200 px wide, if any."""
    width = item.social_width()
    return {
        "url": f"{site_url}/{item.key(width, 'jpg')}",
        "width": width,
        "height": item.height_at(width),
        "alt": alt,
        "type": MIME["jpg"],
    }


def figure(
    item: MediaItem, alt: str, caption: str | None, credit: str | None, *, lead: bool, base: str = ""
) -> Markup:
    """A picture in a `<figure>`, its caption and credit in the `<figcaption>`."""
    parts = [str(picture(item, alt, COLUMN_SIZES, lead=lead, base=base))]
    if caption or credit:
        text = escape(caption) if caption else Markup("")
        if credit:
            text += Markup(' <span class="credit">') + escape(credit) + Markup("</span>")
        parts.append(f"<figcaption>{text}</figcaption>")
    classes = "lead-figure" if lead else "body-figure"
    return Markup(f'<figure class="{classes}">{"".join(parts)}</figure>')  # noqa: S704 - escaped above


def published_media(article: Article, index: IndexReader) -> dict[str, MediaItem]:
    """The images an article shows that are published, by name (one read of the index)."""
    names = article.media_names
    return index.get_media(list(names)) if names else {}


def body_pictures(media: Mapping[str, MediaItem]) -> tuple[MediaItem, ...]:
    """Published images as the body renderer takes them: in a stable order (it caches by them)."""
    return tuple(media[name] for name in sorted(media))
