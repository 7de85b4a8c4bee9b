"""Operating a deployment: queue depths, dead-letter contents, error reports, and redrive.

Two kinds of dead-letter queue hold failures: a queue's (its RedrivePolicy; the message is the
original S3 notification or render request, so redrive sends it back) and a stream's (the plan
function's on-failure destination; the message only names a range of stream records, which
the stream keeps for 24 hours while the queue keeps it for 14 days). A stream's failures are
redriven by repairing what they stand for: index changes whose pages were never planned, which
reconcile, comparing every page with the index, finds and renders.

A rebuild (after a template change) asks for every page through the render queue; against a
deployed stack, the table and queue are found from the stack's resources by their logical ids.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from broadsheet.contract.files import REPORTS

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.literals import QueueAttributeNameType

    from broadsheet.index.ports import Catalog

# A rebuild's senders, and the pages each sends at a time (ten SendMessageBatch requests).
REBUILD_SENDERS = 16
REBUILD_PART = 100
# template.yaml's PageSize default, for a stack that does not list its parameters.
DEFAULT_PAGE_SIZE = 10
_DEPTHS: list[QueueAttributeNameType] = [
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
]


@dataclass(frozen=True)
class QueueDepth:
    """How many messages a queue holds: waiting, being worked on, and delayed."""

    name: str
    waiting: int
    in_flight: int
    delayed: int


@dataclass(frozen=True)
class DeadLetters:
    """A dead-letter queue (by logical id) and where its messages came from: a queue, whose
    messages go back to it, or a function's stream, whose failures are repaired by reconcile."""

    queue: str
    kind: Literal["queue", "stream"]
    source: str


@dataclass(frozen=True)
class Report:
    """One rejected file's report."""

    key: str
    modified: str
    errors: list[dict[str, Any]]


def queue_depths(sqs: SQSClient, queues: dict[str, str]) -> list[QueueDepth]:
    """The depth of every queue, by name."""
    found = []
    for name, url in sorted(queues.items()):
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=_DEPTHS)["Attributes"]
        counts = [int(str(attributes.get(a, "0"))) for a in _DEPTHS]
        found.append(QueueDepth(name, *counts))
    return found


def peek(sqs: SQSClient, url: str, limit: int = 10) -> list[str]:
    """Bodies of up to `limit` messages of a (dead-letter) queue, left in place."""
    response = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=min(limit, 10), VisibilityTimeout=0)
    return [m["Body"] for m in response.get("Messages", [])]


def redrive(sqs: SQSClient, dead_letters: str, source: str, limit: int = 1000) -> int:
    """Move messages from a dead-letter queue back to the queue they came from; return how many."""
    fifo = source.endswith(".fifo")
    moved = 0
    while moved < limit:
        response = sqs.receive_message(
            QueueUrl=dead_letters,
            MaxNumberOfMessages=10,
            VisibilityTimeout=60,
            MessageSystemAttributeNames=["MessageGroupId"],
        )
        messages = response.get("Messages", [])
        if not messages:
            return moved
        for message in messages:
            send: dict[str, Any] = {"QueueUrl": source, "MessageBody": message["Body"]}
            if fifo:
                send["MessageGroupId"] = message.get("Attributes", {}).get("MessageGroupId", "redrive")
                send["MessageDeduplicationId"] = f"redrive-{message['MessageId']}"
            sqs.send_message(**send)
            sqs.delete_message(QueueUrl=dead_letters, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
    return moved


def redrive_stream_failures(
    sqs: SQSClient, dead_letters: str, repair: Callable[[], object], limit: int = 1000
) -> int:
    """Repair the index changes a stream's dead-letter messages stand for (once, whatever their
    number), then delete those messages; return how many. A failed repair deletes nothing."""
    received: list[str] = []
    while len(received) < limit:
        response = sqs.receive_message(QueueUrl=dead_letters, MaxNumberOfMessages=10, VisibilityTimeout=300)
        messages = response.get("Messages", [])
        if not messages:
            break
        received += [m["ReceiptHandle"] for m in messages]
    if not received:
        return 0
    repair()
    for handle in received:
        sqs.delete_message(QueueUrl=dead_letters, ReceiptHandle=handle)
    return len(received)


def latest_reports(s3: S3Client, bucket: str, limit: int = 10) -> list[Report]:
    """The newest error reports of the content bucket, newest first."""
    objects = [
        o
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=REPORTS)
        for o in page.get("Contents", [])
    ]
    objects.sort(key=lambda o: (o["LastModified"], o["Key"]), reverse=True)
    reports = []
    for o in objects[:limit]:
        doc = json.loads(s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read())
        reports.append(
            Report(str(doc.get("key", o["Key"])), o["LastModified"].isoformat(), list(doc.get("errors", [])))
        )
    return reports


@dataclass(frozen=True)
class RebuildTarget:
    """What a rebuild needs of a deployed stack: its index table, render queue and page size."""

    table: str
    render_queue_url: str
    page_size: int


def stack_target(cfn: CloudFormationClient, sqs: SQSClient, stack: str) -> RebuildTarget:
    """A deployed stack's index table and render queue, by their logical ids in template.yaml
    (a table's physical id is its name, a queue's its URL; moto gives a queue's name, which is
    looked up), and its PageSize parameter."""
    found = {
        resource["LogicalResourceId"]: resource.get("PhysicalResourceId", "")
        for resource in cfn.describe_stack_resources(StackName=stack)["StackResources"]
    }
    missing = sorted({"IndexTable", "RenderQueue"} - {name for name, physical in found.items() if physical})
    if missing:
        raise LookupError(f"stack {stack} has no {' or '.join(missing)}: is it a Broadsheet stack?")
    queue = found["RenderQueue"]
    if not queue.startswith("http"):
        queue = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in described.get("Parameters", [])}
    return RebuildTarget(found["IndexTable"], queue, int(parameters.get("PageSize") or DEFAULT_PAGE_SIZE))


def rebuild(
    dynamodb: DynamoDBClient,
    sqs: SQSClient,
    target: RebuildTarget,
    cause: str,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Ask for every page of the site to be re-rendered, through the render queue as for any
    change (each page once, in its own message group); how many pages were asked for.
    `progress(listings read, listings in all)` is called as the listings are read."""
    from broadsheet.adapters.dynamo import DynamoIndex  # noqa: PLC0415 - the SDK adapters load on use
    from broadsheet.adapters.sqs import SqsRenderQueue  # noqa: PLC0415

    queue = SqsRenderQueue(sqs, target.render_queue_url)
    index = DynamoIndex(dynamodb, target.table)
    return send_site_pages(index, target.page_size, lambda part: queue.send(part, cause=cause), progress)


def send_site_pages(
    index: Catalog,
    page_size: int,
    send: Callable[[list[str]], object],
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Send the id of every page the index makes (the pages of `all_pages`, each once), listing by
    listing as each is read: one count query per listing, one at a time, took most of a large
    site's rebuild, so REBUILD_SENDERS threads read listings and send their pages side by side
    (at most that many requests in flight). How many pages were sent."""
    from broadsheet.pages import (  # noqa: PLC0415  # noqa: PLC0415
        STATIC_PAGES,
        ArticlePage,
        Listing,
        PreviewPage,
        SitemapPage,
        feeds_of,
        is_pinned_list,
        page_count,
    )

    def parts(ids: list[str]) -> list[list[str]]:
        return [ids[at : at + REBUILD_PART] for at in range(0, len(ids), REBUILD_PART)]

    def listing_pages(listing_id: str) -> list[str]:
        listing = Listing.parse(listing_id)
        pages = [listing.page(n).id for n in range(page_count(index.count(listing_id), page_size) + 1)]
        return pages + [feed.id for feed in feeds_of(listing)]

    def send_listing(listing_id: str) -> int:
        ids = listing_pages(listing_id)
        for part in parts(ids):
            send(part)
        return len(ids)

    first = [page.id for page in STATIC_PAGES]
    first += [ArticlePage(slug).id for slug in index.live_article_slugs()]
    first += [PreviewPage(slug).id for slug in index.draft_article_slugs()]
    first += [SitemapPage(month).id for month, _ in index.months()]
    listings = sorted({x for x in index.listing_ids() if not is_pinned_list(x)} | {"home"})
    sent = len(first)
    with ThreadPoolExecutor(REBUILD_SENDERS) as pool:
        sending = [pool.submit(send, part) for part in parts(first)]
        reading = [pool.submit(send_listing, listing_id) for listing_id in listings]
        for read, done in enumerate(as_completed(reading), start=1):
            sent += done.result()
            if progress:
                progress(read, len(listings))
        for future in sending:
            future.result()
    return sent
