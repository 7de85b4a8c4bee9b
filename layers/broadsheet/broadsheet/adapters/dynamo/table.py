"""The index table: get, query, scan and transact, each failure translated."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import BotoCoreError, ClientError

from broadsheet.errors import TransientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
from broadsheet.adapters.dynamo.codec import (
    ARTICLE_SK,
    BATCH_GET,
    COUNTER_PREFIX,
    MEDIA_SK,
    MONTHS_PK,
    PROFILE_SK,
    from_wire,
    listing_pk,
    to_wire,
)


class Table:
    """The index table and its client; every call's failure becomes a TransientError."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._db = client
        self._table = table

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        response = self._call(
            lambda: self._db.get_item(
                TableName=self._table, Key=to_wire({"pk": pk, "sk": sk}), ConsistentRead=True
            )
        )
        item = response.get("Item")
        return dict(item) if item else None

    def _query(
        self,
        listing: str,
        *,
        forward: bool,
        limit: int | None = None,
        between: tuple[str, str] | None = None,
        skip: int = 0,
    ) -> list[dict[str, Any]]:
        params = self._key_condition(listing, between=between)
        params["ScanIndexForward"] = forward
        if skip:
            past = self._past(params, skip)
            if past is None:
                return []
            params["ExclusiveStartKey"] = past
        items: list[dict[str, Any]] = []
        while True:
            if limit is not None:
                params["Limit"] = limit - len(items)
            response = self._call(lambda: self._db.query(ConsistentRead=True, **params))
            items += [dict(i) for i in response.get("Items", [])]
            last = response.get("LastEvaluatedKey")
            if not last or (limit is not None and len(items) >= limit):
                return items
            params["ExclusiveStartKey"] = last

    def _key_condition(
        self,
        listing: str,
        *,
        before: str | None = None,
        from_: str | None = None,
        between: tuple[str, str] | None = None,
    ) -> dict[str, Any]:
        values: dict[str, Any] = {":pk": {"S": listing_pk(listing)}}
        condition = "pk = :pk"
        if before is not None:
            condition += " AND sk < :before"
            values[":before"] = {"S": before}
        if from_ is not None:
            condition += " AND sk >= :from"
            values[":from"] = {"S": from_}
        if between is not None:
            condition += " AND sk BETWEEN :lo AND :hi"
            values[":lo"] = {"S": between[0]}
            values[":hi"] = {"S": between[1]}
        return {
            "TableName": self._table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
        }

    def _batch_get(self, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The items stored at `keys` (wire form, as returned), read strongly consistently a
        hundred at a time, unprocessed keys asked again."""
        found: list[dict[str, Any]] = []
        for start in range(0, len(keys), BATCH_GET):
            request: dict[str, Any] = {
                self._table: {"Keys": keys[start : start + BATCH_GET], "ConsistentRead": True}
            }
            while request:
                response = self._call(lambda r=request: self._db.batch_get_item(RequestItems=r))
                found += [dict(item) for item in response.get("Responses", {}).get(self._table, [])]
                request = dict(response.get("UnprocessedKeys") or {})
        return found

    def _past(self, params: dict[str, Any], skip: int) -> dict[str, Any] | None:
        """The key of the `skip`th item a query selects, found by counting (`Select: COUNT`
        returns no items, only how many it read and where it stopped); None if it selects fewer.

        DynamoDB cannot start a query at a position: reaching page 500 of a listing reads the
        5,000 entries before it either way, but counted they are never sent back (nor, locally,
        copied), only the page's own entries are."""
        params = dict(params)
        counted = 0
        while counted < skip:
            page = {**params, "Select": "COUNT", "ConsistentRead": True, "Limit": skip - counted}
            response = self._call(lambda p=page: self._db.query(**p))
            counted += int(response.get("Count", 0))
            last = response.get("LastEvaluatedKey")
            if not last:
                return None
            params["ExclusiveStartKey"] = last
        return dict(params["ExclusiveStartKey"])

    @staticmethod
    def _call(fn: Any) -> Any:
        try:
            return fn()
        except (ClientError, BotoCoreError) as exc:
            raise TransientError(f"index request failed: {exc}") from exc

    def _scan(
        self, condition: str, projection: str, names: dict[str, str] | None = None
    ) -> list[dict[str, Any]]:
        values = {
            ":article": {"S": ARTICLE_SK},
            ":profile": {"S": PROFILE_SK},
            ":counter": {"S": COUNTER_PREFIX},
            ":months": {"S": MONTHS_PK},
            ":alias": {"S": "alias#"},
            ":media": {"S": MEDIA_SK},
        }
        params: dict[str, Any] = {
            "TableName": self._table,
            "FilterExpression": condition,
            "ProjectionExpression": projection,
            "ExpressionAttributeValues": {k: v for k, v in values.items() if k in condition},
        }
        if names:
            params["ExpressionAttributeNames"] = names
        found: list[dict[str, Any]] = []
        while True:
            response = self._call(lambda: self._db.scan(**params))
            found += [from_wire(dict(i)) for i in response.get("Items", [])]
            last = response.get("LastEvaluatedKey")
            if not last:
                return found
            params["ExclusiveStartKey"] = last

    def _transact(self, actions: list[dict[str, Any]]) -> bool:
        try:
            self._db.transact_write_items(TransactItems=cast(Any, actions))
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "TransactionCanceledException":
                reasons = exc.response.get("CancellationReasons", [])
                if any(r.get("Code") == "ConditionalCheckFailed" for r in reasons) or not reasons:
                    return False
            raise TransientError(f"index write failed: {code}") from exc
        except BotoCoreError as exc:
            raise TransientError(f"index write failed: {exc}") from exc
        return True
