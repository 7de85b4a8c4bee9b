"""What the newsletter's one secret is used for: address identities, sealed addresses, signed links.

Every key is derived from the secret with HMAC-SHA256 under its own label, so one secret
(a Secrets Manager value on AWS) serves every purpose without reusing a key across them.

- An address's identity is an HMAC of the normalised address (a blind index): the table is
  keyed by it, so a signup finds its subscriber without storing the address in the clear.
- The address itself is sealed with AES-256-GCM (random nonce, the identity as associated
  data, so a sealed address cannot be moved to another subscriber's item).
- Links carry a token `<purpose>.<identity>.<expiry>.<signature>`: an HMAC over the first three
  parts; it expires, and a confirmation token cannot be used to unsubscribe or the reverse.
  Anyone can send anything as a token, so its shape is checked (ASCII only, every part of its
  exact form and length) before anything else reads it: a malformed token is a `BadToken`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

Purpose = Literal["confirm", "unsubscribe"]
_NONCE = 12
# A token's exact shape: purpose, an identity (hex SHA-256), expiry (epoch seconds) and the
# signature (unpadded base64url of a SHA-256 HMAC, 43 characters). `[0-9]`, not `\d`, so no
# other script's digits pass; fullmatch, so nothing may follow.
_TOKEN = re.compile(r"(confirm|unsubscribe)\.([0-9a-f]{64})\.([0-9]{1,12})\.([A-Za-z0-9_-]{43})")
# The longest well-formed token; anything longer is refused before the pattern reads it.
MAX_TOKEN = len("unsubscribe") + 64 + 12 + 43 + 3


class BadToken(ValueError):
    """A link's token is malformed, forged, for another purpose, or expired."""


@dataclass(frozen=True)
class Link:
    """What a verified token says: who, and for what."""

    purpose: Purpose
    subscriber: str


class NewsletterKeys:
    """The keys derived from the newsletter secret, and what they do."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 32:
            raise ValueError("the newsletter secret must be at least 32 bytes")
        self._identity = _derive(secret, b"address-identity")
        self._seal = AESGCM(_derive(secret, b"address-seal"))
        self._links = _derive(secret, b"link-signature")
        self._clients = _derive(secret, b"client-identity")

    def identity(self, address: str) -> str:
        """The stable, non-reversible id of a normalised address (hex)."""
        return hmac.new(self._identity, address.encode("utf-8"), hashlib.sha256).hexdigest()

    def client(self, ip: str) -> str:
        """A client's id for rate limiting, so the table holds no IP addresses either."""
        return hmac.new(self._clients, ip.encode("utf-8"), hashlib.sha256).hexdigest()[:32]

    def seal(self, address: str, identity: str) -> str:
        """The address encrypted for storage (base64url of nonce and ciphertext)."""
        nonce = os.urandom(_NONCE)
        sealed = self._seal.encrypt(nonce, address.encode("utf-8"), identity.encode("ascii"))
        return base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def unseal(self, sealed: str, identity: str) -> str:
        """The address a `seal` produced for `identity`."""
        raw = base64.urlsafe_b64decode(sealed.encode("ascii"))
        try:
            plain = self._seal.decrypt(raw[:_NONCE], raw[_NONCE:], identity.encode("ascii"))
        except InvalidTag as error:
            raise ValueError("the sealed address does not belong to this subscriber") from error
        return plain.decode("utf-8")

    def token(self, purpose: Purpose, subscriber: str, expires: datetime) -> str:
        """A signed token for a link, valid until `expires`."""
        body = f"{purpose}.{subscriber}.{int(expires.timestamp())}"
        return f"{body}.{self._sign(body)}"

    def verify(self, token: str, purpose: Purpose, now: datetime) -> Link:
        """The link a token stands for; `BadToken` unless genuine, for `purpose` and unexpired."""
        shape = _TOKEN.fullmatch(token) if len(token) <= MAX_TOKEN and token.isascii() else None
        if shape is None:
            raise BadToken("the link is incomplete or damaged")
        claimed, subscriber, expiry, signature = shape.groups()
        if not hmac.compare_digest(self._sign(f"{claimed}.{subscriber}.{expiry}"), signature):
            raise BadToken("the link is not one we sent")
        if claimed != purpose:
            raise BadToken("the link is for something else")
        if int(expiry) < now.timestamp():
            raise BadToken("the link has expired")
        return Link(purpose, subscriber)

    def _sign(self, body: str) -> str:
        digest = hmac.new(self._links, body.encode("ascii"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def _derive(secret: bytes, label: bytes) -> bytes:
    return hmac.new(secret, label, hashlib.sha256).digest()
