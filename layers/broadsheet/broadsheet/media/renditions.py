"""From an uploaded image's bytes to its renditions: a few widths in AVIF, WebP and JPEG.

Pillow does the work (chosen by measurement: `python -m bench --only images`). Every rendition
keeps the colour profile and nothing else of the original's metadata: no EXIF (camera, GPS),
no XMP. Orientation is applied to the pixels first. A file that is not what its name says, is
damaged, or is too large to decode safely is refused with the reason an editor can act on.

The same bytes in give the same bytes out (the offline build and the pipeline must agree), and
the renditions' names carry a hash of the original, so they never change once published.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from broadsheet.contract.files import FILE
from broadsheet.contract.media import FORMATS, MIME, UPLOAD_FORMATS, MediaItem, crop_sizes, rendition_widths
from broadsheet.errors import FieldError, ValidationFailed

# What the function reads of an upload at most: a 24-megapixel camera JPEG is 8–15 MB.
MAX_UPLOAD_BYTES = 40 * 1024 * 1024
# Decoded, an image takes 4 bytes a pixel or more: 50 megapixels is 200 MB in memory. Above this a
# small file that claims enormous dimensions (a decompression bomb) is refused before decoding.
MAX_PIXELS = 50_000_000
MAX_SIDE = 20_000
# Part of every rendition's hash: raise it when the renditions' bytes change for the same original
# (new sizes, quality, library), so that their immutable names change with them.
RENDITION_VERSION = b"broadsheet-renditions-1"
_QUALITY = {"avif": 50, "webp": 75, "jpg": 80}
_AVIF_SPEED = 6
_LABELS = {"JPEG": "a JPEG", "PNG": "a PNG", "WEBP": "a WebP", "AVIF": "an AVIF", "GIF": "a GIF"}
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
_SIXTEEN_BIT = {"I;16", "I;16B", "I;16L", "I;16N", "I"}


@dataclass(frozen=True)
class Rendition:
    """One published file of an image."""

    key: str
    body: bytes
    content_type: str


@dataclass(frozen=True)
class Processed:
    """An image as published: what the index records, and its renditions."""

    item: MediaItem
    renditions: tuple[Rendition, ...]


def media_hash(data: bytes) -> str:
    """The content hash naming an original's renditions."""
    return hashlib.sha256(RENDITION_VERSION + b"\0" + data).hexdigest()[:20]


def refuse(key: str, message: str) -> ValidationFailed:
    """The report for an image that cannot be published."""
    return ValidationFailed(key, [FieldError(FILE, message)])


def process(key: str, name: str, data: bytes) -> Processed:
    """Decode, check, orient, convert and encode one upload; raise ValidationFailed with the
    reason when it cannot be published."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise refuse(key, f"is over {MAX_UPLOAD_BYTES // (1024 * 1024)} MB; export it smaller")
    expected = UPLOAD_FORMATS[name.rpartition(".")[2].lower()]
    image = _open(key, data, expected)
    width, height = image.size
    if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE:
        raise refuse(
            key,
            f"is {width:,} × {height:,} pixels, over the limit of {MAX_PIXELS // 1_000_000} megapixels "
            f"and {MAX_SIDE:,} pixels a side; export it smaller",
        )
    upright = _oriented_size(image)
    widths = rendition_widths(upright[0])
    crops = crop_sizes(*upright)
    # JPEG decodes at 1/2, 1/4 or 1/8 scale for free: ask for no more than the widest rendition
    # and the tallest crop need.
    scale = max([widths[-1] / upright[0]] + [height / upright[1] for _, height in crops])
    image.draft("RGB", (max(1, round(width * scale)), max(1, round(height * scale))))
    try:
        image.load()
        pixels, icc = _normalised(ImageOps.exif_transpose(image))
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise refuse(key, f"is damaged or incomplete ({exc}); upload the file again") from None
    item = MediaItem(name, media_hash(data), upright[0], upright[1], widths, FORMATS, crops)
    return Processed(item, tuple(_renditions(item, pixels, icc) + _crops(item, pixels, icc)))


def _open(key: str, data: bytes, expected: str) -> Image.Image:
    head = data[:512].lstrip().lower()
    if head.startswith((b"<?xml", b"<svg", b"<!doctype svg")) or b"<svg" in head:
        raise refuse(key, "is an SVG drawing, which can carry script; export it as PNG, JPEG or WebP")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data), formats=[expected])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise refuse(key, f"has too many pixels to decode safely (over {MAX_PIXELS:,})") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        pass
    actual = _sniff(data)
    label = _LABELS[expected]
    if actual is None:
        raise refuse(key, f"is not {label} image, nor any image Broadsheet can read, as its name says")
    extension = "jpg" if actual == "JPEG" else actual.lower()
    raise refuse(
        key, f"is {_LABELS[actual]} image, not {label} as its name says; rename it to end in .{extension}"
    )


def _sniff(data: bytes) -> str | None:
    """Which accepted format the bytes are in, whatever the name says."""
    for fmt in dict.fromkeys(UPLOAD_FORMATS.values()):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                Image.open(io.BytesIO(data), formats=[fmt])
        except Exception:  # noqa: BLE001, S112 - any failure means "not this format"
            continue
        return fmt
    return None


def _oriented_size(image: Image.Image) -> tuple[int, int]:
    """The image's size as readers see it, after its EXIF orientation."""
    orientation = image.getexif().get(0x0112, 1)
    width, height = image.size
    return (height, width) if orientation in {5, 6, 7, 8} else (width, height)


def _normalised(image: Image.Image) -> tuple[Image.Image, bytes | None]:
    """8-bit RGB or RGBA pixels and the colour profile they are in (None: sRGB is assumed)."""
    icc = image.info.get("icc_profile") or None
    mode = image.mode
    if mode == "CMYK":
        if icc:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            converted = ImageCms.profileToProfile(image, source, _SRGB, outputMode="RGB")
            assert converted is not None  # noqa: S101 - returned when not converting in place
            return converted, _SRGB.tobytes()
        return image.convert("RGB"), None
    if mode in _SIXTEEN_BIT:
        image = image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    elif mode == "F":
        image = image.convert("L")
    if mode in {"L", "LA", "1", "F"} or mode in _SIXTEEN_BIT:
        icc = None  # a grey profile does not describe the RGB pixels written out
    transparent = image.mode in {"RGBA", "LA", "PA"} or "transparency" in image.info
    return image.convert("RGBA" if transparent else "RGB"), icc


def _renditions(item: MediaItem, pixels: Image.Image, icc: bytes | None) -> list[Rendition]:
    made: list[Rendition] = []
    for width in item.widths:
        size = (width, item.height_at(width))
        resized = pixels if pixels.size == size else pixels.resize(size, Image.Resampling.LANCZOS)
        for fmt in item.formats:
            made.append(Rendition(item.key(width, fmt), _encode(resized, fmt, icc), MIME[fmt]))
    return made


def _crops(item: MediaItem, pixels: Image.Image, icc: bytes | None) -> list[Rendition]:
    """The centre crops, cut from the decoded pixels (which may be a reduced decode of the original)."""
    made: list[Rendition] = []
    across, down = pixels.size
    for width, height in item.crops:
        # The largest box of the crop's shape in the decoded pixels, centred, scaled to the crop.
        fit = min(across / width, down / height)
        box_w, box_h = min(across, width * fit), min(down, height * fit)
        left, top = max(0.0, (across - box_w) / 2), max(0.0, (down - box_h) / 2)
        box = (left, top, min(across, left + box_w), min(down, top + box_h))
        cropped = pixels.resize((width, height), Image.Resampling.LANCZOS, box=box)
        made.append(Rendition(item.crop_key(width, height), _encode(cropped, "jpg", icc), MIME["jpg"]))
    return made


def _encode(image: Image.Image, fmt: str, icc: bytes | None) -> bytes:
    out = io.BytesIO()
    profile = {"icc_profile": icc} if icc else {}
    if fmt == "avif":
        image.save(out, "AVIF", quality=_QUALITY[fmt], speed=_AVIF_SPEED, **profile)
    elif fmt == "webp":
        image.save(out, "WEBP", quality=_QUALITY[fmt], method=4, **profile)
    else:
        if image.mode == "RGBA":
            flat = Image.new("RGB", image.size, (255, 255, 255))
            flat.paste(image, mask=image.getchannel("A"))
            image = flat
        image.save(out, "JPEG", quality=_QUALITY[fmt], optimize=True, progressive=True, **profile)
    return out.getvalue()
