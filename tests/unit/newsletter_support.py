"""What the newsletter's unit tests share: the subscribers table on moto in this process, a mail
recorder, and the newsletter API called with HTTP API events as CloudFront forwards them."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote

import boto3
from moto import mock_aws

from broadsheet.adapters.dynamo import DynamoIndex
from broadsheet.newsletter import api
from broadsheet.newsletter.keys import NewsletterKeys
from broadsheet.newsletter.mail import MailRefused
from broadsheet.newsletter.services import NewsletterServices
from broadsheet.newsletter.signup import Newsletter
from broadsheet.newsletter.store import DynamoSubscribers
from broadsheet.settings import Settings
from broadsheet_dev.local.pollers import LambdaContext

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext as AwsLambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient

SECRET = b"k" * 48
ORIGIN_SECRET = "origin-secret-" + "s" * 34
CONFIG = Settings(
    site_url="https://news.example.com", site_name="The Paper", newsletter_from="news@example.com"
)
URLENCODED = "application/x-www-form-urlencoded"
BOUNDARY = "----broadsheetBoundary7MA4YWxkTrZu0gW"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


class Crash(BaseException):
    """The process dying: not an Exception, so nothing in the digest catches it."""


class Recorder:
    """A mailer that keeps what it is given; can refuse, or crash before or after sending."""

    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []
        self.subscribers: list[str] = []
        self.crash_after: int | None = None
        self.refuse: set[str] = set()

    def send(self, message: EmailMessage, *, subscriber: str) -> None:
        """Keep the message and who it is for, unless told to refuse or crash."""
        if str(message["To"]) in self.refuse:
            raise MailRefused("address rejected")
        if self.crash_after is not None and len(self.sent) >= self.crash_after:
            raise Crash
        self.sent.append(message)
        self.subscribers.append(subscriber)

    def to(self, address: str) -> list[EmailMessage]:
        """The messages sent to `address`."""
        return [m for m in self.sent if m["To"] == address]


@contextmanager
def subscribers_table() -> Iterator[DynamoDBClient]:
    """A `subscribers` table on moto in this process, with a client that reaches only it."""
    # Everything explicit, so a local stack sharing this process keeps its environment, and its
    # clients (pointed at the moto server on loopback) never meet this in-process mock.
    with mock_aws():
        client: DynamoDBClient = boto3.client(
            "dynamodb",
            region_name="us-east-1",
            endpoint_url="https://dynamodb.us-east-1.amazonaws.com",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            aws_session_token="testing",
        )
        client.create_table(
            TableName="subscribers",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


def token_in(message: EmailMessage, purpose: str) -> str:
    """The token of the first link for `purpose` in a mail's text part."""
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    text = str(body.get_content())
    start = text.index(f"/api/{purpose}?token=") + len(f"/api/{purpose}?token=")
    return text[start:].split(maxsplit=1)[0]


def services(dynamodb: DynamoDBClient, mailer: Recorder) -> NewsletterServices:
    """The newsletter's services over the table and the recorder (no index: the API reads none)."""
    keys = NewsletterKeys(SECRET)
    store = DynamoSubscribers(dynamodb, "subscribers")
    return NewsletterServices(
        settings=CONFIG,
        index=DynamoIndex(dynamodb, "unused-index"),
        store=store,
        keys=keys,
        mailer=mailer,
        flow=Newsletter(CONFIG, store, keys, mailer),
    )


def multipart(fields: dict[str, bytes], boundary: str = BOUNDARY) -> bytes:
    """A multipart/form-data body, as a browser or a mail client sends it."""
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value + b"\r\n"
        for name, value in fields.items()
    ]
    return b"".join(parts) + f"--{boundary}--\r\n".encode()


@dataclass(frozen=True)
class Answer:
    """What the API answered."""

    status: int
    headers: dict[str, str]
    body: str


def http_event(
    method: str,
    path: str,
    *,
    query: dict[str, str] | None = None,
    body: bytes | str = b"",
    content_type: str | None = URLENCODED,
    origin: str | None = ORIGIN_SECRET,
    viewer: str | None = "203.0.113.9:46532",
    base64_encoded: bool = True,
) -> dict[str, Any]:
    """An HTTP API (payload 2.0) event as CloudFront forwards it: origin header, viewer address."""
    headers = {"host": "abc123.execute-api.us-east-1.amazonaws.com", "user-agent": "test"}
    if content_type is not None:
        headers["content-type"] = content_type
    if origin is not None:
        headers["x-origin-verify"] = origin
    if viewer is not None:
        headers["cloudfront-viewer-address"] = viewer
    if isinstance(body, bytes):
        payload = base64.b64encode(body).decode("ascii") if base64_encoded else body.decode("latin-1")
    else:
        payload = body
    raw_query = "&".join(
        f"{quote(k)}={quote(v.encode('utf-8', 'surrogatepass'))}" for k, v in (query or {}).items()
    )
    return {
        "version": "2.0",
        "routeKey": "ANY /api/{proxy+}",
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": headers,
        "queryStringParameters": query or None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": headers["host"],
            "domainPrefix": "abc123",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "130.176.0.1",
                "userAgent": "test",
            },
            "requestId": "request",
            "routeKey": "ANY /api/{proxy+}",
            "stage": "$default",
            "time": "01/Dec/2026:09:00:00 +0000",
            "timeEpoch": 1796115600000,
        },
        "pathParameters": {"proxy": path.removeprefix("/api/")},
        "body": payload,
        "isBase64Encoded": base64_encoded,
    }


def call(event: dict[str, Any]) -> Answer:
    """Route one event through the API, as the subscribe function does."""
    # A round trip through JSON, as Lambda delivers the event (surrogates pass as escapes).
    delivered = json.loads(json.dumps(event))
    response = api.app.resolve(delivered, cast("AwsLambdaContext", LambdaContext("SubscribeFunction")))
    body = str(response.get("body") or "")
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8")
    headers = {str(k).lower(): str(v) for k, v in (response.get("headers") or {}).items()}
    return Answer(int(response["statusCode"]), headers, body)
