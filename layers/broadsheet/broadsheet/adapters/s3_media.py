"""The site bucket's renditions: written once under their content-hashed names, cached a year;
tagged `superseded=true` once no published image names them, for the lifecycle rule to delete.

Tagging copies the object onto itself: S3 counts a lifecycle rule's days from an object's last
write, so the grace period starts when the rendition is retired, not when it was first published.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from broadsheet.contract.media import MIME, RENDITION_CACHE, SUPERSEDED_TAG
from broadsheet.errors import TransientError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_MISSING = {"404", "NoSuchKey", "NotFound"}


def _missing(exc: ClientError) -> bool:
    """Whether S3 answered that the object is not there."""
    return exc.response.get("Error", {}).get("Code", "") in _MISSING


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
            if _missing(exc):
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

    def supersede(self, keys: list[str]) -> None:
        """Tag renditions no published image names: the site bucket's lifecycle rule deletes
        them after the grace period, counted from now. Keys already gone are passed over."""
        for key in keys:
            self._retag(key, f"{SUPERSEDED_TAG}=true")

    def restore(self, keys: list[str]) -> None:
        """Clear the tag of renditions a published image names again (the same bytes uploaded
        anew, or under another name), so that the lifecycle rule leaves them."""
        for key in sorted(self.superseded(keys)):
            self._retag(key, "")

    def superseded(self, keys: list[str]) -> set[str]:
        """Those of `keys` that are tagged superseded."""
        found: set[str] = set()
        for key in keys:
            try:
                tags = self._s3.get_object_tagging(Bucket=self._bucket, Key=key)["TagSet"]
            except ClientError as exc:
                if _missing(exc):
                    continue
                raise TransientError(f"site read failed for {key}: {exc}") from exc
            except BotoCoreError as exc:
                raise TransientError(f"site read failed for {key}: {exc}") from exc
            if any(t["Key"] == SUPERSEDED_TAG and t["Value"] == "true" for t in tags):
                found.add(key)
        return found

    def _retag(self, key: str, tagging: str) -> None:
        extension = key.rpartition(".")[2]
        try:
            self._s3.copy_object(
                Bucket=self._bucket,
                Key=key,
                CopySource={"Bucket": self._bucket, "Key": key},
                MetadataDirective="REPLACE",
                ContentType=MIME.get(extension, "application/octet-stream"),
                CacheControl=RENDITION_CACHE,
                Metadata={SUPERSEDED_TAG: "true"} if tagging else {},
                TaggingDirective="REPLACE",
                Tagging=tagging,
            )
        except ClientError as exc:
            if _missing(exc):
                return
            raise TransientError(f"site write failed for {key}: {exc}") from exc
        except BotoCoreError as exc:
            raise TransientError(f"site write failed for {key}: {exc}") from exc
