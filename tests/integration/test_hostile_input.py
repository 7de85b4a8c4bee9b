"""Hostile and broken input through the running pipeline (the local stack over HTTP).

Every upload ends in one of three ways: a report at `reports/<key>.errors.json` naming the field
at fault, a skip written to the log (keys outside `articles/` and `authors/`), or a published
page at the article's own path. Never a crash loop (the dead-letter queues stay empty), never a
change to anything else, never a site object outside the page paths of DESIGN.md's URL table.

The corpora are large and the local stack is slow next to AWS, so uploads are batched: one
module fixture uploads every case that must be rejected or skipped at once and waits once,
then publishes the cases the format accepts and waits once more, and finally removes everything
it added, leaving every page of the session's site with the bytes it had.

A file name S3 accepts (up to 1,024 bytes) would be too long for its plain report key, which
adds 21 bytes; such a report gets a shortened key (`test_every_report_fits_in_an_s3_key`).
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

import boto3
import pytest
from markupsafe import escape

from broadsheet.contract.addresses import address_key
from broadsheet.contract.fields import MAX_SLUG, SLUG_PATTERN, slugify
from broadsheet.contract.files import report_key
from broadsheet_dev.local.pollers import SqsPoller
from broadsheet_dev.local.runtime import LocalStack
from tests.support import ROOT, Editor

pytestmark = [pytest.mark.integration]

CORPORA = ROOT / "tests" / "corpora"
BLNS = CORPORA / "blns" / "blns.json"
TRAVERSAL = CORPORA / "traversal" / "payloadsallthethings"
# How many traversal lines are taken evenly from the whole corpus, besides one line of every
# way of climbing out of a folder (below); how many naughty strings are published and rendered
# (every one of them is validated in every field); how many traversal lines are published as
# tags. The local stack's moto server does all the work on one core: these keep the module
# within about three minutes there.
TRAVERSAL_SPREAD = 150
BLNS_RENDERED = 6
TRAVERSAL_TAGS = 20
MAX_TAGS = 20
# S3 refuses keys longer than this many bytes of UTF-8 (moto does not, so the test does).
S3_MAX_KEY_BYTES = 1024
UPLOAD_THREADS = 4
DRAIN_SECONDS = 900
PUBLISHED_AT = "2026-11-01T09:00:00Z"
ARTIFACTS = ROOT / "test-artifacts"

# The site's page paths, from DESIGN.md's URL table: nothing else may ever be written.
SLUG = r"[a-z0-9]+(?:-[a-z0-9]+)*"
PAGE = r"(?:page/[1-9][0-9]*/)?index\.html"
FEEDS = r"(?:feed\.xml|rss\.xml|feed\.json)"
SITE_KEY = re.compile(
    "|".join(
        [
            rf"articles/{SLUG}/index\.html",
            PAGE,
            rf"(?:authors|sections|tags)/{SLUG}/{PAGE}",
            rf"(?:(?:authors|sections)/{SLUG}/)?{FEEDS}",
            r"archive/index\.html",
            rf"archive/[0-9]{{4}}/(?:0[1-9]|1[0-2])/{PAGE}",
            r"sitemaps/[0-9]{4}-(?:0[1-9]|1[0-2])\.xml",
            r"404\.html|robots\.txt|sitemap\.xml|news-sitemap\.xml",
            r"assets/site\.[0-9a-f]+\.css",
        ]
    )
)
SLUG_RE = re.compile(SLUG_PATTERN)
WEB_ADDRESS = re.compile(r"https?://", re.IGNORECASE)
# Where a traversal line's target begins, after the steps that climb to it.
TARGET = re.compile(r"\{FILE\}|etc/|boot\.ini|windows|winnt|win\.ini|proc/|var/|usr/|bin/|c:", re.IGNORECASE)
FILE, FILE_NAME = "(file)", "(file name)"
# The text fields of an article, with the name a report gives each when it holds one value
# that is wrong, and the other names it may give (a whole list, or the whole source).
TEXT_FIELDS = {
    "title": "title",
    "teaser": "teaser",
    "authors": "authors[0]",
    "tags": "tags[0]",
    "section": "section",
    "body": "body",
    "source.name": "source.name",
    "source.url": "source.url",
}
WHOLE = {"authors", "tags", "source"}
ONE_LINE = ("title", "authors", "tags", "source.name")

Expect = Literal["published", "rejected", "skipped"]


@dataclass(frozen=True)
class Upload:
    """One file an editor (or an attacker with an editor's credentials) puts in the bucket."""

    group: str
    key: str
    body: bytes
    expect: Expect
    # The report must name every field in `must` and nothing outside `may`.
    must: frozenset[str] = frozenset()
    may: frozenset[str] = frozenset()
    # Also deliver S3's notification by hand: for keys the bucket does not notify about.
    hint: bool = False

    @property
    def slug(self) -> str:
        """The article slug of a key under articles/."""
        return self.key.removeprefix("articles/").removesuffix(".json")

    @property
    def notified(self) -> int:
        """How many notifications ingest receives for this upload."""
        return int(self.key.startswith(("articles/", "authors/"))) + int(self.hint)


def article(**fields: object) -> dict[str, object]:
    """A valid article, with `fields` replacing or adding to its own."""
    doc: dict[str, object] = {
        "title": "A plain title",
        "teaser": "A plain teaser.",
        "authors": ["Plain Author"],
        "published_at": PUBLISHED_AT,
        "body": "A plain body.\n",
        "source": {"name": "Plain Source", "url": "https://example.org/story"},
    }
    doc.update(fields)
    return doc


def encoded(doc: dict[str, object]) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


def rejected(group: str, key: str, body: bytes, must: Iterable[str], may: Iterable[str] = ()) -> Upload:
    named = frozenset(must)
    return Upload(group, key, body, "rejected", named, named | frozenset(may))


# -- the cases -------------------------------------------------------------------------------


def broken_files() -> list[Upload]:
    """One file for each way a file can be broken, each with the fields its report must name."""
    nested = b'{"title": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    shallow = encoded(article()).replace(b'"source": {', b'"source": ' + b"[" * 500 + b"{", 1)
    shallow = shallow.replace(b'"}}', b'"}' + b"]" * 500 + b"}", 1)
    big = encoded(article(body="x" * (10 * 1024 * 1024)))
    good = encoded(article(title="Broken input, case: a byte-order mark"))
    duplicates = good.replace(b'"teaser":', b'"title": "Another title", "teaser":', 1)
    duplicates = duplicates.replace(b'"url":', b'"url": "https://example.org/one", "url":', 1)
    wrong = encoded(
        article(title=5, authors="Gevorg Mirzayan", published_at=20151221, tags={"a": 1}, body=None)
    )
    longest = "articles/" + "a" * (S3_MAX_KEY_BYTES - len("articles/.json")) + ".json"
    return [
        rejected("broken", "articles/broken-malformed-json.json", good[:-20], [FILE]),
        rejected("broken", "articles/broken-wrong-types.json", wrong,
                 ["title", "authors", "published_at", "tags", "body"]),
        Upload("broken", "articles/broken-byte-order-mark.json", b"\xef\xbb\xbf" + good, "published"),
        rejected("broken", "articles/broken-invalid-utf-8.json", good.replace(b"case", b"c\xffse"), [FILE]),
        rejected("broken", "articles/broken-lone-surrogate.json", good.replace(b"case", b"\xed\xa0\x80"),
                 [FILE]),
        rejected("broken", "articles/broken-ten-megabytes.json", big, [FILE]),
        rejected("broken", "articles/broken-deeply-nested.json", nested, [FILE]),
        rejected("broken", "articles/broken-nested-source.json", shallow, ["source"]),
        rejected("broken", "articles/broken-duplicate-keys.json", duplicates, ["title", "source.url"]),
        rejected("broken", "articles/broken-zero-bytes.json", b"", [FILE]),
        rejected("broken", "articles/broken-not-an-object.json", b'["title"]', [FILE]),
        rejected("broken", "articles/My Story.json", good, [FILE_NAME]),
        rejected("broken", "articles/a+b.json", good, [FILE_NAME]),
        rejected("broken", "articles/caf%C3%A9.json", good, [FILE_NAME]),
        rejected("broken", "articles/café.json", good, [FILE_NAME]),
        rejected("broken", "articles/not-json.txt", good, [FILE_NAME]),
        # As long a key as S3 takes: its report key is longer still.
        rejected("broken", longest, good, [FILE_NAME]),
        Upload("broken", "drafts/x.json", good, "skipped", hint=True),
        Upload("broken", "articles-old/x.json", good, "skipped", hint=True),
        Upload("broken", "reports/x.json", good, "skipped", hint=True),
    ]  # fmt: skip


def naughty_strings() -> list[str]:
    if not BLNS.exists() or BLNS.stat().st_size == 0:
        pytest.fail(f"the big list of naughty strings is missing or empty: {BLNS}", pytrace=False)
    return [str(s) for s in json.loads(BLNS.read_text(encoding="utf-8"))]


def with_text(value: str, fields: Iterable[str]) -> dict[str, object]:
    """A valid article carrying `value` in each of `fields` (keys of TEXT_FIELDS)."""
    doc = article()
    source = {"name": "Plain Source", "url": "https://example.org/story"}
    for name in fields:
        if name in {"authors", "tags"}:
            doc[name] = [value]
        elif name.startswith("source."):
            source[name.removeprefix("source.")] = value
        else:
            doc[name] = value
    doc["source"] = source
    return doc


def surely_wrong(value: str) -> set[str]:
    """The fields where the article format (README) certainly refuses `value`."""
    wrong = set()
    if len(value) > MAX_SLUG or not SLUG_RE.fullmatch(value):
        wrong.add("section")
    if not WEB_ADDRESS.match(value):
        wrong.add("source.url")
    if not value.strip():
        wrong |= {"body", *ONE_LINE}
    if "\n" in value or "\r" in value:
        wrong |= set(ONE_LINE)
    if len(value) > 600:
        wrong.add("teaser")
    return wrong


def naughty_files(strings: list[str]) -> list[Upload]:
    """One file per naughty string, carrying it in every text field at once."""
    uploads = []
    for number, value in enumerate(strings):
        must = {TEXT_FIELDS[name] for name in surely_wrong(value)}
        may = {*TEXT_FIELDS.values(), *WHOLE}
        doc = with_text(value, TEXT_FIELDS)
        uploads.append(Upload("blns", f"articles/blns-{number}.json", encoded(doc), "rejected",
                              frozenset(must), frozenset(may)))  # fmt: skip
    return uploads


def _step(line: str) -> str:
    """How a traversal line climbs, whatever its depth and target: `../../../etc/passwd` and
    `../{FILE}` both climb with `../`; `..%c0%af..%c0%afboot.ini` with `..%c0%af`."""
    repeat = re.compile(r"(.{2,}?)\1+")
    previous = None
    while previous != line:
        previous, line = line, repeat.sub(r"\1", line)
    target = TARGET.search(line)
    return line[: target.start()] if target else line


def traversal_lines() -> tuple[list[str], list[str]]:
    """An even spread of the corpus, and the deepest line of every way of climbing (`..`,
    `%2e`, `%252e`, `\\`, NUL and their mixtures) the spread lacks. The spread is tried as file
    names and as field values, the others as file names."""
    paths = sorted(TRAVERSAL.glob("*.txt"))
    if not paths or any(path.stat().st_size == 0 for path in paths):
        pytest.fail(f"the traversal corpus is missing or empty: {TRAVERSAL}", pytrace=False)
    lines: list[str] = []
    for path in paths:
        text = path.read_bytes().decode("utf-8", errors="replace")
        lines += [line for line in text.splitlines() if line.strip()]
    lines = list(dict.fromkeys(lines))
    spread = lines[:: max(1, len(lines) // TRAVERSAL_SPREAD)]
    covered = {_step(line) for line in spread}
    markers = ("..", "%2e", "%252e", "\\", "\x00", "%00")
    deepest: dict[str, str] = {}
    for line in lines:
        step = _step(line)
        marked = step not in covered and any(m in line.lower() for m in markers)
        if marked and len(line) > len(deepest.get(step, "")):
            deepest[step] = line
    return spread, list(deepest.values())


def old_path(line: str) -> bool:
    """Whether `line` is an old site path an alias may name (broadsheet.contract.addresses)."""
    try:
        return address_key(line).startswith("/")
    except ValueError:
        return False


def traversal_files(spread: list[str], shapes: list[str]) -> list[Upload]:
    """Each line as a file name; the spread also as the slug, section, tag and alias of a
    well-named file."""
    uploads = []
    for line in spread + shapes:
        uploads.append(rejected("traversal-key", f"articles/{line}.json", encoded(article()), [FILE_NAME]))
    for number, line in enumerate(spread):
        doc = article(slug=line, section=line, tags=[line], aliases=[line])
        # An old site path is an alias like any other (kept in its normal form): only a line
        # that is no old address is reported there.
        fields = ["slug", "section"] + ([] if old_path(line) else ["aliases[0]"])
        uploads.append(rejected("traversal-field", f"articles/traversal-{number}.json", encoded(doc),
                                fields, ["tags", "tags[0]"]))  # fmt: skip
    return uploads


# -- running a batch -------------------------------------------------------------------------


@dataclass
class Outcome:
    """What a batch of uploads did."""

    uploads: list[Upload]
    refused: list[Upload]
    reports: dict[str, dict[str, Any]]
    logged: dict[str, list[str]]
    delivered: int
    failed: int
    seconds: float

    def report(self, upload: Upload) -> dict[str, Any] | None:
        return self.reports.get(report_key(upload.key))

    def named(self, upload: Upload) -> set[str]:
        report = self.report(upload)
        return {str(e["field"]) for e in report["errors"]} if report else set()


class Captured(logging.Handler):
    """Every message Broadsheet logs, by the key it names."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.by_key: dict[str, list[str]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        key = getattr(record, "key", None)
        if isinstance(key, str):
            self.by_key.setdefault(key, []).append(record.getMessage())


def ingest_counts(stack: LocalStack) -> tuple[int, int]:
    """How many events ingest has handled, and how many it has failed on (to be retried)."""
    pollers = [p for p in stack.pollers if isinstance(p, SqsPoller) and p.name == "IngestFunction"]
    return sum(p.delivered for p in pollers), sum(p.failed for p in pollers)


def parallel(action: Callable[[Upload], object], uploads: list[Upload]) -> None:
    with ThreadPoolExecutor(UPLOAD_THREADS) as pool:
        list(pool.map(action, uploads))


def run_batch(stack: LocalStack, editor: Editor, uploads: list[Upload], log: Captured) -> Outcome:
    """Upload everything (S3 would refuse over-long keys), wait for the pipeline once, read back."""
    started, (delivered, failed) = time.monotonic(), ingest_counts(stack)
    refused = [u for u in uploads if len(u.key.encode("utf-8")) > S3_MAX_KEY_BYTES]
    sent = [u for u in uploads if len(u.key.encode("utf-8")) <= S3_MAX_KEY_BYTES]

    def put(upload: Upload) -> None:
        editor.s3.put_object(Bucket=editor.content, Key=upload.key, Body=upload.body)
        if upload.hint:
            editor.hint(upload.key)

    parallel(put, sent)
    stack.wait_drained(timeout=DRAIN_SECONDS)
    reports: dict[str, dict[str, Any]] = {}

    def read(upload: Upload) -> None:
        found = editor.report(upload.key)
        if found is not None:
            reports[report_key(upload.key)] = found

    parallel(read, sent)
    logged = {u.key: list(log.by_key.get(u.key, [])) for u in sent}
    return Outcome(
        sent,
        refused,
        reports,
        logged,
        ingest_counts(stack)[0] - delivered,
        ingest_counts(stack)[1] - failed,
        time.monotonic() - started,
    )


def content_objects(editor: Editor) -> dict[str, str]:
    return {
        o["Key"]: o["ETag"]
        for page in editor.s3.get_paginator("list_objects_v2").paginate(Bucket=editor.content)
        for o in page.get("Contents", [])
    }


def index_items(stack: LocalStack) -> list[str]:
    client = boto3.client("dynamodb")
    items = [
        json.dumps(item, sort_keys=True, default=str)
        for page in client.get_paginator("scan").paginate(TableName=stack.stack.refs["IndexTable"])
        for item in page.get("Items", [])
    ]
    return sorted(items)


# -- the sweep: every case, in two batches, then the site restored ---------------------------


@dataclass
class Sweep:
    """Everything the module's tests look at."""

    rejections: Outcome
    publications: Outcome
    strings: list[str]
    spread: list[str]
    shapes: list[str]
    site_before: dict[str, str]
    site_after_rejections: dict[str, str]
    site_after: dict[str, str]
    content_before: dict[str, str]
    content_after: dict[str, str]
    index_before: list[str]
    index_after_rejections: list[str]
    dead_letters: dict[str, int]
    editor: Editor

    def read(self, key: str) -> bytes:
        """The bytes of a site object as published."""
        return self.editor.s3.get_object(Bucket=self.editor.site, Key=key)["Body"].read()


def render_cases(strings: list[str], rejections: Outcome, lines: list[str]) -> list[Upload]:
    """The byte-order mark file, a spread of naughty strings in every field where the first batch
    accepted them, and traversal lines as tags."""
    uploads = [u for u in broken_files() if u.expect == "published"]
    by_key = {u.key: u for u in rejections.uploads}
    step = max(1, len(strings) // BLNS_RENDERED)
    for number in range(0, len(strings), step)[:BLNS_RENDERED]:
        refused = rejections.named(by_key[f"articles/blns-{number}.json"])
        fields = [
            f for f, name in TEXT_FIELDS.items() if f != "section" and not {name, f.split(".")[0]} & refused
        ]
        doc = with_text(strings[number], fields)
        uploads.append(
            Upload("blns-rendered", f"articles/blns-rendered-{number}.json", encoded(doc), "published")
        )
    tags: dict[str, str] = {}
    for line in lines:
        if len(line) <= 60 and line.isprintable() and slugify(line):
            tags.setdefault(slugify(line), line)
    names = list(tags.values())
    names = names[:: max(1, len(names) // TRAVERSAL_TAGS)][:TRAVERSAL_TAGS]
    for start in range(0, len(names), MAX_TAGS):
        doc = article(tags=names[start : start + MAX_TAGS])
        uploads.append(
            Upload("traversal-tags", f"articles/traversal-tags-{start}.json", encoded(doc), "published")
        )
    return uploads


# Pages every site has once it has published anything, even after unpublishing it all again.
SITE_WIDE = re.compile(rf"{FEEDS}|index\.html|archive/index\.html|sitemap\.xml|news-sitemap\.xml")


def site_etags(editor: Editor) -> dict[str, str]:
    """Every site object's content hash (its ETag): equal hashes, equal bytes."""
    return {key: stamp.split("@")[0] for key, stamp in editor.site_stamps().items()}


def assert_restored(site: dict[str, str], original: dict[str, str]) -> None:
    """The site as it was: the same bytes under every key, and no page added but site-wide ones
    (the session's site may not have had them yet)."""
    assert {k: site.get(k) for k in original} == original, "removing the sweep's files changed the site"
    added = [k for k in site if k not in original and not SITE_WIDE.fullmatch(k)]
    assert added == [], f"removing the sweep's files left pages behind: {added[:10]}"


def remove(
    stack: LocalStack, editor: Editor, published: list[Upload], content_before: dict[str, str]
) -> None:
    """Unpublish what was published, then delete every other object the sweep added."""
    for upload in published:
        editor.delete(upload.key)
    stack.wait_drained(timeout=DRAIN_SECONDS)
    added = sorted(set(content_objects(editor)) - set(content_before))
    for start in range(0, len(added), 1000):
        editor.s3.delete_objects(
            Bucket=editor.content,
            Delete={"Objects": [{"Key": key} for key in added[start : start + 1000]], "Quiet": True},
        )


@pytest.fixture(scope="module")
def sweep(stack: LocalStack) -> Iterator[Sweep]:
    editor = Editor(stack)
    log, broadsheet_log = Captured(), logging.getLogger("broadsheet")
    level = broadsheet_log.level
    broadsheet_log.addHandler(log)
    broadsheet_log.setLevel(logging.INFO)  # skips are logged at INFO
    strings, (spread, shapes) = naughty_strings(), traversal_lines()
    site_before, content_before = editor.site_stamps(), content_objects(editor)
    original_site, index_before = site_etags(editor), index_items(stack)
    bad = [u for u in broken_files() if u.expect != "published"]
    publications: list[Upload] = []
    try:
        cases = [*bad, *naughty_files(strings), *traversal_files(spread, shapes)]
        rejections = run_batch(stack, editor, cases, log)
        site_after_rejections, index_after_rejections = editor.site_stamps(), index_items(stack)
        publications = render_cases(strings, rejections, spread + shapes)
        broadsheet_log.setLevel(level)
        published = run_batch(stack, editor, publications, log)
        yield Sweep(
            rejections, published, strings, spread, shapes, site_before, site_after_rejections,
            editor.site_stamps(), content_before, content_objects(editor), index_before,
            index_after_rejections, dict(stack.queue_depths()), editor,
        )  # fmt: skip
    finally:
        broadsheet_log.setLevel(level)
        broadsheet_log.removeHandler(log)
        remove(stack, editor, publications, content_before)
    assert_restored(site_etags(editor), original_site)
    assert set(content_objects(editor)) == set(content_before)


# -- what must hold --------------------------------------------------------------------------


def assert_reported(outcome: Outcome, upload: Upload) -> None:
    report = outcome.report(upload)
    assert report is not None, f"{upload.key!r}: no report"
    assert report["key"] == upload.key and report["valid"] is False
    errors = report["errors"]
    assert errors and all(isinstance(e["message"], str) and e["message"].strip() for e in errors), report
    named = outcome.named(upload)
    assert upload.must <= named, f"{upload.key!r}: the report does not name {upload.must - named}: {errors}"
    assert named <= upload.may, f"{upload.key!r}: the report names {named - upload.may}: {errors}"
    assert "rejected file" in outcome.logged[upload.key], f"{upload.key!r}: the rejection was not logged"


BROKEN = [u.key for u in broken_files() if u.expect == "rejected"]


@pytest.mark.parametrize("key", BROKEN, ids=lambda key: key if len(key) < 60 else f"{key[:20]}…{len(key)}")
def test_a_broken_file_gets_a_report_naming_what_is_wrong(sweep: Sweep, key: str) -> None:
    assert key not in {u.key for u in sweep.rejections.refused}, f"{key!r} is longer than S3 allows"
    upload = next(u for u in sweep.rejections.uploads if u.key == key)
    assert_reported(sweep.rejections, upload)


def test_every_report_fits_in_an_s3_key(sweep: Sweep) -> None:
    # S3 refuses keys over 1,024 bytes (moto does not). A report key adds 21 bytes to the file's
    # own, so a file whose name S3 accepted must still get a report S3 accepts, or ingest would
    # fail on it forever in AWS: the longest name gets a shortened report key.
    too_long = [k for k in sweep.content_after if len(k.encode("utf-8")) > S3_MAX_KEY_BYTES]
    assert too_long == [], f"{len(too_long)} report keys over 1,024 bytes, e.g. {too_long[0][:60]}…"


def test_keys_outside_the_contract_are_skipped_logged_and_left_alone(sweep: Sweep) -> None:
    skipped = [u for u in sweep.rejections.uploads if u.expect == "skipped"]
    assert [u.key for u in skipped] == ["drafts/x.json", "articles-old/x.json", "reports/x.json"]
    for upload in skipped:
        assert sweep.rejections.report(upload) is None, upload.key
        assert sweep.rejections.logged[upload.key] == ["skipped key"], upload.key
        assert not any(k.startswith(f"reports/{upload.key}") for k in sweep.content_after)


def test_a_byte_order_mark_is_accepted_and_the_file_publishes(sweep: Sweep) -> None:
    assert sweep.publications.reports == {}
    page = sweep.read("articles/broken-byte-order-mark/index.html")
    assert b"Broken input, case: a byte-order mark" in page


def test_every_naughty_string_in_every_text_field_is_reported_by_field(sweep: Sweep) -> None:
    files = [u for u in sweep.rejections.uploads if u.group == "blns"]
    assert len(files) == len(sweep.strings) > 500
    for upload in files:
        assert_reported(sweep.rejections, upload)
    named = Counter(f for u in files for f in sweep.rejections.named(u))
    # Every field accepts some naughty strings and refuses others.
    assert all(named[f] < len(files) for f in ("title", "teaser", "body", "source.name", "authors[0]"))
    assert named["section"] > 400 and named["source.url"] > 400


def test_naughty_strings_the_format_accepts_publish_at_their_own_path_only(sweep: Sweep) -> None:
    rendered = [u for u in sweep.publications.uploads if u.group == "blns-rendered"]
    assert len(rendered) == BLNS_RENDERED
    for upload in rendered:
        pages = [k for k in sweep.site_after if k.startswith(f"articles/{upload.slug}/")]
        assert pages == [f"articles/{upload.slug}/index.html"], upload.key
        doc = json.loads(upload.body)
        title = str(doc["title"])
        assert str(escape(title)).encode() in sweep.read(pages[0]), (upload.key, title)
        for author in doc["authors"]:
            assert f"authors/{slugify(author)}/index.html" in sweep.site_after, (upload.key, author)


def test_traversal_lines_as_file_names_are_reported_and_never_written(sweep: Sweep) -> None:
    files = [u for u in sweep.rejections.uploads if u.group == "traversal-key"]
    refused = [u for u in sweep.rejections.refused if u.group == "traversal-key"]
    assert len(files) + len(refused) == len(sweep.spread) + len(sweep.shapes)
    for upload in files:
        assert_reported(sweep.rejections, upload)


def test_traversal_lines_as_slug_section_tags_and_aliases_are_reported(sweep: Sweep) -> None:
    files = [u for u in sweep.rejections.uploads if u.group == "traversal-field"]
    assert len(files) == len(sweep.spread)
    for upload in files:
        assert_reported(sweep.rejections, upload)


def test_traversal_lines_as_tags_publish_only_tag_pages(sweep: Sweep) -> None:
    articles = [u for u in sweep.publications.uploads if u.group == "traversal-tags"]
    tags = [str(t) for u in articles for t in json.loads(u.body)["tags"]]
    assert len(tags) == TRAVERSAL_TAGS
    for tag in tags:
        assert f"tags/{slugify(tag)}/index.html" in sweep.site_after, tag


def test_no_site_object_is_ever_written_outside_the_page_paths(sweep: Sweep) -> None:
    outside = [key for key in sweep.site_after if not SITE_KEY.fullmatch(key)]
    assert outside == []
    slugs = [k.split("/")[1] for k in sweep.site_after if k.startswith(("articles/", "authors/", "tags/"))]
    assert all(len(slug) <= MAX_SLUG for slug in slugs)


def test_rejected_files_change_nothing_else(sweep: Sweep) -> None:
    assert sweep.site_after_rejections == sweep.site_before
    assert sweep.index_after_rejections == sweep.index_before
    # Published files add their own pages and change listings, never another article's page.
    mine = {f"articles/{u.slug}/index.html" for u in sweep.publications.uploads}
    others = {k: v for k, v in sweep.site_before.items() if k.startswith("articles/")}
    assert {k: sweep.site_after.get(k) for k in others} == others
    added = {k for k in sweep.site_after if k.startswith("articles/")} - set(sweep.site_before)
    assert added == mine


def test_the_content_bucket_gains_only_the_uploads_and_their_reports(sweep: Sweep) -> None:
    uploads = sweep.rejections.uploads + sweep.publications.uploads
    reports = {report_key(u.key) for u in uploads if u.expect == "rejected"}
    added = set(sweep.content_after) - set(sweep.content_before)
    assert added == {u.key for u in uploads} | reports
    changed = [k for k, etag in sweep.content_before.items() if sweep.content_after.get(k) != etag]
    assert changed == []


def test_files_the_format_accepts_are_published_without_a_report(sweep: Sweep) -> None:
    for upload in sweep.publications.uploads:
        assert sweep.publications.report(upload) is None, (upload.key, sweep.publications.report(upload))
        assert f"articles/{upload.slug}/index.html" in sweep.site_after, upload.key


def test_no_crash_loop_every_event_handled_once_and_nothing_dead_lettered(sweep: Sweep) -> None:
    assert sweep.dead_letters["IngestDLQ"] == 0
    assert {k: v for k, v in sweep.dead_letters.items() if k.endswith("DLQ") and v} == {}
    for outcome in (sweep.rejections, sweep.publications):
        # Delivery is at least once: a duplicate is harmless, a failed invocation is a crash.
        assert outcome.failed == 0
        assert outcome.delivered >= sum(u.notified for u in outcome.uploads)


def test_the_figures_add_up(sweep: Sweep, capsys: pytest.CaptureFixture[str]) -> None:
    outcome, published = sweep.rejections, sweep.publications
    rejected = [u for u in outcome.uploads if u.expect == "rejected"]
    skipped = [u for u in outcome.uploads if u.expect == "skipped"]
    assert len(outcome.reports) == len(rejected)
    assert len(rejected) + len(skipped) + len(outcome.refused) == len(outcome.uploads) + len(outcome.refused)
    figures = {
        "events_delivered": outcome.delivered + published.delivered,
        "events_sent": sum(u.notified for u in outcome.uploads + published.uploads),
        "invocations_failed": outcome.failed + published.failed,
        "naughty_strings": len(sweep.strings),
        "naughty_string_placements": len(sweep.strings) * len(TEXT_FIELDS),
        "naughty_strings_rendered": BLNS_RENDERED,
        "traversal_lines_as_file_names": len(sweep.spread) + len(sweep.shapes),
        "traversal_lines_as_fields": len(sweep.spread),
        "traversal_tags_published": TRAVERSAL_TAGS,
        "files_rejected_with_report": len(rejected),
        "files_published": len(published.uploads),
        "keys_skipped": len(skipped),
        "keys_refused_by_s3": len(outcome.refused),
        "site_objects_outside_page_paths": sum(1 for k in sweep.site_after if not SITE_KEY.fullmatch(k)),
        "seconds_rejecting": round(outcome.seconds, 1),
        "seconds_publishing": round(published.seconds, 1),
    }
    assert figures["events_delivered"] >= figures["events_sent"]
    assert figures["invocations_failed"] == 0
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "hostile-input.json").write_text(json.dumps(figures, indent=2) + "\n")
    with capsys.disabled():
        print(
            f"\nhostile input: {figures['events_delivered']} events delivered for "
            f"{figures['events_sent']} sent, {figures['invocations_failed']} failed; payloads tried: "
            f"{len(sweep.strings)} naughty strings x {len(TEXT_FIELDS)} text fields "
            f"({BLNS_RENDERED} of them also rendered), {len(sweep.spread) + len(sweep.shapes)} traversal "
            f"lines as file names, {len(sweep.spread)} as slug, section, tag and alias "
            f"({TRAVERSAL_TAGS} also published as tags); "
            f"{len(rejected)} files rejected with a report, {len(published.uploads)} published, "
            f"{len(skipped)} skipped, {len(outcome.refused)} refused by S3 (key over 1,024 bytes); "
            f"{figures['site_objects_outside_page_paths']} site objects outside the page paths; "
            f"{outcome.seconds:.0f} s rejecting, {published.seconds:.0f} s publishing"
        )
