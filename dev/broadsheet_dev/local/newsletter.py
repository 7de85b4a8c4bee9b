"""The newsletter on the local stack: its secret, its sender, its API behind the edge, its mail.

moto's CloudFormation creates the subscribers table with the other tables; what it does not
create is done here, from the same template: a generated secret in moto's Secrets Manager (a
fresh one per run, as moto's data lives only as long as the run), the sender verified in moto's
SES, and the newsletter functions' environment. The edge server hands `/api/` requests to the
same handler the HTTP API invokes on AWS, as an HTTP API (payload 2.0) event, so the form posts
to the site's own origin exactly as it does behind CloudFront.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Mapping
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from urllib.request import urlopen

import boto3

from broadsheet_dev.local.pollers import Handler, LambdaContext, load_handler
from broadsheet_dev.local.stack import Deployed
from broadsheet_dev.local.template import evaluate_conditions, resolve, serverless_functions

API_FUNCTION = "SubscribeFunction"
DIGEST_FUNCTION = "DigestFunction"
API_PREFIX = "/api/"
# The edge reads no more than this of a request body; CloudFront and API Gateway allow more,
# and the function itself refuses anything over its own, much smaller, limit.
MAX_READ = 1 << 20


def prepare(template: Mapping[str, Any], deployed: Deployed) -> dict[str, str]:
    """Create the secret and verify the sender on moto; the newsletter functions' environment."""
    secret = boto3.client("secretsmanager").create_secret(
        Name=f"broadsheet-newsletter-{secrets.token_hex(4)}", SecretString=secrets.token_urlsafe(48)
    )
    refs = {**deployed.refs, "NewsletterSecret": secret["ARN"]}
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
    return environment


class LocalApi:
    """The HTTP API in front of the newsletter function, for the edge server."""

    def __init__(self, root: Path, template: Mapping[str, Any]) -> None:
        function = serverless_functions(template)[API_FUNCTION]
        self.timeout_ms = int(function.get("Timeout", 3)) * 1000
        self.handler: Handler = load_handler(root, str(function["CodeUri"]), str(function["Handler"]))

    def __call__(self, request: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        """Answer one request: status, headers and body."""
        length = int(request.headers.get("Content-Length") or 0)
        if length > MAX_READ:
            return 413, {"Content-Type": "text/plain; charset=utf-8"}, b"Request body too large\n"
        body = request.rfile.read(length) if length else b""
        event = http_event(
            request.command, request.path, dict(request.headers.items()), body, request.client_address[0]
        )
        response = self.handler(event, LambdaContext(API_FUNCTION, timeout_ms=self.timeout_ms))
        headers = {str(k): str(v) for k, v in (response.get("headers") or {}).items()}
        payload = str(response.get("body") or "")
        data = base64.b64decode(payload) if response.get("isBase64Encoded") else payload.encode("utf-8")
        return int(response.get("statusCode", 200)), headers, data


def http_event(
    method: str, raw_path: str, headers: Mapping[str, str], body: bytes, client_ip: str
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload format 2.0) event, as CloudFront's request reaches it."""
    parts = urlsplit(raw_path)
    lowered = {k.lower(): v for k, v in headers.items() if k.lower() != "cloudfront-viewer-address"}
    # CloudFront sets the viewer's address itself; whatever a client sends under that name is dropped.
    lowered["cloudfront-viewer-address"] = f"{client_ip}:0"
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


def captured_mail(endpoint: str) -> list[EmailMessage]:
    """Every mail moto's SES has accepted, oldest first (from the moto server's data dump)."""
    with urlopen(f"{endpoint.rstrip('/')}/moto-api/data.json", timeout=30) as response:  # noqa: S310 - our loopback moto server
        data = json.load(response)
    found: list[EmailMessage] = []
    for kind, entries in sorted(data.get("ses", {}).items()):
        if kind != "RawMessage":
            continue
        for entry in entries:
            raw = str(entry.get("raw_data", ""))
            message = message_from_bytes(raw.encode("utf-8"), policy=policy.default)
            if isinstance(message, EmailMessage):
                found.append(message)
    return found
