"""What every renderer shares: the one Jinja environment, the output type, and formats."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

HTML = "text/html; charset=utf-8"
CSS = "text/css; charset=utf-8"
XML = "application/xml; charset=utf-8"
TEXT = "text/plain; charset=utf-8"
# Listings go stale for seconds at the edge, not hours; browsers always revalidate.
HTML_CACHE = "public, max-age=0, s-maxage=60, stale-while-revalidate=30"
NOT_FOUND_CACHE = "public, max-age=0, s-maxage=10"
PRIVATE_CACHE = "private, no-store"
ASSET_CACHE = "public, max-age=31536000, immutable"
FEED_CACHE = "public, max-age=300, s-maxage=60, stale-while-revalidate=300"
MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


@dataclass(frozen=True)
class Output:
    """One file of the site: where it goes, its bytes and how it is served."""

    key: str
    body: bytes
    content_type: str
    cache_control: str


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The one Jinja environment every page, feed and sitemap is rendered with."""
    return Environment(
        loader=PackageLoader("broadsheet.render", "templates"),
        autoescape=select_autoescape(),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        # Templates ship inside the package and never change under a running process: no
        # file-system check on every page.
        auto_reload=False,
    )


def render_template(name: str, key: str, context: dict[str, Any], content_type: str, cache: str) -> Output:
    """Render one template into an output file."""
    text = environment().get_template(name).render(**context)
    return Output(key, text.encode("utf-8"), content_type, cache)


@lru_cache(maxsize=1)
def stylesheet() -> Output:
    """The stylesheet, under a name that carries its content hash."""
    body = resources.files("broadsheet.render").joinpath("static/site.css").read_bytes()
    digest = hashlib.sha256(body).hexdigest()[:12]
    return Output(f"assets/site.{digest}.css", body, CSS, ASSET_CACHE)


def display_time(value: datetime) -> str:
    """A date and time as readers see it: `21 December 2015 | 22:00`, in the article's offset."""
    return f"{value.day} {MONTHS[value.month - 1]} {value.year} | {value:%H:%M}"


def month_name(month: str) -> str:
    """`2015-12` as readers see it: `December 2015`."""
    year, number = month.split("-")
    return f"{MONTHS[int(number) - 1]} {int(year)}"
