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
from broadsheet.contract.models import Article, AuthorProfile
from broadsheet.index.ports import IndexReader

# An author's portrait beside their name and bio on their page (see site.css).
PORTRAIT_SIZES = "8rem"
# The width the article column takes: the page's 48rem less its 1.25rem padding on each side.
COLUMN_SIZES = "(min-width: 48rem) 45.5rem, calc(100vw - 2.5rem)"
THUMBNAIL_SIZES = "6rem"


def srcset(item: MediaItem, fmt: str, base: str = "") -> str:
    """Every rendition of one format, as a `srcset` value (`base` makes the addresses absolute)."""
    return ", ".join(f"{base}/{item.key(width, fmt)} {width}w" for width in item.widths)


def picture(
    item: MediaItem,
    alt: str,
    sizes: str,
    *,
    lead: bool = False,
    eager: bool = False,
    base: str = "",
    css_class: str = "",
) -> Markup:
    """A `<picture>` for `item`: eager and high priority for the lead image, eager at the normal
    priority for one near the top (`eager`), lazy otherwise."""
    sources = "".join(
        f'<source type="{MIME[fmt]}" srcset="{escape(srcset(item, fmt, base))}" sizes="{escape(sizes)}">'
        for fmt in item.formats
        if fmt != "jpg"
    )
    width = item.widths[-1]
    loading = 'fetchpriority="high" loading="eager"' if lead else 'loading="lazy" decoding="async"'
    if eager and not lead:
        loading = 'loading="eager" decoding="async"'
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


def structured_images(item: MediaItem, site_url: str) -> list[dict[str, Any]]:
    """What JSON-LD `image` names: the centre crops (1x1, 4x3, 16x9, as search engines ask), or the
    social image for an image without crops (too small, or indexed before crops were made)."""
    sizes = sorted(item.crops, key=lambda size: size[0] / size[1]) or [
        (item.social_width(), item.height_at(item.social_width()))
    ]
    keys = {size: item.crop_key(*size) for size in item.crops}
    return [
        {
            "url": f"{site_url}/{keys.get((width, height)) or item.key(width, 'jpg')}",
            "width": width,
            "height": height,
        }
        for width, height in sizes
    ]


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


def author_portrait(profile: AuthorProfile, index: IndexReader) -> tuple[Markup, MediaItem] | None:
    """The `<picture>` of an author's portrait and the image it shows, if the profile has one and
    it is published."""
    if profile.portrait is None:
        return None
    item = index.get_media([profile.portrait.name]).get(profile.portrait.name)
    if item is None:
        return None
    return picture(item, profile.portrait.alt, PORTRAIT_SIZES, eager=True, css_class="portrait"), item


def published_media(article: Article, index: IndexReader) -> dict[str, MediaItem]:
    """The images an article shows that are published, by name (one read of the index)."""
    names = article.media_names
    return index.get_media(list(names)) if names else {}


def body_pictures(media: Mapping[str, MediaItem]) -> tuple[MediaItem, ...]:
    """Published images as the body renderer takes them: in a stable order (it caches by them)."""
    return tuple(media[name] for name in sorted(media))
