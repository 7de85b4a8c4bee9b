"""What CloudFront's viewer-request function does with a request path, in Python.

The function itself is JavaScript, inline in ``template.yaml`` (``ViewerRequestFunction``); this
module mirrors it line for line so the local server answers exactly as the edge does, and
``tests/unit/test_edge.py`` runs both over the same cases.

Aliases come from the CloudFront KeyValueStore: the key is an old page path in its trailing-slash
form (``/articles/old-slug/``, ``/2015/12/21/old-slug/``), with the query kept where it names the
page (``/?p=123``); the value is the slug of the article to send readers to (``new-slug``; an
entry written before values were slugs holds its path, ``/articles/new-slug/``).
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
# Query keys that name a page, not a visit (broadsheet.contract.addresses.IDENTITY_QUERY_KEYS).
IDENTITY = ("p", "page_id")
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


@dataclass(frozen=True)
class EdgeDecision:
    """The answer to one request: a 301 to ``redirect``, or a fetch of ``uri`` from the origin.

    On a redirect nothing is fetched and ``uri`` is the request's path, untouched.
    """

    redirect: str | None
    uri: str


def viewer_request(
    uri: str,
    aliases: Mapping[str, str],
    query: Mapping[str, str] | None = None,
    now: float | None = None,
) -> EdgeDecision:
    """Decide what the edge does with a request path, given the alias store, the request's query
    parameters as CloudFront passes them (the first value of each, undecoded) and the time
    (seconds since the epoch; the wall clock unless given)."""
    # Same normalisation as the JS: a Location we build must never read as "//host" or "/\host".
    path = _SLASH_RUNS.sub("/", uri.replace("\\", "%5C"))
    last = path[path.rfind("/") + 1 :]

    if path.startswith("/preview/") and _preview_expired(path, time.time() if now is None else now):
        return EdgeDecision(redirect=None, uri=NO_PREVIEW)

    if "." in last:
        return EdgeDecision(redirect=None, uri=path)

    page = path if last == "" else path + "/"
    query = query or {}
    target = ""
    for name in IDENTITY:
        if not target and query.get(name):
            target = aliases.get(f"{page}?{name}={query[name]}", "")
    if not target:
        target = aliases.get(page, "")
    if not target:
        # A folder entry sends a page under it to the article of the same name.
        cut = page.rfind("/", 0, len(page) - 1)
        name = page[cut + 1 : -1]
        if cut > 0 and _SLUG.fullmatch(name) and aliases.get(page[: cut + 1] + "*", "") == "*":
            target = name
    # A slug (or, in entries written before slugs, the article's path).
    location = ""
    if target and target != "*":
        location = target if target.startswith("/") else f"/articles/{target}/"
    if location and location != page:
        return EdgeDecision(redirect=location, uri=uri)
    if last != "":
        return EdgeDecision(redirect=page, uri=uri)
    return EdgeDecision(redirect=None, uri=path + "index.html")


def _preview_expired(path: str, now: float) -> bool:
    """Whether a preview path's token is malformed or past the expiry it carries."""
    parts = path.split("/")
    expires = token_expiry(parts[2] if len(parts) > 2 else "")
    return expires is None or expires.timestamp() <= now


def query_values(query: str) -> dict[str, str]:
    """A raw query string as CloudFront hands it to the function: the first value of each key,
    not percent-decoded."""
    found: dict[str, str] = {}
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        if name:
            found.setdefault(name, value)
    return found
