"""Worst-case body rendering: each pathological family of Markdown at 10 KB … 200 KB.

For every family and size: whether validation accepts the body (or refuses it, naming the line
and column), the check's CPU time, the render's CPU time (CommonMark to sanitised HTML, as the
article page and the feeds do) and both per KB, against real articles' bodies (the
events/content/articles files, repeated to the same size) as the peer. The target: any body
validation accepts renders in at most 1 s at 200 KB on one core.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from broadsheet.render.body import render_body
from broadsheet.render.shape import MAX_NESTING, body_problem

ROOT = Path(__file__).resolve().parents[1]
SIZES_KB = (10, 25, 50, 100, 200)
TARGET_MS_200KB = 1000
# The deepest nesting validation accepts: a paragraph inside counts as a level, a list level twice.
DEEP = MAX_NESTING - 1


def _real() -> str:
    bodies = [
        json.loads(path.read_text())["body"]
        for path in sorted((ROOT / "events" / "content" / "articles").glob("*.json"))
    ]
    return "\n\n".join(bodies) + "\n\n"


def _blocks(*units: str) -> Callable[[int], str]:
    """A family made of whole units repeated, so that a body never ends mid-construct."""
    unit = "".join(units)
    return lambda n: unit * n


FAMILIES_PEER = "real articles (peer)"


# 100 columns over one-character rows: as many cells, most of them padding, as the body's length
# allows (one per two characters), the rest of it words.
def _padded(n: int) -> str:
    return "|a" * 100 + "|\n" + "|-" * 100 + "|\n" + "x\n" * (n // 45) + "\n" + "word " * n


# Each family maps a count to a body; the count is raised until the body fills the size.
FAMILIES: dict[str, Callable[[int], str]] = {
    FAMILIES_PEER: lambda n: _real() * n,
    # The finding: one construct nested as deep as the size allows.
    "nested quotes": lambda n: ">" * n + " x\n",
    "nested bullet lists": lambda n: "- " * n + "x\n",
    "nested ordered lists": lambda n: "1. " * n + "x\n",
    "nested emphasis": lambda n: "*" * n + "x" + "*" * n + "\n",
    "nested links": lambda n: "[" * n + "x" + "](u)" * n + "\n",
    "nested images": lambda n: "![" * n + "x" + "](u)" * n + "\n",
    "nested <div>": lambda n: "<div>" * n + "\n",
    "nested <ul><li>": lambda n: "<ul><li>" * n + "\n",
    "<span><div></span>": lambda n: "<span><div></span></div>" * n + "\n",
    "reopened <b a=…>": lambda n: "".join(f"> <b a={i}>x\n\n" for i in range(n)),
    # What validation accepts: the deepest nesting allowed, over and over.
    f"quotes {DEEP} deep, repeated": _blocks(">" * DEEP, " x\n\n"),
    f"bullets {DEEP // 2} deep, repeated": _blocks("- " * (DEEP // 2), "x\n\n"),
    f"ordered {DEEP // 2} deep, repeated": _blocks("1. " * (DEEP // 2), "x\n\n"),
    f"quote/list mix {DEEP // 3} deep": _blocks("> - " * (DEEP // 3), "x\n\n"),
    f"emphasis {DEEP - 1} deep": _blocks("*" * (DEEP - 1), "x", "*" * (DEEP - 1), "\n\n"),
    f"<div> {DEEP} deep, unclosed": _blocks("<div>" * DEEP, "\n\n"),
    f"<div> {DEEP} deep, closed": _blocks("<div>" * DEEP, "x", "</div>" * DEEP, "\n\n"),
    f"<blockquote> {DEEP} deep": _blocks("<blockquote>" * DEEP, "x", "</blockquote>" * DEEP, "\n\n"),
    # Long runs of one character or reference.
    "run of *": lambda n: "*" * n + "x\n",
    "run of _": lambda n: "_" * n + "x\n",
    "run of [": lambda n: "[" * n + "\n",
    "run of <": lambda n: "<" * n + "\n",
    "run of `": lambda n: "a " + "`" * n + "\n",
    "run of ` `` ": _blocks("` `` "),
    "run of |": lambda n: "|" * n + "\n",
    "run of &amp;": _blocks("&amp;"),
    "run of &#x41;": _blocks("&#x41;"),
    "run of \\*": _blocks("\\*"),
    "*a _b ": _blocks("*a _b "),
    "<b>x": _blocks("<b>x"),
    # Tables pad short rows with empty cells up to the header's width.
    "wide table, short rows": lambda n: "|a" * 400 + "|\n" + "|-" * 400 + "|\n" + "x\n" * n,
    "many padded tables": _blocks("|a" * 100 + "|\n" + "|-" * 100 + "|\n" + "x\n" * 500 + "\n"),
    "padded table at the cell limit": _padded,
    "footnotes": lambda n: (
        "".join(f"[^{i}] " for i in range(n)) + "\n\n" + "".join(f"[^{i}]: n\n" for i in range(n))
    ),
}


def fill(family: Callable[[int], str], size: int) -> str:
    """The family's largest body that fits in `size` bytes of UTF-8."""
    low, high = 1, 2
    while len(family(high).encode()) <= size:
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if len(family(middle).encode()) <= size else (low, middle)
    return family(low)


@dataclass(frozen=True)
class Timing:
    """One family at one size."""

    family: str
    kb: int
    refused: str | None
    check_ms: float
    render_ms: float | None


def cpu_ms(action: Callable[[], object]) -> float:
    """CPU time of one call, in milliseconds."""
    started = time.process_time()
    action()
    return (time.process_time() - started) * 1000


def measure(sizes: tuple[int, ...] = SIZES_KB) -> list[Timing]:
    """Check every family at every size, and render the bodies the check accepts."""
    timings = []
    for name, family in FAMILIES.items():
        for kb in sizes:
            body = fill(family, kb * 1024)
            problem = body_problem(body)
            check = cpu_ms(lambda body=body: body_problem(body))  # type: ignore[misc]
            render = None
            if problem is None:
                render_body.cache_clear()
                render = cpu_ms(lambda body=body: render_body(body))  # type: ignore[misc]
            timings.append(Timing(name, kb, f"line {problem.line}:{problem.column}" if problem else None,
                                  check, render))  # fmt: skip
    return timings


def ratio(mine: float, peer: float) -> str:
    """A family's time as a multiple of the real articles' at the same size."""
    return f"{mine / peer:.1f}×" if peer else "–"


def rows(timings: list[Timing]) -> tuple[list[str], list[list[str]], str]:
    """The table's header and rows (per family and size, check and render, per KB and against the
    peer) and a summary line: the worst accepted body at the largest size against the target."""
    peer = {t.kb: t.check_ms + (t.render_ms or 0) for t in timings if t.family == FAMILIES_PEER}
    lines = []
    for t in timings:
        total = t.check_ms + (t.render_ms or 0)
        lines.append(
            [t.family, f"{t.kb} KB", f"refused ({t.refused})" if t.refused else "accepted",
             f"{t.check_ms:.1f} ms", f"{t.render_ms:.1f} ms" if t.render_ms is not None else "–",
             f"{total:.1f} ms", f"{total / t.kb:.3f}", ratio(total, peer.get(t.kb, 0))]
        )  # fmt: skip
    header = ["family", "size", "validation", "check", "render", "total", "ms/KB", "÷ real articles"]
    largest = [t for t in timings if t.kb == max(t.kb for t in timings)]
    worst = max(largest, key=lambda t: t.check_ms + (t.render_ms or 0))
    worst_ms = worst.check_ms + (worst.render_ms or 0)
    summary = (
        f"worst at {worst.kb} KB: {worst.family}, {worst_ms:.0f} ms to check and render "
        f"(target ≤ {TARGET_MS_200KB} ms at 200 KB: {'met' if worst_ms <= TARGET_MS_200KB else 'not met'})"
    )
    return header, lines, summary
