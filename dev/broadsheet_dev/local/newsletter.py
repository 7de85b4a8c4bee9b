"""The newsletter on the local stack: its secrets, its sender, its API behind the edge, its mail.

moto's CloudFormation creates the subscribers table and the feedback queues with the other
tables and queues; what it does not create is done here, from the same template: generated
secrets in moto's Secrets Manager (the newsletter's keys and the API's origin header; fresh per
run, as moto's data lives only as long as the run), the sender verified and the configuration
set created in moto's SES, and the newsletter functions' environment. The edge server hands
`/api/` requests to the same handler the HTTP API invokes on AWS, as an HTTP API (payload 2.0)
event with the origin headers the distribution adds, so the form posts to the site's own origin
exactly as it does behind CloudFront.

moto's SES keeps mail but reports no bounces or complaints: `feedback_event` writes the event
SES would publish through the configuration set, and `report_feedback` puts it on the feedback
queue, where the suppress function's poller picks it up as on AWS.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit
from urllib.request import urlopen

import boto3

from broadsheet_dev.local.intrinsics import evaluate_conditions, resolve
from broadsheet_dev.local.pollers import Handler, LambdaContext, load_handler
from broadsheet_dev.local.stack import Deployed
from broadsheet_dev.local.template import serverless_functions

API_FUNCTION = "SubscribeFunction"
DIGEST_FUNCTION = "DigestFunction"
API_ORIGIN = "newsletter-api"
FEEDBACK_QUEUE = "MailFeedbackQueue"
API_PREFIX = "/api/"
# A dynamic reference to a secret, as CloudFormation resolves it in the distribution's headers.
_SECRET_REFERENCE = re.compile(r"\{\{resolve:secretsmanager:(.+?):SecretString(?::[^}]*)?\}\}")
Feedback = Literal["permanent", "transient", "complaint"]
# The edge reads no more than this of a request body; CloudFront and API Gateway allow more,
# and the function itself refuses anything over its own, much smaller, limit.
MAX_READ = 1 << 20


@dataclass(frozen=True)
class PreparedNewsletter:
    """What `prepare` made: the newsletter functions' environment and the refs it resolved with."""

    environment: dict[str, str]
    refs: dict[str, str]


def prepare(template: Mapping[str, Any], deployed: Deployed) -> PreparedNewsletter:
    """Create the secrets and the configuration set and verify the sender on moto; the newsletter
    functions' environment."""
    secretsmanager = boto3.client("secretsmanager")
    run = secrets.token_hex(4)
    keys = secretsmanager.create_secret(
        Name=f"broadsheet-newsletter-{run}", SecretString=secrets.token_urlsafe(48)
    )
    origin = secretsmanager.create_secret(Name=f"broadsheet-origin-{run}", SecretString=secrets.token_hex(24))
    configuration_set = f"broadsheet-mail-{run}"
    boto3.client("sesv2").create_configuration_set(ConfigurationSetName=configuration_set)
    refs = {
        **deployed.refs,
        "NewsletterSecret": keys["ARN"],
        "OriginVerifySecret": origin["ARN"],
        "MailConfigurationSet": configuration_set,
    }
    environment: dict[str, str] = {}
    functions = serverless_functions(template)
    conditions = evaluate_conditions(template, refs, deployed.attrs)
    for name in (API_FUNCTION, DIGEST_FUNCTION):
        variables = (functions[name].get("Environment") or {}).get("Variables") or {}
        for key, value in variables.items():
            resolved = resolve(value, refs, deployed.attrs, conditions)
            if resolved not in (None, ""):
                environment[key] = str(resolved)
    boto3.client("ses").verify_email_identity(EmailAddress=environment["BROADSHEET_NEWSLETTER_FROM"])
    return PreparedNewsletter(environment, refs)


def origin_headers(template: Mapping[str, Any], refs: Mapping[str, str]) -> dict[str, str]:
    """The headers the distribution adds to requests for the API origin, secrets resolved."""
    distribution = template["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    origin = next(o for o in distribution["Origins"] if o["Id"] == API_ORIGIN)
    headers: dict[str, str] = {}
    for header in origin.get("OriginCustomHeaders") or []:
        value = str(resolve(header["HeaderValue"], refs, {}))
        reference = _SECRET_REFERENCE.fullmatch(value)
        if reference is not None:
            secret = boto3.client("secretsmanager").get_secret_value(SecretId=reference.group(1))
            value = secret["SecretString"]
        headers[str(header["HeaderName"]).lower()] = value
    return headers


class LocalApi:
    """The HTTP API in front of the newsletter function, for the edge server."""

    def __init__(self, root: Path, template: Mapping[str, Any], refs: Mapping[str, str]) -> None:
        function = serverless_functions(template)[API_FUNCTION]
        self.timeout_ms = int(function.get("Timeout", 3)) * 1000
        self.handler: Handler = load_handler(root, str(function["CodeUri"]), str(function["Handler"]))
        self.origin_headers = origin_headers(template, refs)

    def __call__(self, request: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        """Answer one request: status, headers and body."""
        length = int(request.headers.get("Content-Length") or 0)
        if length > MAX_READ:
            return 413, {"Content-Type": "text/plain; charset=utf-8"}, b"Request body too large\n"
        body = request.rfile.read(length) if length else b""
        event = http_event(
            request.command,
            request.path,
            dict(request.headers.items()),
            body,
            request.client_address[0],
            self.origin_headers,
        )
        response = self.handler(event, LambdaContext(API_FUNCTION, timeout_ms=self.timeout_ms))
        headers = {str(k): str(v) for k, v in (response.get("headers") or {}).items()}
        payload = str(response.get("body") or "")
        data = base64.b64decode(payload) if response.get("isBase64Encoded") else payload.encode("utf-8")
        return int(response.get("statusCode", 200)), headers, data


def http_event(
    method: str,
    raw_path: str,
    headers: Mapping[str, str],
    body: bytes,
    client_ip: str,
    origin: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload format 2.0) event, as CloudFront's request reaches it:
    the viewer's address and the `origin` headers set by the edge, over whatever the client sent."""
    parts = urlsplit(raw_path)
    added = {"cloudfront-viewer-address", *(name.lower() for name in origin or {})}
    lowered = {k.lower(): v for k, v in headers.items() if k.lower() not in added}
    lowered["cloudfront-viewer-address"] = f"{client_ip}:0"
    lowered.update({name.lower(): value for name, value in (origin or {}).items()})
    query: dict[str, str] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        query.setdefault(name, value)
    return {
        "version": "2.0",
        "routeKey": "ANY /api/{proxy+}",
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "headers": lowered,
        "queryStringParameters": query or None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": lowered.get("host", "127.0.0.1"),
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": parts.path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": secrets.token_hex(8),
            "routeKey": "ANY /api/{proxy+}",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "timeEpoch": int(time.time() * 1000),
        },
        "pathParameters": {"proxy": parts.path.removeprefix(API_PREFIX)},
        "body": base64.b64encode(body).decode("ascii"),
        "isBase64Encoded": True,
    }


def _raw_mail(endpoint: str) -> list[dict[str, Any]]:
    """moto's record of every mail its SES has accepted, oldest first (from its data dump)."""
    with urlopen(f"{endpoint.rstrip('/')}/moto-api/data.json", timeout=30) as response:  # noqa: S310 - our loopback moto server
        data = json.load(response)
    return [
        dict(entry)
        for kind, entries in sorted(data.get("ses", {}).items())
        if kind == "RawMessage"
        for entry in entries
    ]


def captured_mail(endpoint: str) -> list[EmailMessage]:
    """Every mail moto's SES has accepted, oldest first."""
    found: list[EmailMessage] = []
    for entry in _raw_mail(endpoint):
        message = message_from_bytes(str(entry.get("raw_data", "")).encode("utf-8"), policy=policy.default)
        if isinstance(message, EmailMessage):
            found.append(message)
    return found


def captured_ids(endpoint: str) -> list[str]:
    """The SES message id of every mail moto's SES has accepted, in `captured_mail`'s order."""
    return [str(entry.get("id", "")) for entry in _raw_mail(endpoint)]


def feedback_event(
    kind: Feedback, address: str, subscriber: str, message_id: str, configuration_set: str, when: datetime
) -> dict[str, Any]:
    """The event SES publishes through the configuration set when a mail bounces or is reported
    (the fields the suppress function and an operator read), tagged as the mailer tagged the mail."""
    stamp = when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    event: dict[str, Any] = {
        "eventType": "Complaint" if kind == "complaint" else "Bounce",
        "mail": {
            "timestamp": stamp,
            "messageId": message_id,
            "destination": [address],
            "tags": {"ses:configuration-set": [configuration_set], "subscriber": [subscriber]},
        },
    }
    feedback_id = secrets.token_hex(16)
    if kind == "complaint":
        event["complaint"] = {
            "complainedRecipients": [{"emailAddress": address}],
            "complaintFeedbackType": "abuse",
            "timestamp": stamp,
            "feedbackId": feedback_id,
        }
    else:
        permanent = kind == "permanent"
        event["bounce"] = {
            "bounceType": "Permanent" if permanent else "Transient",
            "bounceSubType": "General" if permanent else "MailboxFull",
            "bouncedRecipients": [
                {
                    "emailAddress": address,
                    "action": "failed",
                    "status": "5.1.1" if permanent else "4.2.2",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown"
                    if permanent
                    else "smtp; 452 4.2.2 mailbox full",
                }
            ],
            "timestamp": stamp,
            "feedbackId": feedback_id,
        }
    return event


def report_feedback(queue_url: str, event: Mapping[str, Any]) -> None:
    """Put an SES event on the feedback queue, as the topic's raw delivery does on AWS."""
    boto3.client("sqs").send_message(QueueUrl=queue_url, MessageBody=json.dumps(event))
