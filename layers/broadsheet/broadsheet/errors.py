"""The small error hierarchy the adapters translate into and the processors act on."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One problem with an uploaded file: where it is and what is wrong, in plain words."""

    field: str
    message: str


class BroadsheetError(Exception):
    """Base of every error Broadsheet raises on purpose."""


class ValidationFailed(BroadsheetError):
    """The file is wrong; retrying cannot help. Report it and acknowledge the event."""

    def __init__(self, key: str, errors: list[FieldError]) -> None:
        self.key = key
        self.errors = errors
        summary = "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
        super().__init__(f"{key}: {len(errors)} error(s): {summary}")


class TransientError(BroadsheetError):
    """A dependency failed in a way that may pass; the event must be retried."""


class SkippedKey(BroadsheetError):
    """The key is not something Broadsheet publishes (a foreign prefix, a folder marker)."""
