"""The newsletter's data: a signup as a reader submits it, and a subscriber as the table holds it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# The longest address SMTP can carry (RFC 5321: a 254-character path), and its local part.
MAX_ADDRESS = 254
MAX_LOCAL = 64
# Deliberately plain: an ASCII local part of the characters RFC 5322 allows unquoted, one @, a
# dotted domain of letters, digits and hyphens (browsers' type=email fields send punycode).
_ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)

# The SES message tag naming the subscriber a mail went to. SES hands a mail's tags back with
# its bounce and complaint events, so the suppress function finds the subscriber without the
# newsletter secret (the tag is the subscriber's id, an HMAC, never the address).
SUBSCRIBER_TAG = "subscriber"


# Suppressed: a mail to the address bounced for good or was reported as spam; never mailed again.
Status = Literal["pending", "confirmed", "suppressed"]


class Signup(BaseModel):
    """What the signup form posts: an address, and a trap field people leave empty."""

    model_config = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True)

    email: Annotated[str, Field(min_length=1, max_length=MAX_ADDRESS)]
    website: Annotated[str, Field(max_length=MAX_ADDRESS)] = ""

    @field_validator("email")
    @classmethod
    def _address(cls, value: str) -> str:
        local, _, _ = value.partition("@")
        if not _ADDRESS.fullmatch(value) or len(local) > MAX_LOCAL or ".." in value:
            raise ValueError("Please enter an email address like name@example.com.")
        return normalise(value)

    @property
    def is_robot(self) -> bool:
        """Whether the trap field was filled in, as only robots do."""
        return bool(self.website)


def normalise(address: str) -> str:
    """One spelling per mailbox, so the same address twice is the same subscriber."""
    return address.strip().lower()


@dataclass(frozen=True)
class Subscriber:
    """A subscriber as stored: an identity, the sealed address, and where they are in the flow."""

    id: str
    sealed: str
    status: Status
    created: datetime
    # When the last confirmation mail went out (the cool-down runs from here).
    mailed: datetime
    # Articles published after this are due to a confirmed subscriber (moved on by each digest).
    since: datetime | None = None
    # When an unconfirmed signup lapses (the table's TTL removes it some time after).
    expires: datetime | None = None

    def active(self, now: datetime) -> bool:
        """Whether the signup still counts: confirmed, or pending and not yet lapsed."""
        return self.status == "confirmed" or (self.expires is not None and self.expires > now)
