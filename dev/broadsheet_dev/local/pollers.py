"""Event-source pollers: what Lambda's event source mappings do, for the local stack.

An `SqsPoller` long-polls a queue, hands the handler a real SQS event (FIFO attributes
included), deletes what succeeded and leaves the reported failures to come back — so
moto's redrive policy moves a message to its DLQ after `maxReceiveCount` receives. As Lambda,
it never touches a failed message's visibility after the invocation: the message comes back
when the visibility it was received with ends (a short stand-in for the queue's timeout), or
when the visibility the function itself gave it ends (a render held through a burst). One
poller per queue, one batch at a time, so a message whose visibility ends during a long
invocation is not delivered twice at once. A
`StreamPoller` reads the table's stream shard by shard and retries from the first failed
record, sending records it gives up on to the on-failure queue, as Lambda does.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import boto3

from broadsheet_dev.local.filters import Pattern, matches

if TYPE_CHECKING:
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient
    from mypy_boto3_sqs import SQSClient

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class LambdaContext:
    """The parts of a Lambda context object that Powertools reads."""

    function_name: str
    memory_limit_in_mb: int = 512
    timeout_ms: int = 30000
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/local/broadsheet"
    log_stream_name: str = "local"
    function_version: str = "$LATEST"
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        """The function's ARN, as Lambda would give it."""
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function's timeout."""
        return max(0, self.timeout_ms - int((time.monotonic() - self.started) * 1000))


def load_handler(root: Path, code_uri: str, handler: str) -> Handler:
    """Import a function's handler from its folder, as the Lambda runtime does."""
    module_name, _, attribute = handler.rpartition(".")
    path = root / code_uri / f"{module_name.replace('.', '/')}.py"
    name = f"broadsheet_function_{code_uri.strip('/').replace('/', '_')}_{module_name}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module: ModuleType = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    found: Handler = getattr(module, attribute)
    return found


class Activity:
    """A shared clock of work done, so a waiter can tell when every poller has gone quiet."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.tick = 0

    def bump(self) -> None:
        """Record that some poller did work; wake everyone waiting."""
        with self.changed:
            self.tick += 1
            self.changed.notify_all()

    def notify(self) -> None:
        """Wake everyone waiting without recording work."""
        with self.changed:
            self.changed.notify_all()


class Poller:
    """Common state of a poller thread: busy flag and the tick of its last empty poll."""

    def __init__(self, name: str, activity: Activity) -> None:
        self.name = name
        self.activity = activity
        self.busy = False
        self.quiet_since = -1
        self.stopping = threading.Event()
        self.errors = 0
        self.handler: Handler = lambda event, context: {}
        self.context_factory: Callable[[], LambdaContext] = lambda: LambdaContext(name)
        # Runs after every invocation, as the end of a Lambda invocation would (e.g. flush metrics).
        self.after_invoke: Callable[[], None] | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        """Start polling in a background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to stop and wait for it."""
        self.stopping.set()
        self.activity.notify()
        self._thread.join(timeout=30)

    def quiet(self) -> bool:
        """Whether the last poll found nothing and no work has happened anywhere since."""
        return not self.busy and self.quiet_since == self.activity.tick

    def poll_once(self) -> int:
        """Fetch and process one batch; return how many records it held."""
        raise NotImplementedError

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        """Call the handler with an event, as Lambda would; return its response."""
        try:
            response: dict[str, Any] = self.handler(event, self.context_factory()) or {}
            return response
        finally:
            if self.after_invoke is not None:
                self.after_invoke()

    def _run(self) -> None:
        while not self.stopping.is_set():
            tick = self.activity.tick
            try:
                count = self.poll_once()
            except Exception:  # noqa: BLE001 - a poller must outlive any one failure
                self.errors += 1
                count = 0
                self.stopping.wait(0.5)
            if count:
                self.activity.bump()
            else:
                self.quiet_since = tick
                self.activity.notify()
                self.idle_wait()

    def idle_wait(self) -> None:
        """What to do after an empty poll (long polls need nothing more)."""


class SqsPoller(Poller):
    """Delivers a queue's messages to a handler in batches, with partial batch failures."""

    def __init__(
        self,
        name: str,
        activity: Activity,
        handler: Handler,
        queue_url: str,
        queue_arn: str,
        *,
        batch_size: int = 10,
        wait_seconds: int = 1,
        retry_delay: Callable[[int], int] = lambda receives: min(2 ** (receives - 1), 10),
        context_factory: Callable[[], LambdaContext] | None = None,
    ) -> None:
        super().__init__(name, activity)
        self.handler = handler
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.batch_size = batch_size
        self.wait_seconds = wait_seconds
        self.retry_delay = retry_delay
        if context_factory is not None:
            self.context_factory = context_factory
        self.sqs: SQSClient = boto3.client("sqs")
        self.delivered = 0
        self.failed = 0

    def poll_once(self) -> int:
        """Receive a batch, invoke the handler, delete successes, delay failures."""
        self.busy = False
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=self.wait_seconds,
            # The queue's visibility timeout, shortened: a message the handler does not finish
            # comes back this long after it was received, as on AWS after the queue's timeout.
            VisibilityTimeout=self.retry_delay(1),
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            return 0
        self.busy = True
        try:
            self._delay_retries([dict(m) for m in messages])
            event = {"Records": [self._record(dict(m)) for m in messages]}
            try:
                result = self.invoke(event)
                failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
            except Exception:  # noqa: BLE001 - a crashed invocation fails the whole batch
                failed = {m["MessageId"] for m in messages}
            # Record the work before acknowledging it: once the queue looks empty, the tick has
            # already moved, which is what `LocalStack.drained()` relies on.
            self.activity.bump()
            done = [m for m in messages if m["MessageId"] not in failed]
            for start in range(0, len(done), 10):
                self.sqs.delete_message_batch(
                    QueueUrl=self.queue_url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                        for i, m in enumerate(done[start : start + 10])
                    ],
                )
            self.delivered += len(done)
            self.failed += len(failed)
        finally:
            self.busy = False
        return len(messages)

    def _delay_retries(self, messages: list[dict[str, Any]]) -> None:
        """A message delivered again comes back later still if it fails again (the backoff)."""
        for message in messages:
            receives = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
            if receives > 1 and self.retry_delay(receives) != self.retry_delay(1):
                self.sqs.change_message_visibility(
                    QueueUrl=self.queue_url,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=self.retry_delay(receives),
                )

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        body = message["Body"]
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": body,
            "attributes": message.get("Attributes", {}),
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody", hashlib.md5(body.encode()).hexdigest()),  # noqa: S324
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": "us-east-1",
        }


class StreamPoller(Poller):
    """Delivers a DynamoDB stream's records to a handler, shard by shard, in order."""

    def __init__(
        self,
        name: str,
        activity: Activity,
        handler: Handler,
        stream_arn: str,
        *,
        batch_size: int = 100,
        max_retries: int = 5,
        on_failure_url: str | None = None,
        retry_delay: float = 0.5,
        idle_seconds: float = 0.25,
        shard_refresh: float = 5.0,
        context_factory: Callable[[], LambdaContext] | None = None,
        filters: Sequence[Pattern] = (),
    ) -> None:
        super().__init__(name, activity)
        self.handler = handler
        self.stream_arn = stream_arn
        self.filters = tuple(filters)
        self.batch_size = batch_size
        self.max_retries = max_retries
        self.on_failure_url = on_failure_url
        self.retry_delay = retry_delay
        self.idle_seconds = idle_seconds
        if context_factory is not None:
            self.context_factory = context_factory
        self.shard_refresh = shard_refresh
        self.streams: DynamoDBStreamsClient = boto3.client("dynamodbstreams")
        self.sqs: SQSClient = boto3.client("sqs")
        self._shards: list[str] = []
        self._shards_listed = -float("inf")
        self._iterators: dict[str, str | None] = {}
        self._pending: dict[str, list[dict[str, Any]]] = {}
        self._attempts: dict[str, int] = {}
        self.delivered = 0

    def idle_wait(self) -> None:
        """Streams cannot be long-polled: wait until some poller does work (a new record can only
        follow an invocation), or a short while. Other pollers' empty polls do not wake it."""
        tick = self.quiet_since
        with self.activity.changed:
            self.activity.changed.wait_for(
                lambda: self.activity.tick != tick or self.stopping.is_set(), self.idle_seconds
            )

    def poll_once(self) -> int:
        """Deliver the next batch of each shard; return how many records were delivered."""
        self.busy = False
        total = 0
        for shard_id in self._shard_ids():
            records = self._pending.get(shard_id) or self._fetch(shard_id)
            if not records:
                continue
            self.busy = True
            total += len(records)
            self._deliver(shard_id, records)
        self.busy = False
        return total

    def _shard_ids(self) -> list[str]:
        """The stream's shards, described again only every `shard_refresh` seconds (a new shard
        is found that much later; describing it on every poll doubled the poller's calls)."""
        moment = time.monotonic()
        if moment - self._shards_listed > self.shard_refresh:
            described = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
            self._shards = [shard["ShardId"] for shard in described.get("Shards", [])]
            self._shards_listed = moment
        return self._shards

    def _fetch(self, shard_id: str) -> list[dict[str, Any]]:
        if shard_id not in self._iterators:
            self._iterators[shard_id] = self.streams.get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
        while (iterator := self._iterators[shard_id]) is not None:
            response = self.streams.get_records(ShardIterator=iterator, Limit=self.batch_size)
            self._iterators[shard_id] = response.get("NextShardIterator")
            fetched = [self._record(dict(r)) for r in response.get("Records", [])]
            # Records the event source's filters leave out never reach the function (as on AWS,
            # where they count as processed): read on past them.
            records = [r for r in fetched if matches(r, self.filters)]
            if records or not fetched:
                return records
        return []

    def _deliver(self, shard_id: str, records: list[dict[str, Any]]) -> None:
        try:
            result = self.invoke({"Records": records})
            failures = [f["itemIdentifier"] for f in result.get("batchItemFailures", [])]
        except Exception:  # noqa: BLE001 - a crashed invocation retries the whole batch
            failures = [records[0]["dynamodb"]["SequenceNumber"]]
        if not failures:
            self._pending.pop(shard_id, None)
            self._attempts.pop(shard_id, None)
            self.delivered += len(records)
            return
        first = min(failures, key=int)
        remaining = [r for r in records if int(r["dynamodb"]["SequenceNumber"]) >= int(first)]
        self.delivered += len(records) - len(remaining)
        attempts = self._attempts.get(shard_id, 0) + 1
        if attempts > self.max_retries:
            self._give_up(remaining[0])
            remaining = remaining[1:]
            attempts = 0
        self._pending[shard_id] = remaining
        self._attempts[shard_id] = attempts
        self.stopping.wait(self.retry_delay)

    def _give_up(self, record: dict[str, Any]) -> None:
        if self.on_failure_url:
            self.sqs.send_message(
                QueueUrl=self.on_failure_url,
                MessageBody=json.dumps(
                    {
                        "requestContext": {"condition": "RetryAttemptsExhausted"},
                        "DDBStreamBatchInfo": {
                            "streamArn": self.stream_arn,
                            "startSequenceNumber": record["dynamodb"]["SequenceNumber"],
                            "endSequenceNumber": record["dynamodb"]["SequenceNumber"],
                            "batchSize": 1,
                        },
                    }
                ),
            )

    def _record(self, raw: dict[str, Any]) -> dict[str, Any]:
        stream = dict(raw["dynamodb"])
        created = stream.get("ApproximateCreationDateTime")
        if created is not None and hasattr(created, "timestamp"):
            stream["ApproximateCreationDateTime"] = int(created.timestamp())
        for image in ("Keys", "NewImage", "OldImage"):
            if image in stream:
                stream[image] = _json_safe(stream[image])
        return {
            "eventID": raw.get("eventID", ""),
            "eventName": raw.get("eventName", ""),
            "eventVersion": raw.get("eventVersion", "1.1"),
            "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1",
            "dynamodb": stream,
            "eventSourceARN": self.stream_arn,
        }


def _json_safe(value: Any) -> Any:
    """Stream images as Lambda delivers them: binary values base64-encoded."""
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value
