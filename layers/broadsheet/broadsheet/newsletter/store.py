"""Where subscribers live: a port, and its DynamoDB adapter (the subscribers table).

One item per subscriber (`sub#<identity>`), one per article a digest has claimed for a
subscriber (`sent#<identity>#<slug>`), one per client and rate window (`rate#<client>#<window>`).
A subscriber whose mail bounced for good or drew a complaint stays as a suppressed item, without
its sealed address: never mailed again, and a new signup of the address sends nothing.
Every item that may lapse carries `expires` (epoch seconds), the table's TTL attribute; reads
treat a lapsed item as absent, since TTL deletion happens some time after the moment.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

import boto3
from botocore.exceptions import ClientError

from broadsheet.errors import TransientError
from broadsheet.newsletter.models import Status, Subscriber
from broadsheet.settings import settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# How long a digest remembers it sent an article to a subscriber: far longer than the window
# in which an article can be due again (see broadsheet.newsletter.digest.GRACE).
SENT_MEMORY = timedelta(days=60)
_TRANSIENT = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
}


class SubscriberStore(Protocol):
    """What the signup flow and the digest need from storage."""

    def get(self, subscriber: str, now: datetime) -> Subscriber | None:
        """The subscriber, or None if absent or lapsed."""

    def add_pending(self, subscriber: Subscriber) -> bool:
        """Store a new unconfirmed signup; False if an active one exists already."""

    def claim_confirmation_mail(self, subscriber: str, now: datetime, cooldown: timedelta) -> bool:
        """Record a confirmation mail going out; False if the last one is within `cooldown`."""

    def confirm(self, subscriber: str, now: datetime) -> bool:
        """Mark a pending signup confirmed (idempotent); False if there is nothing to confirm."""

    def remove(self, subscriber: str) -> None:
        """Forget a subscriber at once."""

    def confirmed(self) -> Iterator[Subscriber]:
        """Every confirmed subscriber."""

    def already_sent(self, subscriber: str, slugs: list[str], now: datetime) -> set[str]:
        """Those of `slugs` a digest has claimed for the subscriber."""

    def claim_digest(self, subscriber: Subscriber, slugs: list[str], since: datetime, now: datetime) -> bool:
        """Atomically claim `slugs` for the subscriber and move `since` on; False if another run did."""

    def release_digest(self, subscriber: Subscriber, slugs: list[str], since: datetime) -> None:
        """Undo a claim whose mail was refused, so the next run sends it."""

    def count_hit(self, client: str, window: datetime, lifetime: timedelta) -> int:
        """Count one request of a client in a rate window; the count so far."""

    def suppress(self, subscriber: str, reason: str, now: datetime) -> bool:
        """Never mail the subscriber again; False if there is no such subscriber or it already was."""

    def count_soft_bounce(self, subscriber: str, message_id: str) -> int:
        """Record that one mail bounced for now (once however often reported); how many have."""


def _epoch(value: datetime) -> str:
    return str(int(value.timestamp()))


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def _time(item: dict[str, Any], name: str) -> datetime | None:
    if name not in item:
        return None
    if "N" in item[name]:
        return datetime.fromtimestamp(int(item[name]["N"]), UTC)
    return datetime.fromisoformat(item[name]["S"])


def subscriber_from_item(item: dict[str, Any]) -> Subscriber:
    """A subscriber from its table item."""
    created = _time(item, "created")
    mailed = _time(item, "mailed")
    if created is None or mailed is None:
        raise ValueError(f"subscriber item {item['pk']['S']} lacks its times")
    stored = item["status"]["S"]
    status: Status = "pending"
    if stored in ("confirmed", "suppressed"):
        status = "confirmed" if stored == "confirmed" else "suppressed"
    return Subscriber(
        id=item["pk"]["S"].removeprefix("sub#"),
        sealed=item.get("sealed", {}).get("S", ""),
        status=status,
        created=created,
        mailed=mailed,
        since=_time(item, "since"),
        expires=_time(item, "expires"),
    )


class DynamoSubscribers:
    """The subscribers table behind the `SubscriberStore` port."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self.client = client
        self.table = table

    def get(self, subscriber: str, now: datetime) -> Subscriber | None:
        """The subscriber, or None if absent or lapsed."""
        item = self._call(
            lambda: self.client.get_item(
                TableName=self.table, Key={"pk": {"S": f"sub#{subscriber}"}}, ConsistentRead=True
            )
        ).get("Item")
        if item is None:
            return None
        found = subscriber_from_item(item)
        return found if found.active(now) else None

    def add_pending(self, subscriber: Subscriber) -> bool:
        """Store a new unconfirmed signup; False if an active one exists already."""
        if subscriber.expires is None:
            raise ValueError("an unconfirmed signup must lapse")
        item = {
            "pk": {"S": f"sub#{subscriber.id}"},
            "sealed": {"S": subscriber.sealed},
            "status": {"S": "pending"},
            "created": {"S": _iso(subscriber.created)},
            "mailed": {"S": _iso(subscriber.mailed)},
            "expires": {"N": _epoch(subscriber.expires)},
        }
        return self._conditional(
            lambda: self.client.put_item(
                TableName=self.table,
                Item=item,
                # A lapsed signup the TTL has not removed yet may be replaced.
                ConditionExpression="attribute_not_exists(pk) OR (#s = :pending AND expires < :now)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":pending": {"S": "pending"},
                    ":now": {"N": _epoch(subscriber.created)},
                },
            )
        )

    def claim_confirmation_mail(self, subscriber: str, now: datetime, cooldown: timedelta) -> bool:
        """Record a confirmation mail going out; False if the last one is within `cooldown`."""
        return self._conditional(
            lambda: self.client.update_item(
                TableName=self.table,
                Key={"pk": {"S": f"sub#{subscriber}"}},
                UpdateExpression="SET mailed = :now",
                ConditionExpression="#s = :pending AND mailed <= :before",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":pending": {"S": "pending"},
                    ":now": {"S": _iso(now)},
                    ":before": {"S": _iso(now - cooldown)},
                },
            )
        )

    def confirm(self, subscriber: str, now: datetime) -> bool:
        """Mark a pending signup confirmed (idempotent); False if there is nothing to confirm."""
        confirmed = self._conditional(
            lambda: self.client.update_item(
                TableName=self.table,
                Key={"pk": {"S": f"sub#{subscriber}"}},
                UpdateExpression="SET #s = :confirmed, since = :now REMOVE expires",
                ConditionExpression="#s = :pending AND expires > :epoch",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":pending": {"S": "pending"},
                    ":confirmed": {"S": "confirmed"},
                    # From the minute of confirming: article times are written to the minute or second.
                    ":now": {"S": _iso(now.replace(second=0, microsecond=0))},
                    ":epoch": {"N": _epoch(now)},
                },
            )
        )
        if confirmed:
            return True
        existing = self.get(subscriber, now)
        return existing is not None and existing.status == "confirmed"

    def remove(self, subscriber: str) -> None:
        """Forget a subscriber at once."""
        self._call(
            lambda: self.client.delete_item(TableName=self.table, Key={"pk": {"S": f"sub#{subscriber}"}})
        )

    def confirmed(self) -> Iterator[Subscriber]:
        """Every confirmed subscriber (a scan: the digest reads them all once a run)."""
        paginator = self.client.get_paginator("scan")
        pages = paginator.paginate(
            TableName=self.table,
            FilterExpression="begins_with(pk, :sub) AND #s = :confirmed",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":sub": {"S": "sub#"}, ":confirmed": {"S": "confirmed"}},
            ConsistentRead=True,
        )
        for page in pages:
            for item in page.get("Items", []):
                yield subscriber_from_item(item)

    def already_sent(self, subscriber: str, slugs: list[str], now: datetime) -> set[str]:
        """Those of `slugs` a digest has claimed for the subscriber."""
        found: set[str] = set()
        for start in range(0, len(slugs), 100):
            keys: list[dict[str, Any]] = [
                {"pk": {"S": f"sent#{subscriber}#{slug}"}} for slug in slugs[start : start + 100]
            ]
            while keys:
                response = self._call(
                    lambda keys=keys: self.client.batch_get_item(
                        RequestItems={self.table: {"Keys": keys, "ConsistentRead": True}}
                    )
                )
                for item in response.get("Responses", {}).get(self.table, []):
                    found.add(item["pk"]["S"].rsplit("#", 1)[1])
                keys = list(response.get("UnprocessedKeys", {}).get(self.table, {}).get("Keys", []))
        return found

    def claim_digest(self, subscriber: Subscriber, slugs: list[str], since: datetime, now: datetime) -> bool:
        """Atomically claim `slugs` for the subscriber and move `since` on; False if another run did."""
        expires = _epoch(now + SENT_MEMORY)
        actions: list[Any] = [self._move_since(subscriber, subscriber.since, since)]
        actions += [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": {"pk": {"S": f"sent#{subscriber.id}#{slug}"}, "expires": {"N": expires}},
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
            for slug in slugs
        ]
        return self._conditional(lambda: self.client.transact_write_items(TransactItems=actions))

    def release_digest(self, subscriber: Subscriber, slugs: list[str], since: datetime) -> None:
        """Undo a claim whose mail was refused, so the next run sends it."""
        actions: list[Any] = [self._move_since(subscriber, since, subscriber.since)]
        actions += [
            {"Delete": {"TableName": self.table, "Key": {"pk": {"S": f"sent#{subscriber.id}#{slug}"}}}}
            for slug in slugs
        ]
        self._conditional(lambda: self.client.transact_write_items(TransactItems=actions))

    def count_hit(self, client: str, window: datetime, lifetime: timedelta) -> int:
        """Count one request of a client in a rate window; the count so far."""
        response = self._call(
            lambda: self.client.update_item(
                TableName=self.table,
                Key={"pk": {"S": f"rate#{client}#{_epoch(window)}"}},
                UpdateExpression="ADD hits :one SET expires = :expires",
                ExpressionAttributeValues={":one": {"N": "1"}, ":expires": {"N": _epoch(window + lifetime)}},
                ReturnValues="UPDATED_NEW",
            )
        )
        return int(response["Attributes"]["hits"]["N"])

    def suppress(self, subscriber: str, reason: str, now: datetime) -> bool:
        """Never mail the subscriber again; False if there is no such subscriber or it already was.

        The item stays (no TTL), so a signup of the same address finds it and sends nothing; the
        sealed address goes, as nothing will be sent to it.
        """
        return self._conditional(
            lambda: self.client.update_item(
                TableName=self.table,
                Key={"pk": {"S": f"sub#{subscriber}"}},
                UpdateExpression="SET #s = :suppressed, suppressed_at = if_not_exists(suppressed_at, :now), "
                "suppressed_for = if_not_exists(suppressed_for, :reason) REMOVE sealed, since, expires",
                ConditionExpression="attribute_exists(pk) AND #s <> :suppressed",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":suppressed": {"S": "suppressed"},
                    ":now": {"S": _iso(now)},
                    ":reason": {"S": reason},
                },
            )
        )

    def count_soft_bounce(self, subscriber: str, message_id: str) -> int:
        """Record that one mail bounced for now (once however often reported); how many have.

        The mails' ids are kept as a set, so a redelivered bounce event is not counted twice.
        """
        try:
            response = self._call(
                lambda: self.client.update_item(
                    TableName=self.table,
                    Key={"pk": {"S": f"sub#{subscriber}"}},
                    UpdateExpression="ADD soft_bounces :mail",
                    ConditionExpression="attribute_exists(pk)",
                    ExpressionAttributeValues={":mail": {"SS": [message_id]}},
                    ReturnValues="ALL_NEW",
                )
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code", "") == "ConditionalCheckFailedException":
                return 0
            raise
        return len(response["Attributes"]["soft_bounces"]["SS"])

    def _move_since(
        self, subscriber: Subscriber, old: datetime | None, new: datetime | None
    ) -> dict[str, Any]:
        values: dict[str, Any] = {":confirmed": {"S": "confirmed"}}
        condition = "#s = :confirmed AND "
        if old is None:
            condition += "attribute_not_exists(since)"
        else:
            condition += "since = :old"
            values[":old"] = {"S": _iso(old)}
        update = "REMOVE since"
        if new is not None:
            update = "SET since = :new"
            values[":new"] = {"S": _iso(new)}
        return {
            "Update": {
                "TableName": self.table,
                "Key": {"pk": {"S": f"sub#{subscriber.id}"}},
                "UpdateExpression": update,
                "ConditionExpression": condition,
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": values,
            }
        }

    def _conditional(self, fn: Any) -> bool:
        """Run a conditional write: True if it happened, False if its condition did not hold."""
        try:
            self._call(fn)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in ("ConditionalCheckFailedException", "TransactionCanceledException"):
                return False
            raise
        return True

    @staticmethod
    def _call(fn: Any) -> Any:
        try:
            return fn()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code", "") in _TRANSIENT:
                raise TransientError(str(error)) from error
            raise


@lru_cache(maxsize=1)
def subscribers() -> DynamoSubscribers:
    """This container's subscribers table, for the suppress function (which needs no secret, no
    mail templates: it builds only this, not the newsletter's services)."""
    config = settings()
    if not config.subscribers_table:
        raise RuntimeError("the suppress function needs BROADSHEET_SUBSCRIBERS_TABLE")
    return DynamoSubscribers(boto3.client("dynamodb"), config.subscribers_table)
