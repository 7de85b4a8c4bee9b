"""Article bodies: CommonMark to HTML with pyromark, then always through the nh3 sanitiser."""

from __future__ import annotations

import re
from functools import lru_cache

import nh3
import pyromark
from markupsafe import Markup

_OPTIONS = (
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


# A page and the three feeds that show an article render its body; a body is rendered once.
@lru_cache(maxsize=256)
def render_body(markdown: str) -> Markup:
    """Sanitised HTML for a CommonMark body: never trusted HTML, never script."""
    raw = pyromark.html(markdown, options=_OPTIONS)
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
    return Markup(_UNWRITABLE.sub("\ufffd", clean))  # noqa: S704 - this is the sanitiser's output
