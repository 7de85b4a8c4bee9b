"""Publishing through the local stack (moto server, the real handlers on real pollers) into a big site.

The site is seeded directly rather than through 10,000 uploads: every article of the corpus is
written into the index with the index adapter the ingest function uses (while the stream's
records of that seeding are acknowledged unread, so no page is planned), and the offline build's
pages of the same content, clock and settings are put into the site bucket — which is what the
pipeline would have converged to. Then an editor uploads one new article, changes its authors
and tags, and deletes it; and, separately, drops many new articles at once.

Every AWS request made by the functions and their event sources is counted, by service and
operation, from inside this process (botocore's call path), with the time of each site write; and
every page render, from the function that publishes a page (a render request that the stored page
already answers is coalesced: looked at, not rendered).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import boto3
import botocore.client

import broadsheet.site
from bench import corpus
from broadsheet.adapters.dynamo import DynamoIndex
from broadsheet.adapters.folder import DirSiteStore
from broadsheet.adapters.sqs import s3_notification
from broadsheet.build import build_site, load_content
from broadsheet.clock import now
from broadsheet.index.memory import MemoryIndex
from broadsheet.index.ports import SourceVersion
from broadsheet.pages import all_pages
from broadsheet.render.html import render_page
from broadsheet.runtime import render as render_runtime
from broadsheet.settings import Settings, settings
from broadsheet_dev.local.pollers import StreamPoller
from broadsheet_dev.local.runtime import LocalStack, StackOptions

ROOT = Path(__file__).resolve().parents[1]
# The threads this process runs the benchmark from; every other thread is a function or a poller.
_OWN = "bench"
# Where every botocore client sends its requests: wrapped to count them.
_CALL = "_make_api_call"
# What the function that publishes a page renders it with: wrapped to count renders.
_RENDER = "render_page"
# The home page's first page, the page a bulk upload asks for most.
HOME = "home:0"
# An article's own page in the site bucket.
ARTICLE_PAGE = re.compile(r"articles/[^/]+/index\.html")
# How long an action may take to drain before its figures are taken as they stand.
DEADLINE = 1800.0
# What Lambda's event source mappings do on the functions' behalf (billed, but not per publish).
POLLING = {"ReceiveMessage", "DeleteMessageBatch", "ChangeMessageVisibility", "GetRecords",
           "GetShardIterator", "DescribeStream"}  # fmt: skip


@dataclass(frozen=True)
class Call:
    """One AWS request: service, operation, bucket and key if any, and when it returned."""

    service: str
    operation: str
    bucket: str
    key: str
    done: float


class Requests:
    """Every AWS request the functions and pollers make in this process, while recording."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.invocations: list[tuple[str, float]] = []
        # The id of every page rendered.
        self.renders: list[str] = []
        self._lock = threading.Lock()
        self._original: Callable[..., Any] = getattr(botocore.client.BaseClient, _CALL)
        self._render: Callable[..., Any] = getattr(broadsheet.site, _RENDER)

    @contextmanager
    def installed(self) -> Iterator[Requests]:
        """Count requests for as long as the block runs."""
        original, requests = self._original, self

        def counted(client: botocore.client.BaseClient, operation: str, params: dict[str, Any]) -> Any:
            try:
                return original(client, operation, params)
            finally:
                if not threading.current_thread().name.startswith((_OWN, "MainThread")):
                    # The key, or how many paths an invalidation names, or items a transaction writes.
                    paths = params.get("InvalidationBatch", {}).get("Paths", {}).get("Quantity", 0)
                    key = str(params.get("Key", "") or paths or len(params.get("TransactItems", [])))
                    service = client.meta.service_model.service_name
                    call = Call(service, operation, str(params.get("Bucket", "")), key, time.perf_counter())
                    with requests._lock:
                        requests.calls.append(call)

        render = self._render

        def rendered(page: Any, *args: Any) -> Any:
            if not threading.current_thread().name.startswith((_OWN, "MainThread")):
                with requests._lock:
                    requests.renders.append(page.id)
            return render(page, *args)

        setattr(botocore.client.BaseClient, _CALL, counted)
        setattr(broadsheet.site, _RENDER, rendered)
        try:
            yield self
        finally:
            setattr(botocore.client.BaseClient, _CALL, original)
            setattr(broadsheet.site, _RENDER, render)

    def timed(
        self, name: str, handler: Callable[[dict[str, Any], Any], Any]
    ) -> Callable[[dict[str, Any], Any], Any]:
        """`handler`, recording how long each invocation takes."""

        def invoke(event: dict[str, Any], context: Any) -> Any:
            started = time.perf_counter()
            try:
                return handler(event, context)
            finally:
                with self._lock:
                    self.invocations.append((name, time.perf_counter() - started))

        return invoke

    def take(self) -> tuple[list[Call], list[tuple[str, float]], list[str]]:
        """The requests, invocations and renders recorded so far, forgetting them."""
        with self._lock:
            taken, self.calls = self.calls, []
            invoked, self.invocations = self.invocations, []
            renders, self.renders = self.renders, []
        return taken, invoked, renders


@dataclass(frozen=True)
class Publish:
    """What one editor action cost: pages, requests and time until the last page was written."""

    action: str
    articles: int
    rendered: int
    written: int
    deleted: int
    seconds: float
    requests: dict[str, int]
    polling: dict[str, int]
    invocations: dict[str, int]
    handler_seconds: dict[str, float]
    invalidation_paths: int
    transaction_items: int
    home_renders: int = 0
    # Render requests answered by a page rendered after they were sent.
    coalesced: int = 0
    # Articles of the action whose page was written (a bulk upload counts its new articles).
    live: int = 0
    # Messages still queued, by queue, when the action had to stop at its deadline (empty: drained).
    unfinished: dict[str, int] = field(default_factory=dict)
    # Seconds from the action's start until every queue had drained (or the deadline).
    drained: float = 0.0
    # Renders per rendered page: the most (and which page), and the median.
    most_renders: int = 0
    most_rendered: str = ""
    median_renders: float = 0.0
    # After a bulk upload: the site objects that differ from the offline build of the same content
    # (missing, extra or other bytes), or None when not compared.
    differ_from_build: list[str] | None = None


@dataclass
class Site:
    """A running local stack seeded with a corpus."""

    stack: LocalStack
    articles: int
    site_bucket: str
    content_bucket: str
    requests: Requests
    seed_seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    # The content the site was seeded from (the corpus in Broadsheet's format).
    content: Path | None = None


@contextmanager
def seeded_site(n: int, seed: int, content: Path) -> Iterator[Site]:
    """A local stack on free ports whose index and site hold the corpus of `n` articles."""
    os.environ["BROADSHEET_NOW"] = corpus.CLOCK
    options = StackOptions(
        root=ROOT, site_port=0, aws_port=0, retry_delay=0, parameters={"PageSize": str(corpus.PAGE_SIZE)}
    )
    stack = LocalStack(options).start()
    requests = Requests()
    try:
        started = time.perf_counter()
        _seed(stack, content)
        site = Site(stack, n, stack.stack.site_bucket, stack.stack.content_bucket, requests, content=content)
        site.seed_seconds = time.perf_counter() - started
        for poller in stack.pollers:
            poller.handler = requests.timed(poller.name, poller.handler)
        with requests.installed():
            yield site
    finally:
        stack.stop()


def _seed(stack: LocalStack, content: Path) -> None:
    """The corpus into the index and its rendered pages into the site bucket, no page planned."""
    config = settings()
    index, _ = load_content(content, config)
    with _stream_skipped(stack):
        _seed_index(index, config)
    stack.render_static_pages()
    stack.wait_drained(timeout=1800)
    site = render_runtime.services().site
    pages = all_pages(index, config.page_size)

    def put(page: Any) -> None:
        output = render_page(page, index, config)
        if output is not None:
            site.put(output)

    with ThreadPoolExecutor(8, thread_name_prefix=_OWN) as pool:
        list(pool.map(put, pages))


@contextmanager
def _stream_skipped(stack: LocalStack) -> Iterator[None]:
    """While the block runs, the stream's records are acknowledged unread; after it, the stream
    poller jumps to the stream's end (reading every seeded record would take minutes)."""
    stream = next(p for p in stack.pollers if isinstance(p, StreamPoller))
    seeded, caught_up = threading.Event(), threading.Event()
    streams = boto3.client("dynamodbstreams")

    def skip(event: dict[str, Any], context: object) -> dict[str, Any]:
        if seeded.is_set() and not caught_up.is_set():
            # In the poller's own thread, between two fetches: no fetch can overwrite this.
            shards = streams.describe_stream(StreamArn=stream.stream_arn)["StreamDescription"]["Shards"]
            for shard in shards:
                stream._iterators[shard["ShardId"]] = streams.get_shard_iterator(
                    StreamArn=stream.stream_arn, ShardId=shard["ShardId"], ShardIteratorType="LATEST"
                )["ShardIterator"]
            caught_up.set()
        return {}

    handler, stream.handler = stream.handler, skip
    try:
        yield
        seeded.set()
        while not caught_up.wait(0.5) and not stream.quiet():
            continue
    finally:
        stream.handler = handler


class _Recorder:
    """Stands in for the DynamoDB client: keeps the transactions the index adapter would send."""

    def __init__(self) -> None:
        self.actions: list[dict[str, Any]] = []

    def transact_write_items(self, TransactItems: list[dict[str, Any]]) -> None:  # noqa: N803
        self.actions += TransactItems


def _seed_index(index: MemoryIndex, config: Settings) -> None:
    """Every article's index items, exactly as the ingest function's adapter makes them, written
    in batches. (moto copies every table on each TransactWriteItems, so a transaction per article
    would make seeding quadratic in the site's size.)"""
    recorder = _Recorder()
    adapter = DynamoIndex(cast(Any, recorder), config.table_name)
    clock = now(config)
    for indexed in index.articles():
        adapter.put_article(indexed.article, SourceVersion("", 0), clock, None)
    items: list[dict[str, Any]] = []
    # The listing counters (and archive months) each transaction adds to, summed.
    counts: Counter[tuple[str, str]] = Counter()
    for action in recorder.actions:
        if "Put" in action:
            items.append(action["Put"]["Item"])
        else:
            update = action["Update"]
            key = (update["Key"]["pk"]["S"], update["Key"]["sk"]["S"])
            counts[key] += int(update["ExpressionAttributeValues"][":n"]["N"])
    items += [{"pk": {"S": pk}, "sk": {"S": sk}, "count": {"N": str(c)}} for (pk, sk), c in counts.items()]
    db = boto3.client("dynamodb")

    def write(batch: list[dict[str, Any]]) -> None:
        requests: dict[str, Any] = {config.table_name: [{"PutRequest": {"Item": item}} for item in batch]}
        while requests:
            requests = db.batch_write_item(RequestItems=requests).get("UnprocessedItems") or {}

    with ThreadPoolExecutor(4, thread_name_prefix=_OWN) as pool:
        list(pool.map(write, [items[at : at + 25] for at in range(0, len(items), 25)]))


def new_articles(n: int, seed: int, count: int = 1) -> list[corpus.Article]:
    """`count` articles newer than every other in the corpus of `n`, by authors of the corpus."""
    made = corpus.articles(n + count, seed)[n:]
    clock = datetime.fromisoformat(corpus.CLOCK)
    return [
        replace(a, slug=f"breaking-{number}-{a.slug}", published=(clock - timedelta(hours=1, minutes=number)))
        for number, a in enumerate(made)
    ]


def act(site: Site, action: str, do: Callable[[], None], deadline: float = DEADLINE) -> Publish:
    """Run an editor's action and wait until the pipeline has drained, or until `deadline`
    seconds have passed (then what was still queued is recorded); return what it cost."""
    site.requests.take()
    started = time.perf_counter()
    do()
    unfinished: dict[str, int] = {}
    try:
        site.stack.wait_drained(timeout=deadline)
    except TimeoutError:
        unfinished = {name: n for name, n in site.stack.queue_depths().items() if n}
    drained = time.perf_counter() - started
    calls, invoked, renders = site.requests.take()
    summary = summarise(action, site, calls, invoked, renders, started)
    return replace(summary, unfinished=unfinished, drained=drained)


def summarise(
    action: str,
    site: Site,
    calls: list[Call],
    invoked: list[tuple[str, float]],
    renders: list[str],
    started: float,
) -> Publish:
    """Pages and requests of a list of calls."""
    on_site = [c for c in calls if c.service == "s3" and c.bucket == site.site_bucket]
    writes = [c for c in on_site if c.operation in {"PutObject", "DeleteObject"}]
    per_page = Counter(renders).most_common()
    return Publish(
        action=action,
        articles=site.articles,
        rendered=len(renders),
        written=sum(1 for c in on_site if c.operation == "PutObject"),
        deleted=sum(1 for c in on_site if c.operation == "DeleteObject"),
        seconds=(max(c.done for c in writes) - started) if writes else 0.0,
        requests=dict(
            sorted(Counter(f"{c.service}:{c.operation}" for c in calls if c.operation not in POLLING).items())
        ),
        polling=dict(
            sorted(Counter(f"{c.service}:{c.operation}" for c in calls if c.operation in POLLING).items())
        ),
        invocations=dict(Counter(name for name, _ in invoked)),
        handler_seconds={name: sum(t for n, t in invoked if n == name) for name, _ in invoked},
        invalidation_paths=sum(int(c.key) for c in calls if c.operation == "CreateInvalidation"),
        transaction_items=sum(int(c.key) for c in calls if c.operation == "TransactWriteItems"),
        home_renders=renders.count(HOME),
        coalesced=sum(1 for c in on_site if c.operation == "HeadObject") - len(renders),
        live=len({c.key for c in on_site if c.operation == "PutObject" and ARTICLE_PAGE.fullmatch(c.key)}),
        most_renders=per_page[0][1] if per_page else 0,
        most_rendered=per_page[0][0] if per_page else "",
        median_renders=statistics.median(n for _, n in per_page) if per_page else 0.0,
    )


def upload(site: Site, article: corpus.Article, **fields: object) -> None:
    """Put an article file into the content bucket, as an editor would (with `fields` added)."""
    body = json.dumps(corpus.broadsheet_document(article) | fields).encode()
    _s3().put_object(Bucket=site.content_bucket, Key=f"articles/{article.slug}.json", Body=body)


def delete(site: Site, slug: str) -> None:
    """Delete an article file, with the notification S3 sends (moto sends none on a versioned bucket)."""
    key = f"articles/{slug}.json"
    _s3().delete_object(Bucket=site.content_bucket, Key=key)
    body = s3_notification(site.content_bucket, key, "ObjectRemoved:Delete")
    boto3.client("sqs").send_message(QueueUrl=site.stack.stack.queue_url("IngestQueue"), MessageBody=body)


def _s3() -> Any:
    return boto3.client("s3")


def editor_actions(site: Site, seed: int) -> list[Publish]:
    """One new article, the same with other authors and tags, its corrections, live updates and
    pins (`edits`), then its deletion."""
    article = new_articles(site.articles, seed)[0]
    first = act(site, "publish one article", lambda: upload(site, article))
    others = corpus.articles(site.articles + 2, seed + 1)[-1]
    changed = replace(article, authors=others.authors, tags=others.tags)
    second = act(site, "change its authors and tags", lambda: upload(site, changed))
    edited = edits(site, changed)
    last = act(site, "delete it", lambda: delete(site, article.slug))
    return [first, second, *edited, last]


def edits(site: Site, article: corpus.Article) -> list[Publish]:
    """A correction, a live update and a pin to the fronts and its removal, each on its own, to a
    published article: the pages each rewrites."""
    at = (datetime.fromisoformat(corpus.CLOCK) - timedelta(minutes=30)).isoformat()
    corrected = {"corrections": [{"at": at, "text": "An earlier version misspelt a name."}]}
    update = {"at": at, "text": "Officials confirmed the figures."}
    live = corrected | {"live": True, "updates": [update]}
    later = live | {"updates": [update, update | {"text": "A second statement followed."}]}
    pinned = later | {"featured": "top", "pinned_until": "2026-12-01T12:00:00Z"}
    return [
        act(site, "correct it", lambda: upload(site, article, **corrected)),
        # Going live changes what listings show of it (the Live label); an update then does not.
        act(site, "start live coverage", lambda: upload(site, article, **live)),
        act(site, "post a live update", lambda: upload(site, article, **later)),
        act(site, "pin it to the fronts", lambda: upload(site, article, **pinned)),
        act(site, "unpin it", lambda: upload(site, article, **later)),
    ]


def bulk(site: Site, seed: int, count: int, work: Path, deadline: float | None = None) -> Publish:
    """`count` new articles dropped at once; the cost of getting all of them live, or how far it
    got by the deadline (by default 30 minutes, and a third of a second more per article). Once
    drained, the site is compared with the offline build of the same content (in `work`)."""
    fresh = new_articles(site.articles, seed + 1, count)
    deadline = DEADLINE + count / 3 if deadline is None else deadline

    def drop() -> None:
        with ThreadPoolExecutor(8, thread_name_prefix=_OWN) as pool:
            list(pool.map(lambda article: upload(site, article), fresh))

    done = act(site, f"{count:,} articles at once", drop, deadline)
    if done.unfinished:
        return done
    return replace(
        done, differ_from_build=differ_from_build(site, fresh, work / f"bulk-{site.articles}-{count}")
    )


def differ_from_build(site: Site, fresh: list[corpus.Article], folder: Path) -> list[str]:
    """The site bucket's objects that are not the offline build's of the seeded corpus and `fresh`
    (missing from the site, not in the build, or with other bytes), sorted."""
    if site.content is None:
        raise ValueError("the site's content is unknown")
    content, out = folder / "content", folder / "site"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(site.content, content)
    for article in fresh:
        path = content / "articles" / f"{article.slug}.json"
        path.write_text(json.dumps(corpus.broadsheet_document(article)))
    build_site(content, out, settings(), cache=False)
    built = DirSiteStore(out).list_keys()
    s3 = _s3()
    stored = [
        o["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=site.site_bucket)
        for o in page.get("Contents", [])
    ]

    def same(key: str) -> bool:
        return bool(
            s3.get_object(Bucket=site.site_bucket, Key=key)["Body"].read() == (out / key).read_bytes()
        )

    both = sorted(set(built) & set(stored))
    with ThreadPoolExecutor(8, thread_name_prefix=_OWN) as pool:
        equal = dict(zip(both, pool.map(same, both), strict=True))
    return sorted((set(built) ^ set(stored)) | {key for key, ok in equal.items() if not ok})


def render_memory(site: Site) -> dict[str, Any]:
    """Peak memory of a fresh process that imports the render function and renders the largest
    listing's pages (home: first page, oldest page, feeds) against this stack's index."""
    script = ROOT / "bench" / "render_probe.py"
    env = os.environ | {"PYTHONPATH": str(ROOT / "functions" / "render")}
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, check=True)
    figures: dict[str, Any] = json.loads(done.stdout)
    return figures
