"""Listing counters: a listing's length is one item read, never a count of its entries, and stays
exact through every change an article makes, including one too large for a single transaction.

Run against the local stack's moto server over HTTP, each test on a table of its own with the
index table's key schema."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from broadsheet.adapters.dynamo import DynamoIndex, entry_item
from broadsheet.adapters.dynamo.codec import counter_key, listing_pk
from broadsheet.contract.models import Article
from broadsheet.index.entries import Byline, Entry
from broadsheet.index.ports import SourceVersion
from broadsheet_dev.local.runtime import LocalStack
from tests.support import Editor, assert_site_matches_offline_build, index_shaped_table

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

pytestmark = [pytest.mark.integration]

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
PROBE = "tag:probe"
LENGTH = 450


@pytest.fixture
def table(stack: LocalStack) -> Iterator[tuple[DynamoDBClient, str]]:
    """A table of this test's own, keyed as the index table is."""
    db = boto3.client("dynamodb")
    name, _ = index_shaped_table(db, "counters")
    yield db, name
    db.delete_table(TableName=name)


def entry(listing: str, number: int) -> Entry:
    return Entry(
        listing=listing,
        sort_key=f"k{number:04d}",
        slug=f"a-{number}",
        title=f"Article {number}",
        teaser="",
        authors=(Byline("Anna Writer", "anna-writer"),),
        published="2026-11-02T09:00:00+00:00",
        modified="2026-11-02T09:00:00+00:00",
    )


def fill(db: DynamoDBClient, table: str, listing: str, length: int, counted: int | None) -> None:
    """A listing of `length` entries written directly, with its counter saying `counted`."""
    items: list[dict[str, Any]] = [entry_item(entry(listing, n)) for n in range(length)]
    if counted is not None:
        pk, sk = counter_key(listing)
        items.append({"pk": {"S": pk}, "sk": {"S": sk}, "count": {"N": str(counted)}})
    for at in range(0, len(items), 25):
        requests: Any = {table: [{"PutRequest": {"Item": item}} for item in items[at : at + 25]]}
        while requests:
            requests = db.batch_write_item(RequestItems=requests).get("UnprocessedItems") or {}


class Requests:
    """The DynamoDB operations a client sends, by name."""

    def __init__(self, db: DynamoDBClient) -> None:
        self.sent: list[str] = []
        db.meta.events.register("before-call.dynamodb", self._record)

    def _record(self, model: Any, **_: Any) -> None:
        self.sent.append(str(model.name))

    def take(self) -> list[str]:
        sent, self.sent = self.sent, []
        return sent


def test_position_counts_from_the_nearer_end_and_count_reads_one_item(
    table: tuple[DynamoDBClient, str],
) -> None:
    db, name = table
    fill(db, name, PROBE, LENGTH, LENGTH)
    index = DynamoIndex(db, name)
    requests = Requests(db)
    assert index.count(PROBE) == LENGTH
    assert requests.take() == ["GetItem"]
    for number in (0, 1, 199, 200, 201, 225, 249, 250, 400, 448, 449):
        assert index.position(PROBE, f"k{number:04d}") == number, number
    assert index.position(PROBE, "a") == 0
    assert index.position(PROBE, "z") == LENGTH
    requests.take()
    # The newest entry's position (where a new article lands): one page and the counter.
    assert index.position(PROBE, f"k{LENGTH - 1:04d}") == LENGTH - 1
    assert requests.take() == ["Query", "GetItem"]
    # The oldest's: a page from the newer end, then one from the older end that reaches it.
    assert index.position(PROBE, "k0001") == 1
    assert requests.take() == ["Query", "Query"]
    # Paging the newest entries reads the counter, not the listing.
    assert index.newest(PROBE, 20).total == LENGTH
    assert requests.take() == ["Query", "GetItem"]


def test_a_span_anywhere_returns_its_entries_and_reads_only_them(table: tuple[DynamoDBClient, str]) -> None:
    db, name = table
    fill(db, name, PROBE, LENGTH, LENGTH)
    index = DynamoIndex(db, name)
    keys = [f"k{n:04d}" for n in range(LENGTH)]
    for start, stop in ((0, 10), (10, 20), (217, 227), (220, 230), (225, 235), (440, 450), (445, 460),
                        (0, LENGTH), (449, 450), (450, 460)):  # fmt: skip
        got = [e.sort_key for e in index.span(PROBE, start, stop).entries]
        assert got == keys[start:stop][::-1], (start, stop)
    # A page in the middle: the entries up to it are counted, and only its own ten are sent back.
    returned: list[int] = []
    db.meta.events.register(
        "after-call.dynamodb.Query", lambda parsed, **_: returned.append(len(parsed.get("Items", [])))
    )
    index.span(PROBE, 220, 230)
    assert sum(returned) == 10


def test_recount_sets_wrong_and_missing_counters_and_leaves_right_ones(
    table: tuple[DynamoDBClient, str],
) -> None:
    db, name = table
    fill(db, name, PROBE, LENGTH, 7)
    fill(db, name, "tag:right", 5, 5)
    fill(db, name, "tag:uncounted", 3, None)
    fill(db, name, "month:2026-11", 4, 9)
    # Listings are known from the article items that name them.
    article = {"pk": {"S": "article#a"}, "sk": {"S": "article"}, "slug": {"S": "a"}}
    listed = {"L": [{"S": x} for x in (PROBE, "tag:right", "tag:uncounted", "month:2026-11")]}
    db.put_item(TableName=name, Item=article | {"live": {"BOOL": True}, "listings": listed})
    # A counter left behind by a listing that has no entries any more.
    pk, sk = counter_key("tag:emptied")
    db.put_item(TableName=name, Item={"pk": {"S": pk}, "sk": {"S": sk}, "count": {"N": "2"}})
    index = DynamoIndex(db, name)
    assert index.recount() == ["month:2026-11", "tag:emptied", PROBE, "tag:uncounted"]
    counts = {
        x: index.count(x) for x in (PROBE, "tag:right", "tag:uncounted", "month:2026-11", "tag:emptied")
    }
    assert counts == {PROBE: LENGTH, "tag:right": 5, "tag:uncounted": 3, "month:2026-11": 4, "tag:emptied": 0}
    assert index.months() == [("2026-11", 4)]
    assert index.recount() == []


def article(slug: str, authors: list[str], tags: list[str], section: str, day: int) -> Article:
    return Article.model_validate(
        {
            "slug": slug,
            "title": f"Moving {slug}",
            "authors": authors,
            "tags": tags,
            "section": section,
            "published_at": (NOW - timedelta(days=day)).isoformat(),
            "body": "Body.\n",
        }
    )


def moving() -> tuple[Article, Article]:
    """One article as first published (ten authors, twenty tags) and then moved out of all its
    listings but home into as many others, and re-dated."""
    old = article("mover", [f"Old Writer {n}" for n in range(10)], [f"old {n}" for n in range(20)], "old", 40)
    new = article("mover", [f"New Writer {n}" for n in range(10)], [f"new {n}" for n in range(20)], "new", 3)
    return old, new


def counters_agree_with_entries(db: DynamoDBClient, table: str, listings: set[str]) -> dict[str, int]:
    """Every listing's counter, asserted equal to its entries' number."""
    index = DynamoIndex(db, table)
    found: dict[str, int] = {}
    for listing in sorted(listings):
        entries = db.query(
            TableName=table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": listing_pk(listing)}},
            Select="COUNT",
            ConsistentRead=True,
        )["Count"]
        assert index.count(listing) == entries, listing
        found[listing] = entries
    return found


def test_a_change_too_large_for_one_transaction_goes_in_two_consistent_steps(
    table: tuple[DynamoDBClient, str],
) -> None:
    db, name = table
    index = DynamoIndex(db, name)
    before, after = moving()
    neighbour = article("stays", ["Old Writer 0"], ["old 0", "new 0"], "old", 50)
    assert index.put_article(neighbour, SourceVersion("n1", 1), NOW, None)
    assert index.put_article(before, SourceVersion("v1", 1), NOW, None)
    held = index.get_article("mover")
    assert held is not None and len(held.listings) == 33
    transactions: list[int] = []
    db.meta.events.register(
        "provide-client-params.dynamodb.TransactWriteItems",
        lambda params, **_: transactions.append(len(params["TransactItems"])),
    )

    assert index.put_article(after, SourceVersion("v2", 2), NOW, held)

    # One transaction would hold 131 actions: the article left 32 listings in the first, then
    # joined 32 and was re-dated in the second, each within DynamoDB's limit.
    assert len(transactions) == 2 and max(transactions) <= 100, transactions
    moved = index.get_article("mover")
    assert moved is not None and moved.article == after and moved.rev == held.rev + 2
    assert set(moved.listings) == {"home", "section:new", "month:2026-11"} | {
        f"author:new-writer-{n}" for n in range(10)
    } | {f"tag:new-{n}" for n in range(20)}
    every = set(held.listings) | set(moved.listings) | {"tag:new-0"}
    counts = counters_agree_with_entries(db, name, every)
    assert counts["home"] == 2 and counts["author:old-writer-0"] == 1 and counts["author:old-writer-5"] == 0
    assert counts["tag:new-0"] == 2 and counts["section:old"] == 1


def test_a_stale_revision_stops_the_first_step_and_changes_nothing(table: tuple[DynamoDBClient, str]) -> None:
    db, name = table
    index = DynamoIndex(db, name)
    before, after = moving()
    assert index.put_article(before, SourceVersion("v1", 1), NOW, None)
    held = index.get_article("mover")
    assert held is not None
    assert index.put_article(before.model_copy(update={"title": "Edited"}), SourceVersion("v2", 2), NOW, held)
    assert not index.put_article(after, SourceVersion("v3", 3), NOW, held)
    kept = index.get_article("mover")
    assert kept is not None and kept.article.title == "Edited" and set(kept.listings) == set(held.listings)
    counters_agree_with_entries(db, name, set(held.listings) | {"tag:new-0", "section:new"})


def test_the_pipeline_keeps_counters_exact_through_a_large_move(
    stack: LocalStack, editor: Editor, tmp_path: Any
) -> None:
    """Through the stack: the two steps each plan their pages, and the site is the full build's."""
    key = "articles/counter-mover.json"
    doc: dict[str, Any] = {
        "title": "A story that changes hands",
        "teaser": "Moved.",
        "authors": [f"Counter Writer {n}" for n in range(10)],
        "tags": [f"counter before {n}" for n in range(20)],
        "section": "counter-before",
        "published_at": "2016-03-01T09:00:00Z",
        "body": "Body.\n",
    }
    editor.put_json(key, doc)
    stack.wait_drained()
    editor.put_json(
        key,
        doc
        | {
            "authors": [f"Counter Author {n}" for n in range(10)],
            "tags": [f"counter after {n}" for n in range(20)],
            "section": "counter-after",
            "published_at": "2026-11-29T09:00:00Z",
        },
    )
    stack.wait_drained()
    assert_site_matches_offline_build(editor, tmp_path)
    actual = editor.site_files()
    assert "authors/counter-writer-3/index.html" not in actual and "tags/counter-after-3/index.html" in actual
    db, name = boto3.client("dynamodb"), stack.stack.refs["IndexTable"]
    listings = DynamoIndex(db, name).listing_ids()
    counters_agree_with_entries(db, name, set(listings) | {"author:counter-writer-3", "tag:counter-before-0"})
    editor.delete(key)
    stack.wait_drained()
