"""Render requests a stored page already answers are coalesced across batches: the page records
when its render began, and a request SQS received well before that is acknowledged unrendered."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from broadsheet.adapters.sqs import SqsRenderQueue
from broadsheet.site import COALESCE_MARGIN_MS, DIGEST_META, RENDERED_META, digest
from broadsheet_dev.local.runtime import LocalStack
from tests.support import Editor

pytestmark = [pytest.mark.integration]

PAGE, KEY = "404", "404.html"
MARKER = b"<!doctype html><title>written by a later render</title>"


class HeldRenders:
    """Holds the render function's batches that ask for PAGE until released, noting when SQS
    received each request for it."""

    def __init__(self, stack: LocalStack) -> None:
        self.poller = next(p for p in stack.pollers if p.name == "RenderFunction")
        self.working = self.poller.handler
        self.sent: list[int] = []
        self.arrived, self.released = threading.Event(), threading.Event()

    def __enter__(self) -> HeldRenders:
        self.poller.handler = self.handle
        return self

    def __exit__(self, *exc: object) -> None:
        self.released.set()
        self.poller.handler = self.working

    def handle(self, event: dict[str, Any], context: Any) -> Any:
        mine = [r for r in event["Records"] if json.loads(r["body"]).get("page") == PAGE]
        if mine:
            self.sent += [int(r["attributes"]["SentTimestamp"]) for r in mine]
            self.arrived.set()
            assert self.released.wait(timeout=120), "the test never released the batch"
        return self.working(event, context)


@pytest.mark.parametrize(
    ("began_after_sent", "coalesced"),
    [(COALESCE_MARGIN_MS + 1, True), (COALESCE_MARGIN_MS, False), (-60_000, False)],
)
def test_a_request_is_rendered_unless_the_stored_page_began_rendering_after_it_was_sent(
    stack: LocalStack, editor: Editor, began_after_sent: int, coalesced: bool
) -> None:
    s3 = editor.s3
    original = s3.get_object(Bucket=editor.site, Key=KEY)
    kept = original["Body"].read()
    queue = SqsRenderQueue(editor.sqs, stack.stack.queue_url("RenderQueue"))
    try:
        with HeldRenders(stack) as held:
            queue.send([PAGE], cause=f"coalescing-{time.time_ns()}")
            assert held.arrived.wait(timeout=120), "the render request never reached the function"
            # While the request waits in its batch, a render that began `began_after_sent` after
            # SQS received the request writes the page (here: by hand, with the metadata it keeps).
            s3.put_object(
                Bucket=editor.site,
                Key=KEY,
                Body=MARKER,
                ContentType="text/html; charset=utf-8",
                Metadata={DIGEST_META: digest(MARKER), RENDERED_META: str(held.sent[-1] + began_after_sent)},
            )
            held.released.set()
            stack.wait_drained()
        stored = s3.get_object(Bucket=editor.site, Key=KEY)
        body = stored["Body"].read()
        if coalesced:
            assert body == MARKER
            assert stored["Metadata"][RENDERED_META] == str(held.sent[-1] + began_after_sent)
        else:
            assert body == kept
            assert int(stored["Metadata"][RENDERED_META]) >= held.sent[-1]
    finally:
        s3.put_object(
            Bucket=editor.site,
            Key=KEY,
            Body=kept,
            ContentType=original["ContentType"],
            CacheControl=original.get("CacheControl", ""),
            Metadata=original["Metadata"],
        )
