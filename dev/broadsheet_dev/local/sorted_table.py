"""moto's DynamoDB table with each partition's sort keys kept in order, so that a query reads only
the items its key condition selects.

moto answers a Query by taking every item of the partition, sorting them, and walking the sorted
list from the start, comparing each item's sort key with the condition and with the key the
query resumes from. A listing of 10,000 entries therefore cost 10,000 comparisons and a sort for
every page of twenty, and publishing into a large site slowed with the site's size. Here each
partition keeps its sort keys in a sorted list beside its items (moto stores a partition as a
dict from sort key to item; this dict keeps the list as keys come and go), and a query on the
table's own key finds the selected range by bisection: the condition (`=`, `<`, `<=`, `>`, `>=`,
`BETWEEN`, `begins_with`), the key it resumes from, its direction and its `Limit` narrow the
range before moto sees it. moto then runs its own query over that range, so it answers exactly
as it would have: the same items, counts and key to resume from (the range keeps one item past
the last it can return, on which moto decides that there is more to read).

Anything else (a secondary index, the legacy `KeyConditions`/`QueryFilter` form, a condition
whose values are not of the sort key's type, a prefix with no successor) goes to moto unchanged.
"""

from __future__ import annotations

import copy
import threading
from bisect import bisect_left, bisect_right, insort
from collections import defaultdict
from typing import Any

from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table

_LAST_CODE_POINT = 0x10FFFF


class SortedPartition(dict[Any, Any]):
    """A partition's items by sort key, with the sort keys also held in order in `ordered`."""

    def __init__(self, items: dict[Any, Any] | None = None) -> None:
        super().__init__()
        self.ordered: list[DynamoType] = []
        for key, value in (items or {}).items():
            self[key] = value

    def __setitem__(self, key: Any, value: Any) -> None:
        if key not in self:
            insort(self.ordered, key)
        super().__setitem__(key, value)

    def __delitem__(self, key: Any) -> None:
        super().__delitem__(key)
        self._forget(key)

    def pop(self, key: Any, *default: Any) -> Any:
        if key in self:
            self._forget(key)
        return super().pop(key, *default)

    def popitem(self) -> tuple[Any, Any]:
        key, value = super().popitem()
        self._forget(key)
        return key, value

    def clear(self) -> None:
        super().clear()
        self.ordered.clear()

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def __copy__(self) -> SortedPartition:
        return SortedPartition(dict(self))

    def __deepcopy__(self, memo: dict[int, Any]) -> SortedPartition:
        return SortedPartition({copy.deepcopy(k, memo): copy.deepcopy(v, memo) for k, v in self.items()})

    def __reduce__(self) -> Any:
        return (SortedPartition, (dict(self),))

    def _forget(self, key: Any) -> None:
        at = bisect_left(self.ordered, key)
        if at < len(self.ordered) and self.ordered[at] == key:
            del self.ordered[at]


class SortedTable(Table):
    """moto's `Table`, its partitions sorted by sort key and its own-key queries bisected."""

    _window = threading.local()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.range_key_attr:
            self.items = defaultdict(SortedPartition)

    def query(
        self,
        hash_key: DynamoType | None,
        range_comparison: str | None,
        range_objs: list[DynamoType],
        limit: int,
        exclusive_start_key: dict[str, Any],
        scan_index_forward: bool,
        projection_expressions: list[list[str]] | None,
        index_name: str | None = None,
        consistent_read: bool = False,
        filter_expression: Any = None,
        hash_key_conditions: list[tuple[str, DynamoType]] | None = None,
        range_key_conditions: list[tuple[str, str, list[DynamoType]]] | None = None,
        **filter_kwargs: Any,
    ) -> tuple[list[Item], int, dict[str, Any] | None]:
        """moto's query, over the range of the partition the key condition selects."""
        window = None
        if index_name is None and not filter_kwargs and len(range_key_conditions or ()) <= 1:
            window = self.selected(hash_key, range_comparison, range_objs, limit, exclusive_start_key,
                                   scan_index_forward)  # fmt: skip
        self._window.items = window
        try:
            return super().query(
                hash_key, range_comparison, range_objs, limit, exclusive_start_key, scan_index_forward,
                projection_expressions, index_name, consistent_read, filter_expression,
                hash_key_conditions=hash_key_conditions, range_key_conditions=range_key_conditions,
                **filter_kwargs,
            )  # fmt: skip
        finally:
            self._window.items = None

    def all_items(self) -> list[Item]:
        """During a bisected query, the items it may read, in sort key order."""
        window: list[Item] | None = getattr(self._window, "items", None)
        if window is not None:
            return window
        return super().all_items()

    def selected(
        self,
        hash_key: DynamoType | None,
        comparison: str | None,
        values: list[DynamoType],
        limit: int | None,
        start: dict[str, Any] | None,
        forward: bool,
    ) -> list[Item] | None:
        """The items a query may read, in order: those its condition selects past the key it
        resumes from, at most `limit` of them, plus the next item of the partition in the query's
        direction if there is one. None where moto must read the whole partition itself."""
        if hash_key is None or not self.range_key_attr or (limit is not None and limit < 1):
            return None
        partition = self.items.get(hash_key)
        if partition is None:
            return []
        if not isinstance(partition, SortedPartition):
            return None
        keys = partition.ordered
        if not keys:
            return []
        kind = keys[0].type
        bounds = _bounds(keys, comparison, values, kind)
        if bounds is None:
            return None
        lo, hi = bounds
        if start is not None:
            if DynamoType(start.get(self.hash_key_attr, {})) != hash_key or self.range_key_attr not in start:
                return None
            resume = DynamoType(start[self.range_key_attr])
            if resume.type != kind:
                return None
            if forward:
                lo = max(lo, bisect_right(keys, resume))
            else:
                hi = min(hi, bisect_left(keys, resume))
        hi = max(lo, hi)
        if forward:
            end = hi if limit is None else min(hi, lo + limit)
            chosen = keys[lo : min(end + 1, len(keys))]
        else:
            begin = lo if limit is None else max(lo, hi - limit)
            chosen = keys[max(begin - 1, 0) : hi]
        return [partition[key] for key in chosen]


def _bounds(
    keys: list[DynamoType], comparison: str | None, values: list[DynamoType], kind: str
) -> tuple[int, int] | None:
    """The positions [lo, hi) of the sort keys that meet the condition; None if not bisectable."""
    if comparison is None:
        return 0, len(keys)
    if kind not in ("S", "N") or any(value.type != kind for value in values):
        return None
    op = comparison.upper()
    if op in ("=", "EQ") and len(values) == 1:
        return bisect_left(keys, values[0]), bisect_right(keys, values[0])
    if op in ("<", "LT") and len(values) == 1:
        return 0, bisect_left(keys, values[0])
    if op in ("<=", "LE") and len(values) == 1:
        return 0, bisect_right(keys, values[0])
    if op in (">", "GT") and len(values) == 1:
        return bisect_right(keys, values[0]), len(keys)
    if op in (">=", "GE") and len(values) == 1:
        return bisect_left(keys, values[0]), len(keys)
    if op == "BETWEEN" and len(values) == 2:
        return bisect_left(keys, values[0]), bisect_right(keys, values[1])
    if op == "BEGINS_WITH" and len(values) == 1 and kind == "S":
        prefix = str(values[0].value)
        if not prefix or ord(prefix[-1]) == _LAST_CODE_POINT:
            return None
        after = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        return bisect_left(keys, values[0]), bisect_left(keys, DynamoType({"S": after}))
    return None
