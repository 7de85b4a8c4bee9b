"""The site bucket: pages with their content digest and render time in the object metadata."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from broadsheet.errors import TransientError
from broadsheet.render.templating import Output
from broadsheet.site import DIGEST_META, RENDERED_META, Stored, check_key, digest

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class S3SiteStore:
    """The site bucket."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self._s3 = client
        self._bucket = bucket

    def stored(self, key: str) -> Stored | None:
        """The stored object's digest and render time (from its metadata), or None if absent."""
        try:
            head = self._s3.head_object(Bucket=self._bucket, Key=check_key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise TransientError(f"site read failed for {key}: {exc}") from exc
        except BotoCoreError as exc:
            raise TransientError(f"site read failed for {key}: {exc}") from exc
        meta = head.get("Metadata", {})
        rendered = meta.get(RENDERED_META, "")
        return Stored(meta.get(DIGEST_META, ""), int(rendered) if rendered.isdigit() else None)

    def put(self, output: Output, rendered_at: int | None = None) -> None:
        """Store a file with its type, cache lifetime, digest and render time."""
        meta = {DIGEST_META: digest(output.body)}
        if rendered_at is not None:
            meta[RENDERED_META] = str(rendered_at)
        try:
            self._s3.put_object(
                Bucket=self._bucket,
                Key=check_key(output.key),
                Body=output.body,
                ContentType=output.content_type,
                CacheControl=output.cache_control,
                Metadata=meta,
            )
        except (ClientError, BotoCoreError) as exc:
            raise TransientError(f"site write failed for {output.key}: {exc}") from exc

    def delete(self, key: str) -> None:
        """Remove an object if present."""
        try:
            self._s3.delete_object(Bucket=self._bucket, Key=check_key(key))
        except (ClientError, BotoCoreError) as exc:
            raise TransientError(f"site delete failed for {key}: {exc}") from exc

    def list_keys(self, prefix: str = "") -> list[str]:
        """Every key in the site bucket (under `prefix`)."""
        found: list[str] = []
        try:
            for page in self._s3.get_paginator("list_objects_v2").paginate(
                Bucket=self._bucket, Prefix=prefix
            ):
                found += [o["Key"] for o in page.get("Contents", [])]
        except (ClientError, BotoCoreError) as exc:
            raise TransientError(f"site listing failed under {prefix!r}: {exc}") from exc
        return sorted(found)

    def etags(self) -> dict[str, str]:
        """Every key in the site bucket and its ETag (unquoted; a single-part PUT's is the MD5 of
        its bytes): what reconcile compares expected pages with, from the listing alone."""
        found: dict[str, str] = {}
        try:
            for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self._bucket):
                found |= {o["Key"]: o.get("ETag", "").strip('"') for o in page.get("Contents", [])}
        except (ClientError, BotoCoreError) as exc:
            raise TransientError(f"site listing failed: {exc}") from exc
        return found

    def read(self, key: str) -> bytes:
        """A stored object's bytes."""
        return self._s3.get_object(Bucket=self._bucket, Key=check_key(key))["Body"].read()
