"""Draft previews: the signed, expiring address a draft is shown at before it is published.

A draft's preview lives at `/preview/<token>/articles/<slug>/`. The token is 48 URL-safe base64
characters: 4 bytes of expiry (seconds since the epoch, big-endian) then the HMAC-SHA256, under
the preview secret, of the slug and that expiry. Without the secret nobody can find or forge an
address; with the expiry in the token, the edge refuses an expired one without the secret.

The expiry comes from the draft itself, never the wall clock: `PREVIEW_LIFETIME` after its
`updated_at` (else its `published_at`). The same content and clock therefore give the same
address in the pipeline and in the offline build, and the token stays stable while the draft
is edited without touching `updated_at`; bumping `updated_at` moves the preview to a new address
and the old one is removed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from datetime import UTC, datetime, timedelta

from broadsheet.contract.models import Article

PREVIEW_PREFIX = "preview/"
PREVIEW_LIFETIME = timedelta(days=7)
TOKEN_LENGTH = 48
_TOKEN = re.compile(r"[A-Za-z0-9_-]{48}")
_EXPIRY_BYTES = 4


def preview_expiry(article: Article) -> datetime:
    """When a draft's preview stops being served."""
    return (article.updated_at or article.published_at) + PREVIEW_LIFETIME


def sign(secret: bytes, slug: str, expires: datetime) -> str:
    """The preview token of `slug` expiring at `expires` (whole seconds)."""
    seconds = int(expires.timestamp())
    stamp = seconds.to_bytes(_EXPIRY_BYTES, "big")
    mac = hmac.new(secret, _message(slug, seconds), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(stamp + mac).decode("ascii")


def token_expiry(token: str) -> datetime | None:
    """The expiry a token carries (unverified), or None if it is not a token's shape."""
    if not _TOKEN.fullmatch(token):
        return None
    try:
        raw = base64.urlsafe_b64decode(token)
    except (binascii.Error, ValueError):
        return None
    return datetime.fromtimestamp(int.from_bytes(raw[:_EXPIRY_BYTES], "big"), UTC)


def verify(secret: bytes, slug: str, token: str, now: datetime) -> bool:
    """Whether `token` was signed for `slug` with `secret` and has not expired at `now`."""
    expires = token_expiry(token)
    if expires is None or expires <= now:
        return False
    return hmac.compare_digest(sign(secret, slug, expires), token)


def preview_path(token: str, slug: str) -> str:
    """The public URL path of a draft's preview."""
    return f"/{PREVIEW_PREFIX}{token}/articles/{slug}/"


def preview_key(token: str, slug: str) -> str:
    """The site-bucket key of a draft's preview."""
    return f"{PREVIEW_PREFIX}{token}/articles/{slug}/index.html"


def parse_preview_key(key: str) -> tuple[str, str] | None:
    """The (token, slug) a site-bucket key of a preview names, or None for any other key."""
    parts = key.split("/")
    if len(parts) != 5 or parts[0] + "/" != PREVIEW_PREFIX or parts[2] != "articles":
        return None
    if parts[4] != "index.html" or not _TOKEN.fullmatch(parts[1]):
        return None
    return parts[1], parts[3]


def _message(slug: str, seconds: int) -> bytes:
    return f"preview\n{slug}\n{seconds}".encode()
