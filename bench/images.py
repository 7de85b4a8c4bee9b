"""Images: the time and peak memory of one rendition set of a 24-megapixel JPEG, by library.

The test image is made in code (a camera-sized photo's worth of gradients, shapes and grain, with
EXIF that names a camera and a place). Each library makes the whole rendition set the media
function publishes (five widths, AVIF, WebP and JPEG) in a fresh process, three times; the table
shows the median wall and CPU time, the peak RSS of the process, and the bytes of the renditions
a 390 px phone and a desktop download.
"""

from __future__ import annotations

import json
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

from bench import tools
from bench.measure import run

ROOT = Path(__file__).resolve().parents[1]
PROBE = ROOT / "bench" / "image_probe.py"
SIZE = (6000, 4000)
RUNS = 3


@dataclass(frozen=True)
class ImageTiming:
    """One library's rendition set of the test image."""

    library: str
    wall: float
    cpu: float
    peak_rss_mb: float
    renditions: dict[str, int]


def camera_jpeg(path: Path, size: tuple[int, int] = SIZE) -> Path:
    """A camera-sized JPEG with texture (so encoders have real work) and GPS in its EXIF."""
    width, height = size
    red = Image.linear_gradient("L").resize(size)
    green = Image.radial_gradient("L").resize(size)
    blue = Image.effect_noise(size, 60)
    image = Image.merge("RGB", (red, green, blue))
    image = Image.blend(image, Image.effect_noise(size, 90).convert("RGB"), 0.25)
    draw = ImageDraw.Draw(image)
    for at in range(0, width, max(1, width // 24)):
        draw.ellipse((at, height // 3, at + width // 30, height // 3 + width // 30), fill=(240, 200, 40))
        draw.line((at, 0, width - at, height), fill=(20, 40, 90), width=max(1, width // 600))
    exif = Image.Exif()
    exif[0x010F] = "Broadsheet test camera"
    exif[0x8825] = {1: "N", 2: (55.0, 45.0, 7.0), 3: "E", 4: (37.0, 37.0, 4.0)}
    image.save(path, "JPEG", quality=90, exif=exif)
    return path


def vips_python() -> Path:
    """The .venv-bench python, with pyvips (installing the benchmark tools if needed)."""
    tools.ensure()
    return tools.VENV / "bin" / "python"


def measure(work: Path, libraries: tuple[str, ...] = ("pillow", "vips"), size: tuple[int, int] = SIZE,
            runs: int = RUNS) -> list[ImageTiming]:  # fmt: skip
    """Each library's rendition set of the test image, `runs` times, medians kept."""
    work.mkdir(parents=True, exist_ok=True)
    source = camera_jpeg(work / "camera-24mp.jpg", size)
    timings = []
    for library in libraries:
        python = Path(sys.executable) if library == "pillow" else vips_python()
        out = work / f"renditions-{library}.json"
        command = [str(python), str(PROBE), library, str(source), str(out)]
        measured = [run(command, cwd=ROOT) for _ in range(runs)]
        timings.append(
            ImageTiming(
                library=library,
                wall=statistics.median(m.wall for m in measured),
                cpu=statistics.median(m.cpu for m in measured),
                peak_rss_mb=max(m.peak_rss for m in measured) / 2**20,
                renditions=json.loads(out.read_text()),
            )
        )
    return timings


def rows(timings: list[ImageTiming]) -> tuple[list[str], list[list[str]]]:
    """The table: per library, time, memory and what a phone and a desktop download."""
    header = ["library", "wall", "CPU", "peak RSS", "files", "all bytes", "640 AVIF", "640 WebP",
              "640 JPEG", "1600 AVIF"]  # fmt: skip
    body = []
    for t in timings:
        r = t.renditions
        body.append(
            [t.library, f"{t.wall:.2f} s", f"{t.cpu:.2f} s", f"{t.peak_rss_mb:.0f} MB", str(len(r)),
             f"{sum(r.values()) / 1024:.0f} KB", *(f"{r.get(k, 0) / 1024:.1f} KB" for k in
             ("640.avif", "640.webp", "640.jpg", "1600.avif"))]
        )  # fmt: skip
    return header, body
