"""What the edge's KeyValueStore holds for a large archive, measured with the same functions the
pipeline writes it with: the figures docs/article-format.md quotes.

A CloudFront KeyValueStore holds at most 5 MB (keys and values), keys of 512 bytes and values of
1 KB. An archive of 100,000 articles imported from WordPress, each with its date permalink, its
category permalink and its `?p=` id, must fit.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from functools import cache

from broadsheet.aliases import entry_value
from broadsheet.contract.addresses import address_key, address_path, in_folder

STORE_BYTES = 5 * 1024 * 1024
ARTICLES = 100_000
WORDS = [
    "review",
    "week",
    "kerry",
    "putin",
    "moscow",
    "visit",
    "russia",
    "nato",
    "agree",
    "disagree",
    "sanctions",
    "year",
    "on",
    "syria",
    "ceasefire",
    "first",
    "days",
    "iran",
    "framework",
    "deal",
    "lausanne",
    "election",
    "foreign",
    "policy",
    "duma",
    "arctic",
    "council",
    "chairmanship",
    "eurasian",
    "union",
    "six",
    "months",
    "airstrikes",
    "begin",
    "summit",
    "warsaw",
    "antalya",
]


@cache
def articles() -> list[tuple[str, date, str]]:
    """Slug, day and category of each article of the archive (slugs of 33 characters on average,
    like the sample articles'), over ten years."""
    rng = random.Random(2015)  # noqa: S311 - a reproducible sample, not a secret
    return [
        (
            "-".join(rng.sample(WORDS, rng.randint(3, 5))) + f"-{n}",
            date(2006, 1, 1) + timedelta(days=n * 3652 // ARTICLES),
            rng.choice(["news", "analysis", "opinion", "world"]),
        )
        for n in range(ARTICLES)
    ]


@cache
def entries(shape: str, *, folders: bool = True) -> dict[str, str]:
    """The store entries one kind of old address calls for, as the pipeline writes them; without
    `folders`, as if every old path were an entry of its own."""
    store: dict[str, str] = {}
    for n, (slug, day, category) in enumerate(articles()):
        written = {
            "date": f"/{day:%Y/%m/%d}/{slug}/",
            "category": f"/category/{category}/{slug}/",
            "p": f"/?p={n + 1}",
            "archives": f"/archives/{n + 1}/",
        }[shape]
        key = address_key(written)
        key = in_folder(key, slug) if folders else key
        store[address_path(key)] = entry_value(key, slug)
    return store


def archive(shapes: tuple[str, ...], *, folders: bool = True) -> dict[str, str]:
    """The whole store an archive with these old addresses calls for."""
    return {k: v for shape in shapes for k, v in entries(shape, folders=folders).items()}


def size(store: dict[str, str]) -> int:
    return sum(len(k.encode()) + len(v.encode()) for k, v in store.items())


def test_a_wordpress_archive_of_100k_articles_with_three_old_addresses_each_fits() -> None:
    store = archive(("date", "category", "p"))
    assert 25 <= sum(len(slug) for slug, _, _ in articles()) / ARTICLES <= 40
    # Date and category permalinks ending in the slug cost one entry per folder, not per article.
    folders = [k for k in store if k.endswith("/*")]
    assert len(folders) <= 3653 + 4
    # Measured: 4.05 MB, 42 bytes for each `?p=` entry with slugs of 33 characters on average.
    assert size(store) < STORE_BYTES, size(store)


def test_per_article_entries_alone_would_not_fit() -> None:
    # Without folder entries (every old path its own entry), the same archive needs three stores.
    store = archive(("date", "category", "p"), folders=False)
    assert size(store) > 2 * STORE_BYTES, size(store)


def test_two_numeric_addresses_per_article_are_the_limit() -> None:
    # `/?p=<id>` and `/archives/<id>/` both name an article by its WordPress id: each is an entry.
    store = archive(("date", "p", "archives"))
    assert STORE_BYTES < size(store) < 2 * STORE_BYTES
