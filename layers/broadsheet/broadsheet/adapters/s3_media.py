"""The site bucket's renditions: written once under their content-hashed names, cached a year."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from broadsheet.contract.media import RENDITION_CACHE
from broadsheet.errors import TransientError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_MISSING = {"404", "NoSuchKey", "NotFound"}


class S3RenditionStore:
    """Renditions in the site bucket."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self._s3 = client
        self._bucket = bucket

    def exists(self, key: str) -> bool:
        """Whether a rendition is already published (its name says what its bytes are)."""
        try:
            self._s3.head_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code", "") in _MISSING:
                return False
            raise TransientError(f"site read failed for {key}: {exc}") from exc
        except BotoCoreError as exc:
            raise TransientError(f"site read failed for {key}: {exc}") from exc
        return True

    def put(self, key: str, body: bytes, content_type: str) -> None:
        """Publish a rendition, immutable."""
        try:
            self._s3.put_object(
                Bucket=self._bucket,
                Key=key,
                Body=body,
                ContentType=content_type,
                CacheControl=RENDITION_CACHE,
            )
        except (ClientError, BotoCoreError) as exc:
            raise TransientError(f"site write failed for {key}: {exc}") from exc
