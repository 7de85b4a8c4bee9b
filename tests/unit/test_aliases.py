"""Aliases: the rule that decides where an old address leads, the check ingest makes, and the
alias store adapters (the KeyValueStore protocol with ETag-conditioned writes, and memory)."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import boto3
import pytest
from botocore.stub import Stubber

from broadsheet.adapters.kvs import KeyValueStoreAliases
from broadsheet.aliases import sync_alias
from broadsheet.contract.models import Article
from broadsheet.errors import TransientError
from broadsheet.index.memory import MemoryIndex
from broadsheet.ingest import Outcome, ingest_key
from broadsheet.pages import AliasPage
from tests.unit.fakes import FakeContentStore, FakeIndex, MemoryAliases, article_bytes, make_article

ARN = "arn:aws:cloudfront::123456789012:key-value-store/aliases"


class Index:
    def __init__(self, targets: dict[str, str]) -> None:
        self.targets = targets

    def alias_target(self, old_slug: str) -> str | None:
        return self.targets.get(old_slug)


def kvs() -> tuple[KeyValueStoreAliases, Stubber]:
    client = boto3.client(
        "cloudfront-keyvaluestore", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    return KeyValueStoreAliases(client, ARN), Stubber(client)


def describe(etag: str) -> dict[str, object]:
    return {
        "KvsARN": ARN,
        "ItemCount": 1,
        "TotalSizeInBytes": 10,
        "ETag": etag,
        "Created": "2026-01-01T00:00:00Z",
    }


def test_a_put_is_conditioned_on_the_store_etag_and_retried_after_a_conflict() -> None:
    store, stub = kvs()
    stub.add_response("describe_key_value_store", describe("e1"), {"KvsARN": ARN})
    stub.add_client_error("put_key", "ConflictException", http_status_code=409)
    stub.add_response("describe_key_value_store", describe("e2"), {"KvsARN": ARN})
    stub.add_response(
        "put_key",
        {"ItemCount": 1, "TotalSizeInBytes": 10, "ETag": "e3"},
        {"KvsARN": ARN, "Key": "/articles/old/", "Value": "/articles/new/", "IfMatch": "e2"},
    )
    with stub:
        store.put("/articles/old/", "/articles/new/")
    stub.assert_no_pending_responses()


def test_deleting_a_missing_key_is_not_an_error() -> None:
    store, stub = kvs()
    stub.add_client_error("get_key", "ResourceNotFoundException", http_status_code=404)
    with stub:
        store.delete("/articles/old/")
    stub.assert_no_pending_responses()


def test_a_store_that_keeps_changing_is_a_transient_error() -> None:
    store, stub = kvs()
    for n in range(5):
        stub.add_response("describe_key_value_store", describe(f"e{n}"), {"KvsARN": ARN})
        stub.add_client_error("put_key", "ConflictException", http_status_code=409)
    with stub, pytest.raises(TransientError):
        store.put("/articles/old/", "/articles/new/")


def test_sync_follows_the_index_both_ways() -> None:
    store = MemoryAliases()
    assert sync_alias(AliasPage("old"), Index({"old": "new"}), store) == "/articles/new/"
    assert store.mapping() == {"/articles/old/": "/articles/new/"}
    assert sync_alias(AliasPage("old"), Index({}), store) is None
    assert store.mapping() == {}
    # An alias pointing at itself would loop: it is never stored.
    assert sync_alias(AliasPage("same"), Index({"same": "same"}), store) is None
    assert store.mapping() == {}


# -- the rule: where an old address leads, from the indexed articles alone ------------------------

PAST = "2025-06-01T09:00:00Z"
FUTURE = "2026-06-01T09:00:00Z"  # after the settings' clock (2026-01-01): embargoed


def memory(now: datetime, *articles: Article) -> MemoryIndex:
    index = MemoryIndex(now)
    for article in articles:
        index.add_article(article)
    return index


@pytest.mark.parametrize("status", ["published", "draft"])
def test_an_alias_never_takes_another_articles_address(now: datetime, status: str) -> None:
    claimer = make_article("claimer", aliases=["held", "old-claimer"])
    holder = make_article("held", status=status)
    index = memory(now, claimer, holder)
    assert index.alias_target("held") is None
    assert index.alias_target("old-claimer") == "claimer"
    assert index.redirects() == {"/articles/old-claimer/": "/articles/claimer/"}


@pytest.mark.parametrize(
    "fields",
    [
        {"status": "draft"},
        {"published_at": FUTURE},
        {"published_at": PAST, "expires_at": "2025-12-01T00:00:00Z"},
    ],
    ids=["draft", "embargoed", "expired"],
)
def test_only_a_live_articles_aliases_redirect(now: datetime, fields: dict[str, str]) -> None:
    hidden = make_article("not-yet-readable", aliases=["its-old-slug"], **fields)
    assert memory(now, hidden).redirects() == {}
    assert memory(now, hidden).alias_target("its-old-slug") is None
    readable = make_article("not-yet-readable", aliases=["its-old-slug"])
    assert memory(now, readable).redirects() == {"/articles/its-old-slug/": "/articles/not-yet-readable/"}


def test_a_shared_alias_leads_to_the_earliest_published_claimer_in_any_order(now: datetime) -> None:
    claimers = [
        make_article("zeta", aliases=["shared"], published_at="2015-01-01T10:00:00+02:00"),
        # The same instant in another offset: the tie goes to the slug first in order.
        make_article("alpha", aliases=["shared"], published_at="2015-01-01T08:00:00Z"),
        make_article("early-draft", aliases=["shared"], published_at="2014-01-01T00:00:00Z", status="draft"),
        make_article("newer", aliases=["shared"], published_at="2020-01-01T00:00:00Z"),
    ]
    for order in itertools.permutations(claimers):
        assert memory(now, *order).alias_target("shared") == "alpha"
    assert memory(now, *claimers[2:]).alias_target("shared") == "newer"


# -- ingest: refusing a claim on another article's address; never refusing an indexed version ------


def upload(content: FakeContentStore, slug: str, **fields: object) -> str:
    key = f"articles/{slug}.json"
    content.upload(key, article_bytes(slug, **fields))
    return key


@pytest.mark.parametrize("status", ["published", "draft"])
def test_an_upload_naming_another_articles_address_is_refused_and_changes_nothing(
    content: FakeContentStore, index: FakeIndex, now: datetime, status: str
) -> None:
    ingest_key(upload(content, "held", status=status), content, index, now)
    key = upload(content, "claimer", aliases=["old-claimer"])
    assert ingest_key(key, content, index, now).outcome is Outcome.PUBLISHED
    before = (index.get_article("claimer"), index.writes)

    key = upload(content, "claimer", title="Renamed", aliases=["old-claimer", "held"])
    result = ingest_key(key, content, index, now)
    assert result.outcome is Outcome.REJECTED
    report = content.report(key)
    assert report is not None
    assert [e["field"] for e in report["errors"]] == ["aliases[1]"]
    assert "/articles/held/" in report["errors"][0]["message"]
    assert (index.get_article("claimer"), index.writes) == before
    assert index.alias_target("held") is None

    fresh = upload(content, "newcomer", aliases=["held"])
    assert ingest_key(fresh, content, index, now).outcome is Outcome.REJECTED
    assert index.get_article("newcomer") is None


def test_an_article_published_at_an_alias_wins_its_address_and_returns_it_when_deleted(
    content: FakeContentStore, index: FakeIndex, now: datetime
) -> None:
    claimer = upload(content, "claimer", aliases=["taken-later"])
    ingest_key(claimer, content, index, now)
    assert index.alias_target("taken-later") == "claimer"

    holder = upload(content, "taken-later")
    assert ingest_key(holder, content, index, now).outcome is Outcome.PUBLISHED
    assert index.alias_target("taken-later") is None
    # The claimer's file comes back (a duplicate event): the version indexed is not refused.
    assert ingest_key(claimer, content, index, now).outcome is Outcome.UNCHANGED
    assert content.report(claimer) is None

    content.remove(holder)
    ingest_key(holder, content, index, now)
    assert index.alias_target("taken-later") == "claimer"


def test_an_embargoed_articles_aliases_redirect_once_it_is_due_even_past_a_newer_article(
    content: FakeContentStore, index: FakeIndex, now: datetime
) -> None:
    key = upload(content, "embargoed", aliases=["old-one", "taken-meanwhile"], published_at=FUTURE)
    ingest_key(key, content, index, now)
    assert index.alias_target("old-one") is None
    ingest_key(upload(content, "taken-meanwhile"), content, index, now)

    due = datetime.fromisoformat(FUTURE) + timedelta(seconds=1)
    assert ingest_key(key, content, index, due).outcome is Outcome.PUBLISHED
    assert index.alias_target("old-one") == "embargoed"
    assert index.alias_target("taken-meanwhile") is None
    oracle = memory(due, *(held.article for held in index.articles()))
    assert {old: oracle.alias_target(old) for old in ("old-one", "taken-meanwhile")} == {
        "old-one": "embargoed",
        "taken-meanwhile": None,
    }


def test_the_fake_and_the_offline_index_agree_on_every_alias_whatever_the_order(
    content: FakeContentStore, now: datetime
) -> None:
    files = {
        "first": {"aliases": ["shared", "gone"], "published_at": "2015-03-01T00:00:00Z"},
        "second": {"aliases": ["shared"], "published_at": "2015-02-01T00:00:00Z"},
        "third": {"aliases": ["shared"], "status": "draft", "published_at": "2015-01-01T00:00:00Z"},
    }
    expected = memory(now, *(make_article(slug, **fields) for slug, fields in files.items()))
    for order in itertools.permutations(files):
        index = FakeIndex()
        for slug in order:
            assert ingest_key(upload(content, slug, **files[slug]), content, index, now).rejection is None
        assert {old: index.alias_target(old) for old in ("shared", "gone")} == {
            old: expected.alias_target(old) for old in ("shared", "gone")
        }
        assert index.alias_target("shared") == "second"
