"""Article bodies: CommonMark to HTML with pyromark, then always through the nh3 sanitiser."""

from __future__ import annotations

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
    "th": {"align"},
    "td": {"align"},
    "ol": {"start"},
    "div": {"class"},
    "li": {"id"},
    "sup": {"class", "id"},
    "abbr": {"title"},
}
_SCHEMES = {"http", "https", "mailto"}


def render_body(markdown: str) -> Markup:
    """Sanitised HTML for a CommonMark body: never trusted HTML, never script."""
    raw = pyromark.html(markdown, options=_OPTIONS)
    # The page's own <h1> is the title; a body's top-level heading becomes a sub-heading.
    raw = raw.replace("<h1>", "<h2>").replace("</h1>", "</h2>")
    clean = nh3.clean(
        raw,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes=_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return Markup(clean)  # noqa: S704 - this is the sanitiser's output
