"""Page identities, their public URLs and object keys, and listing pagination.

A page id is a short string that names one output file: `article:<slug>`, `home:<n>`,
`author:<slug>:<n>`, `section:<slug>:<n>`, `tag:<slug>:<n>`, `month:<yyyy-mm>:<n>`,
`404`, `asset:site.css`, `preview:<slug>` (a draft's signed preview).
Listing pages are numbered from the oldest end: `n = 1` holds the
oldest articles and `n = 0` is the listing's first page, which shows the newest ones.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from broadsheet.contract.addresses import address_of_path, address_path
from broadsheet.contract.fields import SLUG_RE
from broadsheet.preview import parse_preview_key

if TYPE_CHECKING:
    from broadsheet.index.ports import Catalog

ListingKind = Literal["home", "author", "section", "tag", "month"]
LISTING_KINDS: tuple[ListingKind, ...] = ("home", "author", "section", "tag", "month")
NOT_FOUND = "404"
ASSETS_PREFIX = "assets/"
NOT_FOUND_KEY = "404.html"
# ASCII digits only, one spelling per page: no leading zeros, no other scripts' digits.
_NUMBER = re.compile(r"0|[1-9][0-9]{0,5}")
_MONTH = re.compile(r"[0-9]{4}-(?:0[1-9]|1[0-2])")


class BadPageId(ValueError):
    """A page id that does not name a page Broadsheet publishes."""


@dataclass(frozen=True, order=True)
class Listing:
    """A list of articles: the home page, an author, a section, a tag or a month."""

    kind: ListingKind
    key: str = ""

    @property
    def id(self) -> str:
        """The listing's id as stored in the index (`home`, `author:gevorg-mirzayan`)."""
        return self.kind if self.kind == "home" else f"{self.kind}:{self.key}"

    @property
    def base_path(self) -> str:
        """The URL path of the listing's first page."""
        if self.kind == "home":
            return "/"
        if self.kind == "month":
            year, month = self.key.split("-")
            return f"/archive/{year}/{month}/"
        folder = {"author": "authors", "section": "sections", "tag": "tags"}[self.kind]
        return f"/{folder}/{self.key}/"

    def page(self, number: int) -> ListingPage:
        """Page `number` of this listing (0 = the first page, newest articles)."""
        return ListingPage(self, number)

    @staticmethod
    def parse(listing_id: str) -> Listing:
        """The listing named by an index listing id; raise BadPageId if malformed."""
        kind, _, key = listing_id.partition(":")
        if kind == "home" and not key:
            return Listing("home")
        if kind not in LISTING_KINDS or kind == "home" or not key:
            raise BadPageId(listing_id)
        if kind == "month":
            if not _MONTH.fullmatch(key):
                raise BadPageId(listing_id)
        elif not SLUG_RE.fullmatch(key):
            raise BadPageId(listing_id)
        return Listing(kind, key)


@dataclass(frozen=True, order=True)
class ListingPage:
    """One page of a listing."""

    listing: Listing
    number: int

    @property
    def id(self) -> str:
        """The page id used on the render queue."""
        return f"{self.listing.id}:{self.number}"

    @property
    def path(self) -> str:
        """The public URL path of this page."""
        base = self.listing.base_path
        return base if self.number == 0 else f"{base}page/{self.number}/"

    @property
    def key(self) -> str:
        """The site-bucket key of this page."""
        return object_key(self.path)


@dataclass(frozen=True, order=True)
class ArticlePage:
    """An article's own page."""

    slug: str

    @property
    def id(self) -> str:
        """The page id used on the render queue."""
        return f"article:{self.slug}"

    @property
    def path(self) -> str:
        """The public URL path of this page."""
        return article_path(self.slug)

    @property
    def key(self) -> str:
        """The site-bucket key of this page."""
        return object_key(self.path)


FeedFormat = Literal["atom", "rss", "json"]
FEED_FORMATS: tuple[FeedFormat, ...] = ("atom", "rss", "json")
FEED_FILES: dict[FeedFormat, str] = {"atom": "feed.xml", "rss": "rss.xml", "json": "feed.json"}
FEED_KINDS = ("home", "author", "section")
# How many of a listing's newest articles its feeds carry.
FEED_SIZE = 20


@dataclass(frozen=True, order=True)
class FeedPage:
    """A feed of a listing's newest articles: Atom, RSS 2.0 or JSON Feed 1.1."""

    listing: Listing
    format: FeedFormat

    @property
    def id(self) -> str:
        """The page id used on the render queue."""
        return f"feed:{self.listing.id}:{self.format}"

    @property
    def path(self) -> str:
        """The public URL path of this feed."""
        return self.listing.base_path + FEED_FILES[self.format]

    @property
    def key(self) -> str:
        """The site-bucket key of this feed."""
        return self.path.lstrip("/")


@dataclass(frozen=True, order=True)
class SitemapPage:
    """The sitemap shard of one month's articles."""

    month: str

    @property
    def id(self) -> str:
        """The page id used on the render queue."""
        return f"sitemap:{self.month}"

    @property
    def path(self) -> str:
        """The public URL path of this shard."""
        return f"/sitemaps/{self.month}.xml"

    @property
    def key(self) -> str:
        """The site-bucket key of this shard."""
        return self.path.lstrip("/")


@dataclass(frozen=True, order=True)
class AliasPage:
    """An old article address that answers with a 301 (kept in the edge's alias store): an old
    slug, or an old path in its normal form (`broadsheet.contract.addresses`)."""

    address: str

    @property
    def id(self) -> str:
        """The page id used on the render queue."""
        return f"alias:{self.address}"

    @property
    def path(self) -> str:
        """The old public URL path, as the edge looks it up."""
        return address_path(self.address)

    @property
    def key(self) -> None:
        """None: an alias is kept in the edge's store, not in the site bucket."""
        return None


@dataclass(frozen=True, order=True)
class PreviewPage:
    """A draft's private preview, at an address signed with the preview secret
    (`broadsheet.preview`): its key depends on the draft and the secret, so it is found by listing
    the `preview/` folder rather than known in advance."""

    slug: str

    @property
    def id(self) -> str:
        """The page id used on the render queue."""
        return f"preview:{self.slug}"

    @property
    def key(self) -> None:
        """None: the key carries the token, which only rendering can compute."""
        return None


@dataclass(frozen=True, order=True)
class StaticPage:
    """A page with a fixed address: the 404 page, the stylesheet, robots.txt, the sitemap
    index, the news sitemap and the archive index."""

    name: str

    @property
    def id(self) -> str:
        """The page id used on the render queue."""
        return self.name

    @property
    def key(self) -> str | None:
        """The site-bucket key of this page; None for the stylesheet, whose name carries the hash
        of its content (`broadsheet.render.templating.stylesheet`)."""
        return STATIC_KEYS.get(self.name)


SITEMAP_INDEX = StaticPage("sitemap-index")
NEWS_SITEMAP = StaticPage("news-sitemap")
ROBOTS = StaticPage("robots")
ARCHIVE = StaticPage("archive")
STYLESHEET = StaticPage("asset:site.css")
STATIC_PAGES = (StaticPage(NOT_FOUND), STYLESHEET, ROBOTS, SITEMAP_INDEX, NEWS_SITEMAP, ARCHIVE)
# Where each fixed page lives (the stylesheet's name carries its content hash instead).
STATIC_KEYS = {
    NOT_FOUND: NOT_FOUND_KEY,
    "robots": "robots.txt",
    "sitemap-index": "sitemap.xml",
    "news-sitemap": "news-sitemap.xml",
    "archive": "archive/index.html",
}

Page = ListingPage | ArticlePage | StaticPage | FeedPage | SitemapPage | AliasPage | PreviewPage

# The fixed pages many articles share: every new article or month changes them.
_SHARED_STATIC = frozenset({SITEMAP_INDEX, NEWS_SITEMAP, ARCHIVE})


def is_shared(page: Page) -> bool:
    """Whether many articles' changes re-render the page: listings, feeds, sitemaps, the sitemap
    index, the news sitemap and the archive index. An article's own page, an alias, a draft's
    preview and the other fixed pages are not. (A burst holds shared pages, and a shared page
    asked for is not asked for again before it is rendered: `broadsheet.asked`.)"""
    return isinstance(page, ListingPage | FeedPage | SitemapPage) or page in _SHARED_STATIC


def parse_page(page_id: str) -> Page:
    """The page a page id names; raise BadPageId for anything else."""
    if page_id.startswith("article:"):
        slug = page_id[len("article:") :]
        if not SLUG_RE.fullmatch(slug):
            raise BadPageId(page_id)
        return ArticlePage(slug)
    for static in STATIC_PAGES:
        if page_id == static.id:
            return static
    if page_id.startswith("feed:"):
        listing_id, _, form = page_id[len("feed:") :].rpartition(":")
        listing = Listing.parse(listing_id)
        if listing.kind not in FEED_KINDS or form not in FEED_FORMATS:
            raise BadPageId(page_id)
        return FeedPage(listing, form)
    if page_id.startswith("sitemap:"):
        month = page_id[len("sitemap:") :]
        if not _MONTH.fullmatch(month):
            raise BadPageId(page_id)
        return SitemapPage(month)
    if page_id.startswith("preview:"):
        slug = page_id[len("preview:") :]
        if not SLUG_RE.fullmatch(slug):
            raise BadPageId(page_id)
        return PreviewPage(slug)
    if page_id.startswith("alias:"):
        address = page_id[len("alias:") :]
        if address_of_path(address_path(address)) != address or not (
            address.startswith("/") or SLUG_RE.fullmatch(address)
        ):
            raise BadPageId(page_id)
        return AliasPage(address)
    listing_id, sep, number = page_id.rpartition(":")
    if not sep or not _NUMBER.fullmatch(number):
        raise BadPageId(page_id)
    return ListingPage(Listing.parse(listing_id), int(number))


# The index keeps the stories pinned to a front in a list of their own, `pinned:<listing id>`
# (`pinned:home`, `pinned:section:world`), beside the listing whose first page shows them.
PINNED_PREFIX = "pinned:"
FRONT_KINDS = ("home", "section")


def pinned_list(listing: Listing) -> str:
    """The index list of the stories pinned to a listing's first page (home, a section)."""
    return PINNED_PREFIX + listing.id


def is_pinned_list(listing_id: str) -> bool:
    """Whether an index list id names pinned stories rather than a listing."""
    return listing_id.startswith(PINNED_PREFIX)


def front_of(pinned: str) -> ListingPage:
    """The first page that shows the stories of a pinned list."""
    return Listing.parse(pinned.removeprefix(PINNED_PREFIX)).page(0)


def feeds_of(listing: Listing) -> list[FeedPage]:
    """The feeds a listing has (home, authors and sections have them)."""
    if listing.kind not in FEED_KINDS:
        return []
    return [FeedPage(listing, form) for form in FEED_FORMATS]


_KEY_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), template)
    for pattern, template in (
        (r"articles/([^/]+)/index\.html", "article:{0}"),
        (r"(?:page/([0-9]+)/)?index\.html", "home:{0}"),
        (r"(authors|sections|tags)/([^/]+)/(?:page/([0-9]+)/)?index\.html", "{0}:{1}:{2}"),
        (r"archive/([0-9]{4})/([0-9]{2})/(?:page/([0-9]+)/)?index\.html", "month:{0}-{1}:{2}"),
        (r"(?:(authors|sections)/([^/]+)/)?(feed\.xml|rss\.xml|feed\.json)", "feed:{0}:{1}:{2}"),
        (r"sitemaps/([0-9]{4}-[0-9]{2})\.xml", "sitemap:{0}"),
    )
)
_KIND_OF_FOLDER = {"authors": "author", "sections": "section", "tags": "tag"}
_FORMAT_OF_FILE = {file: form for form, file in FEED_FILES.items()}


def page_for_key(key: str) -> Page | None:
    """The page a site-bucket key belongs to, or None for a key no page writes."""
    previewed = parse_preview_key(key)
    if previewed is not None:
        return PreviewPage(previewed[1]) if SLUG_RE.fullmatch(previewed[1]) else None
    for static in STATIC_PAGES:
        if STATIC_KEYS.get(static.name) == key:
            return static
    for pattern, template in _KEY_PATTERNS:
        match = pattern.fullmatch(key)
        if match is None:
            continue
        parts = list(match.groups())
        if template.startswith("feed:"):
            folder, name, file = parts
            listing = f"{_KIND_OF_FOLDER[folder]}:{name}" if folder else "home"
            page_id = f"feed:{listing}:{_FORMAT_OF_FILE[file]}"
        elif template.startswith("{0}"):
            page_id = f"{_KIND_OF_FOLDER[parts[0]]}:{parts[1]}:{parts[2] or 0}"
        else:
            page_id = template.format(*[p if p is not None else "0" for p in parts])
        try:
            return parse_page(page_id)
        except BadPageId:
            return None
    return None


def article_path(slug: str) -> str:
    """The public URL path of an article."""
    return f"/articles/{slug}/"


def object_key(path: str) -> str:
    """The site-bucket key serving a public path ending in `/`."""
    return path.lstrip("/") + "index.html"


def page_count(total: int, size: int) -> int:
    """How many numbered pages a listing of `total` entries has (the last may be partial)."""
    return math.ceil(total / size)


def page_of(index: int, size: int) -> int:
    """The numbered page holding the entry at `index`, counted from the oldest (0-based)."""
    return index // size + 1


def older_page_of_front(total: int, size: int) -> int | None:
    """The numbered page a listing's first page links to as "Next page", if any.

    The first page shows the newest `size` entries; the link leads to the numbered page
    holding the newest entry the first page does not show.
    """
    if total <= size:
        return None
    return page_of(total - size - 1, size)


def all_pages(index: Catalog, page_size: int) -> list[Page]:
    """Every page the site has: static pages, live articles, and every page of every listing."""
    pages: list[Page] = list(STATIC_PAGES)
    pages += [ArticlePage(slug) for slug in index.live_article_slugs()]
    pages += [PreviewPage(slug) for slug in index.draft_article_slugs()]
    listing_ids = {x for x in index.listing_ids() if not is_pinned_list(x)} | {"home"}
    for listing_id in sorted(listing_ids):
        listing = Listing.parse(listing_id)
        pages += [listing.page(n) for n in range(page_count(index.count(listing_id), page_size) + 1)]
        pages += feeds_of(listing)
    pages += [SitemapPage(month) for month, _ in index.months()]
    return pages
