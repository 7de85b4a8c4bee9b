"""The site as a folder: the offline build's store and writer, and previews."""

from __future__ import annotations

import os
from pathlib import Path

from broadsheet.render.templating import Output
from broadsheet.site import BUILD_MARKER, Change, Stored, UnsafeKey, check_key, digest


class DirSiteStore:
    """A folder holding the site, for the offline build and previews."""

    def __init__(self, root: Path) -> None:
        self._root = root.resolve()

    def _path(self, key: str) -> Path:
        path = (self._root / check_key(key)).resolve()
        if not path.is_relative_to(self._root):
            raise UnsafeKey(key)
        return path

    def stored(self, key: str) -> Stored | None:
        """The stored file's digest, or None if absent (a folder keeps no render times)."""
        path = self._path(key)
        return Stored(digest(path.read_bytes())) if path.is_file() else None

    def put(self, output: Output, rendered_at: int | None = None) -> None:
        """Write a file, creating its folders."""
        path = self._path(output.key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(output.body)

    def delete(self, key: str) -> None:
        """Remove a file if present."""
        self._path(key).unlink(missing_ok=True)

    def list_keys(self, prefix: str = "") -> list[str]:
        """Every file below the root (whose key starts with `prefix`), as keys."""
        return sorted(
            key
            for p in self._root.rglob("*")
            if p.is_file()
            and p.name != BUILD_MARKER
            and (key := p.relative_to(self._root).as_posix()).startswith(prefix)
        )


class FolderWriter:
    """A whole build written into a folder: the folder is walked once, each subfolder created once,
    and a file rewritten only when its bytes differ. Refuses what `DirSiteStore` refuses; if the
    folder holds a symbolic link, every path is resolved and checked as `DirSiteStore` does."""

    def __init__(self, root: Path) -> None:
        self._root = root.resolve()
        self._folders: set[str] = set()
        self._files: set[str] = set()
        self._linked = False
        for folder, subfolders, files in os.walk(self._root):
            relative = os.path.relpath(folder, self._root)
            self._folders.add("" if relative == "." else relative.replace(os.sep, "/"))
            for name in subfolders + files:
                if os.path.islink(os.path.join(folder, name)):
                    self._linked = True
            prefix = "" if relative == "." else relative.replace(os.sep, "/") + "/"
            self._files.update(prefix + name for name in files if name != BUILD_MARKER)

    def keys(self) -> set[str]:
        """Every file the folder held when the writer was made, as keys."""
        return set(self._files)

    def _path(self, key: str) -> str:
        path = os.path.join(self._root, check_key(key))
        if self._linked and not Path(path).resolve().is_relative_to(self._root):
            raise UnsafeKey(key)
        return path

    def write(self, output: Output) -> Change:
        """Write a file unless it already holds exactly these bytes."""
        path = self._path(output.key)
        if output.key in self._files:
            with open(path, "rb") as stored:
                if stored.read() == output.body:
                    return Change.UNCHANGED
        else:
            folder = output.key.rpartition("/")[0]
            if folder not in self._folders:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                self._folders.add(folder)
        with open(path, "wb") as out:
            out.write(output.body)
        return Change.WRITTEN

    def delete(self, key: str) -> None:
        """Remove a file if present."""
        Path(self._path(key)).unlink(missing_ok=True)
