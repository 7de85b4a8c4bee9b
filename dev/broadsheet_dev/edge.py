"""What CloudFront's viewer-request function does with a request path, in Python.

The function itself is JavaScript, inline in ``template.yaml`` (``ViewerRequestFunction``); this
module mirrors it line for line so the local server answers exactly as the edge does, and
``tests/unit/test_edge.py`` runs both over the same cases.

Aliases come from the CloudFront KeyValueStore: the key is an old page path in its trailing-slash
form (``/articles/old-slug/``), the value the path to send readers to (``/articles/new-slug/``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass

from broadsheet.preview import token_expiry

_SLASH_RUNS = re.compile(r"/{2,}")
# Where an expired or malformed preview address is sent: a key the site never holds (a 404).
NO_PREVIEW = "/preview/expired"


@dataclass(frozen=True)
class EdgeDecision:
    """The answer to one request: a 301 to ``redirect``, or a fetch of ``uri`` from the origin.

    On a redirect nothing is fetched and ``uri`` is the request's path, untouched.
    """

    redirect: str | None
    uri: str


def viewer_request(uri: str, aliases: Mapping[str, str], now: float | None = None) -> EdgeDecision:
    """Decide what the edge does with a request path (no query string), given the alias store
    and the time (seconds since the epoch; the wall clock unless given)."""
    # Same normalisation as the JS: a Location we build must never read as "//host" or "/\host".
    path = _SLASH_RUNS.sub("/", uri.replace("\\", "%5C"))
    last = path[path.rfind("/") + 1 :]

    if path.startswith("/preview/") and _preview_expired(path, time.time() if now is None else now):
        return EdgeDecision(redirect=None, uri=NO_PREVIEW)

    if "." in last:
        return EdgeDecision(redirect=None, uri=path)

    page = path if last == "" else path + "/"
    target = aliases.get(page, "")
    if target and target != page:
        return EdgeDecision(redirect=target, uri=uri)
    if last != "":
        return EdgeDecision(redirect=page, uri=uri)
    return EdgeDecision(redirect=None, uri=path + "index.html")


def _preview_expired(path: str, now: float) -> bool:
    """Whether a preview path's token is malformed or past the expiry it carries."""
    parts = path.split("/")
    expires = token_expiry(parts[2] if len(parts) > 2 else "")
    return expires is None or expires.timestamp() <= now
