"""Waiting on asynchronous work: for a condition, never for a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# How often a condition is looked at again while waiting for it (not a wait for work to finish).
POLL = 0.05


def wait_for(what: str, condition: Callable[[], T], timeout: float = 30.0, poll: float = POLL) -> T:
    """The first truthy value of `condition`, looked at every `poll` seconds; fails the test
    naming `what` if `timeout` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(poll)
