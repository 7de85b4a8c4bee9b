"""Nothing lost: transient faults end in a dead-letter queue and redrive; reconcile repairs drift
made behind the system's back (lost events, pages deleted or edited by hand, stray objects)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from broadsheet.runtime import reconcile as reconcile_runtime
from broadsheet.runtime import render as render_runtime
from broadsheet_dev.local.runtime import LocalStack
from broadsheet_dev.operations import queue_depths, redrive
from tests.support import SAMPLES, Editor, assert_site_matches_offline_build

pytestmark = [pytest.mark.integration]


def sample(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SAMPLES / "articles" / f"{name}.json").read_text())
    return loaded


def test_a_transient_failure_is_retried_then_dead_lettered_and_redriven(
    stack: LocalStack, editor: Editor
) -> None:
    key = "articles/stuck-for-a-while.json"
    ingest = next(p for p in stack.pollers if p.name == "IngestFunction")
    working = ingest.handler
    attempts: list[int] = []

    def failing(event: dict[str, Any], context: Any) -> dict[str, Any]:
        # Every delivery naming the key fails as if DynamoDB were throttling.
        if any("stuck-for-a-while" in record["body"] for record in event["Records"]):
            attempts.append(len(event["Records"]))
            return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}
        result: dict[str, Any] = working(event, context)
        return result

    ingest.handler = failing
    try:
        editor.put_json(key, sample("un-at-seventy") | {"title": "Stuck for a while"})
        stack.wait_drained()
    finally:
        ingest.handler = working
    assert len(attempts) == 5  # the queue's maxReceiveCount
    depths = {d.name: d for d in queue_depths(boto3.client("sqs"), stack.stack.queues)}
    assert depths["IngestDLQ"].waiting == 1
    assert "articles/stuck-for-a-while/index.html" not in editor.site_files()

    queues = stack.stack.queues
    assert redrive(boto3.client("sqs"), queues["IngestDLQ"], queues["IngestQueue"]) == 1
    stack.wait_drained()
    assert "articles/stuck-for-a-while/index.html" in editor.site_files()
    assert stack.queue_depths()["IngestDLQ"] == 0
    editor.delete(key)
    stack.wait_drained()


def test_a_bad_file_is_reported_once_and_never_retried(stack: LocalStack, editor: Editor) -> None:
    key = "articles/reported-once.json"
    editor.put(key, b'{"title": 42}')
    stack.wait_drained()
    versions = (
        boto3.client("s3")
        .list_object_versions(Bucket=editor.content, Prefix=f"reports/{key}.errors.json")
        .get("Versions", [])
    )
    assert len(versions) == 1
    assert stack.queue_depths()["IngestDLQ"] == 0
    editor.delete(key)
    stack.wait_drained()


def test_reconcile_repairs_lost_events_and_hand_edits(
    stack: LocalStack, editor: Editor, tmp_path: Path
) -> None:
    s3 = boto3.client("s3")
    stack.render_static_pages()
    editor.publish_samples()
    stack.wait_drained()

    # Events lost: the bucket stops notifying while two files change.
    notifications = {
        k: v
        for k, v in s3.get_bucket_notification_configuration(Bucket=editor.content).items()
        if k != "ResponseMetadata"
    }
    s3.put_bucket_notification_configuration(Bucket=editor.content, NotificationConfiguration={})
    try:
        editor.put_json(
            "articles/published-while-nobody-listened.json", sample("un-at-seventy") | {"title": "Unheard"}
        )
        editor.put_json(
            "articles/un-at-seventy.json", sample("un-at-seventy") | {"title": "Quietly corrected"}
        )
    finally:
        s3.put_bucket_notification_configuration(
            Bucket=editor.content,
            NotificationConfiguration=notifications,  # type: ignore[arg-type]
        )
    # The site edited behind the system's back.
    s3.delete_object(Bucket=editor.site, Key="articles/review-of-the-week-kerry-putin/index.html")
    s3.delete_object(Bucket=editor.site, Key="authors/gevorg-mirzayan/index.html")
    s3.put_object(Bucket=editor.site, Key="index.html", Body=b"<h1>defaced</h1>", ContentType="text/html")
    s3.put_object(
        Bucket=editor.site, Key="authors/irina-voronova/index.html", Body=b"defaced", ContentType="text/html"
    )
    s3.put_object(Bucket=editor.site, Key="authors/nobody/index.html", Body=b"stale", ContentType="text/html")
    s3.put_object(
        Bucket=editor.site, Key="evil.html", Body=b"<script>alert(1)</script>", ContentType="text/html"
    )
    # The index's listing counters edited by hand: the home page's and a section's wrong (the
    # section's first page rendered with it, so that it links to no older page), an author's gone.
    db, table = boto3.client("dynamodb"), stack.stack.refs["IndexTable"]
    for listing in ("home", "section:security"):
        item = {"pk": {"S": f"count#{listing}"}, "sk": {"S": "count"}, "count": {"N": "1"}}
        db.put_item(TableName=table, Item=item)
    db.delete_item(TableName=table, Key={"pk": {"S": "count#author:gevorg-mirzayan"}, "sk": {"S": "count"}})
    render_runtime.services().render_queue.send(["section:security:0"], cause="test")
    stack.wait_drained()
    assert b'rel="next"' not in editor.site_files()["sections/security/index.html"]
    assert "articles/published-while-nobody-listened/index.html" not in editor.site_files()

    report = reconcile_runtime.run_reconcile(reconcile_runtime.services())
    stack.wait_drained()

    # Files rejected earlier are looked at again too (their report is rewritten); nothing else.
    lost = {"articles/published-while-nobody-listened.json", "articles/un-at-seventy.json"}
    assert lost <= set(report.hinted)
    assert report.deleted == ["evil.html"]
    assert report.recounted == ["author:gevorg-mirzayan", "home", "section:security"]
    # A defaced page lacks the digest the renderer stores, a deleted one is missing, and the stray
    # author page maps to a page that should not exist: all go through the render queue. (The
    # defaced home page may be repaired first by the pipeline: the hinted lost article lands on it
    # while reconcile is still listing the site. Irina Voronova's page no hint touches.)
    assert {
        "author:irina-voronova:0",
        "author:nobody:0",
        "article:review-of-the-week-kerry-putin",
    } <= set(report.rendered)
    assert_site_matches_offline_build(editor, tmp_path)
    # Once repaired, there is nothing left to do: every kind of drift is zero.
    again = reconcile_runtime.run_reconcile(reconcile_runtime.services())
    assert set(again.drift().values()) == {0}, (again.drift(), again.hinted, again.pages, again.aliases)
    assert again.rendered == []
