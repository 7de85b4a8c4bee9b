"""The moto server of the local stack: moto's own, less work it repeats on every request.

Profiled under the convergence property test, the server spent a fifth of its time on two costs
that never change an answer: finding which service a request is for lists moto's package folder
from disk (twice, under a lock that serialises every request), and SQS asks the wall clock
through two naive-datetime conversions for every message each time it counts a queue — which a
FIFO queue does for every message sent. Both are replaced by what they compute. And a DynamoDB
transaction backs up the whole table (for its rollback) once per item it writes, each backup a
deep copy of the same table: it now makes that copy once per transaction, which is the same
backup. A query on a table's own key sorted every item of the table to keep one partition's;
it now starts from that partition (which the query then sorts by range key itself, as before).
Under a publish into a 1,000-article site those two were nine tenths of the server's time. The
per-request access log (which goes nowhere) is turned off. Everything else is moto unchanged.

Run as `python -m broadsheet.local.emulator -H 127.0.0.1 -p PORT`, moto.server's arguments.
"""

from __future__ import annotations

import copy
import datetime
import functools
import inspect
import logging
import sys
import threading
import time
from typing import Any

from moto import backends, server
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models.table import Table
from moto.sqs import models as sqs_models


def _unix_time_millis(dt: datetime.datetime | None = None) -> float:
    """moto's `unix_time_millis`: milliseconds since the epoch of `dt` (naive UTC) or of now."""
    if dt is None:
        return time.time() * 1000.0
    return (dt - datetime.datetime(1970, 1, 1)).total_seconds() * 1000.0


class _TableBackups:
    """`copy` as moto's DynamoDB backend sees it: within one transaction, a table is deep-copied
    once, and asking again gives that copy (the table is unchanged until the backups are made)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        made: dict[int, Any] | None = getattr(self._local, "made", None)
        if made is None or not isinstance(value, Table):
            return copy.deepcopy(value, memo)
        if id(value) not in made:
            made[id(value)] = copy.deepcopy(value, memo)
        return made[id(value)]

    def transaction(self, method: Any) -> Any:
        """Wrap the backend's `transact_write_items` so that its backups are made once."""

        @functools.wraps(method)
        def transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> Any:
            self._local.made = {}
            try:
                return method(backend, transact_items)
            finally:
                self._local.made = None

        return transact_write_items


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


def main(argv: list[str]) -> None:
    """Start moto's server with the costs above taken out."""
    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: iter(modules)
    vars(sqs_models)["unix_time_millis"] = _unix_time_millis  # a name moto imported, not exported
    backups = _TableBackups()
    vars(dynamodb_models)["copy"] = backups
    backend = dynamodb_models.DynamoDBBackend
    backend.transact_write_items = backups.transaction(backend.transact_write_items)  # type: ignore[method-assign]
    partitions = _Partitions()
    Table.all_items = partitions.all_items(Table.all_items)  # type: ignore[method-assign]
    Table.query = partitions.query(Table.query)  # type: ignore[method-assign]
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server.main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
