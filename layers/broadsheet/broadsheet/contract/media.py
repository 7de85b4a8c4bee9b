"""Images: the names editors give them, and what the index records of each once it is published.

An editor uploads `media/<file>` to the content bucket and refers to it as `media/<file>` in an
article's `image`, an author's `portrait`, or a body's `![alt](media/<file>)`. The pipeline
publishes it as renditions under content-hashed names, `media/<hash>/<width>.<format>` in the site.
This module holds no imaging code: pages render from `MediaItem`s without the imaging library.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MEDIA = "media/"
# The formats editors upload, by file extension, and the decoder that must recognise the bytes.
UPLOAD_FORMATS = {
    "jpg": "JPEG",
    "jpeg": "JPEG",
    "png": "PNG",
    "webp": "WEBP",
    "avif": "AVIF",
    "gif": "GIF",
}
MAX_MEDIA_NAME = 200
MEDIA_NAME_PATTERN = (
    r"^[A-Za-z0-9][A-Za-z0-9._-]{0,190}\.(?:[Jj][Pp][Ee]?[Gg]|[Pp][Nn][Gg]|"
    r"[Ww][Ee][Bb][Pp]|[Aa][Vv][Ii][Ff]|[Gg][Ii][Ff])$"
)
MEDIA_NAME_RE = re.compile(MEDIA_NAME_PATTERN)
MEDIA_SRC_PATTERN = "^media/" + MEDIA_NAME_PATTERN[1:]
# The widths a picture is published at, never wider than its original; og:image asks for 1,200.
WIDTHS = (320, 640, 960, 1280, 1600)
OG_MIN_WIDTH = 1200
# Modern formats first: a browser takes the first <source> it can show; JPEG is the fallback.
FORMATS = ("avif", "webp", "jpg")
MIME = {"avif": "image/avif", "webp": "image/webp", "jpg": "image/jpeg"}
# A rendition's name carries the hash of its original: its bytes never change, caches keep it a year.
RENDITION_CACHE = "public, max-age=31536000, immutable"
# Renditions no published image names any more are tagged so, and a lifecycle rule on the site
# bucket (template.yaml) deletes them this many days after: pages, feeds and crawlers that cached
# them meanwhile still find them (HTML is cached for seconds, feeds for minutes).
SUPERSEDED_TAG = "superseded"
SUPERSEDED_GRACE_DAYS = 7
# Search engines take an article's image in three shapes (Google: 16x9, 4x3 and 1x1, each of at
# least 50,000 pixels): centre crops, as JPEG, 1,200 px wide or as wide as the original allows.
CROP_RATIOS = ((16, 9), (4, 3), (1, 1))
CROP_WIDTH = 1200
MIN_CROP_PIXELS = 50_000


def media_problem(name: str) -> str | None:
    """Why `name` (the part after `media/`) cannot name an image, or None if it can."""
    extension = name.rpartition(".")[2].lower() if "." in name else ""
    if extension == "svg":
        return "SVG files are not accepted: they can carry script; export the image as PNG, JPEG or WebP"
    if extension not in UPLOAD_FORMATS:
        return "must be a JPEG, PNG, WebP, AVIF or GIF file (.jpg, .jpeg, .png, .webp, .avif, .gif)"
    if len(name) > MAX_MEDIA_NAME or not MEDIA_NAME_RE.fullmatch(name):
        return (
            f'"{name[:80]}" is not a usable file name: use letters, digits, hyphens, underscores '
            f'and dots (no spaces, no folders), at most {MAX_MEDIA_NAME} characters, like "kremlin-2015.jpg"'
        )
    return None


def media_name(src: str) -> str | None:
    """The media name a `media/<file>` reference names, or None if `src` is not such a reference."""
    if not src.startswith(MEDIA):
        return None
    name = src[len(MEDIA) :]
    return name if media_problem(name) is None else None


@dataclass(frozen=True)
class MediaItem:
    """A published image as the index records it: enough to write `srcset` without reading S3."""

    name: str
    hash: str
    width: int
    height: int
    widths: tuple[int, ...]
    formats: tuple[str, ...]
    # The centre crops published for structured data, (width, height); none for images indexed
    # before crops were made, or too small to give any.
    crops: tuple[tuple[int, int], ...] = ()

    def key(self, width: int, fmt: str) -> str:
        """The site-bucket key of one rendition."""
        return f"{MEDIA}{self.hash}/{width}.{fmt}"

    def crop_key(self, width: int, height: int) -> str:
        """The site-bucket key of one centre crop (always JPEG)."""
        return f"{MEDIA}{self.hash}/{width}x{height}.jpg"

    def rendition_keys(self) -> list[str]:
        """Every rendition's key, the crops' included."""
        keys = [self.key(width, fmt) for width in self.widths for fmt in self.formats]
        return keys + [self.crop_key(width, height) for width, height in self.crops]

    def height_at(self, width: int) -> int:
        """The height of the rendition `width` pixels wide (the aspect ratio kept, rounded)."""
        return max(1, round(self.height * width / self.width))

    def largest(self) -> int:
        """The widest rendition."""
        return self.widths[-1]

    def social_width(self) -> int:
        """The rendition to offer as og:image: the narrowest at least 1,200 px wide, else the widest."""
        return next((w for w in self.widths if w >= OG_MIN_WIDTH), self.largest())


def rendition_widths(original: int) -> tuple[int, ...]:
    """The widths to publish an image `original` pixels wide at: never wider than the original."""
    widths = {w for w in WIDTHS if w <= original}
    widths.add(min(original, WIDTHS[-1]))
    return tuple(sorted(widths))


def crop_sizes(width: int, height: int) -> tuple[tuple[int, int], ...]:
    """The centre crops to publish of an image `width` × `height`: one for each of CROP_RATIOS, at
    most CROP_WIDTH wide, never upscaled, exactly in ratio, and none under MIN_CROP_PIXELS."""
    sizes = []
    for across, down in CROP_RATIOS:
        # The widest crop in ratio that fits, in whole steps of the ratio so the height is exact.
        steps = min(CROP_WIDTH // across, width // across, height // down)
        if steps * across * steps * down >= MIN_CROP_PIXELS:
            sizes.append((steps * across, steps * down))
    return tuple(sizes)


_RENDITION_KEY = re.compile(
    r"media/([0-9a-f]{20})/(?:[0-9]{1,5}\.(?:avif|webp|jpg)|[0-9]{1,5}x[0-9]{1,5}\.jpg)"
)


def rendition_hash_of_key(key: str) -> str | None:
    """The content hash a site key `media/<hash>/<width>.<format>` (or a crop's
    `media/<hash>/<width>x<height>.jpg`) names, or None."""
    match = _RENDITION_KEY.fullmatch(key)
    return match.group(1) if match else None
