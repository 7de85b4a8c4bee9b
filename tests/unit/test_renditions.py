"""Renditions: the widths and formats published, metadata stripped and colour kept, and every
hostile or unusual file refused with a reason (or converted), never a crash."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable

import pytest
from PIL import Image, ImageCms

from broadsheet.contract.files import FILE
from broadsheet.errors import ValidationFailed
from broadsheet.media.renditions import MAX_PIXELS, media_hash, process

GPS_IFD = 0x8825
MAKER_NOTE = 0x927C
ORIENTATION = 0x0112


def encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def photo(size: tuple[int, int] = (1800, 1200), mode: str = "RGB") -> Image.Image:
    gradient = Image.linear_gradient("L").resize(size)
    if mode == "L":
        return gradient
    return Image.merge("RGB", (gradient, gradient.rotate(90).resize(size), Image.effect_noise(size, 30)))


def camera_jpeg(**exif_tags: object) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "Canon EOS 5D"
    exif[GPS_IFD] = {1: "N", 2: (55.0, 45.0, 7.0), 3: "E", 4: (37.0, 37.0, 4.0)}
    for tag, value in exif_tags.items():
        exif[int(tag)] = value
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return encoded(photo(), "JPEG", exif=exif, icc_profile=srgb, quality=90)


def refusal(data: bytes, name: str) -> str:
    with pytest.raises(ValidationFailed) as caught:
        process(f"media/{name}", name, data)
    assert caught.value.key == f"media/{name}"
    assert [e.field for e in caught.value.errors] == [FILE]
    return caught.value.errors[0].message


def opened(body: bytes) -> Image.Image:
    return Image.open(io.BytesIO(body))


def test_a_photo_becomes_five_widths_in_avif_webp_and_jpeg_under_hashed_names() -> None:
    data = camera_jpeg()
    done = process("media/red-square.jpg", "red-square.jpg", data)
    item = done.item
    assert (item.width, item.height) == (1800, 1200)
    assert item.widths == (320, 640, 960, 1280, 1600)
    assert item.formats == ("avif", "webp", "jpg")
    assert [r.key for r in done.renditions] == item.rendition_keys()
    assert all(r.key.startswith(f"media/{media_hash(data)}/") for r in done.renditions)
    widths = {item.key(width, fmt): width for width in item.widths for fmt in item.formats}
    for rendition in done.renditions[: len(widths)]:
        image = opened(rendition.body)
        width = widths[rendition.key]
        assert image.size == (width, item.height_at(width))
        assert Image.MIME[image.format or ""] == rendition.content_type


def test_a_photo_gives_centre_crops_in_16x9_4x3_and_1x1_at_1200_wide() -> None:
    # Left half black, right half white: a centre crop shows both, in equal parts.
    halves = Image.new("RGB", (2400, 1500), (0, 0, 0))
    halves.paste((255, 255, 255), (1200, 0, 2400, 1500))
    done = process("media/halves.jpg", "halves.jpg", encoded(halves, "JPEG", quality=95))
    item = done.item
    assert item.crops == ((1200, 675), (1200, 900), (1200, 1200))
    crops = {r.key: r for r in done.renditions if "x" in r.key.rsplit("/", 1)[1]}
    assert sorted(crops) == sorted(item.crop_key(w, h) for w, h in item.crops)
    assert sorted(crops) == [f"media/{item.hash}/1200x{h}.jpg" for h in (1200, 675, 900)]
    for (width, height), key in zip(item.crops, [item.crop_key(w, h) for w, h in item.crops], strict=True):
        image = opened(crops[key].body).convert("L")
        assert image.size == (width, height) and crops[key].content_type == "image/jpeg"
        # The 1x1 crop of a 2400 × 1500 image spans 450..1950: the edge sits at its middle.
        row = image.tobytes()[(height // 2) * width : (height // 2 + 1) * width]
        assert row[width // 4] < 30 and row[3 * width // 4] > 225
        assert not opened(crops[key].body).getexif()


def test_crops_of_a_small_or_narrow_image_are_never_upscaled() -> None:
    small = process("media/small.jpg", "small.jpg", encoded(photo((800, 500)), "JPEG")).item
    assert small.crops == ((800, 450), (664, 498), (500, 500))
    tall = process("media/tall.jpg", "tall.jpg", encoded(photo((600, 2000)), "JPEG")).item
    assert tall.crops == ((592, 333), (600, 450), (600, 600))
    # A crop that spans the whole of one side: no rounding may push its box outside the picture.
    exact = process("media/exact.jpg", "exact.jpg", encoded(photo((900, 1200)), "JPEG")).item
    assert exact.crops == ((896, 504), (900, 675), (900, 900))
    tiny = process("media/tiny.png", "tiny.png", encoded(photo((250, 150)), "PNG")).item
    assert tiny.crops == ()  # under the 50,000 pixels search engines ask for


def test_location_and_camera_metadata_are_stripped_and_the_colour_profile_kept() -> None:
    data = camera_jpeg(**{str(MAKER_NOTE): b"secret maker note"})
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(GPS_IFD)  # the original has a location
    for rendition in process("media/a.jpg", "a.jpg", data).renditions:
        image = opened(rendition.body)
        assert not image.getexif(), rendition.key
        assert "exif" not in image.info and "xmp" not in image.info, rendition.key
        assert b"Canon" not in rendition.body and b"secret maker note" not in rendition.body
        assert image.info.get("icc_profile"), f"{rendition.key} lost its colour profile"


def test_the_same_original_gives_the_same_bytes() -> None:
    data = camera_jpeg()
    first, second = process("media/a.jpg", "a.jpg", data), process("media/b.jpg", "b.jpg", data)
    assert [r.body for r in first.renditions] == [r.body for r in second.renditions]
    assert first.item.hash == second.item.hash


def test_exif_orientation_is_applied_to_the_pixels() -> None:
    data = camera_jpeg(**{str(ORIENTATION): 6})  # rotated 90°: stored 1800 × 1200, seen 1200 × 1800
    done = process("media/portrait.jpg", "portrait.jpg", data)
    assert (done.item.width, done.item.height) == (1200, 1800)
    widest = {r.key: r for r in done.renditions}[done.item.key(1200, "jpg")]
    assert opened(widest.body).size == (1200, 1800)


def test_renditions_are_never_wider_than_a_small_original() -> None:
    done = process("media/small.png", "small.png", encoded(photo((500, 300)), "PNG"))
    assert done.item.widths == (320, 500)


def test_cmyk_is_converted_to_rgb() -> None:
    data = encoded(photo().convert("CMYK"), "JPEG")
    done = process("media/print.jpg", "print.jpg", data)
    assert all(opened(r.body).mode in {"RGB", "RGBA"} for r in done.renditions)


def test_sixteen_bit_greyscale_is_converted() -> None:
    sixteen = photo(mode="L").convert("I").point(lambda v: v * 256)
    data = encoded(sixteen.convert("I;16"), "PNG")
    assert Image.open(io.BytesIO(data)).mode.startswith("I")
    done = process("media/scan.png", "scan.png", data)
    assert opened(done.renditions[0].body).mode in {"RGB", "RGBA"}


def test_transparency_is_kept_in_modern_formats_and_flattened_in_jpeg() -> None:
    image = photo((700, 400)).convert("RGBA")
    image.putalpha(128)
    done = process("media/logo.png", "logo.png", encoded(image, "PNG"))
    modes = {r.key.rsplit(".", 1)[1]: opened(r.body).mode for r in done.renditions}
    assert modes == {"avif": "RGBA", "webp": "RGBA", "jpg": "RGB"}


def test_an_animated_gif_gives_its_first_frame() -> None:
    frames = [Image.new("RGB", (400, 300), colour) for colour in ("red", "blue")]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:])
    done = process("media/anim.gif", "anim.gif", out.getvalue())
    red = opened(done.renditions[-1].body).convert("RGB").getpixel((10, 10))
    assert isinstance(red, tuple) and red[0] > 200 and red[2] < 60


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width` × `height` pixels: a decompression bomb."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        checksum = struct.pack(">I", zlib.crc32(kind + payload))
        return struct.pack(">I", len(payload)) + kind + payload + checksum

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


HOSTILE: dict[str, tuple[Callable[[], bytes], str, str]] = {
    "decompression bomb": (lambda: png_claiming(100_000, 100_000), "bomb.png", "pixels"),
    "over the pixel limit": (lambda: png_claiming(10_000, MAX_PIXELS // 10_000 + 1), "big.png", "megapixels"),
    "huge dimensions": (lambda: png_claiming(30_000, 10), "strip.png", "pixels a side"),
    "truncated": (lambda: camera_jpeg()[:5000], "cut.jpg", "damaged or incomplete"),
    "content not the extension": (lambda: encoded(photo(), "PNG"), "photo.jpg", "is a PNG image, not a JPEG"),
    "not an image at all": (lambda: b"hello, I am text" * 10, "notes.webp", "not a WebP image"),
    "svg in disguise": (
        lambda: (
            b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
        ),
        "drawing.png",
        "SVG drawing",
    ),
    "empty file": (lambda: b"", "empty.gif", "not a GIF image"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_files_are_refused_with_a_reason(case: str) -> None:
    make, name, words = HOSTILE[case]
    assert words in refusal(make(), name)
