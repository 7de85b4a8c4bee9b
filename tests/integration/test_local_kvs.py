"""The local KeyValueStore answers the render function's adapter as CloudFront's does: SigV4A-signed
calls through boto3, conditional writes on the store's ETag, the service's limits and errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import boto3
import pytest
from botocore.exceptions import ClientError

from broadsheet.adapters.kvs import KeyValueStoreAliases
from broadsheet_dev.local.kvs import ARN, KeyValueStoreServer

if TYPE_CHECKING:
    from mypy_boto3_cloudfront_keyvaluestore import CloudFrontKeyValueStoreClient

pytestmark = [pytest.mark.integration]


@pytest.fixture
def server() -> Iterator[KeyValueStoreServer]:
    kvs = KeyValueStoreServer().start()
    yield kvs
    kvs.stop()


def client(server: KeyValueStoreServer) -> CloudFrontKeyValueStoreClient:
    return boto3.client(
        "cloudfront-keyvaluestore",
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_the_adapter_writes_reads_and_deletes_through_the_api(server: KeyValueStoreServer) -> None:
    aliases = KeyValueStoreAliases(client(server), ARN)
    for n in range(120):  # more than one page of ListKeys
        aliases.put(f"/articles/old-{n:03d}/", f"/articles/new-{n:03d}/")
    assert len(aliases.mapping()) == 120
    assert aliases.mapping() == server.store.mapping()
    aliases.delete("/articles/old-000/")
    aliases.delete("/articles/never-there/")  # a missing key is fine
    assert "/articles/old-000/" not in server.store.mapping()
    assert len(server.store.mapping()) == 119


def test_a_write_against_a_stale_etag_is_a_conflict(server: KeyValueStoreServer) -> None:
    kvs = client(server)
    etag = kvs.describe_key_value_store(KvsARN=ARN)["ETag"]
    kvs.put_key(KvsARN=ARN, Key="/a/", Value="/b/", IfMatch=etag)
    with pytest.raises(kvs.exceptions.ConflictException):
        kvs.put_key(KvsARN=ARN, Key="/c/", Value="/d/", IfMatch=etag)
    assert server.store.mapping() == {"/a/": "/b/"}


def test_the_service_limits_hold(server: KeyValueStoreServer) -> None:
    kvs = client(server)
    etag = kvs.describe_key_value_store(KvsARN=ARN)["ETag"]
    with pytest.raises(ClientError) as long_key:
        kvs.put_key(KvsARN=ARN, Key="/" + "k" * 600, Value="/b/", IfMatch=etag)
    assert long_key.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(kvs.exceptions.ResourceNotFoundException):
        kvs.get_key(KvsARN=ARN, Key="/missing/")
    with pytest.raises(kvs.exceptions.ResourceNotFoundException):
        kvs.describe_key_value_store(KvsARN=ARN.replace("broadsheet-local", "other"))
