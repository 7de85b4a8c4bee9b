"""An article's history in the versioned content bucket, and putting an old version back.

`versions` lists every version of `articles/<slug>.json` (deletions included), newest first;
`describe_change` says what changed between two consecutive versions (fields, body lines);
`attributed` adds who uploaded each version, as the index recorded it from S3's notifications;
`restore` copies an old version over the current object (S3 CopyObject with a VersionId), so the
bucket notifies ingest and the old version is published through the normal pipeline, as any
upload is. Nothing here writes the index or the site.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


@dataclass(frozen=True)
class Version:
    """One version of a content object: a file's bytes, or a deletion."""

    version_id: str
    modified: datetime
    size: int
    latest: bool
    deleted: bool = False
    # Who uploaded it (the notification's principal), if the index recorded it.
    uploaded_by: str = ""

    def line(self, change: str) -> str:
        """The version in one line of `broadsheet history`: `*` marks the current one."""
        mark = "*" if self.latest else " "
        by = self.uploaded_by or "unknown"
        return f"{mark} {self.version_id}  {self.modified.isoformat()}  {self.size:>7} B  by {by}  {change}"


@dataclass(frozen=True)
class Change:
    """What changed from one version of an article file to the next."""

    fields: tuple[str, ...]
    body_added: int
    body_removed: int

    def summary(self) -> str:
        """The change in one line: `title, tags changed; body +3 -1`."""
        parts = [f"{', '.join(self.fields)} changed"] if self.fields else []
        if self.body_added or self.body_removed:
            parts.append(f"body +{self.body_added} -{self.body_removed}")
        return "; ".join(parts) or "no change"


def versions(s3: S3Client, bucket: str, key: str) -> list[Version]:
    """Every version of `key`, deletions included, newest first."""
    found: list[Version] = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=key):
        for item in page.get("Versions", []):
            if item["Key"] == key:
                found.append(Version(item["VersionId"], item["LastModified"], item["Size"], item["IsLatest"]))
        for marker in page.get("DeleteMarkers", []):
            if marker["Key"] == key:
                found.append(
                    Version(marker["VersionId"], marker["LastModified"], 0, marker["IsLatest"], True)
                )
    return sorted(found, key=lambda v: (v.modified, v.latest), reverse=True)


def attributed(found: list[Version], uploads: Mapping[str, str]) -> list[Version]:
    """The versions, each with who uploaded it where `uploads` (version id to principal) says."""
    return [replace(v, uploaded_by=uploads.get(v.version_id, "")) for v in found]


def read_version(s3: S3Client, bucket: str, key: str, version_id: str) -> bytes:
    """The bytes of one version of `key`."""
    return s3.get_object(Bucket=bucket, Key=key, VersionId=version_id)["Body"].read()


def describe_change(before: bytes | None, after: bytes | None) -> Change:
    """What changed between two versions of an article file (None: absent or deleted)."""
    old, new = _fields(before), _fields(after)
    names = sorted((old.keys() | new.keys()) - {"body"})
    changed = tuple(name for name in names if old.get(name) != new.get(name))
    added = removed = 0
    diff = difflib.ndiff(str(old.get("body", "")).splitlines(), str(new.get("body", "")).splitlines())
    for line in diff:
        if line.startswith("+ "):
            added += 1
        elif line.startswith("- "):
            removed += 1
    return Change(changed, added, removed)


def restore(s3: S3Client, bucket: str, key: str, version_id: str) -> str:
    """Make version `version_id` of `key` the current object again; the new version's id."""
    copied = s3.copy_object(
        Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": key, "VersionId": version_id}
    )
    return str(copied.get("VersionId", ""))


def _fields(body: bytes | None) -> dict[str, Any]:
    if body is None:
        return {}
    try:
        loaded = json.loads(body)
    except ValueError:
        return {"body": body.decode("utf-8", errors="replace")}
    return loaded if isinstance(loaded, dict) else {"body": str(loaded)}
