"""The CloudFront KeyValueStore API on loopback: the local stack's alias store.

moto has no KeyValueStore, and the render function's adapter (`KeyValueStoreAliases`) should run
locally as it does on AWS: through boto3, signed with SigV4A, with conditional writes on the
store's ETag. This server answers the five calls the adapter makes, with the service's status
codes, error types and limits (a key of at most 512 bytes, a value of at most 1 KB, 5 MB in all).
The local edge server reads the same map in process, as the viewer-request function reads the
store on CloudFront.

The client puts the ARN's account id in front of the endpoint's host (`<account>.<host>`). The
store's ARN names account `127` and the endpoint host `0.0.1`, so the request goes to
`127.0.0.1`, this server, with no name resolution involved.
"""

from __future__ import annotations

import json
import re
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

ACCOUNT = "127"
ARN = f"arn:aws:cloudfront::{ACCOUNT}:key-value-store/broadsheet-local"
MAX_KEY_BYTES = 512
MAX_VALUE_BYTES = 1024
MAX_TOTAL_BYTES = 5 * 1024 * 1024
_PAGE = 50
_PATH = re.compile(r"^/key-value-stores/(?P<arn>[^/]+)(?P<keys>/keys(?:/(?P<key>.+))?)?$")


class ApiError(Exception):
    """An error answer: HTTP status, the service's error type, a message."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status, self.kind = status, kind


class KeyValueStore:
    """One store's items and ETag, safe to use from the server's threads and the edge."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, str] = {}
        self._version = 0
        self.created = datetime.now(UTC)

    @property
    def etag(self) -> str:
        """The store's current ETag: it changes with every write."""
        return f"KV{self._version:08d}"

    def mapping(self) -> dict[str, str]:
        """A copy of every item."""
        with self._lock:
            return dict(self._items)

    def describe(self) -> tuple[dict[str, Any], str]:
        """The store's description and ETag."""
        with self._lock:
            body = {"KvsARN": ARN, "Created": self.created.timestamp(), "Status": "READY", **self._size()}
            return body, self.etag

    def get(self, key: str) -> dict[str, Any]:
        """One item."""
        with self._lock:
            if key not in self._items:
                raise ApiError(404, "ResourceNotFoundException", f"key {key!r} not found")
            return {"Key": key, "Value": self._items[key], **self._size()}

    def put(self, key: str, value: str, if_match: str) -> tuple[dict[str, Any], str]:
        """Write one item if the store is still at `if_match`."""
        if len(key.encode()) > MAX_KEY_BYTES or not key:
            raise ApiError(400, "ValidationException", "a key is 1 to 512 bytes")
        if len(value.encode()) > MAX_VALUE_BYTES:
            raise ApiError(400, "ValidationException", "a value is at most 1 KB")
        with self._lock:
            self._check(if_match)
            grown = dict(self._items) | {key: value}
            if sum(len(k.encode()) + len(v.encode()) for k, v in grown.items()) > MAX_TOTAL_BYTES:
                raise ApiError(402, "ServiceQuotaExceededException", "the store is limited to 5 MB")
            self._items = grown
            self._version += 1
            return self._size(), self.etag

    def delete(self, key: str, if_match: str) -> tuple[dict[str, Any], str]:
        """Remove one item if the store is still at `if_match`."""
        with self._lock:
            self._check(if_match)
            if key not in self._items:
                raise ApiError(404, "ResourceNotFoundException", f"key {key!r} not found")
            del self._items[key]
            self._version += 1
            return self._size(), self.etag

    def page(self, token: str, limit: int) -> dict[str, Any]:
        """Items in key order, `limit` at a time from `token` on."""
        with self._lock:
            keys = sorted(self._items)
            start = int(token) if token.isdigit() else 0
            chosen = keys[start : start + limit]
            body: dict[str, Any] = {"Items": [{"Key": k, "Value": self._items[k]} for k in chosen]}
            if start + limit < len(keys):
                body["NextToken"] = str(start + limit)
            return body

    def _check(self, if_match: str) -> None:
        if if_match != self.etag:
            raise ApiError(409, "ConflictException", "the store changed since its ETag was read")

    def _size(self) -> dict[str, Any]:
        total = sum(len(k.encode()) + len(v.encode()) for k, v in self._items.items())
        return {"ItemCount": len(self._items), "TotalSizeInBytes": total}


class KeyValueStoreServer:
    """The API on a free loopback port, serving one store."""

    def __init__(self) -> None:
        self.store = KeyValueStore()
        store = self.store

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer("GET")

            def do_PUT(self) -> None:
                self._answer("PUT")

            def do_DELETE(self) -> None:
                self._answer("DELETE")

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class names it
                """Quiet: the stack logs what its functions do."""

            def _answer(self, method: str) -> None:
                url = urlsplit(self.path)
                match = _PATH.match(url.path)
                try:
                    if match is None or unquote(match["arn"]) != ARN:
                        raise ApiError(404, "ResourceNotFoundException", "no such key value store")
                    body, etag = self._call(method, match, parse_qs(url.query))
                except ApiError as err:
                    self._send(err.status, {"message": str(err)}, {"x-amzn-ErrorType": err.kind})
                    return
                self._send(200, body, {"ETag": etag} if etag else {})

            def _call(
                self, method: str, match: re.Match[str], query: dict[str, list[str]]
            ) -> tuple[dict[str, Any], str]:
                key = unquote(match["key"]) if match["key"] else None
                if_match = self.headers.get("If-Match", "")
                if not match["keys"]:
                    return store.describe()
                if key is None:
                    limit = int(query.get("MaxResults", [str(_PAGE)])[0])
                    return store.page(query.get("NextToken", [""])[0], limit), ""
                if method == "GET":
                    return store.get(key), ""
                if method == "PUT":
                    length = int(self.headers.get("Content-Length", "0"))
                    value = json.loads(self.rfile.read(length) or b"{}").get("Value", "")
                    return store.put(key, str(value), if_match)
                return store.delete(key, if_match)

            def _send(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="kvs", daemon=True)

    @property
    def endpoint(self) -> str:
        """The endpoint to give the client: with the ARN's account in front, 127.0.0.1."""
        return f"http://0.0.1:{self._server.server_address[1]}"

    def start(self) -> KeyValueStoreServer:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
