"""One rendition set of one image, in a process of its own so that its peak memory is its own.

`python bench/image_probe.py pillow|vips IMAGE OUT.json`: `pillow` runs Broadsheet's own media
code (`broadsheet.media.renditions`); `vips` the same rendition set (widths, formats, qualities,
metadata kept and stripped) with libvips, from the .venv-bench that holds pyvips. It writes the
size of each rendition to OUT.json.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

WIDTHS = (320, 640, 960, 1280, 1600)
QUALITY = {"avif": 50, "webp": 75, "jpg": 80}


def with_pillow(image: Path) -> dict[str, int]:
    """Broadsheet's renditions of `image`: key to size in bytes."""
    from broadsheet.media.renditions import process  # noqa: PLC0415 - only in the project's .venv

    done = process(f"media/{image.name}", image.name, image.read_bytes())
    return {r.key.rsplit("/", 1)[1]: len(r.body) for r in done.renditions}


def with_vips(image: Path) -> dict[str, int]:
    """The same rendition set made by libvips: shrink-on-load, then each width and format."""
    import pyvips  # type: ignore[import-not-found]  # noqa: PLC0415 - only in .venv-bench

    vips: Any = pyvips
    base = vips.Image.thumbnail(str(image), WIDTHS[-1], height=100_000).copy_memory()
    sizes: dict[str, int] = {}
    for width in WIDTHS:
        resized = base if width == base.width else base.resize(width / base.width)
        keep = {"keep": "icc"}
        sizes[f"{width}.avif"] = len(
            resized.heifsave_buffer(compression="av1", Q=QUALITY["avif"], effort=4, **keep)
        )
        sizes[f"{width}.webp"] = len(resized.webpsave_buffer(Q=QUALITY["webp"], **keep))
        sizes[f"{width}.jpg"] = len(
            resized.jpegsave_buffer(Q=QUALITY["jpg"], optimize_coding=True, interlace=True, **keep)
        )
    return sizes


if __name__ == "__main__":
    library, source, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    made = with_pillow(source) if library == "pillow" else with_vips(source)
    out.write_text(json.dumps(made))
