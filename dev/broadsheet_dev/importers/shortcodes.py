"""WordPress shortcodes (`[caption]`, `[gallery]`, `[embed]`…) turned into plain HTML, or reported.

Shortcodes are WordPress's own bracket syntax inside a post's text, not HTML, and WordPress finds
them with a pattern over the text (`get_shortcode_regex`); this module does the same, then hands
what it made to the HTML stage. Only registered shortcodes were ever expanded by WordPress and the
export does not say which were registered, so an unknown `[name]` is treated as a shortcode only
when it is unmistakably one: it has attributes, closes itself (`[name /]`) or is closed later
(`[name]…[/name]`). Otherwise it stays as text (`[sic]`, `[1]`), with a warning.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape

# An opening tag: `[[` escapes (kept literally), a name, attributes up to the closing bracket
# (no `[` or `]` inside), an optional self-closing slash.
_OPEN = re.compile(r"\[(\[?)([A-Za-z][\w-]*)(?=[\s\]/])([^\[\]]*?)(/?)\](\]?)")
_KEY_VALUE = re.compile(r"[\w-]+\s*=")
KNOWN = frozenset({"caption", "wp_caption", "gallery", "embed", "video", "audio", "playlist"})


@dataclass
class Found:
    """What the expansion did to one body, for the report."""

    expanded: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    left_as_text: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Shortcode:
    """One shortcode occurrence: its name, attributes and enclosed content (None if not enclosing)."""

    name: str
    attrs: dict[str, str]
    positional: tuple[str, ...]
    content: str | None


# What a handler makes of a shortcode: the HTML to put in its place.
Handler = Callable[[Shortcode, Found], str]


def parse_attributes(text: str) -> tuple[dict[str, str], tuple[str, ...]]:
    """`key="value" key2='v' key3=v bare` as a mapping and the positional words, as WordPress
    reads them (names lowercased)."""
    try:
        words = shlex.split(text.replace("\u201c", '"').replace("\u201d", '"'), posix=True)
    except ValueError:
        words = text.split()
    attrs: dict[str, str] = {}
    positional: list[str] = []
    for word in words:
        key, sep, value = word.partition("=")
        if sep and key and re.fullmatch(r"[\w-]+", key):
            attrs[key.lower()] = value
        else:
            positional.append(word)
    return attrs, tuple(positional)


def expand(text: str, handlers: dict[str, Handler]) -> tuple[str, Found]:
    """`text` with every shortcode replaced by its handler's HTML; unknown ones dropped or kept."""
    found = Found()
    return _expand(text, handlers, found), found


def _expand(text: str, handlers: dict[str, Handler], found: Found) -> str:
    out: list[str] = []
    at = 0
    while True:
        match = _OPEN.search(text, at)
        if match is None:
            out.append(text[at:])
            return "".join(out)
        out.append(text[at : match.start()])
        escaped_open, name, raw_attrs, slash, escaped_close = match.groups()
        lowered = name.lower()
        if escaped_open and escaped_close:
            # `[[name]]` is WordPress's way to write the shortcode itself as text.
            out.append(match.group()[1:-1])
            at = match.end()
            continue
        if escaped_open:
            out.append("[")
        closing = f"[/{name}]"
        content: str | None = None
        end = match.end()
        if not slash:
            close_at = text.find(closing, end)
            # An enclosing shortcode's content ends at the first closing tag; WordPress refuses
            # nesting of one name, so the first is the right one.
            if close_at != -1:
                content = text[end:close_at]
                end = close_at + len(closing)
        attrs, positional = parse_attributes(raw_attrs)
        code = Shortcode(lowered, attrs, positional, content)
        handler = handlers.get(lowered)
        if handler is not None:
            out.append(handler(code, found))
            found.expanded.append(lowered)
        elif content is not None or slash or _KEY_VALUE.search(raw_attrs):
            found.dropped.append(lowered)
            if content is not None:
                out.append(_expand(content, handlers, found))
        else:
            found.left_as_text.append(name)
            out.append(match.group()[len(escaped_open) :])
            end = match.end()
        at = end


def link_paragraph(url: str) -> str:
    """A paragraph holding one link to `url`, as an embed that cannot be carried over becomes."""
    shown = escape(url)
    return f'\n\n<p><a href="{shown}">{shown}</a></p>\n\n'
