"""Images from `wp-content/uploads`: where each lands under `media/`, and bringing the file over.

An image's address names its file in the uploads folder (`…/wp-content/uploads/2015/12/a.jpg`,
on the site's own host or a CDN's). WordPress links the resized copies it made
(`a-300x200.jpg`); the pipeline makes its own widths, so the original is preferred whenever the
export or the uploads folder has it. The contract takes plain file names under `media/` (no
folders), so the uploads path is flattened with hyphens. Names that are not plain ASCII file
names (spaces, accents, other scripts) get a slug and a short digest of the original, so two
files never share a name.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from broadsheet.contract.fields import slugify

UPLOADS = "/wp-content/uploads/"
MEDIA = "media/"
IMAGE_TYPES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".avif", ".gif"})
_SIZED = re.compile(r"^(?P<stem>.+)-\d+x\d+$")
_PLAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class MediaFile:
    """An uploaded image an article uses: its path in the uploads folder and its content key."""

    upload: str
    key: str


def upload_path(url: str) -> str | None:
    """The file's path inside the uploads folder, or None for an address outside it."""
    path = unquote(urlsplit(url.strip()).path)
    at = path.find(UPLOADS)
    if at == -1:
        return None
    relative = PurePosixPath(path[at + len(UPLOADS) :])
    parts = [part for part in relative.parts if part not in {"", "."}]
    if not parts or ".." in parts:
        return None
    return "/".join(parts)


def is_image(upload: str) -> bool:
    """Whether the pipeline publishes this kind of file as an image."""
    return PurePosixPath(upload).suffix.lower() in IMAGE_TYPES


def original_of(upload: str, known: set[str]) -> str:
    """The full-size original of a resized copy when it is known, else `upload` itself."""
    path = PurePosixPath(upload)
    sized = _SIZED.match(path.stem)
    if sized is None:
        return upload
    original = str(path.with_name(sized.group("stem") + path.suffix))
    return original if original in known else upload


def content_key(upload: str) -> str:
    """The key under `media/` the file is published at: its uploads path flattened into one safe
    file name (the contract takes no folders under media/), `2015/12/a.jpg` as `2015-12-a.jpg`."""
    parts = upload.split("/")
    if all(_PLAIN.fullmatch(part) for part in parts):
        return MEDIA + "-".join(parts)
    path = PurePosixPath(upload)
    digest = hashlib.sha256(upload.encode("utf-8")).hexdigest()[:8]
    folders = [slugify(part) or "folder" for part in parts[:-1]]
    stem = slugify(path.stem)[:80] or "file"
    return MEDIA + "-".join([*folders, f"{stem}-{digest}{path.suffix.lower()}"])


def copy_into(source_root: Path, media: MediaFile, content_dir: Path) -> str:
    """Bring one file over; "written", "updated", "unchanged" or "missing"."""
    root = source_root.resolve()
    source = (root / media.upload).resolve()
    if not source.is_relative_to(root) or not source.is_file():
        return "missing"
    target = content_dir / media.key
    if target.is_file():
        if _same(source, target):
            return "unchanged"
        outcome = "updated"
    else:
        outcome = "written"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return outcome


def _same(a: Path, b: Path) -> bool:
    if a.stat().st_size != b.stat().st_size:
        return False
    return _digest(a) == _digest(b)


def _digest(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
