"""The local stack's sorted DynamoDB partitions answer every query exactly as moto does.

Two moto backends hold the same items, written and deleted in the same order: one with moto's
own table, one with the sorted table the local server runs. Every query, with each kind of sort
key condition, in both directions, with and without a limit, is paged to the end through both,
and each page (items, count, key to resume from) must be the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.parsing.key_condition_expression import parse_expression

from broadsheet_dev.local.sorted_table import SortedPartition, SortedTable

SCHEMA = [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
PARTITIONS = ("a", "b")
CONDITIONS = {
    "": "pk = :pk",
    "=": "pk = :pk AND sk = :v",
    "<": "pk = :pk AND sk < :v",
    "<=": "pk = :pk AND sk <= :v",
    ">": "pk = :pk AND sk > :v",
    ">=": "pk = :pk AND sk >= :v",
    "between": "pk = :pk AND sk BETWEEN :v AND :w",
    "begins_with": "pk = :pk AND begins_with(sk, :v)",
}


@contextmanager
def table_class(cls: type) -> Iterator[None]:
    """Tables created inside are of `cls` (the backend names its table class at creation)."""
    saved = vars(dynamodb_models)["Table"]
    vars(dynamodb_models)["Table"] = cls
    try:
        yield
    finally:
        vars(dynamodb_models)["Table"] = saved


def backend(kind: str, sorted_: bool) -> DynamoDBBackend:
    db = DynamoDBBackend("us-east-1", "123456789012")
    attrs = [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": kind}]
    with table_class(SortedTable if sorted_ else vars(dynamodb_models)["Table"]):
        db.create_table(
            "t", schema=SCHEMA, throughput=None, attr=attrs, global_indexes=None, indexes=None,
            streams=None, billing_mode="PAY_PER_REQUEST", sse_specification=None, tags=[],
            deletion_protection_enabled=False, warm_throughput=None,
        )  # fmt: skip
    return db


def wire(kind: str, value: str) -> dict[str, str]:
    return {kind: value if kind == "S" else str(int(value, 36))}


def pages(db: DynamoDBBackend, query: dict[str, Any]) -> list[Any]:
    """Every page of `query`, followed to the end, as plain data."""
    values = query["values"]
    hash_conditions, range_conditions, _ = parse_expression(query["expression"], values, {}, SCHEMA)
    comparison, range_values = range_conditions[-1][1:] if range_conditions else (None, [])
    start: Any = None  # moto's signature says a dict; it takes None for a first page
    out = []
    for _ in range(50):
        items, scanned, last = db.query(
            "t", hash_conditions[0][1], comparison, range_values, query["limit"], start, query["forward"],
            None,
            hash_key_conditions=hash_conditions, range_key_conditions=range_conditions,
        )  # fmt: skip
        out.append(([item.to_json() for item in items], scanned, last))
        if not last:
            return out
        start = {k: v.to_json() if hasattr(v, "to_json") else v for k, v in last.items()}
    raise AssertionError("paging did not end")


keys = st.text(alphabet="abc", min_size=1, max_size=4)
writes = st.lists(st.tuples(st.booleans(), st.sampled_from(PARTITIONS), keys), max_size=40)
queries = st.fixed_dictionaries(
    {
        "pk": st.sampled_from(PARTITIONS),
        "op": st.sampled_from(sorted(CONDITIONS)),
        "v": keys,
        "w": keys,
        "limit": st.none() | st.integers(min_value=1, max_value=5),
        "forward": st.booleans(),
    }
)


@settings(max_examples=150, deadline=None)
@given(kind=st.sampled_from(["S", "N"]), writes=writes, asked=st.lists(queries, min_size=1, max_size=6))
def test_sorted_partitions_answer_every_query_as_moto_does(
    kind: str, writes: list[tuple[bool, str, str]], asked: list[dict[str, Any]]
) -> None:
    plain, ordered = backend(kind, sorted_=False), backend(kind, sorted_=True)
    for db in (plain, ordered):
        for n, (put, pk, sk) in enumerate(writes):
            key = {"pk": {"S": pk}, "sk": wire(kind, sk)}
            if put:
                db.put_item("t", key | {"n": {"N": str(n)}})
            elif db.get_item("t", key) is not None:
                db.delete_item("t", key)
    for q in asked:
        if kind == "N" and q["op"] == "begins_with":
            continue  # DynamoDB refuses begins_with on a number
        values = {":pk": {"S": q["pk"]}, ":v": wire(kind, q["v"]), ":w": wire(kind, q["w"])}
        expression = CONDITIONS[q["op"]]
        used = {name: value for name, value in values.items() if name in expression}
        query = {"expression": expression, "values": used, "limit": q["limit"], "forward": q["forward"]}
        assert pages(ordered, query) == pages(plain, query), query


def test_a_partition_keeps_its_keys_in_order_as_items_come_and_go() -> None:
    part = SortedPartition()
    for key in ("m", "c", "x", "a", "c"):
        part[key] = key.upper()
    assert part.ordered == ["a", "c", "m", "x"]
    assert part.pop("c") == "C"
    del part["x"]
    assert part.ordered == ["a", "m"] == sorted(part)
    assert part.pop("absent", None) is None
