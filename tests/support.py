"""Helpers the integration and end-to-end tiers share: driving a local stack like an editor."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3

from broadsheet.adapters import clients
from broadsheet.adapters.dynamo import DynamoIndex
from broadsheet.adapters.folder import DirSiteStore
from broadsheet.adapters.sqs import s3_notification
from broadsheet.build import build_site
from broadsheet.contract.files import report_key
from broadsheet.contract.media import SUPERSEDED_TAG
from broadsheet.settings import Settings, settings
from broadsheet_dev.local.runtime import LocalStack, StackOptions, reset_services

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "events" / "content"
BAD = ROOT / "events" / "bad"
# One clock for the pipeline and the offline build it is compared with.
CLOCK = "2026-11-30T12:00:00Z"


def index_shaped_table(db: DynamoDBClient, prefix: str, *, streamed: bool = False) -> tuple[str, str]:
    """A new table keyed as the index table is (`pk`, `sk`), named after `prefix`; its name, and
    its stream's ARN when `streamed` (new and old images, as the index's), else ""."""
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    stream: Any = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    table = db.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
        **({"StreamSpecification": stream} if streamed else {}),
    )["TableDescription"]
    return name, str(table.get("LatestStreamArn", ""))


def indexed() -> DynamoIndex:
    """The running stack's index, as its functions read and write it."""
    return DynamoIndex(clients.dynamodb(), settings().table_name)


def start_stack(page_size: int = 3) -> LocalStack:
    """A local stack on free ports, with a fixed clock and small pages to exercise pagination,
    its static pages (404, stylesheet, robots.txt, sitemap index) already rendered."""
    os.environ["BROADSHEET_NOW"] = CLOCK
    options = StackOptions(
        root=ROOT, site_port=0, aws_port=0, retry_delay=0, parameters={"PageSize": str(page_size)}
    )
    stack = LocalStack(options).start()
    # Every module finds a whole site, whichever worker and order it runs in.
    stack.render_static_pages()
    stack.wait_drained()
    return stack


@contextmanager
def real_clock_stack() -> Iterator[LocalStack]:
    """A stack of its own on the real clock; the process environment is restored after it."""
    saved = dict(os.environ)
    os.environ.pop("BROADSHEET_NOW", None)
    stack = LocalStack(StackOptions(root=ROOT, site_port=0, aws_port=0, retry_delay=0))
    try:
        yield stack.start()
    finally:
        stack.stop()
        os.environ.clear()
        os.environ.update(saved)
        reset_services()


def sample_images() -> list[Path]:
    """The sample photographs (events/content/media), without their licence notes."""
    return sorted(p for p in (SAMPLES / "media").glob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"})


class Editor:
    """An editor's view of a running stack: put, delete, and look at what readers get."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.s3: S3Client = boto3.client("s3")
        self.sqs: SQSClient = boto3.client("sqs")
        self.content = stack.stack.content_bucket
        self.site = stack.stack.site_bucket

    def put(self, key: str, body: bytes) -> None:
        """Upload a file into the content bucket (S3 notifies ingest)."""
        self.s3.put_object(Bucket=self.content, Key=key, Body=body)

    def put_json(self, key: str, doc: dict[str, object]) -> None:
        """Upload a document as JSON."""
        self.put(key, json.dumps(doc).encode())

    def delete(self, key: str) -> None:
        """Delete a file. moto sends no event for deletes on a versioned bucket: send S3's hint."""
        self.s3.delete_object(Bucket=self.content, Key=key)
        self.hint(key, "ObjectRemoved:Delete")

    def hint(self, key: str, event: str = "ObjectCreated:Put") -> None:
        """Deliver one more notification for `key`, as a duplicate or late S3 event would."""
        body = s3_notification(self.content, key, event)
        queue = "MediaQueue" if key.startswith("media/") else "IngestQueue"
        self.sqs.send_message(QueueUrl=self.stack.stack.queue_url(queue), MessageBody=body)

    def publish_samples(self) -> None:
        """Upload every sample article and author profile (not the images: see publish_media)."""
        for path in sorted(SAMPLES.glob("*/*.json")):
            self.put(f"{path.parent.name}/{path.name}", path.read_bytes())

    def publish_media(self) -> None:
        """Upload every sample image."""
        for path in sample_images():
            self.put(f"media/{path.name}", path.read_bytes())

    def superseded_in_site(self) -> set[str]:
        """The site's renditions tagged for the lifecycle rule to delete (kept for a grace period
        after their image was replaced or deleted, for pages cached before the change)."""
        found = set()
        for key in self.site_files():
            if key.startswith("media/"):
                tags = self.s3.get_object_tagging(Bucket=self.site, Key=key)["TagSet"]
                if {"Key": SUPERSEDED_TAG, "Value": "true"} in tags:
                    found.add(key)
        return found

    def site_files(self) -> dict[str, bytes]:
        """Every object of the site bucket, key to bytes."""
        keys = [
            o["Key"]
            for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.site)
            for o in page.get("Contents", [])
        ]
        return {key: self.s3.get_object(Bucket=self.site, Key=key)["Body"].read() for key in keys}

    def site_stamps(self) -> dict[str, str]:
        """Every site object's ETag and modification time: what changes when a page is rewritten."""
        return {
            o["Key"]: f"{o['ETag']}@{o['LastModified'].isoformat()}"
            for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.site)
            for o in page.get("Contents", [])
        }

    def content_files(self) -> dict[str, bytes]:
        """The current objects under articles/, authors/ and media/ of the content bucket."""
        found: dict[str, bytes] = {}
        for prefix in ("articles/", "authors/", "media/"):
            for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.content, Prefix=prefix):
                for o in page.get("Contents", []):
                    found[o["Key"]] = self.s3.get_object(Bucket=self.content, Key=o["Key"])["Body"].read()
        return found

    def offline_build(self, folder: Path) -> dict[str, bytes]:
        """The offline build of the content bucket's current state, with the stack's settings."""
        content = folder / "content"
        for key, body in self.content_files().items():
            path = content / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)
        out = folder / "site"
        build_site(content, out, Settings())
        return {key: (out / key).read_bytes() for key in DirSiteStore(out).list_keys()}

    def report(self, key: str) -> dict[str, object] | None:
        """The error report for `key`, if any."""
        try:
            body = self.s3.get_object(Bucket=self.content, Key=report_key(key))["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None
        loaded: dict[str, object] = json.loads(body)
        return loaded


def assert_site_matches_offline_build(
    editor: Editor, folder: Path, superseded: AbstractSet[str] | None = None
) -> None:
    """The site bucket is byte for byte the offline build of the content bucket, plus the
    renditions tagged superseded (which the build never makes, and the lifecycle rule deletes
    after their grace): exactly `superseded` when given, whatever earlier tests on this stack
    retired otherwise. A rendition the build makes is never tagged."""
    expected, actual = editor.offline_build(folder), editor.site_files()
    retired = editor.superseded_in_site()
    if superseded is not None:
        assert retired == superseded
    assert not retired & expected.keys(), "a rendition the site still uses is tagged superseded"
    assert sorted(actual) == sorted(expected.keys() | retired)
    different = [key for key in expected if actual[key] != expected[key]]
    assert different == [], f"files differ from the offline build: {different[:10]}"
