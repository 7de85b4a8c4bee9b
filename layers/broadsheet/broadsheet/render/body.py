"""Article bodies: CommonMark to HTML with pyromark, then always through the nh3 sanitiser."""

from __future__ import annotations

import re
from functools import lru_cache
from html import unescape

import nh3
import pyromark
from markupsafe import Markup

from broadsheet.contract.media import MEDIA, MediaItem, media_name
from broadsheet.render.pictures import COLUMN_SIZES, figure, picture

MARKDOWN_OPTIONS = (
    pyromark.Options.ENABLE_TABLES
    | pyromark.Options.ENABLE_STRIKETHROUGH
    | pyromark.Options.ENABLE_FOOTNOTES
    | pyromark.Options.ENABLE_SMART_PUNCTUATION
)
_TAGS = {
    "p", "br", "hr", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "li", "pre", "code",
    "em", "strong", "del", "sup", "sub", "a", "img", "table", "thead", "tbody", "tr", "th", "td",
    "figure", "figcaption", "div", "span", "dl", "dt", "dd", "abbr", "cite", "q", "small",
}  # fmt: skip
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "ol": {"start"},
    "div": {"id"},
    "abbr": {"title"},
}
_ALIGN = {"align-left", "align-center", "align-right"}
# Classes are kept only where the CommonMark engine writes them, with the values it writes.
_CLASSES = {
    "th": {"class": _ALIGN},
    "td": {"class": _ALIGN},
    "div": {"class": {"footnote-definition"}},
    "sup": {"class": {"footnote-reference", "footnote-definition-label"}},
}
_SCHEMES = {"http", "https", "mailto"}
# Every id in a body gets this prefix, so no editor's id can clash with the page's own.
ID_PREFIX = "fn-"
# The CSP forbids inline styles: column alignment becomes a class the stylesheet knows.
_STYLE_ALIGN = re.compile(r' style="text-align: (left|center|right)"')
_FOOTNOTE_LINK = re.compile(r'<sup class="footnote-reference"><a href="#')
# Characters no XML document may hold (the feeds carry bodies) and HTML calls errors. A body
# cannot hold them as such (the contract refuses them), but a character reference such as
# `&#11;` renders as one: each becomes U+FFFD, as a reader's replacement character.
_UNWRITABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


# A page and the three feeds that show an article render its body; a body is sanitised once.
@lru_cache(maxsize=256)
def _sanitised(markdown: str) -> str:
    """Sanitised HTML for a CommonMark body: never trusted HTML, never script."""
    raw = pyromark.html(markdown, options=MARKDOWN_OPTIONS)
    # The page's own <h1> is the title; a body's top-level heading becomes a sub-heading.
    raw = raw.replace("<h1>", "<h2>").replace("</h1>", "</h2>")
    raw = _STYLE_ALIGN.sub(r' class="align-\1"', raw)
    raw = _FOOTNOTE_LINK.sub(f'<sup class="footnote-reference"><a href="#{ID_PREFIX}', raw)
    clean = nh3.clean(
        raw,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        tag_attribute_values=_CLASSES,
        url_schemes=_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
        id_prefix=ID_PREFIX,
    )
    return _UNWRITABLE.sub("\ufffd", clean)


# An image the sanitiser let through (it writes every attribute double-quoted and escaped), alone
# in its paragraph (a figure) or among text.
_IMG = re.compile(r"(<p>)?<img ([^>]*)>(</p>)?")
_ATTRIBUTE = re.compile(r'([a-z]+)="([^"]*)"')


@lru_cache(maxsize=256)
def body_media(markdown: str) -> tuple[str, ...]:
    """The media files a body shows (`media/<file>` images), in order, each once."""
    html_text = _sanitised(markdown)
    if "<img " not in html_text:
        # A scan for the literal is many times faster than the pattern, which has no fixed start.
        return ()
    names = (media_name(_attributes(m.group(2)).get("src", "")) for m in _IMG.finditer(html_text))
    return tuple(dict.fromkeys(name for name in names if name is not None))


@lru_cache(maxsize=256)
def render_body(
    markdown: str, media: tuple[MediaItem, ...] = (), *, base: str = "", remote_images: bool = True
) -> Markup:
    """A body as HTML: sanitised, then each `media/` image it shows as a picture from `media`
    (those not published yet are left out), remote images kept only if `remote_images`. `base`
    makes the pictures' addresses absolute (feeds)."""
    published = {item.name: item for item in media}

    def replace(match: re.Match[str]) -> str:
        attributes = _attributes(match.group(2))
        src, alt = attributes.get("src", ""), attributes.get("alt", "")
        alone = bool(match.group(1) and match.group(3))
        if not src.startswith(MEDIA):
            if remote_images or not src.lower().startswith(("http:", "https:")):
                return match.group(0)
            return "" if alone else f"{match.group(1) or ''}{match.group(3) or ''}"
        name = media_name(src)
        item = published.get(name) if name else None
        if item is None:
            return "" if alone else f"{match.group(1) or ''}{match.group(3) or ''}"
        if alone:
            return str(figure(item, alt, attributes.get("title") or None, None, lead=False, base=base))
        shown = picture(item, alt, COLUMN_SIZES, base=base)
        return f"{match.group(1) or ''}{shown}{match.group(3) or ''}"

    html_text = _sanitised(markdown)
    if "<img " in html_text:
        html_text = _IMG.sub(replace, html_text)
    return Markup(html_text)  # noqa: S704 - the sanitiser's output, with pictures made from the index


def _attributes(text: str) -> dict[str, str]:
    return {name: unescape(value) for name, value in _ATTRIBUTE.findall(text)}
