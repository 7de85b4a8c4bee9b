"""Aliases: the rule that decides where an old address leads, the check ingest makes, and the
alias store adapters (the KeyValueStore protocol with ETag-conditioned writes, and memory)."""

from __future__ import annotations

import itertools
import re
from datetime import datetime, timedelta

import boto3
import pytest
from botocore.stub import Stubber

from broadsheet.adapters.kvs import KeyValueStoreAliases
from broadsheet.adapters.sqs import MAX_GROUP_ID, message_group
from broadsheet.aliases import sync_alias
from broadsheet.contract.models import Article
from broadsheet.errors import TransientError
from broadsheet.index.memory import MemoryIndex
from broadsheet.ingest import Outcome, ingest_key
from broadsheet.pages import AliasPage, BadPageId, parse_page
from broadsheet.reconcile import alias_drift
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
    # The store holds the target's slug: the edge makes the path (a compact value).
    assert store.mapping() == {"/articles/old/": "new"}
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
    assert index.redirects() == {"/articles/old-claimer/": "claimer"}


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
    assert memory(now, readable).redirects() == {"/articles/its-old-slug/": "not-yet-readable"}


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


# -- old site paths -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "kept"),
    [
        ("/2015/12/21/old-slug/", "/2015/12/21/old-slug/"),
        ("/2015/12/21/old-slug", "/2015/12/21/old-slug/"),
        ("/category/news/old-slug/", "/category/news/old-slug/"),
        ("/archives/123", "/archives/123/"),
        ("/?p=123", "/?p=123"),
        ("/?page_id=42", "/?page_id=42"),
        ("/blog/?p=123", "/blog/?p=123"),
        ("/caf%c3%a9/", "/caf%C3%A9/"),
        ("/café/", "/caf%C3%A9/"),
        ("/Old Story/", "/Old%20Story/"),
        ("/%7Euser/%41bc/", "/~user/Abc/"),
        ("/2015//12///21/x/", "/2015/12/21/x/"),
        ("/articles/old-slug/", "old-slug"),
        ("/articles/old-slug", "old-slug"),
        ("old-slug", "old-slug"),
    ],
)
def test_an_alias_path_is_kept_in_the_form_the_edge_looks_it_up_by(written: str, kept: str) -> None:
    assert make_article("new-slug", aliases=[written]).aliases == [kept]


@pytest.mark.parametrize(
    ("written", "words"),
    [
        ("https://old.example.org/2015/x/", "full web address"),
        ("//old.example.org/x/", "starts with //"),
        ("/a/../b/", ". or .. segment"),
        ("/a/%2E%2E/b/", ". or .. segment"),
        ("/a/./b/", ". or .. segment"),
        ("/a\\b/", "backslash"),
        ("/a/%2F/b/", "encoded slash"),
        ("/a\nb/", "control character"),
        ("/a%0Ab/", "encoded control character"),
        ("/a/#top", "#"),
        ("/a%zz/", "does not start an escape"),
        ("/old/story.html", "ends in a file name"),
        ("/", "home page"),
        ("/?utm_source=x", "only ?p= or ?page_id="),
        ("/?p=123&utm_source=x", "only ?p= or ?page_id="),
        ("/?p=", "must hold an id"),
        ("/?p=1%202", "must hold an id"),
        ("/authors/gevorg-mirzayan/", "this site's own addresses"),
        ("/tags/syria/", "this site's own addresses"),
        ("/page/2/", "this site's own addresses"),
        ("/articles/Old-Slug/", "no article's address"),
        ("/articles/x/y/", "this site's own addresses"),
        ("/" + "a" * 600 + "/", "at most 512"),
        ("/" + "é" * 100 + "/", "at most 512"),
        ("Old Slug", "not a slug (lowercase letters"),
    ],
)
def test_an_alias_that_is_no_old_address_is_refused_saying_why(written: str, words: str) -> None:
    with pytest.raises(ValueError, match=re.escape(words)):
        make_article("new-slug", aliases=[written])


def test_a_path_alias_naming_the_article_itself_is_its_own_slug() -> None:
    with pytest.raises(ValueError, match="own slug"):
        make_article("new-slug", aliases=["/articles/new-slug/"])


def test_two_spellings_of_one_address_are_one_alias_and_refused_as_a_repeat() -> None:
    with pytest.raises(ValueError, match="listed twice"):
        make_article("new-slug", aliases=["/café/", "/caf%C3%A9"])
    with pytest.raises(ValueError, match="listed twice"):
        make_article("new-slug", aliases=["old", "/articles/old/"])


def test_a_path_alias_redirects_by_the_same_rule_as_a_slug(now: datetime) -> None:
    claimers = [
        make_article("later", aliases=["/?p=7", "/2015/old/"], published_at="2016-01-01T00:00:00Z"),
        make_article("earlier", aliases=["/?p=7"], published_at="2015-01-01T00:00:00Z"),
        make_article("hidden", aliases=["/2015/hidden/"], status="draft"),
    ]
    for order in itertools.permutations(claimers):
        index = memory(now, *order)
        assert index.redirects() == {"/2015/old/": "later", "/?p=7": "earlier"}
        assert index.alias_target("/2015/hidden/") is None


def test_an_article_path_alias_is_refused_at_ingest_like_the_slug(
    content: FakeContentStore, index: FakeIndex, now: datetime
) -> None:
    ingest_key(upload(content, "held"), content, index, now)
    key = upload(content, "claimer", aliases=["/2015/old/", "/articles/held/"])
    assert ingest_key(key, content, index, now).outcome is Outcome.REJECTED
    report = content.report(key)
    assert report is not None
    assert [e["field"] for e in report["errors"]] == ["aliases[1]"]


def test_a_path_alias_is_synced_into_the_store_under_its_path(now: datetime) -> None:
    index = memory(now, make_article("new-slug", aliases=["/?p=123", "/2015/12/21/old-slug"]))
    store = MemoryAliases()
    for address in ("/?p=123", "/2015/12/21/old-slug/"):
        assert sync_alias(AliasPage(address), index, store) == "/articles/new-slug/"
    assert (
        store.mapping() == index.redirects() == {"/2015/12/21/old-slug/": "new-slug", "/?p=123": "new-slug"}
    )


@pytest.mark.parametrize("address", ["old", "/?p=123", "/2015/12/21/old-slug/", "/caf%C3%A9/"])
def test_an_alias_page_id_names_its_address_and_reads_back(address: str) -> None:
    page = AliasPage(address)
    assert parse_page(page.id) == page


@pytest.mark.parametrize(
    "page_id", ["alias:Old", "alias:/2015/x", "alias:/café/", "alias:/authors/x/", "alias:"]
)
def test_an_alias_page_id_not_in_normal_form_is_refused(page_id: str) -> None:
    with pytest.raises(BadPageId):
        parse_page(page_id)


def test_reconcile_finds_drift_on_path_aliases_and_on_values_in_the_old_form() -> None:
    targets = {"old": "new", "/?p=1": "new", "/2015/x/": "new"}
    store = {
        "/articles/old/": "/articles/new/",  # written before values were slugs
        "/?p=1": "new",
        "/2015/gone/": "new",  # left over
        "/not a key/": "new",  # no alias could have written it: left alone
    }
    assert alias_drift(targets, store) == sorted(
        [AliasPage("old").id, AliasPage("/2015/x/").id, AliasPage("/2015/gone/").id]
    )


def test_a_long_alias_page_gets_a_message_group_sqs_accepts() -> None:
    long_id = AliasPage("/" + "a" * 500 + "/").id
    group = message_group(long_id)
    assert len(group) <= MAX_GROUP_ID and group != message_group(long_id[:-2] + "b/")
    assert message_group("article:x") == "article:x"


# -- folder entries: an old path ending in the article's own slug ------------------------------


@pytest.mark.parametrize(
    ("written", "kept"),
    [
        ("/2015/12/21/new-slug/", "/2015/12/21/*"),
        ("/2015/12/21/new-slug", "/2015/12/21/*"),
        ("/category/news/new-slug/", "/category/news/*"),
        ("/2015/12/21/*", "/2015/12/21/*"),
        ("/new-slug/", "/new-slug/"),
        ("/2015/12/21/other-slug/", "/2015/12/21/other-slug/"),
        ("/?p=1", "/?p=1"),
    ],
)
def test_an_old_path_ending_in_the_articles_own_slug_is_its_folders_entry(written: str, kept: str) -> None:
    article = make_article("new-slug", aliases=[written])
    assert article.aliases == [kept]
    # Read back from the index (JSON), the normal form stays as it is.
    assert Article.model_validate_json(article.model_dump_json()).aliases == [kept]


@pytest.mark.parametrize("written", ["/*", "/2015/*?p=1"])
def test_a_folder_entry_needs_a_folder_and_no_query(written: str) -> None:
    with pytest.raises(ValueError, match="folder entry"):
        make_article("new-slug", aliases=[written])


def test_a_folder_entry_is_one_store_entry_for_every_live_article_in_it(now: datetime) -> None:
    articles = [
        make_article(f"story-{n}", aliases=[f"/2015/12/21/story-{n}/", f"/?p={n}"], status=status)
        for n, status in enumerate(["published", "published", "draft"])
    ]
    assert memory(now, *articles).redirects() == {
        "/2015/12/21/*": "*",
        "/?p=0": "story-0",
        "/?p=1": "story-1",
    }
    assert memory(now, articles[2]).redirects() == {}
    store = MemoryAliases()
    sync_alias(AliasPage("/2015/12/21/*"), memory(now, *articles), store)
    assert store.mapping() == {"/2015/12/21/*": "*"}
