"""Old article addresses that answer with a 301: the rule that decides them, and the edge's store.

The rule (`redirect_target`) is a pure function of the indexed articles, so the pipeline, the
offline build and the tests agree on it whatever order events arrived in:

- an address that is an indexed article's own (live, draft, embargoed or expired) never
  redirects: an alias can never take another article's address, and an article published at an
  address some other article names as its alias wins it back;
- only a live article's aliases redirect: a draft's, an embargoed or an expired article's stay
  out of the store, so they never reveal its slug before (or after) it is readable;
- when several live articles claim one address, the earliest published wins, ties by slug (the
  listing sort key): publishing a new article never moves an address already leading elsewhere.

Ingest also refuses a new version of an article whose alias names another indexed article
(`alias_conflicts`), so the editor learns of it; the rule is what keeps the address safe when the
other article comes later.

An old address is an old slug or an old path of the site (`broadsheet.contract.addresses`); a
path that is an article's own address here is held as its slug, so the rule treats both alike.

The store is a CloudFront KeyValueStore read by the viewer-request function (key: the old path
in the form the edge looks it up by; value: the target's slug, which the edge turns into
`/articles/<slug>/` — a compact value, see docs/article-format.md on the store's limits); the
render stage keeps it in line with the index's alias items, through the same queue as every page.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

from broadsheet.contract.addresses import FOLDER, is_folder
from broadsheet.contract.models import Article
from broadsheet.errors import FieldError
from broadsheet.index.ports import IndexedArticle
from broadsheet.pages import AliasPage, article_path

if TYPE_CHECKING:
    pass

_ATTEMPTS = 5


def redirect_target(
    old: str, occupant: IndexedArticle | None, claimers: Iterable[IndexedArticle]
) -> str | None:
    """The slug the old address `old` redirects to, given the article indexed at it (if any; only
    an old slug can be one's) and the articles that name it in their aliases; None when it must
    not redirect."""
    if occupant is not None:
        return None
    live = [c for c in claimers if c.live and c.article.slug != old and old in c.article.aliases]
    return min(live, key=lambda c: c.sort_key).article.slug if live else None


class ArticleLookup(Protocol):
    """Whether the index holds an article, as the alias check at ingest needs it."""

    def get_article(self, slug: str) -> IndexedArticle | None:
        """The indexed article, or None."""


def alias_conflicts(article: Article, index: ArticleLookup) -> list[FieldError]:
    """An error for each alias of `article` that is another indexed article's own address."""
    return [
        FieldError(
            f"aliases[{at}]",
            f'is the address of the article "{alias}" ({article_path(alias)}); an alias may only '
            "name an old address that no other article holds",
        )
        for at, alias in enumerate(article.aliases)
        if not alias.startswith("/") and alias != article.slug and index.get_article(alias) is not None
    ]


class AliasReader(Protocol):
    """What the index says about an old address."""

    def alias_target(self, old: str) -> str | None:
        """The slug an old address (an old slug or path) leads to, or None."""


class AliasStore(Protocol):
    """The map the edge answers redirects from."""

    def put(self, path: str, target: str) -> None:
        """Redirect `path` to the article `target` (a slug)."""

    def delete(self, path: str) -> None:
        """Stop redirecting `path`."""

    def mapping(self) -> dict[str, str]:
        """The whole map, path to target slug."""


def entry_value(address: str, target: str) -> str:
    """What the store holds for an old address leading to the article `target`: its slug, or for
    a folder entry the folder sign (the edge takes the slug from the requested path)."""
    return FOLDER if is_folder(address) else target


def sync_alias(page: AliasPage, index: AliasReader, store: AliasStore) -> str | None:
    """Bring the store's entry for an old address in line with the index; return the path it
    now leads to."""
    target = index.alias_target(page.address)
    if target is None or target == page.address:
        store.delete(page.path)
        return None
    store.put(page.path, entry_value(page.address, target))
    return article_path(target)
