"""The local stream poller applies the plan event source's FilterCriteria as Lambda does: only
article, author, alias and image items reach the planner; listing entries, counters and asked
marks are read past, in order, and never delivered.

Run against the local stack's moto server over HTTP, on a streamed table of the test's own keyed
as the index table is, with the filter the template gives the plan function."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from broadsheet_dev.local.pollers import Activity, StreamPoller
from broadsheet_dev.local.runtime import LocalStack
from broadsheet_dev.local.template import event_sources, load_template
from tests.support import index_shaped_table

pytestmark = [pytest.mark.integration]

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


@pytest.fixture
def stream(stack: LocalStack) -> Iterator[tuple[str, str]]:
    """A table with a stream of new and old images; its name and its stream's ARN."""
    db = boto3.client("dynamodb")
    name, arn = index_shaped_table(db, "filtered", streamed=True)
    yield name, arn
    db.delete_table(TableName=name)


def test_only_the_items_that_plan_pages_reach_the_planner_in_order(stream: tuple[str, str]) -> None:
    name, arn = stream
    plan = next(s for s in event_sources(load_template(TEMPLATE)) if s.function == "PlanFunction")
    delivered: list[str] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        delivered.extend(r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"])
        return {"batchItemFailures": []}

    # Small batches, so that whole batches of filtered records must be read past.
    poller = StreamPoller("PlanFunction", Activity(), handler, arn, batch_size=3, filters=plan.filters)
    db = boto3.client("dynamodb")
    written = [
        *(f"listing#home-{n}" for n in range(4)),
        "article#first",
        "count#home",
        "asked#home:0",
        "author#anna",
        "uses#a.jpg",
        "alias#/2015/12/old/",
        *(f"asked#tag:t:{n}" for n in range(5)),
        "media#a.jpg",
        "budget#2026-12",
    ]
    for pk in written:
        db.put_item(TableName=name, Item={"pk": {"S": pk}, "sk": {"S": "x"}})
    while poller.poll_once():
        pass
    assert delivered == ["article#first", "author#anna", "alias#/2015/12/old/", "media#a.jpg"]
