"""The local stack's moto server keeps DynamoDB's transaction guarantees: a cancelled transaction
changes no item it names and leaves no record on the stream; one that succeeds is on the stream."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from broadsheet.local.runtime import LocalStack

pytestmark = [pytest.mark.integration]

# Items under a prefix the planner ignores, so the pipeline never acts on them.
PK = "emulator-test#"


def key(name: str) -> dict[str, Any]:
    return {"pk": {"S": PK + name}, "sk": {"S": "item"}}


def stream_records_after(streams: Any, iterators: dict[str, str]) -> list[dict[str, Any]]:
    """The records each shard holds past the iterators taken earlier."""
    records: list[dict[str, Any]] = []
    for iterator in iterators.values():
        records += streams.get_records(ShardIterator=iterator)["Records"]
    return [r for r in records if r["dynamodb"]["Keys"]["pk"]["S"].startswith(PK)]


def test_a_cancelled_transaction_changes_nothing_and_writes_nothing_to_the_stream(stack: LocalStack) -> None:
    db, streams = boto3.client("dynamodb"), boto3.client("dynamodbstreams")
    table = stack.stack.refs["IndexTable"]
    arn = db.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    db.put_item(TableName=table, Item=key("kept") | {"v": {"N": "1"}})
    shards = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    iterators = {
        s["ShardId"]: streams.get_shard_iterator(
            StreamArn=arn, ShardId=s["ShardId"], ShardIteratorType="LATEST"
        )["ShardIterator"]
        for s in shards
    }
    try:
        with pytest.raises(db.exceptions.TransactionCanceledException):
            db.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": table, "Item": key("new") | {"v": {"N": "1"}}}},
                    {
                        "Update": {
                            "TableName": table,
                            "Key": key("kept"),
                            "UpdateExpression": "SET v = :two",
                            "ExpressionAttributeValues": {":two": {"N": "2"}},
                        }
                    },
                    {"Delete": {"TableName": table, "Key": key("other")}},
                    {
                        "ConditionCheck": {
                            "TableName": table,
                            "Key": key("absent"),
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                ]
            )
        assert "Item" not in db.get_item(TableName=table, Key=key("new"), ConsistentRead=True)
        kept = db.get_item(TableName=table, Key=key("kept"), ConsistentRead=True)["Item"]
        assert kept["v"] == {"N": "1"}
        assert stream_records_after(streams, iterators) == []
        # A transaction that succeeds is on the stream, once per item.
        db.transact_write_items(
            TransactItems=[{"Put": {"TableName": table, "Item": key("new") | {"v": {"N": "3"}}}}]
        )
        written = stream_records_after(streams, iterators)
        assert [(r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]) for r in written] == [
            ("INSERT", PK + "new")
        ]
    finally:
        for name in ("kept", "new"):
            db.delete_item(TableName=table, Key=key(name))
