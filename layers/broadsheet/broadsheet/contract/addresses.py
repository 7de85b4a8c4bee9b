"""Old addresses an article answers with a 301: old slugs and old site paths, in one form.

An alias is written as an old slug (`old-slug`) or as a path of the site it came from
(`/2015/12/21/old-slug/`, `/?p=123`, `/category/news/old-slug/`, `/archives/123`). Each is kept
in the form the edge looks it up by, so that two spellings of one address are one alias:

- a slug stays a slug, and the path of an article's page here (`/articles/<slug>/`) becomes its
  slug: naming one or the other is the same;
- a path is absolute, with no scheme or host; runs of slashes collapse (the edge does the same to
  every request); percent-encoding is normalised as browsers send it (unreserved characters
  decoded, other escapes in capitals, spaces and non-ASCII characters encoded as UTF-8); a page
  path ends with a slash, as the edge adds one;
- a query string is kept only where it is the page's identity, WordPress's `?p=<id>` and
  `?page_id=<id>`; at the edge, `/?p=123&utm_source=x` still finds `/?p=123`;
- a path whose last segment is the article's own slug (`/2015/12/21/<slug>/`) becomes its
  folder's entry (`/2015/12/21/*`): the edge sends any page under that folder to the article of
  the same name, so a whole archive of such addresses costs one store entry per folder instead of
  one per article (see "Old addresses and the store's limits" in docs/article-format.md); a
  folder entry may also be written as such;
- refused: `.` and `..` segments, control characters, backslashes, fragments, a file name at the
  end (the edge serves those as files), the site's own addresses (`/`, `/authors/…`, …), and
  anything over 512 bytes, the KeyValueStore's limit on a key.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote_to_bytes

# The KeyValueStore's limit on a key, in bytes.
MAX_ADDRESS_BYTES = 512
# Query keys that name a page rather than decorate a visit, and what their values may hold.
IDENTITY_QUERY_KEYS = ("p", "page_id")
_IDENTITY_VALUE = re.compile(r"[A-Za-z0-9._~-]{1,64}")
# The first segments of the site's own pages: an alias may not take one over.
SITE_FOLDERS = frozenset(
    {
        "articles",
        "authors",
        "sections",
        "tags",
        "archive",
        "page",
        "sitemaps",
        "media",
        "preview",
        "assets",
        "api",
    }
)
ARTICLE_PATH = re.compile(r"/articles/([^/]+)/")
# A folder entry: every page directly under the folder goes to the article of the same name.
FOLDER = "*"
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# What a path may hold as it is; everything else is percent-encoded (RFC 3986 pchar and "/").
_PATH_SAFE = "/!$&'()*+,;=:@-._~%"
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0080-\u009f\u2028\u2029\ud800-\udfff]")


def address_key(value: str) -> str:
    """An alias in the form the index and the edge know it by: a normalised path, or what names
    a slug (the value itself, or the slug of an `/articles/<slug>/` path), which the contract
    then checks as a slug. Raises ValueError with a message an editor understands."""
    if not value.startswith("/"):
        if "://" in value or value.startswith("www."):
            raise ValueError(
                f"{_shown(value)} is a full web address; write only its path, like /2015/12/21/old-slug/"
            )
        return value
    path = _normal_path(value)
    found = ARTICLE_PATH.fullmatch(path)
    return found.group(1) if found else path


def in_folder(key: str, slug: str) -> str:
    """The folder entry an alias becomes when its last segment is the article's own slug (and
    it has a folder: a page at the root stays itself), else the alias."""
    if not key.startswith("/") or "?" in key:
        return key
    parent, _, last = key.rstrip("/").rpartition("/")
    return f"{parent}/{FOLDER}" if last == slug and parent else key


def is_folder(key: str) -> bool:
    """Whether an alias is a folder entry (`/2015/12/21/*`)."""
    return key.endswith("/" + FOLDER)


def address_path(key: str) -> str:
    """The path the edge looks an alias up by: an old slug's article page, or the path itself."""
    return key if key.startswith("/") else f"/articles/{key}/"


def address_of_path(path: str) -> str | None:
    """The alias a store key stands for (the inverse of `address_path`), or None for a key that
    no alias could have written; a slug it returns is still to be checked as one."""
    try:
        key = address_key(path)
    except ValueError:
        return None
    return key if address_path(key) == path else None


def _shown(value: str) -> str:
    # Only called once controls and surrogates are known to be absent.
    return f'"{value[:80]}"' if len(value) <= 80 else f'"{value[:80]}…"'


def _normal_path(value: str) -> str:
    if value.startswith("//"):
        raise ValueError(f"{_shown(value)} starts with //, which browsers read as another site; write one /")
    if _CONTROL.search(value):
        raise ValueError("holds a control character, a line break or half of a character")
    if "\\" in value:
        raise ValueError(f"{_shown(value)} holds a backslash; paths use /")
    if "#" in value:
        raise ValueError(f"{_shown(value)} holds a #: the part after it never reaches the site; leave it out")
    if _BAD_ESCAPE.search(value):
        raise ValueError(f'{_shown(value)} holds a % that does not start an escape like "%20"')
    raw_path, mark, query = value.partition("?")
    path = re.sub(r"/{2,}", "/", _normal_escapes(raw_path))
    segments = path.split("/")
    if any(segment in {".", ".."} for segment in segments):
        raise ValueError(f"{_shown(value)} holds a . or .. segment; write the path as readers see it")
    if "%2F" in path or "%5C" in path:
        raise ValueError(f"{_shown(value)} holds an encoded slash or backslash")
    last = segments[-1]
    if last == FOLDER and (mark or len(segments) < 3):
        raise ValueError(
            f"{_shown(value)}: a folder entry is a folder and /{FOLDER}, like /2015/12/21/{FOLDER}"
        )
    if "." in last:
        raise ValueError(
            f"{_shown(value)} ends in a file name; the site serves such addresses as files, so "
            "only page addresses (ending in a folder) can redirect"
        )
    if last and last != FOLDER:
        path += "/"
    if mark:
        path += "?" + _identity_query(value, query)
    elif path == "/":
        raise ValueError("/ is the home page; an alias must be an old address")
    if path.split("/")[1] in SITE_FOLDERS and not ARTICLE_PATH.fullmatch(path):
        raise ValueError(f"{_shown(value)} is one of this site's own addresses; an alias must be an old one")
    if len(path.encode()) > MAX_ADDRESS_BYTES:
        raise ValueError(
            f"is {len(path.encode())} bytes once normalised; an old address may have at most "
            f"{MAX_ADDRESS_BYTES}, the edge's limit"
        )
    return path


def _normal_escapes(path: str) -> str:
    """Unreserved characters decoded, other escapes in capitals, the rest encoded as UTF-8."""

    def escape(found: re.Match[str]) -> str:
        byte = int(found.group(1), 16)
        if byte < 0x20 or byte == 0x7F:
            raise ValueError(f"{_shown(path)} holds an encoded control character (%{found.group(1).upper()})")
        return chr(byte) if byte in _UNRESERVED else f"%{byte:02X}"

    decoded = _ESCAPE.sub(escape, path)
    return quote(decoded, safe=_PATH_SAFE)


def _identity_query(value: str, query: str) -> str:
    name, equals, given = query.partition("=")
    if not equals or name not in IDENTITY_QUERY_KEYS or "&" in given or ";" in given:
        keys = " or ".join(f"?{key}=" for key in IDENTITY_QUERY_KEYS)
        raise ValueError(
            f"{_shown(value)} has a query string; only {keys} with one id names a page "
            "(other queries are dropped at the edge: leave them out)"
        )
    text = unquote_to_bytes(given).decode("utf-8", "replace")
    if not _IDENTITY_VALUE.fullmatch(text):
        raise ValueError(f"{_shown(value)}: ?{name}= must hold an id of letters, digits, - . _ or ~")
    return f"{name}={text}"
