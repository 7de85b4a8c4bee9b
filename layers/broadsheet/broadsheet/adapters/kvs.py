"""The CloudFront KeyValueStore the viewer-request function reads its redirects from."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from broadsheet.aliases import AliasStore
from broadsheet.errors import TransientError
from broadsheet.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_cloudfront_keyvaluestore import CloudFrontKeyValueStoreClient

_ATTEMPTS = 5


class KeyValueStoreAliases:
    """The CloudFront KeyValueStore the viewer-request function reads."""

    def __init__(self, client: CloudFrontKeyValueStoreClient, arn: str) -> None:
        self._kvs = client
        self._arn = arn

    def put(self, path: str, target: str) -> None:
        """Redirect `path` to `target`."""
        self._write(lambda etag: self._kvs.put_key(KvsARN=self._arn, Key=path, Value=target, IfMatch=etag))

    def delete(self, path: str) -> None:
        """Stop redirecting `path` (a missing key is fine)."""
        try:
            self._kvs.get_key(KvsARN=self._arn, Key=path)
        except self._kvs.exceptions.ResourceNotFoundException:
            return
        except (ClientError, BotoCoreError) as exc:
            raise TransientError(f"alias store read failed: {exc}") from exc
        self._write(lambda etag: self._kvs.delete_key(KvsARN=self._arn, Key=path, IfMatch=etag))

    def mapping(self) -> dict[str, str]:
        """The whole map, path to target."""
        found: dict[str, str] = {}
        for page in self._kvs.get_paginator("list_keys").paginate(KvsARN=self._arn):
            found |= {item["Key"]: item["Value"] for item in page.get("Items", [])}
        return found

    def _write(self, write: object) -> None:
        # Writes are conditional on the store's ETag; a concurrent writer means read it again.
        for _ in range(_ATTEMPTS):
            try:
                etag = self._kvs.describe_key_value_store(KvsARN=self._arn)["ETag"]
                write(etag)  # type: ignore[operator]
                return
            except self._kvs.exceptions.ConflictException:
                continue
            except (ClientError, BotoCoreError) as exc:
                raise TransientError(f"alias store write failed: {exc}") from exc
        raise TransientError("alias store kept changing")


def alias_store_for(config: Settings, client: Callable[[], CloudFrontKeyValueStoreClient]) -> AliasStore:
    """The deployment's alias store: the KeyValueStore its viewer-request function reads."""
    if not config.alias_store_arn:
        raise ValueError("no alias store: BROADSHEET_ALIAS_STORE_ARN must name the KeyValueStore")
    return KeyValueStoreAliases(client(), config.alias_store_arn)
