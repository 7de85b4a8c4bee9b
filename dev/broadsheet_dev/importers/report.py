"""What an import did, post by post: the report file and the summary printed at the end.

The report is deterministic (no clock, no timings, lists in export order by post id), so two
imports of one export differ only where the outcome did ("written" the first time, "unchanged"
the next). Titles of skipped private and protected posts are listed so an editor can find them
in WordPress; their text never is.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

# The outcomes of one file: a new file, a changed one, the same bytes, or refused by the contract.
WRITTEN = "written"
UPDATED = "updated"
UNCHANGED = "unchanged"
FAILED = "failed"
KEPT = "kept"  # an author profile an editor changed is never overwritten


@dataclass
class ArticleEntry:
    """One post that became an article file (or failed to)."""

    post_id: int
    title: str
    slug: str
    file: str
    outcome: str = ""
    status: str = "published"
    format: str = "standard"
    sticky: bool = False
    aliases: list[str] = field(default_factory=list)
    aliases_held_back: list[str] = field(default_factory=list)
    featured_image: dict[str, str] | None = None
    images: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Skipped:
    """An item that was not imported, and why."""

    post_id: int
    post_type: str
    status: str
    title: str
    reason: str


@dataclass
class FileEntry:
    """An author profile or a media file and what became of it."""

    file: str
    outcome: str
    source: str = ""
    errors: list[dict[str, str]] = field(default_factory=list)


@dataclass
class ImportReport:
    """The whole import, as written to `import-report.json`."""

    export: str
    site: str
    wxr_version: str
    dates: str = ""
    notes: list[str] = field(default_factory=list)
    articles: list[ArticleEntry] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    authors: list[FileEntry] = field(default_factory=list)
    media: list[FileEntry] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """How many articles, profiles and media files had each outcome, and the warnings."""
        counted: Counter[str] = Counter()
        for article in self.articles:
            counted[f"articles {article.outcome}"] += 1
            counted["warnings"] += len(article.warnings)
        for author in self.authors:
            counted[f"authors {author.outcome}"] += 1
        for item in self.media:
            counted[f"media {item.outcome}"] += 1
        counted["skipped"] = len(self.skipped)
        return dict(sorted(counted.items()))

    def failed(self) -> bool:
        """Whether any file was refused by the contract."""
        return any(a.outcome == FAILED for a in self.articles) or any(
            a.outcome == FAILED for a in self.authors
        )

    def to_json(self) -> bytes:
        """The report file's bytes: stable key order, UTF-8, a trailing newline."""
        document: dict[str, Any] = {"summary": self.counts(), **asdict(self)}
        return (json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")

    def write(self, path: Path) -> None:
        """Write the report file, creating its folder."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.to_json())


def summary_table(report: ImportReport, seconds: float) -> Table:
    """The table printed at the end of an import."""
    table = Table(title=f"WordPress import: {report.site or report.export}", title_justify="left")
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_column("detail")
    counts = report.counts()
    for key in sorted(counts):
        if key in {"skipped", "warnings"}:
            continue
        table.add_row(key, str(counts[key]), "")
    reasons = Counter(item.reason for item in report.skipped)
    for reason, count in sorted(reasons.items(), key=lambda pair: (-pair[1], pair[0])):
        table.add_row("skipped", str(count), reason)
    table.add_row("warnings", str(counts.get("warnings", 0)), "per post in the report file")
    sticky = sum(1 for a in report.articles if a.sticky)
    if sticky:
        table.add_row("sticky posts", str(sticky), "no article field yet; listed in the report")
    table.add_row("time", f"{seconds:.2f} s", "")
    return table


def print_summary(report: ImportReport, seconds: float, report_path: Path, console: Console) -> None:
    """The summary table, every failure with its errors, and where the full report is."""
    console.print(summary_table(report, seconds))
    for article in report.articles:
        if article.outcome == FAILED:
            console.print(f"[red]not written[/red] {article.file} (post {article.post_id}):")
            for error in article.errors:
                console.print(f"  {error['field']}: {error['message']}", markup=False)
    console.print(f"Full report: {report_path}", markup=False)
