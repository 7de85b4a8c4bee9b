"""One WordPress post's fields as the article contract's: text, dates, people, terms, addresses.

Each function takes what the export holds and returns the contract's value, plus a sentence for
the report whenever the value had to change.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from html import unescape
from urllib.parse import unquote, urlsplit

from bs4 import BeautifulSoup

from broadsheet.contract.fields import LANGUAGE_RE, MAX_SLUG, SLUG_RE, slugify
from broadsheet_dev.importers.wxr import Item, User

UNTITLED = "(untitled)"
UNKNOWN_AUTHOR = "Unknown author"
MAX_TITLE = 300
MAX_TEASER = 600
MAX_NAME = 100
MAX_TAG = 60
MAX_TAGS = 20
MAX_AUTHORS = 10
_ZERO_DATE = "0000-00-00"
_DAY = timedelta(days=1)


# Elements after which text reads as a new word: a title's inline markup (`<em>`) joins what it
# touches, a paragraph or a line break does not.
_SEPARATING = frozenset(
    {"p", "br", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "tr", "td"}
)


def plain_text(html: str) -> tuple[str, bool]:
    """The text of an HTML fragment on one line, and whether it held markup."""
    soup = BeautifulSoup(html, "html.parser")
    had_markup = soup.find(True) is not None
    for element in soup.find_all(_SEPARATING):
        element.insert_after(" ")
    return one_line(soup.get_text()), had_markup


def one_line(text: str) -> str:
    """Text with control characters removed and runs of whitespace made one space."""
    kept = "".join(" " if unicodedata.category(c) in {"Cc", "Zl", "Zp"} else c for c in text)
    return " ".join(kept.split())


def shorten(text: str, limit: int) -> str:
    """`text` cut at a word boundary to at most `limit` characters, with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-") + "…"


def title_of(item: Item) -> tuple[str, list[str]]:
    """The article's title and the changes made to WordPress's."""
    changes: list[str] = []
    text, had_markup = plain_text(item.title)
    if had_markup:
        changes.append(f"markup removed from the title {item.title.strip()[:120]!r}")
    if not text:
        changes.append(f'the title was empty; written as "{UNTITLED}"')
        return UNTITLED, changes
    if len(text) > MAX_TITLE:
        changes.append(f"title shortened to {MAX_TITLE} characters")
        text = shorten(text, MAX_TITLE)
    return text, changes


def teaser_of(item: Item) -> tuple[str, list[str]]:
    """The teaser from the excerpt, as text, and the changes made."""
    text, _ = plain_text(item.excerpt)
    if len(text) > MAX_TEASER:
        return shorten(text, MAX_TEASER), [f"excerpt shortened to {MAX_TEASER} characters for the teaser"]
    return text, []


def parse_date(value: str) -> datetime | None:
    """A `YYYY-MM-DD HH:MM:SS` date as WordPress stores it, or None when unset (all zeros)."""
    if not value or value.startswith(_ZERO_DATE):
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None


def _offset(local: datetime, gmt: datetime) -> timedelta | None:
    offset = local - gmt
    if abs(offset) >= _DAY or offset % timedelta(minutes=1):
        return None
    return offset


def site_offset(items: Iterable[Item]) -> tuple[timedelta, int]:
    """The site's usual UTC offset, from every item that has both dates, and how many agree."""
    seen: Counter[timedelta] = Counter()
    for item in items:
        local, gmt = parse_date(item.post_date), parse_date(item.post_date_gmt)
        if local is not None and gmt is not None and (offset := _offset(local, gmt)) is not None:
            seen[offset] += 1
    if not seen:
        return timedelta(0), 0
    offset, count = min(seen.items(), key=lambda pair: (-pair[1], pair[0]))
    return offset, count


def rfc3339(local: datetime, offset: timedelta) -> str:
    """A local wall-clock time with its offset, as RFC 3339 (`2015-12-21T22:00:00+03:00`)."""
    return local.replace(tzinfo=timezone(offset)).isoformat()


@dataclass(frozen=True)
class Stamp:
    """A date the article carries, and whether it came from the local date and the site's offset."""

    local: datetime
    offset: timedelta
    guessed: bool

    @property
    def text(self) -> str:
        """The RFC 3339 form."""
        return rfc3339(self.local, self.offset)

    @property
    def instant(self) -> datetime:
        """The aware moment."""
        return self.local.replace(tzinfo=timezone(self.offset))


def stamp(local_text: str, gmt_text: str, fallback: timedelta) -> Stamp | None:
    """A date from WordPress's local and GMT columns: the post's own offset where both are set;
    the local date with the site's offset when the GMT one is zero (drafts, some old imports)."""
    local, gmt = parse_date(local_text), parse_date(gmt_text)
    if gmt is not None:
        if local is None:
            return Stamp(gmt, timedelta(0), guessed=False)
        offset = _offset(local, gmt)
        if offset is not None:
            return Stamp(local, offset, guessed=False)
        return Stamp(gmt, timedelta(0), guessed=False)
    if local is not None:
        return Stamp(local, fallback, guessed=True)
    return None


def authors_of(item: Item, users: dict[str, User], guests: dict[str, str]) -> tuple[list[str], list[str]]:
    """The byline: Co-Authors Plus terms when the export has them (the post's author first), else
    the post's author; each login shown as its display name."""
    changes: list[str] = []
    logins = [term.name for term in item.terms_in("author")]
    if logins:
        if item.creator in logins:
            logins.remove(item.creator)
            logins.insert(0, item.creator)
    elif item.creator:
        logins = [item.creator]
    names: list[str] = []
    seen: set[str] = set()
    for login in logins:
        name = _display_name(login, users, guests)
        if not name:
            continue
        if name == login and login not in guests:
            changes.append(f"author {login!r} has no display name in WordPress; the login is the byline")
        if len(name) > MAX_NAME:
            changes.append(f"author name {name[:40]!r}… shortened to {MAX_NAME} characters")
            name = shorten(name, MAX_NAME)
        key = slugify(name)
        if key not in seen:
            seen.add(key)
            names.append(name)
    if not names:
        changes.append(f'no author with a usable name; written as "{UNKNOWN_AUTHOR}"')
        names = [UNKNOWN_AUTHOR]
    if len(names) > MAX_AUTHORS:
        changes.append(
            f"byline of {len(names)} cut to the first {MAX_AUTHORS}: {', '.join(names[MAX_AUTHORS:])}"
        )
        names = names[:MAX_AUTHORS]
    return names, changes


def _display_name(login: str, users: dict[str, User], guests: dict[str, str]) -> str:
    user = users.get(login)
    candidates = [
        user.display_name if user else "",
        f"{user.first_name} {user.last_name}" if user else "",
        guests.get(login, ""),
        login.removeprefix("cap-"),
    ]
    for candidate in candidates:
        name = one_line(unescape(candidate))
        if name and slugify(name):
            return name
    return ""


def tags_of(item: Item) -> tuple[list[str], list[str]]:
    """Tag names (term names, HTML entities decoded), distinct by page, at most 20."""
    tags: list[str] = []
    changes: list[str] = []
    seen: set[str] = set()
    for term in item.terms_in("post_tag"):
        name = one_line(unescape(term.name))
        key = slugify(name)
        if not key or len(name) > MAX_TAG:
            changes.append(
                f"tag {name[:80]!r} dropped: a tag needs letters or digits and at most {MAX_TAG} characters"
            )
            continue
        if key not in seen:
            seen.add(key)
            tags.append(name)
    if len(tags) > MAX_TAGS:
        changes.append(
            f"{len(tags) - MAX_TAGS} tag(s) beyond {MAX_TAGS} dropped: {', '.join(tags[MAX_TAGS:])}"
        )
        tags = tags[:MAX_TAGS]
    return tags, changes


def section_of(item: Item) -> tuple[str | None, list[str]]:
    """The first category as the section slug; WordPress's default "Uncategorized" gives none."""
    categories = item.terms_in("category")
    notes: list[str] = []
    if len(categories) > 1:
        notes.append(
            "categories after the first are not carried (one section per article): "
            + ", ".join(unescape(c.name) for c in categories[1:])
        )
    if not categories:
        return None, notes
    first = categories[0]
    section = slugify(unquote(first.nicename)) or slugify(unescape(first.name))
    if section == "uncategorized":
        return None, notes
    return (section or None), notes


def post_format(item: Item) -> str:
    """The post format (`gallery`, `aside`, `video`…), "standard" when none is set."""
    for term in item.terms_in("post_format"):
        return term.nicename.removeprefix("post-format-") or "standard"
    return "standard"


def language_of(item: Item) -> str | None:
    """The post's language where a multilingual plugin's taxonomy names one (Polylang)."""
    for term in item.terms_in("language"):
        if LANGUAGE_RE.fullmatch(term.nicename):
            return term.nicename
    return None


def old_slug(item: Item) -> str:
    """WordPress's slug, percent-decoded (it stores non-Latin slugs percent-encoded)."""
    return unquote(item.post_name).strip()


def is_slug(value: str) -> bool:
    """Whether `value` is already a contract slug."""
    return len(value) <= MAX_SLUG and SLUG_RE.fullmatch(value) is not None


def assign_slugs(posts: list[Item]) -> dict[int, str]:
    """A unique contract slug for each post, deterministic for one export.

    Posts whose WordPress slug is already a contract slug keep it (first by post id); then every
    other post gets its slug transliterated, or made from its title, or `post-<id>`, with `-2`,
    `-3`… when that is taken.
    """
    slugs: dict[int, str] = {}
    taken: set[str] = set()
    ordered = sorted(posts, key=lambda item: item.post_id)
    for item in ordered:
        wanted = old_slug(item)
        if is_slug(wanted) and wanted not in taken:
            slugs[item.post_id] = wanted
            taken.add(wanted)
    for item in ordered:
        if item.post_id in slugs:
            continue
        base = slugify(old_slug(item)) or slugify(plain_text(item.title)[0]) or f"post-{item.post_id}"
        candidate, number = base, 1
        while candidate in taken:
            number += 1
            suffix = f"-{number}"
            candidate = base[: MAX_SLUG - len(suffix)].rstrip("-") + suffix
        slugs[item.post_id] = candidate
        taken.add(candidate)
    return slugs


def site_path(url: str) -> str | None:
    """An address made site-relative: its path and query (`/2015/12/21/old-slug/`, `/?p=12`)."""
    parts = urlsplit(url.strip())
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return None if path == "/" else path


def old_addresses(item: Item, blog_url: str) -> list[str]:
    """Every address the post answered at: its permalink and `?p=<id>` under the blog's path."""
    base = urlsplit(blog_url.strip()).path.rstrip("/")
    found = [site_path(item.link) if item.link else None, f"{base}/?p={item.post_id}"]
    return list(dict.fromkeys(path for path in found if path))
