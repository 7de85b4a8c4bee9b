"""Reading a WordPress export (WXR 1.0-1.2) into plain records, streaming.

The format is what `wp-admin/includes/export.php` writes: an RSS 2.0 channel whose `wp:author`,
`wp:category` and `wp:tag` elements describe the site, then one `<item>` per post of every type
(posts, pages, attachments, menu items, plugins' types), each with `wp:` fields, `category`
elements carrying a taxonomy (`domain`) and a term slug (`nicename`), and `wp:postmeta` pairs.
The `wp` namespace's address names the version (`http://wordpress.org/export/1.2/`), so elements
are matched by namespace family and local name rather than by one fixed address.

Text is read as the exporter wrote it: CDATA sections hold raw HTML, elements without CDATA hold
RSS-escaped text, and the XML parser undoes one level of either. Bytes XML forbids (C0 control
characters, which WordPress databases often hold and the exporter copies through) are removed
before parsing and counted, so one stray character does not stop an import of years of archive.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

_WP = "http://wordpress.org/export/"
_CONTENT = "http://purl.org/rss/1.0/modules/content/"
_DC = "http://purl.org/dc/elements/1.1/"
# C0 controls other than tab, newline and carriage return: never valid in XML 1.0. In UTF-8 they
# are single bytes that no multi-byte sequence contains, so removing them byte-wise is safe.
_FORBIDDEN = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])
_CHUNK = 1 << 16


class NotAnExport(Exception):
    """The file is not a WordPress export this importer can read."""


@dataclass(frozen=True)
class Term:
    """A taxonomy term attached to an item: `<category domain=... nicename=...>name</category>`."""

    domain: str
    nicename: str
    name: str


@dataclass
class Item:
    """One `<item>`: a post, page, attachment or any other post type, as exported."""

    post_id: int
    post_type: str
    status: str
    title: str = ""
    link: str = ""
    creator: str = ""
    content: str = ""
    excerpt: str = ""
    post_name: str = ""
    post_date: str = ""
    post_date_gmt: str = ""
    post_modified: str = ""
    post_modified_gmt: str = ""
    post_parent: int = 0
    menu_order: int = 0
    password: str = ""
    sticky: bool = False
    attachment_url: str = ""
    terms: list[Term] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)

    def terms_in(self, domain: str) -> list[Term]:
        """The item's terms of one taxonomy, in export order."""
        return [term for term in self.terms if term.domain == domain]


@dataclass(frozen=True)
class User:
    """A `wp:author` of the channel: the login `dc:creator` names, and the name readers saw."""

    login: str
    display_name: str
    first_name: str = ""
    last_name: str = ""


@dataclass
class Export:
    """The whole export: the site's description and every item."""

    title: str = ""
    link: str = ""
    language: str = ""
    version: str = ""
    base_site_url: str = ""
    base_blog_url: str = ""
    users: dict[str, User] = field(default_factory=dict)
    items: list[Item] = field(default_factory=list)
    removed_bytes: int = 0


class _Cleaned:
    """A binary reader that drops the bytes XML forbids and counts what it has read."""

    def __init__(self, raw: BinaryIO, on_read: Callable[[int], None]) -> None:
        self._raw = raw
        self._on_read = on_read
        self.removed = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self._raw.read(_CHUNK if size < 0 else size)
        self._on_read(len(chunk))
        kept = chunk.translate(None, _FORBIDDEN)
        self.removed += len(chunk) - len(kept)
        return kept


def _split(tag: str) -> tuple[str, str]:
    """`{namespace}local` as (family, local): family is "wp", "excerpt", "content", "dc" or ""."""
    if not tag.startswith("{"):
        return "", tag
    space, _, local = tag[1:].partition("}")
    if space.startswith(_WP):
        return ("excerpt" if space.rstrip("/").endswith("excerpt") else "wp"), local
    if space == _CONTENT:
        return "content", local
    if space == _DC:
        return "dc", local
    return "other", local


def _text(element: ET.Element) -> str:
    return element.text or ""


def _int(value: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        return 0


def _item(element: ET.Element) -> Item | None:
    fields: dict[str, str] = {}
    terms: list[Term] = []
    meta: dict[str, str] = {}
    for child in element:
        family, local = _split(child.tag)
        if family == "" and local == "category":
            terms.append(
                Term(child.get("domain", "category"), child.get("nicename", ""), _text(child).strip())
            )
        elif family == "wp" and local == "postmeta":
            key = value = ""
            for pair in child:
                name = _split(pair.tag)[1]
                if name == "meta_key":
                    key = _text(pair)
                elif name == "meta_value":
                    value = _text(pair)
            # The first value of a key wins, as get_post_meta(..., true) reads it.
            meta.setdefault(key, value)
        elif family in {"", "wp", "dc"}:
            fields.setdefault(local, _text(child))
        elif family in {"content", "excerpt"} and local == "encoded":
            fields[family] = _text(child)
    if "post_id" not in fields:
        return None
    return Item(
        post_id=_int(fields["post_id"]),
        post_type=fields.get("post_type", "post").strip(),
        status=fields.get("status", "").strip(),
        title=fields.get("title", ""),
        link=fields.get("link", "").strip(),
        creator=fields.get("creator", "").strip(),
        content=fields.get("content", ""),
        excerpt=fields.get("excerpt", ""),
        post_name=fields.get("post_name", "").strip(),
        post_date=fields.get("post_date", "").strip(),
        post_date_gmt=fields.get("post_date_gmt", "").strip(),
        post_modified=fields.get("post_modified", "").strip(),
        post_modified_gmt=fields.get("post_modified_gmt", "").strip(),
        post_parent=_int(fields.get("post_parent", "0")),
        menu_order=_int(fields.get("menu_order", "0")),
        password=fields.get("post_password", ""),
        sticky=fields.get("is_sticky", "0").strip() == "1",
        attachment_url=fields.get("attachment_url", "").strip(),
        terms=terms,
        meta=meta,
    )


def _user(element: ET.Element) -> User:
    values = {_split(child.tag)[1]: _text(child).strip() for child in element}
    login = values.get("author_login", "")
    return User(
        login=login,
        display_name=values.get("author_display_name", ""),
        first_name=values.get("author_first_name", ""),
        last_name=values.get("author_last_name", ""),
    )


def _events(stream: _Cleaned) -> Iterator[tuple[str, ET.Element]]:
    try:
        yield from ET.iterparse(stream, events=("start", "end"))  # noqa: S314 - see the import
    except ET.ParseError as exc:
        line, column = exc.position
        raise NotAnExport(f"the file is not well-formed XML (line {line}, column {column}): {exc}") from None


def read_export(path: Path, on_read: Callable[[int], None] = lambda _n: None) -> Export:
    """Every item and the site's description from a WXR file; `on_read` hears of bytes read."""
    export = Export()
    depth = 0
    with path.open("rb") as raw:
        stream = _Cleaned(raw, on_read)
        channel_seen = False
        for event, element in _events(stream):
            family, local = _split(element.tag)
            if event == "start":
                depth += 1
                if local == "channel" and family == "":
                    channel_seen = True
                continue
            depth -= 1
            if family == "" and local == "item":
                item = _item(element)
                if item is not None:
                    export.items.append(item)
                element.clear()
            elif depth == 2:
                _channel_field(export, family, local, element)
        export.removed_bytes = stream.removed
    if not channel_seen or (not export.version and not export.items):
        raise NotAnExport("no WordPress export channel found (is this a WXR file from Tools → Export?)")
    return export


def _channel_field(export: Export, family: str, local: str, element: ET.Element) -> None:
    """A direct child of `<channel>`: the site's description, a user, or something ignored."""
    if family == "":
        if local == "title":
            export.title = _text(element).strip()
        elif local == "link":
            export.link = _text(element).strip()
        elif local == "language":
            export.language = _text(element).strip()
    elif family == "wp":
        if local == "author":
            user = _user(element)
            export.users.setdefault(user.login, user)
        elif local == "wxr_version":
            export.version = _text(element).strip()
        elif local == "base_site_url":
            export.base_site_url = _text(element).strip()
        elif local == "base_blog_url":
            export.base_blog_url = _text(element).strip()
