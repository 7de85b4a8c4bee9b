"""A synthetic news site, seeded and deterministic, as Broadsheet, Hugo and Pelican sources.

`articles(n, seed)` makes the same N articles every time: a pool of authors (one to three per
article), sections, tags, ten years of dates and 800–1,200 word Markdown bodies with
sub-headings, lists, emphasis and links. `write_broadsheet`, `write_hugo` and `write_pelican`
lay the articles out as each generator reads them, configured for the equivalent page set:
article pages, and home, author, section, tag and month listings paginated the same way, with
feeds.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from broadsheet.contract.fields import slugify

# The clock every build of the corpus runs at: every article is live.
CLOCK = "2026-11-30T12:00:00Z"
PAGE_SIZE = 20
# Each generator's configuration and layouts, for the equivalent page set.
SITES = Path(__file__).resolve().parent / "sites"
_FIRST_DAY = datetime(2016, 1, 1, tzinfo=UTC)
_DAYS = 3653
_FIRST = [
    "Anna",
    "Aleksei",
    "Boris",
    "Dmitriy",
    "Elena",
    "Gevorg",
    "Irina",
    "Katerina",
    "Lev",
    "Maria",
    "Nikolai",
    "Olga",
    "Pavel",
    "Rustam",
    "Sofia",
    "Timur",
    "Vera",
    "Yuri",
    "Zoë",
    "Marc",
    "Claire",
    "Jonas",
    "Ines",
    "Tomás",
]
_LAST = [
    "Mirzayan",
    "Lebedeva",
    "Ofitserov-Belskiy",
    "Petrov",
    "Ivanova",
    "Sokolov",
    "Kuznetsova",
    "Orlov",
    "Marchetti",
    "Novak",
    "Dubois",
    "Berg",
    "Santos",
    "Haddad",
    "Kowalski",
    "Lindqvist",
]
_SECTIONS = ("foreign-policy", "security", "economy", "energy", "society", "culture", "opinion", "science")
_TOPICS = (
    "Syria", "United Nations", "Arctic", "Canada", "Climate", "Sanctions", "Oil", "Gas", "China",
    "India", "Turkey", "Iran", "NATO", "European Union", "Ukraine", "Belarus", "Central Asia",
    "Elections", "Media", "Cyber", "Trade", "Banking", "Inflation", "Grain", "Shipping", "Space",
    "Nuclear", "Diplomacy", "Migration", "Health", "Education", "Cinema", "Literature", "Football",
    "Olympics", "Religion", "Courts", "Parliament", "Budget", "Pensions", "Railways", "Ports",
    "Satellites", "Pipelines", "Wheat", "Gold", "Rouble", "Dollar", "Euro", "G20", "BRICS", "Caucasus",
    "Baltic", "Balkans", "Middle East", "Africa", "Latin America", "Japan", "Korea", "Mongolia",
)  # fmt: skip
_WORDS = [
    "the",
    "of",
    "and",
    "to",
    "a",
    "in",
    "that",
    "is",
    "for",
    "on",
    "with",
    "as",
    "by",
    "at",
    "from",
    "it",
    "this",
    "be",
    "are",
    "was",
    "not",
    "have",
    "an",
    "which",
    "government",
    "minister",
    "policy",
    "talks",
    "agreement",
    "region",
    "council",
    "summit",
    "treaty",
    "market",
    "prices",
    "budget",
    "reform",
    "election",
    "parliament",
    "court",
    "ruling",
    "security",
    "border",
    "trade",
    "energy",
    "pipeline",
    "export",
    "import",
    "sanctions",
    "diplomats",
    "delegation",
    "negotiations",
    "conflict",
    "ceasefire",
    "analysts",
    "economy",
    "growth",
    "inflation",
    "currency",
    "bank",
    "investors",
    "companies",
    "officials",
    "spokesman",
    "president",
    "premier",
    "cabinet",
    "opposition",
    "coalition",
    "vote",
    "campaign",
    "voters",
    "turnout",
    "debate",
    "proposal",
    "committee",
    "report",
    "figures",
    "quarter",
    "year",
    "month",
    "week",
    "Moscow",
    "Washington",
    "Beijing",
    "Brussels",
    "Ankara",
    "Delhi",
    "Tehran",
    "Kiev",
    "Minsk",
    "however",
    "meanwhile",
    "although",
    "because",
    "therefore",
    "despite",
    "while",
    "since",
    "whether",
    "until",
    "unless",
    "announced",
    "said",
    "argued",
    "warned",
    "suggested",
    "insisted",
    "noted",
    "expected",
    "remained",
    "became",
    "continued",
    "long-term",
    "short-term",
    "regional",
    "national",
    "international",
    "bilateral",
    "multilateral",
    "strategic",
    "economic",
    "political",
    "military",
    "cultural",
    "public",
    "private",
    "foreign",
    "domestic",
]


@dataclass(frozen=True)
class Article:
    """One article of the corpus, generator-neutral."""

    slug: str
    title: str
    teaser: str
    authors: tuple[str, ...]
    published: datetime
    section: str
    tags: tuple[str, ...]
    body: str


def articles(n: int, seed: int = 1) -> list[Article]:
    """N articles, the same for the same `n` and `seed`."""
    rng = random.Random(seed)
    authors = sorted({f"{first} {last}" for first in _FIRST for last in _LAST})
    rng.shuffle(authors)
    pool = authors[: max(8, min(60, n // 40))]
    made = []
    for number in range(n):
        title_words = [rng.choice(_WORDS) for _ in range(rng.randint(5, 10))]
        topic = rng.choice(_TOPICS)
        title = f"{topic}: {' '.join(title_words)}".capitalize().replace(topic.lower(), topic, 1)
        slug = f"{slugify(' '.join(title_words[:5]))}-{number}"
        offset = timedelta(days=rng.randrange(_DAYS), minutes=rng.randrange(24 * 60))
        made.append(
            Article(
                slug=slug,
                title=title,
                teaser=_sentence(rng, 25, 45),
                authors=tuple(rng.sample(pool, rng.choice((1, 1, 1, 2, 2, 3)))),
                published=(_FIRST_DAY + offset).replace(second=0),
                section=rng.choice(_SECTIONS),
                tags=tuple(rng.sample(_TOPICS, rng.randint(2, 4))),
                body=_body(rng),
            )
        )
    return made


def _sentence(rng: random.Random, shortest: int, longest: int) -> str:
    words = [rng.choice(_WORDS) for _ in range(rng.randint(shortest, longest))]
    return " ".join(words).capitalize() + "."


def _body(rng: random.Random) -> str:
    """800–1,200 words of Markdown: paragraphs under sub-headings, a list, emphasis and a link."""
    target, written = rng.randint(800, 1200), 0
    blocks: list[str] = []
    while written < target:
        if blocks and rng.random() < 0.18:
            blocks.append("## " + _sentence(rng, 3, 7)[:-1])
            continue
        if rng.random() < 0.08:
            items = [_sentence(rng, 6, 12) for _ in range(rng.randint(3, 5))]
            blocks.append("\n".join(f"- {item}" for item in items))
            written += sum(len(item.split()) for item in items)
            continue
        sentences = [_sentence(rng, 10, 24) for _ in range(rng.randint(3, 6))]
        word = rng.choice(_WORDS)
        sentences[0] = sentences[0].replace(f" {word} ", f" *{word}* ", 1)
        if rng.random() < 0.3:
            sentences[-1] += f" See [the report](https://example.org/reports/{rng.randrange(10**6)})."
        paragraph = " ".join(sentences)
        blocks.append(paragraph)
        written += len(paragraph.split())
    return "\n\n".join(blocks) + "\n"


def write_broadsheet(corpus: list[Article], root: Path) -> Path:
    """Broadsheet article files under `root/articles/`; return the content folder."""
    folder = root / "articles"
    folder.mkdir(parents=True, exist_ok=True)
    for article in corpus:
        (folder / f"{article.slug}.json").write_text(json.dumps(broadsheet_document(article)))
    return root


def broadsheet_document(article: Article) -> dict[str, object]:
    """The article in Broadsheet's article format."""
    return {
        "title": article.title,
        "teaser": article.teaser,
        "authors": list(article.authors),
        "published_at": article.published.isoformat(),
        "section": article.section,
        "tags": list(article.tags),
        "body": article.body,
    }


def write_hugo(corpus: list[Article], root: Path) -> Path:
    """A Hugo site: the articles, taxonomies for authors, sections, tags and months, and a minimal
    theme with the same page content (title, teaser, bylines, date, body, tags; listings of
    title, date, bylines and teaser) as Broadsheet's; return the site folder."""
    folder = root / "content" / "articles"
    folder.mkdir(parents=True, exist_ok=True)
    for article in corpus:
        front = {
            "title": article.title,
            "slug": article.slug,
            "date": article.published.isoformat(),
            "summary": article.teaser,
            "authors": list(article.authors),
            "sections": [article.section],
            "tags": list(article.tags),
            "months": [article.published.strftime("%Y-%m")],
        }
        (folder / f"{article.slug}.md").write_text(f"{json.dumps(front)}\n\n{article.body}")
    _configure(SITES / "hugo", root)
    return root


def write_pelican(corpus: list[Article], root: Path) -> Path:
    """A Pelican site with its default theme: articles, paginated index, author, category (section),
    tag and month pages, with Atom feeds for the site, each author and each category; return the
    site folder."""
    folder = root / "content"
    folder.mkdir(parents=True, exist_ok=True)
    for article in corpus:
        meta = [
            f"Title: {article.title}",
            f"Date: {article.published:%Y-%m-%d %H:%M}",
            f"Authors: {', '.join(article.authors)}",
            f"Category: {article.section}",
            f"Tags: {', '.join(article.tags)}",
            f"Slug: {article.slug}",
            f"Summary: {article.teaser}",
        ]
        (folder / f"{article.slug}.md").write_text("\n".join(meta) + "\n\n" + article.body)
    _configure(SITES / "pelican", root)
    return root


def _configure(template: Path, root: Path) -> None:
    """Copy a generator's configuration and layouts from bench/sites, with the page size set
    (a `.template` suffix keeps a configuration with a placeholder from being read as Python)."""
    for source in sorted(p for p in template.rglob("*") if p.is_file()):
        target = root / str(source.relative_to(template)).removesuffix(".template")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source.read_text().replace("@PAGE_SIZE@", str(PAGE_SIZE)))
