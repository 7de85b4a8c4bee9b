"""Asked pages' marks in the index table: a conditional put lets exactly one of two plans asking
at once send the request; the mark is read strongly consistently and taken before a render.

Run against the local stack's moto server over HTTP, on the index table the template creates,
each test under page ids of its own."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest

from broadsheet.adapters.dynamo.asked import DynamoAskedPages
from broadsheet_dev.local.runtime import LocalStack

pytestmark = [pytest.mark.integration]


@pytest.fixture
def marks(stack: LocalStack) -> DynamoAskedPages:
    return DynamoAskedPages(boto3.client("dynamodb"), stack.stack.refs["IndexTable"])


@pytest.fixture
def pages() -> list[str]:
    """Page ids no other test uses (a tag's listing pages and feeds)."""
    tag = uuid.uuid4().hex[:10]
    return [f"tag:{tag}:0", f"tag:{tag}:1", f"feed:section:{tag}:atom"]


def test_one_plan_of_many_asking_at_once_marks_each_page(marks: DynamoAskedPages, pages: list[str]) -> None:
    with ThreadPoolExecutor(8) as pool:
        marked = list(
            pool.map(lambda n: marks.ask(pages, by=f"plan-{n}", at=1_000, stale_before=0), range(8))
        )
    assert sorted(p for got in marked for p in got) == sorted(pages)
    assert marks.asked([*pages, "tag:never-asked:0"]) == set(pages)


def test_the_same_plan_marks_again_and_a_stale_mark_gives_way(
    marks: DynamoAskedPages, pages: list[str]
) -> None:
    assert marks.ask(pages, by="plan-a", at=1_000, stale_before=0) == set(pages)
    assert marks.ask(pages, by="plan-a", at=1_001, stale_before=0) == set(pages)
    assert marks.ask(pages, by="plan-b", at=1_002, stale_before=1_000) == set()
    assert marks.ask(pages[:1], by="plan-b", at=2_000, stale_before=1_500) == set(pages[:1])


def test_a_plan_releases_only_its_own_marks_and_a_render_takes_any(
    marks: DynamoAskedPages, pages: list[str]
) -> None:
    marks.ask(pages[:2], by="plan-a", at=1_000, stale_before=0)
    marks.ask(pages[2:], by="plan-b", at=1_000, stale_before=0)
    marks.release(pages, by="plan-a")
    assert marks.asked(pages) == set(pages[2:])
    marks.ask(pages, by="plan-c", at=1_000, stale_before=0)
    marks.take([*pages, "tag:never-asked:0"])
    assert marks.asked(pages) == set()
    assert marks.ask(pages, by="plan-d", at=1_000, stale_before=0) == set(pages)


def test_many_marks_are_read_and_taken_in_batches(marks: DynamoAskedPages) -> None:
    tag = uuid.uuid4().hex[:10]
    many = [f"tag:{tag}:{n}" for n in range(130)]
    assert marks.ask(many, by="plan", at=1_000, stale_before=0) == set(many)
    assert marks.asked(many) == set(many)
    marks.take(many)
    assert marks.asked(many) == set()
