"""Fuzzing ingest: whatever bytes arrive under a key, the outcome is a published article or a report.

Files come from three sources: documents drawn from the shipped JSON Schemas (mostly valid, so
acceptance is exercised too), byte-level mutations of the sample and bad files (with tokens known
to trouble JSON readers: 5,000-digit numbers, NaN, unpaired surrogates, deep nesting, stray
bytes), and valid files with one field's value replaced by a hostile one. Each goes through
`ingest_key`, the function that turns a content object into an index write or an error report,
over the in-memory fakes, with a good version of the same key already published. Whatever
happens, no exception escapes; an accepted file is in the index exactly as read and can be stored
(strict UTF-8 JSON) and rendered; a rejected one leaves the index as it was and gets a report
whose every error names a field and says what is wrong.

hypothesis-jsonschema's object generation reaches into hypothesis internals that the pinned
hypothesis no longer has, so objects are assembled here, property by property, from the schema,
and hypothesis-jsonschema draws every value that is not an object.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from broadsheet.contract.files import AUTHORS, parse_key, read_article, report_key
from broadsheet.contract.models import Article, AuthorProfile
from broadsheet.errors import ValidationFailed
from broadsheet.index.memory import MemoryIndex
from broadsheet.ingest import Outcome, ingest_key
from broadsheet.pages import ArticlePage, all_pages
from broadsheet.render.html import render_page
from broadsheet.schedule import Schedules, at_expression
from broadsheet.settings import Settings
from tests.unit.fakes import FakeContentStore, FakeIndex, article_bytes

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "layers" / "broadsheet" / "broadsheet" / "contract" / "schema"
EVENTS = ROOT / "events"
SAMPLES = sorted((EVENTS / "content").glob("*/*.json")) + sorted((EVENTS / "bad").glob("*.json"))
NOW = datetime(2026, 1, 1, tzinfo=UTC)
GOOD_PROFILE = b'{"name": "Anna Writer", "bio": "Writes."}'
# The largest item DynamoDB stores; the article's compressed document is most of it.
MAX_ITEM_BYTES = 400 * 1024

# Deterministic and quick: no example database, the same examples every run, no deadline on a
# loaded machine. The counts add up to 2,100 examples.
FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

# Byte strings that have broken, or could break, a JSON reader, a model or a writer.
TOKENS = [
    b"9" * 5000,
    b"-" + b"1" * 5000,
    b"0." + b"0" * 5000 + b"1",
    b"1e999999",
    b"NaN",
    b"Infinity",
    b"-Infinity",
    b"\\ud800",
    b"\\udfff",
    b"\\ud83d\\ude00",
    b"\\u0000",
    b"\\u001b[31m",
    b"\\u2028",
    b"\\ufffe",
    b"[" * 3000,
    b'{"a":' * 3000,
    b"[" * 200,
    b"\xef\xbb\xbf",
    b"\xff",
    b"\xc3",
    b"\xed\xa0\x80",  # a surrogate encoded as if it were a character: not UTF-8
    b"\x00",
    b"\\",
    b'"',
    b",",
    b"}",
    b"]",
    b"null",
    b"true",
    b"{}",
    b"[]",
    b"\n",
    b'"slug": "another-one", ',
    b'"title": "again", ',
    b'"\\ud800": 1, ',
    b'"x": ' + b"9" * 5000 + b", ",
    b"0001-01-01T00:00:00+23:59",
    b"9999-12-31T23:59:59-23:59",
]
# Whole string values that are valid JSON text but test a field's limits.
VALUE_TOKENS = [
    b"0001-01-01T00:00:00+23:59",
    b"9999-12-31T23:59:59-23:59",
    b"9999-12-31T23:59:59.5Z",
    b"9999-12-31T23:59:59Z",
    b"0001-01-01T00:00:00Z",
    b"2015-02-29T10:00:00Z",
    b"\\ud800",
    b"\\ud800\\udc00",
    b"",
    b" ",
    b"\\u00a0",
    b"https://\\ud800.example/",
    b"http://[::1]:99999/",
]
# Characters a value may hold besides ordinary text.
ODD_CHARACTERS = ["\ud800", "\udfff", "\x00", "\x1b", "\u2028", "\ufffe", "\n", "\t", " ", "\u200b", "-"]


class ExpressionScheduler:
    """The schedules ingest keeps, each as the expression EventBridgeScheduler would send for it."""

    def __init__(self) -> None:
        self.held: dict[str, str] = {}

    def ensure(self, name: str, at: datetime, message: str) -> None:
        """Hold schedule `name` at `at`."""
        self.held[name] = at_expression(at)

    def cancel(self, name: str) -> None:
        """Drop schedule `name`."""
        self.held.pop(name, None)


@dataclass(frozen=True)
class Upload:
    """A file as it lands in the content bucket."""

    key: str
    body: bytes


# --------------------------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------------------------


@cache
def schema(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    return data


def from_shipped_schema(node: dict[str, Any], defs: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values the schema `node` allows: objects assembled here, everything else by hypothesis-jsonschema."""
    if "$ref" in node:
        return from_shipped_schema(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
    if "anyOf" in node:
        return st.one_of([from_shipped_schema(option, defs) for option in node["anyOf"]])
    if node.get("type") == "object":
        properties = {name: from_shipped_schema(sub, defs) for name, sub in node["properties"].items()}
        required = set(node.get("required", []))
        return st.fixed_dictionaries(
            {name: s for name, s in properties.items() if name in required},
            optional={name: s for name, s in properties.items() if name not in required},
        )
    items = node.get("items")
    if node.get("type") == "array" and isinstance(items, dict) and ("$ref" in items or "anyOf" in items):
        # Lists of objects (corrections, live updates): a few, drawn here with their definitions.
        low = int(node.get("minItems", 0))
        return st.lists(
            from_shipped_schema(items, defs),
            min_size=low,
            max_size=max(low, min(int(node.get("maxItems", 3)), 3)),
        )
    node = {k: v for k, v in node.items() if k not in {"default", "title", "description"}}
    if "pattern" in node and "maxLength" in node:
        # Unbounded repeats of a group make long strings that maxLength then filters away, one
        # draw in dozens for a language tag; a bounded repeat draws the same shapes at once.
        node["pattern"] = node["pattern"].replace(")*", "){0,2}").replace(")+", "){1,2}")
    return from_schema(node)


@cache  # building the strategy canonicalises every subschema: once per run, not per draw
def schema_documents(name: str) -> st.SearchStrategy[dict[str, Any]]:
    top = schema(name)
    return from_shipped_schema(top, top.get("$defs", {}))


@st.composite
def schema_articles(draw: st.DrawFn) -> Upload:
    doc = draw(schema_documents("article.schema.json"))
    # A slug field must equal the file name; mostly it does, as an editor's would.
    slug = doc.get("slug") if draw(st.booleans()) else None
    return Upload(f"articles/{slug or 'fuzzed-article'}.json", encode(doc, draw))


@st.composite
def schema_profiles(draw: st.DrawFn) -> Upload:
    doc = draw(schema_documents("author.schema.json"))
    return Upload("authors/anna-writer.json", encode(doc, draw))


def encode(doc: Any, draw: st.DrawFn) -> bytes:
    """JSON as an editor's tool might write it: escaped or not, indented or not."""
    text = json.dumps(doc, ensure_ascii=draw(st.booleans()), indent=draw(st.sampled_from([None, 2])))
    # An unpaired surrogate has no UTF-8 form; written anyway, it is the bytes a broken tool makes.
    return text.encode("utf-8", "surrogatepass")


def key_for(path: Path) -> str:
    return f"{AUTHORS if path.parent.name == 'authors' else 'articles/'}{path.name}"


@st.composite
def keys(draw: st.DrawFn, path: Path) -> str:
    """Mostly the sample's own key; sometimes a name that is no slug."""
    if draw(st.integers(0, 9)):
        return key_for(path)
    return f"articles/{draw(ODD_TEXT)}.json"


@st.composite
def mutated_files(draw: st.DrawFn) -> Upload:
    """A sample or bad file with a few bytes flipped, cut, repeated or replaced by a token."""
    path = draw(st.sampled_from(SAMPLES))
    data = bytearray(SAMPLE_BYTES[path])
    # Where string values start: tokens placed there land inside a field's text.
    value_starts = [i + 4 for i in range(len(data)) if data[i : i + 4] == b'": "']
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        op = draw(
            st.sampled_from(
                ["token", "token-in-value", "token-as-value", "flip", "insert", "delete", "repeat"]
            )
        )
        if op == "token":
            data[at:at] = draw(st.sampled_from(TOKENS))
        elif op == "token-in-value" and value_starts:
            start = draw(st.sampled_from(value_starts))
            data[start:start] = draw(st.sampled_from(TOKENS))
        elif op == "token-as-value" and value_starts:
            start = draw(st.sampled_from(value_starts))
            end = data.find(b'"', start)
            data[start : end if end >= 0 else start] = draw(st.sampled_from(VALUE_TOKENS))
        elif op == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 16))]
        elif op == "repeat":
            data[at:at] = data[at : at + draw(st.integers(1, 64))]
    return Upload(draw(keys(path)), bytes(data))


# Strategies are built once: building one inside a draw costs more than the ingest it feeds.
ODD_TEXT = st.text(st.one_of(st.characters(), st.sampled_from(ODD_CHARACTERS)), max_size=40)
ODD_NAMES = st.text(st.one_of(st.characters(), st.sampled_from(ODD_CHARACTERS)), max_size=12)
HOSTILE_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),  # NaN and infinities included: json.dumps writes them as NaN and Infinity
        ODD_TEXT,
        st.sampled_from([v.decode("unicode_escape") for v in VALUE_TOKENS]),
    ),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ODD_NAMES, inner, max_size=4),
    max_leaves=12,
)
SAMPLE_FILES = sorted((EVENTS / "content").glob("*/*.json"))
SAMPLE_BYTES = {path: path.read_bytes() for path in SAMPLES}


@st.composite
def replaced_fields(draw: st.DrawFn) -> Upload:
    """A sample file with one field, known or not, holding a hostile value."""
    path = draw(st.sampled_from(SAMPLE_FILES))
    doc = json.loads(SAMPLE_BYTES[path])
    name = draw(st.one_of(st.sampled_from([*doc, "source", "tags", "language", "url"]), ODD_NAMES))
    doc[name] = draw(HOSTILE_VALUES)
    if draw(st.booleans()) and isinstance(doc.get("source"), dict):
        doc["source"]["name"] = draw(ODD_TEXT)
    return Upload(key_for(path), encode(doc, draw))


# --------------------------------------------------------------------------------------------
# The property
# --------------------------------------------------------------------------------------------


def index_state(index: FakeIndex, scheduler: ExpressionScheduler) -> tuple[Any, ...]:
    """What readers could see of the index, every article, profile and listing, and what is due."""
    articles = {held.article.slug: held for held in index.articles()}
    listings = {name: index.span(name, 0, index.count(name)).entries for name in index.listing_ids()}
    return articles, index.profiles(), listings, dict(scheduler.held)


def seeded(key: str) -> tuple[FakeContentStore, FakeIndex, Schedules]:
    """A bucket and an index in which a good version of `key` is already published, due to expire."""
    content, index = FakeContentStore(), FakeIndex()
    schedules = Schedules(ExpressionScheduler(), lambda key: f"ingest {key}")
    try:
        ident = parse_key(key)
    except ValidationFailed:
        return content, index, schedules  # no good version can live under a name that is no slug
    good = (
        GOOD_PROFILE
        if ident.kind == "author"
        else article_bytes(ident.slug, expires_at="2030-01-01T00:00:00Z")
    )
    content.upload(key, good)
    assert ingest_key(key, content, index, NOW, schedules).outcome is Outcome.PUBLISHED
    return content, index, schedules


def assert_ingests_cleanly(upload: Upload) -> None:
    """Ingest `upload` after a good version: published as read, or reported with the index untouched."""
    content, index, schedules = seeded(upload.key)
    scheduler = schedules.scheduler
    assert isinstance(scheduler, ExpressionScheduler)
    before = index_state(index, scheduler)
    content.upload(upload.key, upload.body)

    result = ingest_key(upload.key, content, index, NOW, schedules)  # any exception fails the example
    event(result.outcome.value)

    if result.outcome is Outcome.REJECTED:
        assert result.rejection is not None and result.rejection.errors
        assert index_state(index, scheduler) == before, "a rejected file changed the index or its schedules"
        report = json.loads(content.reports[report_key(upload.key)].decode("utf-8"))
        assert report["valid"] is False and report["errors"]
        for error in report["errors"]:
            assert isinstance(error["field"], str) and error["field"].strip(), error
            assert isinstance(error["message"], str) and error["message"].strip(), error
        return
    assert result.outcome in {Outcome.PUBLISHED, Outcome.UNCHANGED}, result.outcome
    assert report_key(upload.key) not in content.reports
    if upload.key.startswith(AUTHORS):
        profile = index.profiles()[upload.key.rsplit("/", 1)[-1].removesuffix(".json")]
        assert AuthorProfile.model_validate_json(profile.model_dump_json().encode("utf-8")) == profile
        return
    assert result.article is not None
    indexed = index.get_article(result.article.slug)
    assert indexed is not None and indexed.article == result.article
    assert_storable(result.article)


def assert_storable(article: Article) -> None:
    """The article survives the index's own round trip: strict UTF-8 JSON, within an item's size."""
    stored = article.model_dump_json().encode("utf-8")
    assert len(stored) < MAX_ITEM_BYTES
    assert Article.model_validate_json(stored) == article


@settings(FUZZ, max_examples=250)
@given(schema_articles())
def test_schema_generated_articles_are_published_or_reported(upload: Upload) -> None:
    assert_ingests_cleanly(upload)


@settings(FUZZ, max_examples=150)
@given(schema_profiles())
def test_schema_generated_profiles_are_published_or_reported(upload: Upload) -> None:
    assert_ingests_cleanly(upload)


@settings(FUZZ, max_examples=1050)
@given(mutated_files())
def test_mutated_files_are_published_or_reported(upload: Upload) -> None:
    assert_ingests_cleanly(upload)


@settings(FUZZ, max_examples=550)
@given(replaced_fields())
def test_hostile_field_values_are_published_or_reported(upload: Upload) -> None:
    assert_ingests_cleanly(upload)


# --------------------------------------------------------------------------------------------
# Accepted implies renderable
# --------------------------------------------------------------------------------------------


@settings(FUZZ, max_examples=100)
@given(schema_documents("article.schema.json"))
def test_an_article_validation_accepts_renders_on_every_page(doc: dict[str, Any]) -> None:
    # Published and never expiring, so that it is live once its time has come.
    doc = {**doc, "status": "published"}
    doc.pop("slug", None)
    doc.pop("expires_at", None)
    try:
        article = read_article("articles/fuzzed-article.json", json.dumps(doc).encode("utf-8"))
    except ValidationFailed:
        event("refused")
        return
    event("accepted")
    # Read on the fixed day, or on the day it comes out of embargo: either way it is live.
    now = max(NOW, article.published_at.astimezone(UTC))
    index = MemoryIndex(now)
    index.add_article(article)
    config = render_settings(now)
    article_page = render_page(ArticlePage(article.slug), index, config)
    assert article_page is not None
    # And every listing, feed and sitemap it appears in.
    for page in all_pages(index, config.page_size):
        output = render_page(page, index, config)
        assert output is None or output.body.decode("utf-8")


def render_settings(now: datetime) -> Settings:
    return Settings(site_url="http://example.test", page_size=3, now=now.isoformat())
