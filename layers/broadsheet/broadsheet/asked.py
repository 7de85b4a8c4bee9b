"""Asked pages: a shared page already asked for, and not rendered since, is not asked for again.

During a bulk upload every new article changes the same shared pages (the home page, its feeds,
the sitemaps, its section's and author's first pages). Left alone, every plan batch would queue
one request for each, to be received and answered one by one long after the first render had
answered them all. Instead the planner marks a shared page as asked before it sends the request,
and a plan that finds the mark sends nothing for that page: the request already queued stands for
its changes too. The renderer takes the mark away before it reads the index for the page, so:

- a change planned while the mark is there was committed before the mark is taken, and so before
  the render that takes it reads the index: that render shows it;
- a change planned after the mark is taken finds no mark and sends its own request.

A page found marked is therefore always rendered when its request arrives, never answered by the
stored copy (which may predate the changes that found the mark). A page held through a burst
keeps its mark while it waits: every change of the burst finds it, and the render that ends the
hold shows them all.

Sending without marking is always safe (reconcile, rebuild and the pages past an emptied listing
do). A mark whose request was never sent (the planner failed between the two) would stop later
changes from asking: the planner takes back its marks when sending fails, a plan retried after
a crash finds its own marks (a mark names the plan that made it) and sends again, and a mark
older than `Settings.ask_stale_seconds` counts as absent.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


class AskedPages(Protocol):
    """Where the marks of asked pages are kept."""

    def ask(self, page_ids: Iterable[str], by: str, at: int, stale_before: int) -> set[str]:
        """Mark each page asked by the plan `by` at `at` (seconds since the epoch), unless another
        plan's mark made at or after `stale_before` is there; the pages marked now, whose requests
        the plan must send."""

    def release(self, page_ids: Iterable[str], by: str) -> None:
        """Take back the plan `by`'s marks of these pages (its requests were not sent)."""

    def asked(self, page_ids: Iterable[str]) -> set[str]:
        """The pages among `page_ids` marked as asked, read strongly consistently."""

    def take(self, page_ids: Iterable[str]) -> None:
        """Take the marks of pages about to be rendered (before their index reads)."""


class NoAsks:
    """No marks (the offline build, tests of other stages): every page is always asked for."""

    def ask(self, page_ids: Iterable[str], by: str, at: int, stale_before: int) -> set[str]:
        """Every page must be sent."""
        return set(page_ids)

    def release(self, page_ids: Iterable[str], by: str) -> None:
        """Nothing was marked."""

    def asked(self, page_ids: Iterable[str]) -> set[str]:
        """Nothing is marked."""
        return set()

    def take(self, page_ids: Iterable[str]) -> None:
        """Nothing to take."""
