"""The moto server of the local stack: moto's own, less work it repeats on every request.

Profiled under the convergence property test, the server spent a fifth of its time on two costs
that never change an answer: finding which service a request is for lists moto's package folder
from disk (twice, under a lock that serialises every request), and SQS asks the wall clock
through two naive-datetime conversions for every message each time it counts a queue — which a
FIFO queue does for every message sent. Both are replaced by what they compute. A receive
checked each message's retention by building every attribute of the queue (counting all of its
messages) three times, which made receiving from a long queue quadratic in its length: the
retention period is read directly.

A long queue (a bulk upload puts tens of thousands of render requests on the FIFO queue) cost more
still. A long poll on a queue whose visible messages all sat in message groups held by other
receivers spun for the whole wait, rebuilding the list of visible messages (two clock readings a
message) as fast as it could: it now sleeps until a message is sent or for a twentieth of a
second. A send built every attribute of the queue (counting its messages three ways) up to three
times to read whether it deduplicates by content, and a FIFO send compared its deduplication id
with every message queued; a send now reads that one attribute and looks the id up. A delete
scanned the queue twice for the receipt handle; it now finds the message by its handle. What each
call answers is unchanged (`_Queues`).

A DynamoDB transaction backed up its whole table (for its rollback) once per item it writes, each
a deep copy of the whole table, and a failed one put the copy back in place of the table —
losing whatever other requests had written meanwhile. Here DynamoDB and its stream answer one
request at a time (the backend is pure computation under one interpreter lock anyway), and a
transaction backs up only the items it names: a failed one puts those items back and drops the
stream records its partial writes made, as DynamoDB never shows them. A query on a table's own key
sorted every item of the table to keep one partition's; it now starts from that partition (which
the query then sorts by range key itself, as before), and each partition keeps its sort keys in
order, so that such a query reads only the range its key condition selects (sorted_table.py); a
count on it no longer deep-copies every item it counts, and an item's size (which moto computes
for every item a query reads, for the 1 MB page limit) is remembered until the item changes.
DynamoDB's answers that carry items are written as the JSON they already are rather than walked
value by value through moto's response serializer (a twenty-item query: 128 ms to 17 ms). The
per-request access log (which goes nowhere) is turned off, and connections are kept alive. S3's
notifications name who made the change (`userIdentity.principalId`, here `AWS:<access key id>` of
the request) and, in a versioned bucket, the version it made, as S3's do; moto's name neither.
Everything else is moto unchanged.

Run as `python -m broadsheet_dev.local.emulator -H 127.0.0.1 -p PORT`, moto.server's arguments.
"""

from __future__ import annotations

import base64
import copy
import datetime
import functools
import inspect
import json
import logging
import re
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar

from moto import backends, server
from moto.core.responses import ActionResult
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models import table as table_module
from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler, DynamoResult
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler
from moto.s3 import notifications as s3_notifications
from moto.s3.responses import S3Response
from moto.sqs import exceptions as sqs_exceptions
from moto.sqs import models as sqs_models
from werkzeug import serving

from broadsheet_dev.local.sorted_table import SortedTable


def _unix_time_millis(dt: datetime.datetime | None = None) -> float:
    """moto's `unix_time_millis`: milliseconds since the epoch of `dt` (naive UTC) or of now."""
    if dt is None:
        return time.time() * 1000.0
    return (dt - datetime.datetime(1970, 1, 1)).total_seconds() * 1000.0


class _Transactions:
    """DynamoDB and its stream one request at a time, and transactions that back up only the items
    they name. `copy` as moto's DynamoDB backend sees it: within a transaction, a table's "backup"
    is the table itself (so moto's rollback, which puts the backup in place, changes nothing), and
    the rollback is done here, item by item."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._local = threading.local()

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        if isinstance(value, Table) and getattr(self._local, "active", False):
            return value
        return copy.deepcopy(value, memo)

    def serialised(self, method: Any) -> Any:
        """Wrap a request handler's `call_action`: one request at a time."""

        @functools.wraps(method)
        def call_action(handler: Any) -> Any:
            with self.lock:
                return method(handler)

        return call_action

    def transaction(self, method: Any) -> Any:
        """Wrap the backend's `transact_write_items` with item-level backups and rollback."""

        @functools.wraps(method)
        def transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> Any:
            with self.lock:
                saved = self._items(backend, transact_items)
                records = {
                    name: len(table.stream_shard.items)
                    for name, table in backend.tables.items()
                    if table.stream_shard is not None
                }
                self._local.active = True
                try:
                    return method(backend, transact_items)
                except Exception:
                    self._restore(backend, saved, records)
                    raise
                finally:
                    self._local.active = False

        return transact_write_items

    @staticmethod
    def _items(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any], Any]]:
        """Each named item's table, key and a copy of it as it is now (None if absent)."""
        saved: list[tuple[str, dict[str, Any], Any]] = []
        for entry in transact_items:
            _, op = next(iter(entry.items()))
            table = backend.tables.get(op.get("TableName", ""))
            if table is None:
                continue
            key = op.get("Key")
            if key is None:
                names = [a for a in (table.hash_key_attr, table.range_key_attr) if a]
                key = {a: op.get("Item", {})[a] for a in names if a in op.get("Item", {})}
            saved.append((table.name, key, copy.deepcopy(backend.get_item(table.name, key))))
        return saved

    @staticmethod
    def _restore(backend: Any, saved: list[tuple[str, dict[str, Any], Any]], records: dict[str, int]) -> None:
        """Put the named items back as they were, and drop the stream records written since."""
        for name, key, item in reversed(saved):
            if item is None:
                if backend.get_item(name, key) is not None:
                    backend.delete_item(name, key)
            else:
                backend.put_item(name, item.to_json()["Attributes"])
        for name, count in records.items():
            del backend.tables[name].stream_shard.items[count:]


class _Partitions:
    """`Table.all_items` as a query on the table's own key sees it: only the queried partition; and
    a count on the table's own key (`Select: COUNT`) leaves the items it counts uncopied, as it
    returns none of them (moto deep-copied every item it matched, to count them)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def all_items(self, method: Any) -> Any:
        """Wrap `Table.all_items`: during such a query, the partition's items, unsorted."""

        @functools.wraps(method)
        def all_items(table: Table) -> Any:
            hash_key = getattr(self._local, "hash_key", None)
            if hash_key is not None and table.range_key_attr:
                return list(table.items.get(hash_key, {}).values())
            return method(table)

        return all_items

    def query(self, method: Any) -> Any:
        """Wrap `Table.query`: a query without an index names the partition it reads."""
        signature = inspect.signature(method)

        @functools.wraps(method)
        def query(table: Table, *args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(table, *args, **kwargs).arguments
            self._local.hash_key = bound.get("hash_key") if bound.get("index_name") is None else None
            try:
                return method(table, *args, **kwargs)
            finally:
                self._local.hash_key = None

        return query

    def counting(self, method: Any) -> Any:
        """Wrap `DynamoHandler.query`: say whether the request only counts."""

        @functools.wraps(method)
        def query(handler: DynamoHandler) -> Any:
            self._local.counting = handler.body.get("Select") == "COUNT"
            try:
                return method(handler)
            finally:
                self._local.counting = False

        return query

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        """`copy.deepcopy` as the table module sees it: a count's matched items stay as they are."""
        on_own_key = getattr(self._local, "hash_key", None) is not None
        if on_own_key and getattr(self._local, "counting", False) and isinstance(value, list):
            return list(value)
        return copy.deepcopy(value, memo)

    copy = staticmethod(copy.copy)


class _Sizes:
    """`Item.size` remembered for each stored item until it is updated in place. moto sizes every
    item a query reads, for the 1 MB page limit: a count over a 10,000-entry listing sized each
    item twice, on every count. An item's size changes only when `update_item` changes it in place
    (a put stores a new item); each is forgotten then. DynamoDB answers one request at a time
    here, so no lock is needed."""

    LIMIT = 500_000

    def __init__(self) -> None:
        # By the item's id, with the item itself (so the id is not reused while it is known).
        self._known: dict[int, tuple[Any, int]] = {}

    def size(self, method: Any) -> Any:
        """Wrap `Item.size`."""

        @functools.wraps(method)
        def size(item: Any) -> int:
            known = self._known.get(id(item))
            if known is not None and known[0] is item:
                return known[1]
            if len(self._known) >= self.LIMIT:
                self._known.clear()  # items replaced or deleted since are still held here
            value: int = method(item)
            self._known[id(item)] = (item, value)
            return value

        return size

    def update_item(self, method: Any) -> Any:
        """Wrap the backend's `update_item`: the item it changes is sized afresh."""
        signature = inspect.signature(method)

        @functools.wraps(method)
        def update_item(backend: Any, *args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(backend, *args, **kwargs).arguments
            try:
                item = backend.get_item(bound["table_name"], bound["key"])
            except Exception:  # noqa: BLE001 - moto's own call below raises what the client sees
                item = None
            try:
                return method(backend, *args, **kwargs)
            finally:
                if item is not None:
                    self._known.pop(id(item), None)

        return update_item


class _ItemsAsJson:
    """DynamoDB's answers with items, written as the JSON they are. moto writes every response by
    walking the operation's output shape value by value; for the items of a query, a scan or a
    get — attribute values that are already the wire's `{"S": ...}` maps, binary values aside —
    that walk was four fifths of the server's DynamoDB time under a bulk upload. The rest of such
    an answer (counts, keys to resume from, capacity) still goes through moto's serializer."""

    ITEMS: ClassVar[dict[str, str]] = {
        "Query": "Items", "Scan": "Items", "GetItem": "Item", "BatchGetItem": "Responses",
    }  # fmt: skip

    @staticmethod
    def _binary(value: object) -> str:
        # Binary attribute values (B, BS) are bytes here; the wire carries them in base64.
        if isinstance(value, bytes):
            return base64.b64encode(value).decode("ascii")
        raise TypeError(f"not an attribute value: {type(value).__name__}")

    def execute_result(self, method: Any) -> Any:
        """Wrap `DynamoResult.execute_result`: the items as JSON, the rest by moto."""

        @functools.wraps(method)
        def execute_result(result: DynamoResult, context: Any) -> Any:
            member = self.ITEMS.get(context.operation_model.name)
            answer = result.result
            if member is None or not isinstance(answer, dict) or member not in answer:
                return method(result, context)
            rest = ActionResult({k: v for k, v in answer.items() if k != member})
            status, headers, body = method(rest, context)
            document = json.loads(body) | {member: answer[member]}
            return status, headers, json.dumps(document, default=self._binary)

        return execute_result


_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")


class _Principals:
    """The access key of the S3 request each server thread is answering: the principal its
    notifications name (moto sends them while it answers)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def setup(self, method: Any) -> Any:
        @functools.wraps(method)
        def setup_class(response: Any, *args: Any, **kwargs: Any) -> Any:
            result = method(response, *args, **kwargs)
            # moto's own reader takes only upper-case key ids: the local stack's is "testing".
            signed = _CREDENTIAL.search(str(response.headers.get("Authorization", "")))
            self._local.key = signed.group(1) if signed else None
            return result

        return setup_class

    def event(self, method: Any) -> Any:
        @functools.wraps(method)
        def get_s3_event(event_name: str, bucket: Any, key: Any, notification_id: str) -> Any:
            event = method(event_name, bucket, key, notification_id)
            for record in event["Records"]:
                principal = getattr(self._local, "key", None)
                if principal:
                    record["userIdentity"] = {"principalId": f"AWS:{principal}"}
                version = getattr(key, "version_id", None)
                if version and version != "null":
                    record["s3"]["object"]["versionId"] = str(version)
            return event

        return get_s3_event


class _Queues:
    """moto's SQS queue, with the calls a long queue made slow answered in constant time (or one
    pass): which messages are visible, waiting for one, a FIFO send's deduplication, a delete."""

    # How long a waiting receive sleeps before it looks again for a message whose visibility
    # (or delay) ended: nothing notifies it of that, only of a message sent.
    RECHECK_SECONDS = 0.05

    def __init__(self) -> None:
        # Every receipt handle a message was given, to that message (handles are unique).
        self._receipts: dict[str, Any] = {}
        # By queue: each deduplication id to the last message sent with it that was kept.
        self._sent: dict[int, dict[str, Any]] = {}
        self._local = threading.local()

    def attributes(self, built: Any) -> Any:
        """`Queue.attributes`; while a message is being sent, which reads only whether the queue
        deduplicates by content, that attribute alone."""

        def attributes(queue: Any) -> dict[str, Any]:
            if getattr(self._local, "sending", 0):
                return {"ContentBasedDeduplication": str(queue.content_based_deduplication).lower()}
            found: dict[str, Any] = built(queue)
            return found

        return property(attributes)

    def sending(self, send: Any) -> Any:
        """An SQS backend's send call, marked as sending for `attributes`."""

        @functools.wraps(send)
        def sent(*args: Any, **kwargs: Any) -> Any:
            # A batch send calls the single send: sends nest.
            self._local.sending = getattr(self._local, "sending", 0) + 1
            try:
                return send(*args, **kwargs)
            finally:
                self._local.sending -= 1

        return sent

    @staticmethod
    def visible(queue: Any) -> list[Any]:
        """`Queue.messages`: those visible and not delayed, the clock read once."""
        now = time.time() * 1000.0
        return [m for m in queue._messages if now > m.visible_at and now >= m.delayed_until]

    @staticmethod
    def not_visible(queue: Any) -> int:
        """`Queue.approximate_number_of_messages_not_visible`, the clock read once."""
        now = time.time() * 1000.0
        return sum(1 for m in queue._messages if now <= m.visible_at)

    @staticmethod
    def delayed(queue: Any) -> int:
        """`Queue.approximate_number_of_messages_delayed`, the clock read once."""
        now = time.time() * 1000.0
        return sum(1 for m in queue._messages if now < m.delayed_until)

    def waiting(self) -> Callable[[Any, float], None]:
        """`Queue.wait_for_messages`: until a message is sent, or a short while, or `timeout`
        (the receive that calls it looks again and waits again until its own wait is over)."""
        recheck = self.RECHECK_SECONDS

        def wait(queue: Any, timeout: float) -> None:
            with queue._messages_lock:
                queue._messages_lock.wait(timeout=min(timeout, recheck))

        return wait

    def mark_received(self, received: Any) -> Any:
        """`Message.mark_received`, remembering the handle it gives the message."""

        @functools.wraps(received)
        def mark(message: Any, visibility_timeout: int | None = None) -> None:
            received(message, visibility_timeout)
            self._receipts[message.receipt_handle] = message

        return mark

    def deleting(self) -> Callable[[Any, str], None]:
        """`Queue.delete_message`: the message found by its handle, the queue read once."""
        receipts = self._receipts

        def delete(queue: Any, receipt_handle: str) -> None:
            if receipt_handle in queue.deleted_messages:
                return
            message = receipts.get(receipt_handle)
            if message is None or not any(m is message for m in queue._messages):
                raise sqs_exceptions.ReceiptHandleIsInvalid()
            queue.pending_messages.discard(message)
            queue.deleted_messages.update(message.all_receipt_handles)
            queue._messages = [m for m in queue._messages if m is not message]
            for handle in message.all_receipt_handles:
                receipts.pop(handle, None)

        return delete

    def add(self, added: Any) -> Any:
        """`Queue.add_message`: a FIFO queue's deduplication (a message with the id of one sent
        less than five minutes before and still queued is dropped) by looking the id up."""

        @functools.wraps(added)
        def add(queue: Any, message: Any) -> None:
            if not queue.fifo_queue or queue.lambda_event_source_mappings:
                added(queue, message)
                return
            content_based = str(queue.content_based_deduplication).lower() == "true"
            if content_based or message.deduplication_id:
                sent = self._sent.setdefault(id(queue), {})
                earlier = sent.get(message.deduplication_id)
                if (
                    earlier is not None
                    and (message.sent_timestamp - earlier.sent_timestamp) / 1000
                    < sqs_models.DEDUPLICATION_TIME_IN_SECONDS
                    and any(m is earlier for m in queue._messages)
                ):
                    return
                sent[message.deduplication_id] = message
                if len(sent) > self.REMEMBERED:
                    self._forget_old(sent, message.sent_timestamp)
            with queue._messages_lock:
                queue._messages.append(message)
                queue._messages_lock.notify_all()

        return add

    # Deduplication ids a queue remembers before those older than the window are forgotten.
    REMEMBERED = 50_000

    @staticmethod
    def _forget_old(sent: dict[str, Any], now: int) -> None:
        window = sqs_models.DEDUPLICATION_TIME_IN_SECONDS * 1000
        for key in [k for k, m in sent.items() if now - m.sent_timestamp >= window]:
            del sent[key]


def _retained(backend: Any, queue_name: str, message: Any) -> bool:
    """moto's `is_message_valid_based_on_retention_period`, from the queue's retention period
    itself: moto built every attribute of the queue (counting its messages) three times for each
    message a receive looked at, which made a receive from a long queue quadratic in its length."""
    retention = int(vars(backend.get_queue(queue_name))["message_retention_period"])
    return retention + int(message.sent_timestamp or 0) / 1000 > time.time()


def main(argv: list[str]) -> None:
    """Start moto's server with the costs above taken out."""
    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: iter(modules)
    vars(sqs_models)["unix_time_millis"] = _unix_time_millis  # a name moto imported, not exported
    sqs_models.SQSBackend.is_message_valid_based_on_retention_period = _retained  # type: ignore[method-assign,assignment]
    queues = _Queues()
    queue = sqs_models.Queue
    queue.messages = property(queues.visible)  # type: ignore[method-assign,assignment]
    queue.approximate_number_of_messages_not_visible = property(queues.not_visible)  # type: ignore[method-assign,assignment]
    queue.approximate_number_of_messages_delayed = property(queues.delayed)  # type: ignore[method-assign,assignment]
    queue.attributes = queues.attributes(queue.attributes.fget)  # type: ignore[method-assign,attr-defined]
    backend_sqs = sqs_models.SQSBackend
    backend_sqs.send_message = queues.sending(backend_sqs.send_message)  # type: ignore[method-assign]
    backend_sqs.send_message_batch = queues.sending(backend_sqs.send_message_batch)  # type: ignore[method-assign]
    queue.wait_for_messages = queues.waiting()  # type: ignore[method-assign,assignment]
    queue.delete_message = queues.deleting()  # type: ignore[method-assign,assignment]
    queue.add_message = queues.add(queue.add_message)  # type: ignore[method-assign]
    sqs_models.Message.mark_received = queues.mark_received(sqs_models.Message.mark_received)  # type: ignore[method-assign]
    transactions = _Transactions()
    vars(dynamodb_models)["copy"] = transactions
    backend = dynamodb_models.DynamoDBBackend
    backend.transact_write_items = transactions.transaction(backend.transact_write_items)  # type: ignore[method-assign]
    DynamoHandler.call_action = transactions.serialised(DynamoHandler.call_action)  # type: ignore[method-assign]
    DynamoDBStreamsHandler.call_action = transactions.serialised(DynamoDBStreamsHandler.call_action)  # type: ignore[method-assign]
    DynamoResult.execute_result = _ItemsAsJson().execute_result(DynamoResult.execute_result)  # type: ignore[method-assign]
    vars(dynamodb_models)["Table"] = SortedTable  # the class the backend creates tables of
    partitions = _Partitions()
    Table.all_items = partitions.all_items(Table.all_items)  # type: ignore[method-assign]
    Table.query = partitions.query(Table.query)  # type: ignore[method-assign]
    DynamoHandler.query = partitions.counting(DynamoHandler.query)  # type: ignore[method-assign]
    vars(table_module)["copy"] = partitions
    sizes = _Sizes()
    Item.size = sizes.size(Item.size)  # type: ignore[method-assign]
    backend.update_item = sizes.update_item(backend.update_item)  # type: ignore[method-assign]
    principals = _Principals()
    S3Response.setup_class = principals.setup(S3Response.setup_class)  # type: ignore[method-assign]
    vars(s3_notifications)["_get_s3_event"] = principals.event(s3_notifications._get_s3_event)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    # Keep-alive: botocore keeps its connections open, but werkzeug's HTTP/1.0 closed each after
    # one request, so every request paid a new connection and a new server thread.
    serving.WSGIRequestHandler.protocol_version = "HTTP/1.1"
    server.main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
