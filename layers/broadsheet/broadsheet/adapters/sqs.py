"""The queues: S3 notifications read and written, and the render queue (FIFO, a group per page)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote_plus, unquote_plus

from aws_lambda_powertools.utilities.data_classes import S3Event
from botocore.exceptions import BotoCoreError, ClientError

from broadsheet.errors import TransientError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

_BATCH = 10


def in_batches(
    call: Callable[[list[dict[str, Any]]], Mapping[str, Any]], entries: list[dict[str, Any]], what: str
) -> None:
    """Make an SQS batch call (`call` takes its entries) over `entries`, ten at a time, each
    numbered within its batch; a refusal of any entry, or the call failing, is transient."""
    for start in range(0, len(entries), _BATCH):
        chunk = [entry | {"Id": str(i)} for i, entry in enumerate(entries[start : start + _BATCH])]
        try:
            response = call(chunk)
        except (ClientError, BotoCoreError) as exc:
            raise TransientError(f"{what} failed: {exc}") from exc
        if response.get("Failed"):
            raise TransientError(f"{what}: {len(response['Failed'])} message(s) refused")


def s3_keys(body: str) -> list[str]:
    """The object keys an S3 notification (as an SQS message body) names; none for a test event."""
    doc = json.loads(body)
    if doc.get("Event") == "s3:TestEvent":
        return []
    # Keys arrive URL-encoded (spaces as `+`); the object's real key is the decoded form.
    return [unquote_plus(record.s3.get_object.key) for record in S3Event(doc).records]


def s3_notification(bucket: str, key: str, event_name: str) -> str:
    """An S3 event notification naming one key, as S3 puts it on the ingest queue.

    Tools that must tell ingest about a key (reconcile, the local stack) send this shape.
    """
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventName": event_name,
        "s3": {
            "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
            "object": {"key": quote_plus(key)},
        },
    }
    return json.dumps({"Records": [record]})


class RenderRequests(Protocol):
    """Where planned pages go to be rendered."""

    def send(self, page_ids: list[str], cause: str, changed: int | None = None) -> None:
        """Ask for each page to be rendered; `cause` identifies the change that asked, `changed`
        (seconds since the epoch, if known) is when the newest index change it stands for was made."""


def render_message(page_id: str, changed: int | None = None) -> str:
    """The body of a render request (and when its newest index change was made, if known)."""
    body: dict[str, str | int] = {"page": page_id}
    if changed is not None:
        body["changed"] = changed
    return json.dumps(body, separators=(",", ":"))


# SQS's limit on a message group id, in characters.
MAX_GROUP_ID = 128


def message_group(page_id: str) -> str:
    """The FIFO message group of a page: its id, or for a longer one (an old address may be 512
    bytes long) its start and a digest of the whole, which names it as uniquely."""
    if len(page_id) <= MAX_GROUP_ID:
        return page_id
    return page_id[: MAX_GROUP_ID - 65] + "~" + hashlib.sha256(page_id.encode()).hexdigest()


class SqsRenderQueue:
    """The FIFO render queue. Grouping by page serialises renders of one page, so an older
    render can never overwrite a newer one. The deduplication id is derived from the page and
    the change that caused it: a retried plan is deduplicated, a new change never is."""

    def __init__(self, client: SQSClient, url: str) -> None:
        self._sqs = client
        self._url = url

    def send(self, page_ids: list[str], cause: str, changed: int | None = None) -> None:
        """Enqueue one render request per page."""
        entries = [
            {
                "MessageBody": render_message(page, changed),
                "MessageGroupId": message_group(page),
                "MessageDeduplicationId": hashlib.sha256(f"{page}|{cause}".encode()).hexdigest(),
            }
            for page in page_ids
        ]
        in_batches(self._send, entries, "render queue send")

    def hold(self, receipts: list[str], seconds: int) -> None:
        """Change the visibility of received requests: they come back `seconds` from now (and
        their message group, a page, waits behind them)."""
        entries = [{"ReceiptHandle": receipt, "VisibilityTimeout": seconds} for receipt in receipts]
        in_batches(self._change_visibility, entries, "render queue hold")

    def _send(self, entries: list[dict[str, Any]]) -> Mapping[str, Any]:
        return self._sqs.send_message_batch(QueueUrl=self._url, Entries=entries)  # type: ignore[arg-type]

    def _change_visibility(self, entries: list[dict[str, Any]]) -> Mapping[str, Any]:
        return self._sqs.change_message_visibility_batch(QueueUrl=self._url, Entries=entries)  # type: ignore[arg-type]


class HeldRequests(Protocol):
    """Where render requests wait: a request held is delivered again `seconds` later."""

    def hold(self, receipts: list[str], seconds: int) -> None:
        """Keep the received requests with these receipt handles out of sight for `seconds`."""


class Backlog(Protocol):
    """How much work waits upstream of the renderer."""

    def depth(self) -> int:
        """Messages waiting or in flight."""


class NoBacklog:
    """No queue upstream (the offline build, unit tests): never a burst."""

    def depth(self) -> int:
        """Nothing waits."""
        return 0


class SqsBacklog:
    """A queue's backlog: its messages waiting and in flight (SQS's approximate counts)."""

    def __init__(self, client: SQSClient, url: str) -> None:
        self._sqs = client
        self._url = url

    def depth(self) -> int:
        """Messages waiting or in flight on the queue."""
        try:
            attributes = self._sqs.get_queue_attributes(
                QueueUrl=self._url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
        except (ClientError, BotoCoreError) as exc:
            raise TransientError(f"queue attributes unavailable: {exc}") from exc
        return sum(int(value) for value in attributes.values())


class SqsHints:
    """The ingest queue, for tools that ask ingest to look at keys again (reconcile)."""

    def __init__(self, client: SQSClient, url: str, bucket: str) -> None:
        self._sqs = client
        self._url = url
        self._bucket = bucket

    def send(self, keys: list[str]) -> None:
        """One S3-shaped notification per key, as the bucket would send."""
        entries = [{"MessageBody": s3_notification(self._bucket, key, "ObjectCreated:Put")} for key in keys]
        in_batches(self._send, entries, "ingest queue send")

    def _send(self, entries: list[dict[str, Any]]) -> Mapping[str, Any]:
        return self._sqs.send_message_batch(QueueUrl=self._url, Entries=entries)  # type: ignore[arg-type]
