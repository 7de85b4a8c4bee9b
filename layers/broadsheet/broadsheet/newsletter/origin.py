"""What the API may believe about a request: that CloudFront sent it, and which reader it is for.

The HTTP API's own endpoint is public, so anything a request says about itself could be forged
by calling it directly. CloudFront adds a secret header to every request it forwards to the API
origin (the template's `OriginCustomHeaders`, the value from its own Secrets Manager secret);
the function answers only requests that carry it, compared in constant time. Only then is
`CloudFront-Viewer-Address` the reader's address: CloudFront sets that header itself.

Rate limits count per network a reader controls: an IPv4 address, or an IPv6 /64 — the
smallest allocation a subscriber line gets, inside which one device can pick any of 2^64
addresses.
"""

from __future__ import annotations

import hmac
import ipaddress

ORIGIN_HEADER = "X-Origin-Verify"
# The prefix length an IPv6 client is counted by.
IPV6_PREFIX = 64


class OriginGuard:
    """Tells the requests CloudFront forwarded from any other."""

    def __init__(self, secret: str) -> None:
        if len(secret) < 32:
            raise ValueError("the origin secret must be at least 32 characters")
        self._secret = secret.encode("utf-8")

    def admits(self, header: str | None) -> bool:
        """Whether a request's origin header holds the secret (constant time in its content)."""
        given = (header or "").encode("utf-8", errors="replace")
        return hmac.compare_digest(given, self._secret)


def viewer_address(header: str | None) -> str | None:
    """The address in `CloudFront-Viewer-Address` (`198.51.100.10:46532`, `[2001:db8::1]:46532`
    or `2001:db8::1:46532`), or None if there is none to read."""
    if not header:
        return None
    host = header.rpartition(":")[0] if ":" in header else header
    host = host.strip("[]")
    for candidate in (host, header.strip("[]")):
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            continue
    return None


def client_network(address: str) -> str:
    """The network a rate limit counts `address` in: itself for IPv4, its /64 for IPv6.

    An IPv4 address mapped into IPv6 (`::ffff:203.0.113.9`) counts as that IPv4 address;
    text that is no address at all counts as itself (it can only come from our own tests).
    """
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, IPV6_PREFIX), strict=False))
    return str(parsed)
