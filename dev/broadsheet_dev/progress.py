"""Progress bars and end-of-run summaries for the CLI's long commands (`import`, `publish`,
`rebuild`): one look, one place.

rich draws the bar only on a terminal; when output is captured or piped, the bar is not drawn
and only the summary lines are printed, so logs and tests see plain text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


@contextmanager
def progress_bar(
    console: Console | None = None, *, enabled: bool = True, counts: bool = True
) -> Iterator[Progress]:
    """A bar with the done and total counts (or bytes, with `counts=False`), time taken and time left."""
    amount = MofNCompleteColumn() if counts else DownloadColumn()
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        amount,
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, disable=not enabled, transient=False) as bar:
        yield bar


@dataclass(frozen=True)
class Rejection:
    """A file the contract refused, and every field it named."""

    path: str
    reasons: list[str]


@dataclass
class PublishSummary:
    """What a `publish` of many files did, file by file."""

    published: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def failed(self) -> bool:
        """Whether any file was refused."""
        return bool(self.rejected)

    def lines(self) -> list[str]:
        """The summary as printed: the counts, then each rejected file with its reasons."""
        out = [
            f"{len(self.published)} published, {len(self.unchanged)} unchanged, "
            f"{len(self.rejected)} rejected, {len(self.skipped)} skipped"
        ]
        for rejection in self.rejected:
            out.append(f"rejected {rejection.path}:")
            out += [f"  {reason}" for reason in rejection.reasons]
        out += [f"skipped {path}: not an article, author profile or image" for path in self.skipped]
        return out


def print_lines(console: Console, lines: list[str]) -> None:
    """Print lines as they are (no rich markup read into file names or messages)."""
    for line in lines:
        console.print(line, markup=False, highlight=False, soft_wrap=True)


@contextmanager
def counted(description: str, console: Console | None = None) -> Iterator[Callable[[int, int], None]]:
    """A bar for work whose total is learnt as it goes: yields `shown(done, total)`."""
    with progress_bar(console) as bar:
        task = bar.add_task(description, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)
