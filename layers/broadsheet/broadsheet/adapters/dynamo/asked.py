"""Asked pages in the index table (`broadsheet.asked`): `pk = asked#<page id>`, `sk = asked`, with
the plan that marked the page (`by`) and when (`at`, seconds since the epoch).

A mark is made by a conditional put (no mark, the same plan's, or a stale one), so of two plans
asking for a page at once exactly one sends its request. The items' stream records name no
article, author, alias or image, so the planner passes over them.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from broadsheet.adapters.dynamo.codec import from_wire, to_wire
from broadsheet.adapters.dynamo.table import Table
from broadsheet.errors import TransientError

ASKED_PREFIX = "asked#"
ASKED_SK = "asked"
# DynamoDB's limit on the writes of one BatchWriteItem call.
_BATCH_WRITE = 25
# Marks are put side by side: a batch's shared pages are a few dozen conditional puts.
_WORKERS = 8


def asked_key(page_id: str) -> dict[str, Any]:
    """The wire key of a page's mark."""
    return to_wire({"pk": ASKED_PREFIX + page_id, "sk": ASKED_SK})


class DynamoAskedPages(Table):
    """Marks of asked pages, one item each, beside the index they describe."""

    def ask(self, page_ids: Iterable[str], by: str, at: int, stale_before: int) -> set[str]:
        """Mark each page unless another plan marked it at or after `stale_before`; the pages
        marked now.

        The marks are read first (one strongly consistent read per hundred pages): during a burst
        most pages are marked already, and a mark seen there is as good as a refused put, since
        the render that takes it reads the index after this read. Only the others are put, each
        on the condition that no other plan has marked it meanwhile."""
        wanted = sorted(set(page_ids))
        held = self._marks(wanted)
        free = [p for p in wanted if p not in held or held[p][0] == by or held[p][1] < stale_before]
        if len(free) < 2:
            return {p for p in free if self._mark(p, by, at, stale_before)}
        with ThreadPoolExecutor(min(_WORKERS, len(free))) as pool:
            outcomes = list(pool.map(lambda p: self._mark(p, by, at, stale_before), free))
        return {page_id for page_id, marked in zip(free, outcomes, strict=True) if marked}

    def _mark(self, page_id: str, by: str, at: int, stale_before: int) -> bool:
        try:
            self._db.put_item(
                TableName=self._table,
                Item=asked_key(page_id) | to_wire({"by": by, "at": at}),
                ConditionExpression="attribute_not_exists(pk) OR #by = :by OR #at < :stale",
                ExpressionAttributeNames={"#by": "by", "#at": "at"},
                ExpressionAttributeValues=to_wire({":by": by, ":stale": stale_before}),
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise TransientError(f"asking for {page_id} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise TransientError(f"asking for {page_id} failed: {exc}") from exc
        return True

    def release(self, page_ids: Iterable[str], by: str) -> None:
        """Delete the plan's own marks of these pages (another plan's stay)."""
        for page_id in sorted(set(page_ids)):
            try:
                self._db.delete_item(
                    TableName=self._table,
                    Key=asked_key(page_id),
                    ConditionExpression="#by = :by",
                    ExpressionAttributeNames={"#by": "by"},
                    ExpressionAttributeValues=to_wire({":by": by}),
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise TransientError(f"releasing {page_id} failed: {exc}") from exc
            except BotoCoreError as exc:
                raise TransientError(f"releasing {page_id} failed: {exc}") from exc

    def asked(self, page_ids: Iterable[str]) -> set[str]:
        """The marked pages among `page_ids`, read strongly consistently."""
        return set(self._marks(sorted(set(page_ids))))

    def _marks(self, page_ids: list[str]) -> dict[str, tuple[str, int]]:
        """The marks of these pages (who made each, and when), read in batches."""
        marks = (from_wire(item) for item in self._batch_get([asked_key(p) for p in page_ids]))
        return {str(m["pk"]).removeprefix(ASKED_PREFIX): (str(m["by"]), int(m["at"])) for m in marks}

    def take(self, page_ids: Iterable[str]) -> None:
        """Delete the marks, in batches (a mark already gone is no error)."""
        wanted = sorted(set(page_ids))
        for start in range(0, len(wanted), _BATCH_WRITE):
            deletes = [{"DeleteRequest": {"Key": asked_key(p)}} for p in wanted[start : start + _BATCH_WRITE]]
            request: dict[str, Any] = {self._table: deletes}
            while request:
                response = self._call(lambda r=request: self._db.batch_write_item(RequestItems=r))
                request = dict(response.get("UnprocessedItems") or {})
