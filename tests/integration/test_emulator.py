"""The local stack's moto server keeps DynamoDB's transaction guarantees: a cancelled transaction
changes no item it names and leaves no record on the stream; one that succeeds is on the stream.
And the items it writes as JSON itself (not through moto's serializer) come back as they went in,
every attribute type, through every operation that returns items. Its SQS queues answer as moto's
do while staying fast when long: FIFO deduplication, message groups, deletes and long polls."""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

import boto3
import pytest

from broadsheet_dev.local.runtime import LocalStack

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


# One attribute of every DynamoDB type, nested ones holding others, and text JSON must escape.
EVERY_TYPE: dict[str, Any] = {
    "s": {"S": 'quote " backslash \\ </script> \u2028 é 😀'},
    "n": {"N": "-12.5"},
    "b": {"B": b"\x00\xffbinary"},
    "ss": {"SS": ["a", "b"]},
    "ns": {"NS": ["1", "2.5"]},
    "bs": {"BS": [b"\x01", b"\x02\x03"]},
    "m": {"M": {"inner": {"L": [{"S": "x"}, {"N": "3"}, {"B": b"\x04"}, {"NULL": True}]}}},
    "l": {"L": [{"M": {"k": {"BOOL": False}}}, {"SS": ["z"]}]},
    "t": {"BOOL": True},
    "z": {"NULL": True},
}


def unordered(item: dict[str, Any]) -> dict[str, Any]:
    """An item with its sets as sets (DynamoDB keeps no order in them)."""
    out: dict[str, Any] = {}
    for name, value in item.items():
        kind, inner = next(iter(value.items()))
        if kind in {"SS", "NS", "BS"}:
            out[name] = {kind: frozenset(inner)}
        elif kind == "M":
            out[name] = {kind: unordered(inner)}
        elif kind == "L":
            out[name] = {kind: [unordered({"_": v})["_"] for v in inner]}
        else:
            out[name] = value
    return out


def typed(n: int) -> dict[str, Any]:
    return {"pk": {"S": PK + "typed"}, "sk": {"S": f"item-{n}"}}


def test_items_of_every_attribute_type_come_back_as_written(stack: LocalStack) -> None:
    db = boto3.client("dynamodb")
    table = stack.stack.refs["IndexTable"]
    items = [typed(n) | EVERY_TYPE for n in range(3)]
    for item in items:
        db.put_item(TableName=table, Item=item)
    expected = [unordered(item) for item in items]
    got = db.get_item(TableName=table, Key=typed(1), ConsistentRead=True)["Item"]
    assert unordered(got) == expected[1]
    partition: dict[str, Any] = {
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": typed(0)["pk"]},
    }
    queried = db.query(TableName=table, **partition)
    assert [unordered(i) for i in queried["Items"]] == expected
    assert (queried["Count"], queried["ScannedCount"]) == (3, 3)
    first = db.query(TableName=table, Limit=1, **partition)
    assert first["LastEvaluatedKey"] == typed(0) and [unordered(i) for i in first["Items"]] == expected[:1]
    rest = db.query(TableName=table, ExclusiveStartKey=first["LastEvaluatedKey"], **partition)
    assert [unordered(i) for i in rest["Items"]] == expected[1:]
    counted = db.query(TableName=table, Select="COUNT", **partition)
    assert counted["Count"] == 3 and "Items" not in dict(counted)
    batch = db.batch_get_item(RequestItems={table: {"Keys": [typed(n) for n in range(3)]}})
    assert sorted(map(unordered, batch["Responses"][table]), key=str) == sorted(expected, key=str)
    assert batch["UnprocessedKeys"] == {}
    scanned = db.scan(
        TableName=table,
        FilterExpression="begins_with(pk, :p)",
        ExpressionAttributeValues={":p": typed(0)["pk"]},
    )
    assert sorted(map(unordered, scanned["Items"]), key=str) == sorted(expected, key=str)
    assert "Item" not in db.get_item(TableName=table, Key=typed(9))
    for n in range(3):
        db.delete_item(TableName=table, Key=typed(n))


SELECTS: tuple[Literal["ALL_ATTRIBUTES", "COUNT"], ...] = ("ALL_ATTRIBUTES", "COUNT")


def test_a_page_ends_at_one_megabyte_by_the_items_sizes_as_they_are_now(stack: LocalStack) -> None:
    """The server remembers item sizes; an item updated in place is sized afresh."""
    db = boto3.client("dynamodb")
    table = stack.stack.refs["IndexTable"]
    big = "x" * 100_000
    keys = [{"pk": {"S": PK + "sized"}, "sk": {"S": f"item-{n:02}"}} for n in range(12)]
    for k in keys:
        db.put_item(TableName=table, Item=k | {"v": {"S": big}})
    partition: dict[str, Any] = {
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": keys[0]["pk"]},
    }
    for select in SELECTS:
        page = db.query(TableName=table, Select=select, **partition)
        assert page["Count"] < 12 and "LastEvaluatedKey" in page, select
    for k in keys:
        db.update_item(
            TableName=table,
            Key=k,
            UpdateExpression="SET v = :v",
            ExpressionAttributeValues={":v": {"S": "x"}},
        )
    for select in SELECTS:
        page = db.query(TableName=table, Select=select, **partition)
        assert page["Count"] == 12 and "LastEvaluatedKey" not in page, select
    for k in keys:
        db.delete_item(TableName=table, Key=k)


def fifo_queue() -> tuple[Any, str]:
    sqs = boto3.client("sqs")
    url = sqs.create_queue(
        QueueName=f"emulator-{uuid.uuid4().hex[:12]}.fifo", Attributes={"FifoQueue": "true"}
    )
    return sqs, url["QueueUrl"]


def test_a_fifo_queue_drops_a_duplicate_while_the_first_is_queued_and_takes_it_once_deleted(
    stack: LocalStack,
) -> None:
    sqs, url = fifo_queue()
    for body in ("first", "duplicate"):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="g", MessageDeduplicationId="same")
    entries = [("0", "other", "h", "other"), ("1", "again", "g", "same")]
    sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": i, "MessageBody": body, "MessageGroupId": group, "MessageDeduplicationId": dedup}
            for i, body, group, dedup in entries
        ],
    )
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30)["Messages"]
    assert sorted(m["Body"] for m in got) == ["first", "other"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (
        attributes["ApproximateNumberOfMessages"],
        attributes["ApproximateNumberOfMessagesNotVisible"],
    ) == ("0", "2")
    sqs.delete_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)]
    )
    # Deleting twice is no error; a handle never given is.
    sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
    with pytest.raises(sqs.exceptions.ReceiptHandleIsInvalid):
        sqs.delete_message(QueueUrl=url, ReceiptHandle="never-given")
    # As moto does, a duplicate of a message no longer queued is taken.
    sqs.send_message(QueueUrl=url, MessageBody="later", MessageGroupId="g", MessageDeduplicationId="same")
    later = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in later] == ["later"]


def test_a_long_poll_waits_out_a_held_group_and_takes_its_message_when_it_comes_back(
    stack: LocalStack,
) -> None:
    sqs, url = fifo_queue()
    sqs.send_message(QueueUrl=url, MessageBody="held", MessageGroupId="g", MessageDeduplicationId="1")
    sqs.send_message(QueueUrl=url, MessageBody="behind", MessageGroupId="g", MessageDeduplicationId="2")
    held = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=30)["Messages"][0]
    # Its group waits behind it: a long poll finds nothing to take and returns at its end.
    started = time.monotonic()
    assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)
    assert time.monotonic() - started >= 0.9
    # Made visible again, it is taken first, by a long poll that started before.
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=held["ReceiptHandle"], VisibilityTimeout=1)
    started = time.monotonic()
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=5)["Messages"]
    assert [m["Body"] for m in again] == ["held", "behind"]
    assert time.monotonic() - started < 3
    # Either handle it was given deletes it.
    sqs.delete_message(QueueUrl=url, ReceiptHandle=held["ReceiptHandle"])
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
    )
    assert attributes["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "1"
