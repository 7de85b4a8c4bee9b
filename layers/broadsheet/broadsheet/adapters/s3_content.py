"""The content bucket: where editors' files are read and reports are written."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from broadsheet.contract.files import MAX_FILE_BYTES, report_key
from broadsheet.errors import TransientError
from broadsheet.media.notices import warnings_key

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_MISSING = {"404", "NoSuchKey", "NotFound", "NoSuchVersion"}
# Files larger than the limit are never read whole: one byte more tells the reader they are too large.
READ_LIMIT = MAX_FILE_BYTES + 1


@dataclass(frozen=True)
class ContentObject:
    """The current version of one content file."""

    key: str
    body: bytes
    version_id: str
    modified_ms: int


@dataclass(frozen=True)
class ObjectVersion:
    """One version of a content-bucket object, as the version listing names it."""

    key: str
    version_id: str
    etag: str
    latest: bool


class ContentStore(Protocol):
    """Read access to editors' files and write access to their reports."""

    def get(self, key: str, limit: int = READ_LIMIT) -> ContentObject | None:
        """The current version of a file (its first `limit` bytes), or None if it does not exist."""

    def current_version(self, key: str) -> str | None:
        """The current version id of a file, or None if it does not exist."""

    def put_report(self, key: str, body: bytes) -> None:
        """Write the error report for `key`."""

    def clear_report(self, key: str) -> None:
        """Remove the error report for `key`, if there is one."""

    def put_warnings(self, key: str, body: bytes) -> None:
        """Write the warning report for `key` (a published file that shows missing images)."""

    def clear_warnings(self, key: str) -> None:
        """Remove the warning report for `key`, if there is one."""

    def keys(self, prefix: str) -> list[str]:
        """Every key under a prefix."""


class S3ContentStore:
    """The content bucket on S3."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self._s3 = client
        self._bucket = bucket

    def get(self, key: str, limit: int = READ_LIMIT) -> ContentObject | None:
        """The current version of a file (its first `limit` bytes), or None if it does not exist."""
        try:
            response = self._s3.get_object(Bucket=self._bucket, Key=key, Range=f"bytes=0-{limit - 1}")
            body = response["Body"].read()
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _MISSING:
                return None
            if code == "InvalidRange":  # a zero-byte object
                return self._empty(key)
            raise TransientError(f"content read failed for {key}: {code}") from exc
        except BotoCoreError as exc:
            raise TransientError(f"content read failed for {key}: {exc}") from exc
        modified = response["LastModified"]
        return ContentObject(key, body, response.get("VersionId") or "null", int(modified.timestamp() * 1000))

    def _empty(self, key: str) -> ContentObject | None:
        head = self._head(key)
        if head is None:
            return None
        return ContentObject(key, b"", head[0], head[1])

    def _head(self, key: str) -> tuple[str, int] | None:
        try:
            response = self._s3.head_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code", "") in _MISSING:
                return None
            raise TransientError(f"content read failed for {key}: {exc}") from exc
        except BotoCoreError as exc:
            raise TransientError(f"content read failed for {key}: {exc}") from exc
        return response.get("VersionId") or "null", int(response["LastModified"].timestamp() * 1000)

    def current_version(self, key: str) -> str | None:
        """The current version id of a file, or None if it does not exist."""
        head = self._head(key)
        return head[0] if head else None

    def put_report(self, key: str, body: bytes) -> None:
        """Write the error report for `key`."""
        try:
            self._s3.put_object(
                Bucket=self._bucket, Key=report_key(key), Body=body, ContentType="application/json"
            )
        except (ClientError, BotoCoreError) as exc:
            raise TransientError(f"report write failed for {key}: {exc}") from exc

    def clear_report(self, key: str) -> None:
        """Remove the error report for `key`, if there is one."""
        self._clear(report_key(key))

    def put_warnings(self, key: str, body: bytes) -> None:
        """Write the warning report for `key` (a published file that shows missing images)."""
        try:
            self._s3.put_object(
                Bucket=self._bucket, Key=warnings_key(key), Body=body, ContentType="application/json"
            )
        except (ClientError, BotoCoreError) as exc:
            raise TransientError(f"warnings write failed for {key}: {exc}") from exc

    def clear_warnings(self, key: str) -> None:
        """Remove the warning report for `key`, if there is one."""
        self._clear(warnings_key(key))

    def _clear(self, report: str) -> None:
        if self._head(report) is None:
            return
        try:
            self._s3.delete_object(Bucket=self._bucket, Key=report)
        except (ClientError, BotoCoreError) as exc:
            raise TransientError(f"report delete failed for {report}: {exc}") from exc

    def versions(self, prefix: str) -> list[ObjectVersion]:
        """Every stored version of every key under a prefix (delete markers left out)."""
        found: list[ObjectVersion] = []
        try:
            for page in self._s3.get_paginator("list_object_versions").paginate(
                Bucket=self._bucket, Prefix=prefix
            ):
                found += [
                    ObjectVersion(
                        v["Key"], v.get("VersionId") or "null", v.get("ETag", ""), bool(v.get("IsLatest"))
                    )
                    for v in page.get("Versions", [])
                ]
        except (ClientError, BotoCoreError) as exc:
            raise TransientError(f"content listing failed under {prefix!r}: {exc}") from exc
        return found

    def keys(self, prefix: str) -> list[str]:
        """Every key under a prefix."""
        found: list[str] = []
        for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self._bucket, Prefix=prefix):
            found += [o["Key"] for o in page.get("Contents", [])]
        return found
