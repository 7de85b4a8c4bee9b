"""The moto server of the local stack: moto's own, less work it repeats on every request.

Profiled under the convergence property test, the server spent a fifth of its time on two costs
that never change an answer: finding which service a request is for lists moto's package folder
from disk (twice, under a lock that serialises every request), and SQS asks the wall clock
through two naive-datetime conversions for every message each time it counts a queue — which a
FIFO queue does for every message sent. Both are replaced by what they compute. A receive
checked each message's retention by building every attribute of the queue (counting all of its
messages) three times, which made receiving from a long queue quadratic in its length: the
retention period is read directly.

A DynamoDB transaction backed up its whole table (for its rollback) once per item it writes, each
a deep copy of the whole table, and a failed one put the copy back in place of the table —
losing whatever other requests had written meanwhile. Here DynamoDB and its stream answer one
request at a time (the backend is pure computation under one interpreter lock anyway), and a
transaction backs up only the items it names: a failed one puts those items back and drops the
stream records its partial writes made, as DynamoDB never shows them. A query on a table's own key
sorted every item of the table to keep one partition's; it now starts from that partition (which
the query then sorts by range key itself, as before). The per-request access log (which goes
nowhere) is turned off. Everything else is moto unchanged.

Run as `python -m broadsheet.local.emulator -H 127.0.0.1 -p PORT`, moto.server's arguments.
"""

from __future__ import annotations

import base64
import copy
import datetime
import functools
import inspect
import json
import logging
import sys
import threading
import time
from typing import Any, ClassVar

from moto import backends, server
from moto.core.responses import ActionResult
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler, DynamoResult
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler
from moto.sqs import models as sqs_models


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
    """`Table.all_items` as a query on the table's own key sees it: only the queried partition."""

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
    transactions = _Transactions()
    vars(dynamodb_models)["copy"] = transactions
    backend = dynamodb_models.DynamoDBBackend
    backend.transact_write_items = transactions.transaction(backend.transact_write_items)  # type: ignore[method-assign]
    DynamoHandler.call_action = transactions.serialised(DynamoHandler.call_action)  # type: ignore[method-assign]
    DynamoDBStreamsHandler.call_action = transactions.serialised(DynamoDBStreamsHandler.call_action)  # type: ignore[method-assign]
    DynamoResult.execute_result = _ItemsAsJson().execute_result(DynamoResult.execute_result)  # type: ignore[method-assign]
    partitions = _Partitions()
    Table.all_items = partitions.all_items(Table.all_items)  # type: ignore[method-assign]
    Table.query = partitions.query(Table.query)  # type: ignore[method-assign]
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server.main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
