"""The alias store adapters: the KeyValueStore protocol (ETag-conditioned writes) and memory."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from broadsheet.adapters.kvs import KeyValueStoreAliases
from broadsheet.aliases import MemoryAliases, sync_alias
from broadsheet.errors import TransientError
from broadsheet.pages import AliasPage

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
