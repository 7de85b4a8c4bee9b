"""The curated top of a front (the home page, a section's first page): the stories editors pinned.

An editor pins a story by giving it `featured` ("lead" or "top") and, if the pin should lift by
itself, `pinned_until`. The index keeps a front's pinned stories in a list of their own
(`broadsheet.pages.pinned_list`), newest published first. The lead is the most recently published
story pinned as "lead"; any other story pinned as "lead" meanwhile joins the top stories, so two
editors claiming the lead never make the page depend on the order their files arrived in. At most
`TOP_STORIES` top stories are shown, the most recently published first; the others wait for a
place. The river below leaves out the stories shown above it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from broadsheet.contract.media import MediaItem
from broadsheet.index.entries import Entry
from broadsheet.index.ports import IndexReader
from broadsheet.pages import FRONT_KINDS, Listing, pinned_list
from broadsheet.render.pictures import COLUMN_SIZES, picture

TOP_STORIES = 4
# How many pinned stories a front reads: enough that a lead pinned among many tops is found.
_READ = 50


def pinned_entries(listing: Listing, index: IndexReader) -> tuple[Entry | None, list[Entry]]:
    """The lead story and the top stories a listing's first page shows above its river."""
    if listing.kind not in FRONT_KINDS:
        return None, []
    pinned = index.newest(pinned_list(listing), _READ).entries
    lead = next((e for e in pinned if e.featured == "lead"), None)
    tops = [e for e in pinned if e is not lead][:TOP_STORIES]
    return lead, tops


def front_view(
    lead: Entry | None,
    tops: list[Entry],
    media: dict[str, MediaItem],
    item_view: Callable[[Entry, dict[str, MediaItem]], dict[str, Any]],
) -> dict[str, Any] | None:
    """What the template shows of a front's pinned stories, or None when nothing is pinned."""
    if lead is None and not tops:
        return None
    lead_view = None
    if lead is not None:
        lead_view = item_view(lead, {})
        shown = media.get(lead.image) if lead.image else None
        # Beside its own linked headline the photograph adds nothing a reader needs: no alt text.
        lead_view["picture"] = (
            picture(shown, "", COLUMN_SIZES, lead=True, css_class="lead-picture") if shown else None
        )
    return {"lead": lead_view, "top": [item_view(e, media) for e in tops]}
