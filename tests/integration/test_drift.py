"""Every kind of drift reconcile sees and repairs — stale pages, the alias store, lost plans —
and the zero it reports on a clean site; `broadsheet status` and `redrive` over every DLQ."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest

from broadsheet.adapters.sqs import render_message, s3_notification
from broadsheet.reconcile import ReconcileReport
from broadsheet.runtime import render as render_runtime
from broadsheet.runtime.reconcile import run_reconcile, services
from broadsheet_dev.local import commands
from broadsheet_dev.local.runtime import LocalStack
from broadsheet_dev.local.template import load_template
from tests.integration.test_repair import sample
from tests.support import ROOT, Editor, assert_site_matches_offline_build

pytestmark = [pytest.mark.integration]

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def reconcile_until_clean(stack: LocalStack) -> ReconcileReport:
    """Reconcile and let the pipeline repair what it found; then reconcile once more, which must
    find nothing of any kind (a first run that found nothing is that run: it repaired nothing)."""
    first = run_reconcile(services())
    if first.rendered == [] and set(first.drift().values()) <= {0}:
        return first
    stack.wait_drained()
    clean = run_reconcile(services())
    assert clean.drift() == dict.fromkeys(clean.drift(), 0), (clean.hinted, clean.pages, clean.aliases)
    assert clean.rendered == []
    return clean


@contextmanager
def handler_of(stack: LocalStack, function: str, replacement: Callable[[Handler], Handler]) -> Iterator[None]:
    """Run `function` through `replacement(the real handler)` for a while."""
    poller = next(p for p in stack.pollers if p.name == function)
    working = poller.handler
    poller.handler = replacement(working)
    try:
        yield
    finally:
        poller.handler = working


def test_a_lost_render_leaves_a_stale_page_that_reconcile_renders_again(
    stack: LocalStack, editor: Editor, tmp_path: Path
) -> None:
    key = "articles/stale-after-a-lost-render.json"
    # A tag of its own: its first page lists this article whatever else the session's stack holds.
    own = sample("un-at-seventy") | {"tags": ["Lost render"]}
    editor.put_json(key, own | {"title": "Before the lost render"})
    stack.wait_drained()
    reconcile_until_clean(stack)
    lost = {"article:stale-after-a-lost-render", "tag:lost-render:0"}
    dropped: list[str] = []

    def dropping(working: Handler) -> Handler:
        # The renders of two pages are lost (as if dead-lettered and purged): acknowledged, not done.
        def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
            kept = [r for r in event["Records"] if json.loads(r["body"])["page"] not in lost]
            dropped.extend(json.loads(r["body"])["page"] for r in event["Records"] if r not in kept)
            return working({"Records": kept}, context) if kept else {"batchItemFailures": []}

        return handle

    with handler_of(stack, "RenderFunction", dropping):
        editor.put_json(key, own | {"title": "After the lost render"})
        stack.wait_drained()
    assert set(dropped) == lost
    page = editor.site_files()["articles/stale-after-a-lost-render/index.html"]
    assert b"Before the lost render" in page  # old page, new index

    report = run_reconcile(services())
    assert set(report.pages.stale) == lost
    assert (report.pages.missing, report.pages.extra, report.hinted) == ([], [], [])
    assert report.drift()["pages_stale"] == 2
    stack.wait_drained()
    assert b"After the lost render" in editor.site_files()["articles/stale-after-a-lost-render/index.html"]
    assert_site_matches_offline_build(editor, tmp_path)
    reconcile_until_clean(stack)
    editor.delete(key)
    stack.wait_drained()


def test_a_page_made_stale_by_an_index_edit_is_rendered_again(
    stack: LocalStack, editor: Editor, tmp_path: Path
) -> None:
    key = "articles/edited-in-the-index.json"
    editor.put_json(key, sample("un-at-seventy") | {"title": "Indexed title"})
    stack.wait_drained()
    reconcile_until_clean(stack)
    # The article page's bytes replaced by those of an older render, as a render lost before a
    # correction would leave them: ETag and bytes no longer what the index implies.
    s3 = boto3.client("s3")
    site_key = "articles/edited-in-the-index/index.html"
    body = editor.site_files()[site_key].replace(b"Indexed title", b"An older title")
    s3.put_object(Bucket=editor.site, Key=site_key, Body=body, ContentType="text/html")

    report = run_reconcile(services())
    assert report.pages.stale == ["article:edited-in-the-index"]
    stack.wait_drained()
    assert_site_matches_offline_build(editor, tmp_path)
    reconcile_until_clean(stack)
    editor.delete(key)
    stack.wait_drained()


def test_alias_store_drift_is_found_and_repaired(stack: LocalStack, editor: Editor) -> None:
    key = "articles/alias-drift-target.json"
    target = "alias-drift-target"  # the store holds the target's slug
    doc = sample("un-at-seventy") | {"aliases": ["first-old-address", "second-old-address"]}
    editor.put_json(key, doc)
    stack.wait_drained()
    reconcile_until_clean(stack)
    store = render_runtime.services().aliases
    store.delete("/articles/first-old-address/")  # missing
    store.put("/articles/second-old-address/", "/articles/somewhere-else/")  # wrong target
    store.put("/articles/left-over-address/", target)  # left over
    store.put("/2015/old-path/", target)  # left over, an old path

    report = run_reconcile(services())
    assert report.aliases == [
        "alias:/2015/old-path/",
        "alias:first-old-address",
        "alias:left-over-address",
        "alias:second-old-address",
    ]
    assert report.drift()["aliases"] == 4
    stack.wait_drained()
    mapping = services().aliases.mapping()
    assert mapping["/articles/first-old-address/"] == target
    assert mapping["/articles/second-old-address/"] == target
    assert "/articles/left-over-address/" not in mapping
    assert "/2015/old-path/" not in mapping
    reconcile_until_clean(stack)
    editor.delete(key)
    stack.wait_drained()


def test_an_identical_upload_and_a_rejected_file_are_not_sent_to_ingest_again(
    stack: LocalStack, editor: Editor
) -> None:
    good, bad = "articles/uploaded-twice.json", "articles/rejected-every-day.json"
    editor.put_json(good, sample("un-at-seventy") | {"title": "Uploaded twice"})
    stack.wait_drained()
    reconcile_until_clean(stack)
    editor.put_json(good, sample("un-at-seventy") | {"title": "Uploaded twice"})  # a new version
    editor.put(bad, b'{"title": 42}')
    stack.wait_drained()
    current = boto3.client("s3").head_object(Bucket=editor.content, Key=bad)["VersionId"]
    report = editor.report(bad)
    assert report is not None and report["source_version"] == current

    # Nothing drifted: the index holds the same bytes under an older version, and the rejected
    # version is already reported.
    again = run_reconcile(services())
    assert again.drift() == dict.fromkeys(again.drift(), 0), (again.hinted, again.pages)
    # A report written before reports named their version is looked at once more, then never.
    s3 = boto3.client("s3")
    legacy = {k: v for k, v in report.items() if k != "source_version"}
    s3.put_object(Bucket=editor.content, Key=f"reports/{bad}.errors.json", Body=json.dumps(legacy).encode())
    assert run_reconcile(services()).hinted == [bad]
    stack.wait_drained()
    assert run_reconcile(services()).hinted == []
    for key in (good, bad):
        editor.delete(key)
    stack.wait_drained()


def test_status_and_redrive_cover_every_dead_letter_queue(
    stack: LocalStack, editor: Editor, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.json"
    stack.write_state(state)
    queues = stack.stack.queues
    sqs, s3 = boto3.client("sqs"), boto3.client("s3")
    reconcile_until_clean(stack)

    # Plan gives up on the index changes of one article: they end in the plan DLQ.
    planless = "articles/never-planned.json"

    def failing(working: Handler) -> Handler:
        def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
            records = event["Records"]
            at = next((i for i, r in enumerate(records) if "never-planned" in json.dumps(r)), None)
            if at is None:
                return working(event, context)
            if at:
                done = working({"Records": records[:at]}, context)
                if done.get("batchItemFailures"):
                    return done
            return {"batchItemFailures": [{"itemIdentifier": records[at]["dynamodb"]["SequenceNumber"]}]}

        return handle

    with handler_of(stack, "PlanFunction", failing):
        editor.put_json(planless, sample("un-at-seventy") | {"title": "Never planned"})
        stack.wait_drained()
    assert stack.queue_depths()["PlanDLQ"] >= 1
    assert "articles/never-planned/index.html" not in editor.site_files()
    # A change ingest gave up on, and a render the render function gave up on.
    lost = "articles/never-ingested.json"
    notifications = {
        k: v
        for k, v in s3.get_bucket_notification_configuration(Bucket=editor.content).items()
        if k != "ResponseMetadata"
    }
    s3.put_bucket_notification_configuration(Bucket=editor.content, NotificationConfiguration={})
    try:
        editor.put_json(lost, sample("un-at-seventy") | {"title": "Never ingested"})
    finally:
        s3.put_bucket_notification_configuration(
            Bucket=editor.content,
            NotificationConfiguration=notifications,  # type: ignore[arg-type]
        )
    sqs.send_message(
        QueueUrl=queues["IngestDLQ"],
        MessageBody=s3_notification(editor.content, lost, "ObjectCreated:Put"),
    )
    s3.delete_object(Bucket=editor.site, Key="archive/index.html")
    sqs.send_message(
        QueueUrl=queues["RenderDLQ"],
        MessageBody=render_message("archive"),
        MessageGroupId="archive",
        MessageDeduplicationId=uuid.uuid4().hex,
    )

    assert commands.status(state, ROOT) == 0
    shown = capsys.readouterr().out
    for dlq, source in (
        ("IngestDLQ", "IngestQueue"),
        ("PlanDLQ", "PlanFunction"),
        ("RenderDLQ", "RenderQueue"),
    ):
        assert f"{dlq} holds" in shown and source in shown

    assert commands.redrive(state, ROOT) == 0
    stack.wait_drained()
    assert {dlq: stack.queue_depths()[dlq] for dlq in ("IngestDLQ", "PlanDLQ", "RenderDLQ")} == {
        "IngestDLQ": 0,
        "PlanDLQ": 0,
        "RenderDLQ": 0,
    }
    site = editor.site_files()
    assert b"Never planned" in site["articles/never-planned/index.html"]
    assert b"Never ingested" in site["articles/never-ingested/index.html"]
    assert "archive/index.html" in site
    assert_site_matches_offline_build(editor, tmp_path / "build")
    reconcile_until_clean(stack)
    for key in (planless, lost):
        editor.delete(key)
    stack.wait_drained()


def test_dead_letter_queues_come_from_the_template() -> None:
    found = commands.dead_letter_queues(load_template(ROOT / "template.yaml"))
    assert [(d.queue, d.kind, d.source) for d in found] == [
        ("IngestDLQ", "queue", "IngestQueue"),
        ("MailFeedbackDLQ", "queue", "MailFeedbackQueue"),
        ("MediaDLQ", "queue", "MediaQueue"),
        ("PlanDLQ", "stream", "PlanFunction"),
        ("RenderDLQ", "queue", "RenderQueue"),
    ]
