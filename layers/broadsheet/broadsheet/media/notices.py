"""Warnings for a file that was published but shows an image not uploaded yet.

An article (or profile) may arrive before its image: it is published without the image, and a
warning report `reports/<key>.warnings.json` says which images are missing. When an image arrives
(or goes), the media stage brings the warnings of everything that shows it up to date.
"""

from __future__ import annotations

import json
from typing import Protocol

from broadsheet.contract.media import MEDIA, MediaItem

WARNINGS_SUFFIX = ".warnings.json"


class WarningsStore(Protocol):
    """Where warning reports are written."""

    def put_warnings(self, key: str, body: bytes) -> None:
        """Write the warning report for `key`."""

    def clear_warnings(self, key: str) -> None:
        """Remove the warning report for `key`, if there is one."""


class PublishedMedia(Protocol):
    """The index, as far as warnings need it."""

    def get_media(self, names: list[str]) -> dict[str, MediaItem]:
        """The published images among `names`, by name."""


def warnings_key(key: str) -> str:
    """Where the warning report for `key` is written."""
    return f"reports/{key}{WARNINGS_SUFFIX}"


def warnings_body(key: str, missing: list[str]) -> bytes:
    """The warning report of a published file that shows images not uploaded yet."""
    doc = {
        "key": key,
        "valid": True,
        "warnings": [
            {
                "field": "image",
                "message": f"{MEDIA}{name} is not uploaded yet (or could not be published): the "
                "page shows nothing in its place, and shows it as soon as it is",
            }
            for name in missing
        ],
    }
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def sync_warnings(key: str, names: tuple[str, ...], index: PublishedMedia, store: WarningsStore) -> list[str]:
    """Write or clear `key`'s warning report for the images among `names` not published; return them."""
    published = index.get_media(list(names)) if names else {}
    missing = [name for name in names if name not in published]
    if missing:
        store.put_warnings(key, warnings_body(key, missing))
    else:
        store.clear_warnings(key)
    return missing
