"""The one clock every stage reads: the real time, or the fixed time the settings give."""

from __future__ import annotations

from datetime import UTC, datetime

from broadsheet.settings import Settings


def now(settings: Settings) -> datetime:
    """The current time for publishing decisions (embargo, expiry), timezone-aware."""
    if settings.now:
        return datetime.fromisoformat(settings.now.replace("Z", "+00:00"))
    return datetime.now(UTC)
