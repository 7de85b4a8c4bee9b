"""A site-wide re-render (`broadsheet rebuild`, after a template change) of a 100,000-article site
on AWS: its wall time and its cost, from per-page figures measured on the local stack.

`measure` rebuilds a seeded local stack as `broadsheet rebuild` does (every page through the
render queue) and records the pages asked for, the render function's time and the AWS requests
the functions and the queue pollers made. `model` scales those per-page figures to the target
size. Assumptions, each stated where it is used:

- pages grow in proportion to articles (article pages dominate; listings add a page per
  PageSize entries of each listing an article is in);
- after a template change every page's bytes differ, so every page is written once (the local
  rebuild of an unchanged site writes next to nothing, so PUTs are not taken from it);
- the render function's time per page on the local stack, where every AWS request goes to moto
  over loopback on a shared 2-core machine, is an upper bound for Lambda's;
- the pages are listed and enqueued as `broadsheet rebuild` does: REBUILD_SENDERS threads read
  the listings and send each listing's pages (SendMessageBatch, ten at a time) as soon as it is
  read. On AWS the listing takes the DynamoDB requests counted in a listing-only pass, per page,
  at DYNAMODB_REQUEST_SECONDS each over REBUILD_SENDERS threads, and the sends
  SQS_SEND_SECONDS each over the same threads (both assumptions: moto's times are its own CPU on
  a shared machine and say nothing of AWS latency); the listing-only pass's time on moto, scaled,
  is reported beside as an upper bound. Rendering starts as soon as the first pages are queued,
  so the wall time is the longer of listing-and-sending and rendering (spread over the render
  queue's MaximumConcurrency);
- the edge is refreshed with one wildcard invalidation (`/*`, priced as one path beyond the free
  1,000 a month).
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from bench import corpus
from bench.cost import (
    DYNAMODB_READ_UNIT,
    INVALIDATION_PATH,
    LAMBDA_GB_SECOND,
    LAMBDA_REQUEST,
    S3_READ,
    S3_WRITE,
    SQS_FIFO,
    memory_sizes,
)
from bench.publish import DEADLINE, Site
from broadsheet.adapters.dynamo import DynamoIndex
from broadsheet.adapters.sqs import SqsRenderQueue
from broadsheet_dev.local.template import load_template
from broadsheet_dev.operations import REBUILD_SENDERS, RebuildTarget, send_site_pages

ROOT = Path(__file__).resolve().parents[1]
TARGET_ARTICLES = 100_000
GOAL_SECONDS = 600.0
GOAL_DOLLARS = 1.0
SEND_BATCH = 10
# One SendMessageBatch's round trip within a region (an assumption, not measured here).
SQS_SEND_SECONDS = 0.03
# One Query or GetItem round trip within a region (an assumption, not measured here).
DYNAMODB_REQUEST_SECONDS = 0.01


@dataclass(frozen=True)
class Measured:
    """A rebuild of a seeded local stack: pages asked for and rendered, times, requests."""

    articles: int
    pages: int
    rendered: int
    seconds: float
    enqueue_seconds: float
    render_seconds: float
    invocations: int
    listing_seconds: float
    listing_requests: int
    requests: dict[str, int]

    def per_page(self, prefix: str, operations: set[str] | None = None) -> float:
        """Requests of a service (and operations) per page rendered."""
        count = sum(
            n
            for name, n in self.requests.items()
            if name.startswith(prefix + ":") and (operations is None or name.split(":", 1)[1] in operations)
        )
        return count / max(self.rendered, 1)


@dataclass(frozen=True)
class Model:
    """The rebuild of `articles` on AWS: pages, wall time and dollars by service."""

    articles: int
    pages: int
    concurrency: int
    page_seconds: float
    enqueue_seconds: float
    listing_bound_seconds: float
    render_seconds: float
    seconds: float
    needed_concurrency: int
    dollars: dict[str, float]

    @property
    def total(self) -> float:
        return sum(self.dollars.values())


def measure(site: Site) -> Measured:
    """Rebuild `site` as `broadsheet rebuild` does, and wait until the render queue drains."""
    target = RebuildTarget(
        site.stack.stack.refs["IndexTable"], site.stack.stack.queue_url("RenderQueue"), corpus.PAGE_SIZE
    )
    # First the listing alone (nothing sent, nothing rendering beside it), counting its requests.
    dynamodb = boto3.client("dynamodb")
    asked = Counter[str]()
    dynamodb.meta.events.register("before-call.dynamodb.*", lambda model, **_: asked.update([model.name]))
    index = DynamoIndex(dynamodb, target.table)
    started = time.perf_counter()
    send_site_pages(index, target.page_size, lambda part: None)
    listed = time.perf_counter() - started
    site.requests.take()
    started = time.perf_counter()
    queue = SqsRenderQueue(boto3.client("sqs"), target.render_queue_url)
    cause = f"rebuild-{time.time_ns()}"
    pages = send_site_pages(index, target.page_size, lambda part: queue.send(part, cause=cause))
    enqueued = time.perf_counter() - started
    site.stack.wait_drained(timeout=DEADLINE)
    seconds = time.perf_counter() - started
    calls, invoked, renders = site.requests.take()
    return Measured(
        articles=site.articles,
        pages=pages,
        rendered=len(renders),
        seconds=seconds,
        enqueue_seconds=enqueued,
        render_seconds=sum(t for name, t in invoked if name == "RenderFunction"),
        invocations=sum(1 for name, _ in invoked if name == "RenderFunction"),
        listing_seconds=listed,
        listing_requests=sum(asked.values()) // 2,  # the two passes make the same requests
        requests=dict(sorted(Counter(f"{c.service}:{c.operation}" for c in calls).items())),
    )


def render_concurrency(template: dict[str, Any] | None = None) -> int:
    """The render function's queue MaximumConcurrency in template.yaml."""
    template = template or load_template(ROOT / "template.yaml")
    events = template["Resources"]["RenderFunction"]["Properties"]["Events"]
    return int(events["PageQueued"]["Properties"]["ScalingConfig"]["MaximumConcurrency"])


def model(measured: Measured, articles: int = TARGET_ARTICLES, concurrency: int | None = None) -> Model:
    """Scale the measured per-page figures to `articles`."""
    concurrency = concurrency or render_concurrency()
    pages = math.ceil(measured.pages / measured.articles * articles)
    page_seconds = measured.render_seconds / max(measured.rendered, 1)
    memory_gb = memory_sizes()["RenderFunction"] / 1024
    # Listing and sending overlap (each listing's pages go as soon as it is read), on the same
    # threads: their requests at AWS latencies, spread over those threads.
    per_page = pages / measured.pages
    listing = measured.listing_requests * per_page * DYNAMODB_REQUEST_SECONDS / REBUILD_SENDERS
    sends = math.ceil(pages / SEND_BATCH) * SQS_SEND_SECONDS / REBUILD_SENDERS
    enqueue = listing + sends
    render = pages * page_seconds / concurrency
    invocations = pages * measured.invocations / max(measured.rendered, 1)
    sqs = pages / SEND_BATCH + pages * measured.per_page("sqs")
    queries = measured.per_page("dynamodb", {"Query"})
    gets = measured.per_page("dynamodb", {"GetItem", "BatchGetItem"})
    dollars = {
        "Lambda (render, arm64)": pages * page_seconds * memory_gb * LAMBDA_GB_SECOND
        + invocations * LAMBDA_REQUEST,
        "SQS FIFO": sqs * SQS_FIFO,
        "S3 PUT (every page)": pages * S3_WRITE,
        "S3 GET/HEAD": pages * measured.per_page("s3", {"GetObject", "HeadObject"}) * S3_READ,
        "DynamoDB reads": pages * (3 * queries + gets) * DYNAMODB_READ_UNIT,
        "CloudFront invalidation (/*)": INVALIDATION_PATH,
    }
    # The concurrency at which rendering fits the goal (0: listing and sending alone exceed it).
    needed = math.ceil(pages * page_seconds / GOAL_SECONDS) if enqueue <= GOAL_SECONDS else 0
    return Model(
        articles=articles,
        pages=pages,
        concurrency=concurrency,
        page_seconds=page_seconds,
        enqueue_seconds=enqueue,
        listing_bound_seconds=measured.listing_seconds * per_page,
        render_seconds=render,
        seconds=max(enqueue, render),
        needed_concurrency=needed,
        dollars=dollars,
    )


def rows(measured: Measured, modelled: Model) -> list[list[str]]:
    """The measured rebuild and the model, as table rows: measure, figure, goal."""
    time_met = "met" if modelled.seconds <= GOAL_SECONDS else "not met"
    cost_met = "met" if modelled.total <= GOAL_DOLLARS else "not met"
    out = [
        [f"local rebuild, {measured.articles:,} articles",
         f"{measured.pages:,} pages asked, {measured.rendered:,} rendered in {measured.seconds:.1f} s "
         f"(listed and sent in {measured.enqueue_seconds:.1f} s, rendering beside)", ""],
        ["listing alone, local",
         f"{measured.listing_seconds:.1f} s, {measured.listing_requests:,} DynamoDB requests from "
         f"{REBUILD_SENDERS} threads", ""],
        ["per page (local, upper bound)",
         f"{modelled.page_seconds * 1000:.1f} ms render time, "
         f"{measured.per_page('dynamodb'):.1f} DynamoDB, {measured.per_page('s3'):.1f} S3, "
         f"{measured.per_page('sqs'):.2f} SQS requests", ""],
        [f"AWS rebuild, {modelled.articles:,} articles",
         f"{modelled.pages:,} pages; list and enqueue {modelled.enqueue_seconds:.0f} s (at moto's "
         f"pace, an upper bound: {modelled.listing_bound_seconds:.0f} s), render "
         f"{modelled.render_seconds:.0f} s at concurrency {modelled.concurrency}",
         f"≤ {GOAL_SECONDS / 60:.0f} min: {time_met} ({modelled.seconds / 60:.1f} min)"],
        ["render concurrency for the time goal",
         str(modelled.needed_concurrency or "none suffices: listing and sending alone exceed it"), ""],
    ]  # fmt: skip
    out += [[f"  {service}", f"${dollars:.4f}", ""] for service, dollars in modelled.dollars.items()]
    out.append(["AWS rebuild cost", f"${modelled.total:.2f}", f"≤ ${GOAL_DOLLARS:.0f}: {cost_met}"])
    return out
