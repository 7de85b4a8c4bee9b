"""The render queue: a FIFO queue with one message group per page."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from broadsheet.errors import TransientError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

_BATCH = 10


class RenderRequests(Protocol):
    """Where planned pages go to be rendered."""

    def send(self, page_ids: list[str], cause: str) -> None:
        """Ask for each page to be rendered; `cause` identifies the change that asked."""


def render_message(page_id: str) -> str:
    """The body of a render request."""
    return json.dumps({"page": page_id}, separators=(",", ":"))


class SqsRenderQueue:
    """The FIFO render queue. Grouping by page serialises renders of one page, so an older
    render can never overwrite a newer one. The deduplication id is derived from the page and
    the change that caused it: a retried plan is deduplicated, a new change never is."""

    def __init__(self, client: SQSClient, url: str) -> None:
        self._sqs = client
        self._url = url

    def send(self, page_ids: list[str], cause: str) -> None:
        """Enqueue one render request per page."""
        for start in range(0, len(page_ids), _BATCH):
            chunk = page_ids[start : start + _BATCH]
            entries = [
                {
                    "Id": str(i),
                    "MessageBody": render_message(page),
                    "MessageGroupId": page,
                    "MessageDeduplicationId": hashlib.sha256(f"{page}|{cause}".encode()).hexdigest(),
                }
                for i, page in enumerate(chunk)
            ]
            try:
                response = self._sqs.send_message_batch(QueueUrl=self._url, Entries=entries)  # type: ignore[arg-type]
            except (ClientError, BotoCoreError) as exc:
                raise TransientError(f"render queue send failed: {exc}") from exc
            if response.get("Failed"):
                raise TransientError(f"render queue refused {len(response['Failed'])} message(s)")
