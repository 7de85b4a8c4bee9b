"""Listing lengths: a counter item per listing, positions counted from the nearer end, recount."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from broadsheet.errors import TransientError

if TYPE_CHECKING:
    pass
from broadsheet.adapters.dynamo.codec import (
    COUNT_PAGE,
    COUNTER_PREFIX,
    MONTHS_PK,
    counter_key,
    from_wire,
    to_wire,
)
from broadsheet.adapters.dynamo.table import Table


class Counters(Table):
    """Listing lengths and positions, read from counter items rather than counted."""

    def count(self, listing: str) -> int:
        """How many entries a listing holds: its counter, one item read at any length."""
        item = self._get(*counter_key(listing))
        return int(from_wire(item).get("count", 0)) if item else 0

    def position(self, listing: str, sort_key: str) -> int:
        """How many entries of a listing sort before `sort_key`.

        Counted from both ends at once, a page from each in turn, until one end reaches the key:
        the count reads about twice the entries between the key and the nearer end (a new
        article's position costs one page at any listing length), never the whole listing."""
        older = self._key_condition(listing, before=sort_key)
        newer = self._key_condition(listing, from_=sort_key)
        newer["ScanIndexForward"] = False
        counted = {"older": 0, "newer": 0}
        while True:
            for side, params in (("newer", newer), ("older", older)):
                page = {**params, "Select": "COUNT", "ConsistentRead": True, "Limit": COUNT_PAGE}
                response = self._call(lambda p=page: self._db.query(**p))
                counted[side] += int(response.get("Count", 0))
                last = response.get("LastEvaluatedKey")
                if not last:
                    return counted["older"] if side == "older" else self.count(listing) - counted["newer"]
                params["ExclusiveStartKey"] = last

    def recount(self) -> list[str]:
        """Set each listing counter that disagrees with its listing's entries to their number (a
        table written before the counters, or edited by hand); the listings whose counter moved.

        A counter moved by a publish while its entries were being counted is left alone (the
        update is conditioned on the value read first): that publish moved entries and counter
        together, and the next run looks again."""
        held: dict[str, int] = {}
        for item in self._scan(
            "begins_with(pk, :counter) OR pk = :months", "pk, sk, #count", {"#count": "count"}
        ):
            pk, sk = str(item["pk"]), str(item["sk"])
            listing = "month:" + sk if pk == MONTHS_PK else pk.removeprefix(COUNTER_PREFIX)
            held[listing] = int(item.get("count", 0))
        moved: list[str] = []
        for listing in sorted(set(self.listing_ids()) | set(held)):
            counted = self._count_entries(listing)
            if counted == held.get(listing, 0):
                continue
            pk, sk = counter_key(listing)
            seen = held.get(listing)
            try:
                self._db.update_item(
                    TableName=self._table,
                    Key=to_wire({"pk": pk, "sk": sk}),
                    UpdateExpression="SET #count = :counted",
                    ConditionExpression="attribute_not_exists(#count)" if seen is None else "#count = :seen",
                    ExpressionAttributeNames={"#count": "count"},
                    ExpressionAttributeValues=to_wire(
                        {":counted": counted} | ({} if seen is None else {":seen": seen})
                    ),
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                    continue
                raise TransientError(f"index recount failed: {exc}") from exc
            except BotoCoreError as exc:
                raise TransientError(f"index recount failed: {exc}") from exc
            moved.append(listing)
        return moved

    def _count_entries(self, listing: str) -> int:
        """How many entries a listing holds, counted one by one (reconcile's check of a counter)."""
        params = self._key_condition(listing)
        total = 0
        while True:
            response = self._call(lambda: self._db.query(Select="COUNT", ConsistentRead=True, **params))
            total += int(response.get("Count", 0))
            last = response.get("LastEvaluatedKey")
            if not last:
                return total
            params["ExclusiveStartKey"] = last

    def _listing_counts(self, old: Iterable[str], new: Iterable[str]) -> list[dict[str, Any]]:
        """Counter updates for the listings an article leaves and joins."""
        left, joined = set(old) - set(new), set(new) - set(old)
        return [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": to_wire(dict(zip(("pk", "sk"), counter_key(listing), strict=True))),
                    "UpdateExpression": "ADD #count :n",
                    "ExpressionAttributeNames": {"#count": "count"},
                    "ExpressionAttributeValues": {":n": {"N": str(delta)}},
                }
            }
            for listing, delta in sorted([(x, -1) for x in left] + [(x, 1) for x in joined])
        ]

    def listing_ids(self) -> list[str]:
        """Every listing that has at least one entry, sorted."""
        return sorted({str(x) for item in self._article_summaries() for x in item.get("listings", [])})

    def _article_summaries(self) -> list[dict[str, Any]]:
        return self._scan("sk = :article", "slug, live, listings, draft")
