"""A template's loop body rendered apart, so that a fragment shown on many pages renders once.

A listing item (an article's title, date, teaser and byline) appears on every listing the article
is in: the home page, each author's, its section's, each tag's and its month's. Rendering the
item once per article rather than once per listing page saves most of a listing page's time.

The split is made from the template's own source, so the markup lives in one place: the loop's
body becomes a template of its own (with the macros the template imports), and the template
prints each pre-rendered body where the loop's body was. Under the environment's whitespace
rules (`trim_blocks`, `lstrip_blocks`) both give exactly the bytes of the whole template. A body
that reads anything but the loop variable fails loudly (the environment's undefined is strict).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from jinja2 import Template
from markupsafe import Markup

from broadsheet.render.templating import environment

# The block tags a loop's body is delimited by, written plainly: a tag with whitespace control
# (`{%-`, `-%}`, `+%}`) would change what the split must keep, so such a loop is left whole.
_TAG = re.compile(r"\{%(?P<trim>[-+]?)\s*(?P<word>for|endfor)\b[^%]*?(?P<end>[-+]?)%\}")
_IMPORT = re.compile(r"^\{% (?:from|import) [^%]*%\}\n", re.MULTILINE)


@dataclass(frozen=True)
class Split:
    """A template whose loop prints pre-rendered bodies, and the template of one body."""

    outer: Template
    body: Template
    variable: str


@cache
def split_loop(name: str, loop: str) -> Split | None:
    """`name`'s template split at its one `{% for <loop> %}`, or None when the loop is not there
    exactly once, written plainly (then the page renders whole, as before)."""
    env = environment()
    assert env.loader is not None  # noqa: S101 - the environment is made with a loader
    source, _, _ = env.loader.get_source(env, name)
    opening = f"{{% for {loop} %}}"
    if source.count(opening) != 1:
        return None
    start = source.index(opening) + len(opening)
    end = _matching_end(source, start)
    if end is None:
        return None
    # trim_blocks drops the newline after the opening tag; lstrip_blocks the indent before the end.
    body_start = start + 1 if source.startswith("\n", start) else start
    body_end = len(source[:end].rstrip(" \t"))
    if body_end and source[body_end - 1] != "\n":
        return None
    imports = "".join(_IMPORT.findall(source))
    variable = loop.split(" in ", 1)[0].strip()
    outer = source[:body_start] + f"{{{{ {variable} }}}}" + source[end:]
    body = imports + source[body_start:body_end]
    return Split(env.from_string(outer), env.from_string(body), variable)


def _matching_end(source: str, start: int) -> int | None:
    """Where the `{% endfor %}` closing the loop opened just before `start` begins."""
    depth = 1
    for tag in _TAG.finditer(source, start):
        if tag["trim"] or tag["end"]:
            return None
        depth += 1 if tag["word"] == "for" else -1
        if depth == 0:
            return tag.start()
    return None


def render_pass(split: Split, value: Any) -> Markup:
    """One pass of the loop's body, for the loop variable's `value`."""
    return Markup(split.body.render({split.variable: value}))  # noqa: S704 - a template's own output
