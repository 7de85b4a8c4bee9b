"""The local edge: serves the site bucket as CloudFront would, on loopback.

Each request goes through the same viewer-request decision as the CloudFront Function
(`broadsheet_dev.edge`), objects come from the site bucket, missing ones get `/404.html` with
status 404, and every response carries the headers of the template's response headers policy.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import boto3
from botocore.exceptions import ClientError

from broadsheet.pages import NOT_FOUND_KEY
from broadsheet_dev.edge import query_values, viewer_request

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class EdgeServer:
    """A threaded HTTP server in front of the site bucket."""

    def __init__(
        self,
        bucket: str,
        headers: Mapping[str, str],
        aliases: Callable[[], Mapping[str, str]],
        port: int = 3000,
    ) -> None:
        s3: S3Client = boto3.client("s3")
        edge = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "broadsheet-edge"
            sys_version = ""

            def do_GET(self) -> None:
                edge.respond(self, s3, head=False)

            def do_HEAD(self) -> None:
                edge.respond(self, s3, head=True)

            def do_POST(self) -> None:
                edge.respond(self, s3, head=False)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        self.bucket = bucket
        self.headers = dict(headers)
        self.aliases = aliases
        # The newsletter API behind `/api/` (CloudFront's second behaviour): request in,
        # status, headers and body out. None serves the site alone.
        self.api: Callable[[BaseHTTPRequestHandler], tuple[int, dict[str, str], bytes]] | None = None
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.port = int(self.httpd.server_address[1])
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="edge", daemon=True)

    @property
    def url(self) -> str:
        """The site's address."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving."""
        self.httpd.shutdown()
        self.httpd.server_close()

    def respond(self, request: BaseHTTPRequestHandler, s3: S3Client, *, head: bool) -> None:
        """Answer one request as the CloudFront distribution would."""
        bucket = self.bucket
        path = urlsplit(request.path).path or "/"
        if self.api is not None and path.startswith("/api/"):
            status, api_headers, api_body = self.api(request)
            self._send(request, status, api_body, api_headers, head)
            return
        if request.command not in ("GET", "HEAD"):
            self._send(request, 405, b"", {"Allow": "GET, HEAD", "Content-Type": "text/plain"}, head)
            return
        decision = viewer_request(path, self.aliases(), query_values(urlsplit(request.path).query))
        if decision.redirect is not None:
            self._send(request, 301, b"", {"Location": decision.redirect, "Content-Type": "text/plain"}, head)
            return
        status, found = 200, self._fetch(s3, bucket, decision.uri.lstrip("/"))
        if found is None:
            status, found = 404, self._fetch(s3, bucket, NOT_FOUND_KEY)
        if found is None:
            self._send(request, 404, b"Not found\n", {"Content-Type": "text/plain; charset=utf-8"}, head)
            return
        body, headers = found
        self._send(request, status, body, headers, head)

    @staticmethod
    def _fetch(s3: S3Client, bucket: str, key: str) -> tuple[bytes, dict[str, str]] | None:
        if not key or key.endswith("/"):
            return None
        try:
            response = s3.get_object(Bucket=bucket, Key=key)
        except ClientError:
            return None
        headers = {"Content-Type": response.get("ContentType", "application/octet-stream")}
        if response.get("CacheControl"):
            headers["Cache-Control"] = response["CacheControl"]
        if response.get("ETag"):
            headers["ETag"] = response["ETag"]
        return response["Body"].read(), headers

    def _send(
        self,
        request: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        headers: Mapping[str, str],
        head: bool,
    ) -> None:
        request.send_response(status)
        for name, value in {**headers, **self.headers}.items():
            request.send_header(name, value)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        if not head:
            request.wfile.write(body)
