"""Old article addresses that answer with a 301: the edge's alias store.

On AWS the store is a CloudFront KeyValueStore read by the viewer-request function (key: the
old path, value: the new one). The local stack keeps the same map in memory and its edge
server reads it. Either way the render stage keeps the store in line with the index's alias
items, through the same queue as every page.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Protocol

from broadsheet.pages import AliasPage, article_path

if TYPE_CHECKING:
    pass

_ATTEMPTS = 5


class AliasReader(Protocol):
    """What the index says about an old address."""

    def alias_target(self, old_slug: str) -> str | None:
        """The slug an old address leads to, or None."""


class AliasStore(Protocol):
    """The map the edge answers redirects from."""

    def put(self, path: str, target: str) -> None:
        """Redirect `path` to `target`."""

    def delete(self, path: str) -> None:
        """Stop redirecting `path`."""

    def mapping(self) -> dict[str, str]:
        """The whole map, path to target."""


class MemoryAliases:
    """The alias store of the local stack and the tests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._map: dict[str, str] = {}

    def put(self, path: str, target: str) -> None:
        """Redirect `path` to `target`."""
        with self._lock:
            self._map[path] = target

    def delete(self, path: str) -> None:
        """Stop redirecting `path`."""
        with self._lock:
            self._map.pop(path, None)

    def mapping(self) -> dict[str, str]:
        """A copy of the whole map."""
        with self._lock:
            return dict(self._map)


def sync_alias(page: AliasPage, index: AliasReader, store: AliasStore) -> str | None:
    """Bring the store's entry for an old address in line with the index; return its target."""
    target = index.alias_target(page.slug)
    if target is None or target == page.slug:
        store.delete(page.path)
        return None
    store.put(page.path, article_path(target))
    return article_path(target)
