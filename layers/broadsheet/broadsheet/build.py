"""The offline build: the whole site from a folder of article files, with no AWS at all.

It reads files with the same reader, indexes them in memory with the same entry rules, and
renders every page with the same renderer, so it is also the oracle the pipeline converges to.

A large build runs on every core: worker processes forked from the builder read and validate
shares of the files, then render and write shares of the pages, each from the whole index the
builder assembled (inherited at the fork, never copied through a pipe). Files whose bytes are
unchanged are left alone, so a rebuild writes only what changed.
"""

from __future__ import annotations

import gc
import hashlib
import json
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from broadsheet import build_cache
from broadsheet.adapters.folder import FolderWriter
from broadsheet.adapters.secrets import with_preview_secret
from broadsheet.build_cache import Cache, PageRecord, Stamp, TracedIndex
from broadsheet.clock import now
from broadsheet.contract.files import ARTICLES, AUTHORS, JSON, MARKDOWN, read_article, read_author, shadowed
from broadsheet.contract.markdown import FrontMatterError, read_markdown
from broadsheet.contract.media import MEDIA, RENDITION_CACHE, MediaItem
from broadsheet.contract.models import Article, AuthorProfile
from broadsheet.errors import FieldError, SkippedKey, ValidationFailed
from broadsheet.index.entries import Entry
from broadsheet.index.memory import MemoryIndex
from broadsheet.index.ports import IndexedArticle, IndexReader, ListingSlice
from broadsheet.pages import Page, all_pages
from broadsheet.render.html import Output, render_page
from broadsheet.settings import Settings
from broadsheet.site import BUILD_MARKER, Change

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

    from broadsheet.media.renditions import Processed

# Below this many files a build stays in one process: forking costs more than it saves.
PARALLEL_FROM = 400
# Work goes to the workers in chunks this big: small enough to balance, large enough to batch.
_CHUNK = 64
_T = TypeVar("_T")
_R = TypeVar("_R")


class NotABuildFolder(Exception):
    """The output folder holds files that no earlier build wrote; a build would delete them."""


@dataclass
class BuildReport:
    """What a build did."""

    pages: int = 0
    # Pages rendered: those whose inputs changed since the last build into the folder (all of
    # them without its cache).
    rendered: int = 0
    written: int = 0
    unchanged: int = 0
    removed: int = 0
    rejected: list[ValidationFailed] = field(default_factory=list)
    # The edge's alias store the content calls for (old path to new path), by the same rule as
    # the pipeline's: what its store must equal.
    redirects: dict[str, str] = field(default_factory=dict)


def load_content(
    content_dir: Path, settings: Settings, workers: int = 1
) -> tuple[MemoryIndex, list[ValidationFailed]]:
    """Index every article and author file under `content_dir`; collect the rejected ones."""
    index, rejected, _ = _load_content(content_dir, settings, workers, aside=False)
    return index, rejected


def _load_content(
    content_dir: Path, settings: Settings, workers: int, *, aside: bool
) -> tuple[MemoryIndex, list[ValidationFailed], dict[str, Path]]:
    """As `load_content`; with `aside`, each article is indexed with a mark in place of its body
    (see `_Bodies`), and the files the bodies are read back from are returned by slug."""
    index = MemoryIndex(now(settings))
    files: dict[str, Path] = {}
    rejected: list[ValidationFailed] = []
    paths = [
        (prefix, path)
        for prefix in (ARTICLES, AUTHORS)
        if (content_dir / prefix).is_dir()
        for path in sorted((content_dir / prefix).glob("*.json"))
    ]
    # An article written in both formats is the JSON file's; the Markdown file is reported.
    for path in sorted((content_dir / ARTICLES).glob(f"*{MARKDOWN}")):
        twin = path.with_suffix(JSON)
        if twin.is_file():
            rejected.append(shadowed(ARTICLES + path.name, ARTICLES + twin.name))
        else:
            paths.append((ARTICLES, path))
    read_files = _read_files_aside if aside else _read_files
    for read in _map(read_files, _chunks(paths), workers if len(paths) >= PARALLEL_FROM else 1):
        for item in read:
            if isinstance(item, ValidationFailed):
                rejected.append(item)
            elif isinstance(item, Article):
                index.add_article(item)
            elif isinstance(item[1], Path):
                files[item[0].slug] = item[1]
                index.add_article(item[0])
            else:
                index.add_profile(*item)
    return index, rejected, files


def load_media(content_dir: Path) -> tuple[list[Processed], list[ValidationFailed]]:
    """Every image under `content_dir/media/`, published as the media function publishes it."""
    from broadsheet.media.renditions import media_hash, process  # noqa: PLC0415 - the imaging library
    from broadsheet.media.stage import media_name_of  # noqa: PLC0415 - loads only when building

    folder = content_dir / MEDIA
    done: list[Processed] = []
    rejected: list[ValidationFailed] = []
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        if not path.is_file() or path.name.startswith(".") or path.name == "LICENSES.md":
            continue
        key = MEDIA + path.name
        try:
            name = media_name_of(key)
            data = path.read_bytes()
            digest = media_hash(data)
            if digest not in _PROCESSED:
                _PROCESSED[digest] = process(key, name, data)
            made = _PROCESSED[digest]
            done.append(replace(made, item=replace(made.item, name=name)))
        except ValidationFailed as failure:
            rejected.append(failure)
    return done, rejected


# Renditions made in this process, by the hash of their original: a test session builds the same
# content many times, and decoding photographs is most of a build's time.
_PROCESSED: dict[str, Processed] = {}


_Read = Article | tuple[str, AuthorProfile] | tuple[Article, Path] | ValidationFailed


def _read_files(paths: Sequence[tuple[str, Path]]) -> list[_Read]:
    read: list[_Read] = []
    for prefix, path in paths:
        key = prefix + path.name
        try:
            if prefix == ARTICLES:
                read.append(read_article(key, path.read_bytes()))
            else:
                read.append((path.stem, read_author(key, path.read_bytes())))
        except ValidationFailed as failure:
            read.append(failure)
        except SkippedKey:
            continue
    return read


def _read_files_aside(paths: Sequence[tuple[str, Path]]) -> list[_Read]:
    """As `_read_files`, each article with its body's mark in place of its body, and its file:
    the builder then holds no body, and neither do the workers it forks to render."""
    read: list[_Read] = []
    for prefix, path in paths:
        for item in _read_files([(prefix, path)]):
            if isinstance(item, Article):
                read.append((item.model_copy(update={"body": _mark(item.body)}), path))
            else:
                read.append(item)
    return read


def default_workers() -> int:
    """How many processes a build uses: every core, or one where forking is unsafe (a process
    that already runs threads, or a platform without fork)."""
    if threading.active_count() > 1 or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def build_site(
    content_dir: Path, out_dir: Path, settings: Settings, workers: int | None = None, *, cache: bool = True
) -> BuildReport:
    """Render the whole site into `out_dir`, writing only files whose bytes changed; with `cache`,
    render only the pages whose inputs changed since the last build into `out_dir`."""
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / BUILD_MARKER).is_file():
        raise NotABuildFolder(f"{out_dir} is not empty and holds no earlier build; choose an empty folder")
    processes = default_workers() if workers is None else workers
    # Previews need the secret the pipeline signs with; given by ARN, it is read once here.
    settings = with_preview_secret(settings, _secretsmanager)
    kept = build_cache.cache_path(out_dir) if cache else None
    key = build_cache.build_key(settings)
    previous = build_cache.load(kept, key) if kept else None
    taken_ns = time.time_ns()
    stamps = build_cache.content_stamps(content_dir)
    if previous is not None and _untouched(previous, stamps, out_dir, settings):
        return _as_before(previous)
    known = build_cache.load_pages(kept) if kept and previous else {}
    if kept:
        build_cache.forget(kept)
    index, rejected, files = _load_content(content_dir, settings, processes, aside=True)
    images, refused = load_media(content_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    writer = FolderWriter(out_dir)
    report = BuildReport(rejected=rejected + refused, redirects=index.redirects())
    root = str(out_dir.resolve())
    outputs = _write_media(images, index, writer, root, report)
    pages = all_pages(index, settings.page_size)
    before = previous.outputs if previous else {}
    global _SHARED  # noqa: PLW0603 - what forked workers inherit instead of receiving it pickled
    _SHARED = _Shared(index, files, settings, writer, root, known, before, kept is not None)
    try:
        done = list(_map(_publish_chunk, _chunks(pages), processes if len(pages) >= PARALLEL_FROM else 1))
    finally:
        _SHARED = None
    report.pages = len(pages)
    records: dict[str, PageRecord] = {}
    for chunk in done:
        report.rendered += chunk.rendered
        report.written += chunk.written
        report.unchanged += chunk.unchanged
        outputs.update(chunk.outputs)
        records.update(chunk.records)
    for gone in sorted(writer.keys() - outputs.keys()):
        writer.delete(gone)
        report.removed += 1
    (out_dir / BUILD_MARKER).touch()
    if kept:
        summary = {
            "pages": report.pages,
            "rejected": [(failure.key, failure.errors) for failure in report.rejected],
            "redirects": report.redirects,
        }
        settled = build_cache.settled(stamps, taken_ns)
        build_cache.save(kept, Cache(key, settled, outputs, records, summary))
    return report


def _write_media(
    images: list[Processed], index: MemoryIndex, writer: FolderWriter, root: str, report: BuildReport
) -> dict[str, Stamp]:
    """Index the published images and write their renditions; return the files written."""
    outputs: dict[str, Stamp] = {}
    for image in images:
        index.add_media(image.item)
        for rendition in image.renditions:
            output = Output(rendition.key, rendition.body, rendition.content_type, RENDITION_CACHE)
            if writer.write(output) is Change.WRITTEN:
                report.written += 1
            else:
                report.unchanged += 1
            outputs[rendition.key] = build_cache.stamp(os.path.join(root, rendition.key))
    return outputs


def _secretsmanager() -> SecretsManagerClient:
    # The AWS SDK loads only for a secret given by ARN: a build from a folder needs no AWS.
    from broadsheet.adapters import clients  # noqa: PLC0415

    return clients.secretsmanager()


def _untouched(
    previous: Cache, stamps: list[tuple[str, int, int, int]], out_dir: Path, settings: Settings
) -> bool:
    """Whether nothing the last build read or wrote has changed, so this one has nothing to do.
    Only under a fixed clock: at a moving one, embargoes and expiries come due between builds."""
    return (
        bool(settings.now)
        and previous.content == stamps
        and (out_dir / BUILD_MARKER).is_file()
        and build_cache.output_stamps(out_dir) == previous.outputs
    )


def _as_before(previous: Cache) -> BuildReport:
    """The report of a build that found everything as the last one left it."""
    summary = previous.report
    rejected: list[tuple[str, list[FieldError]]] = summary["rejected"]
    return BuildReport(
        pages=summary["pages"],
        unchanged=len(previous.outputs),
        rejected=[ValidationFailed(key, errors) for key, errors in rejected],
        redirects=summary["redirects"],
    )


@dataclass(frozen=True)
class _Shared:
    """What the workers inherit: the index, the settings, the writer and the last build's cache."""

    index: IndexReader
    # Each article's file, by slug: its body is read back from it when a page shows it.
    files: dict[str, Path]
    settings: Settings
    writer: FolderWriter
    root: str
    known: dict[str, PageRecord]
    before: dict[str, Stamp]
    # Whether to keep a cache: only then are the pages' reads recorded.
    kept: bool


@dataclass
class _Done:
    """What a worker did with a run of pages."""

    rendered: int = 0
    written: int = 0
    unchanged: int = 0
    outputs: dict[str, Stamp] = field(default_factory=dict)
    records: dict[str, PageRecord] = field(default_factory=dict)


_SHARED: _Shared | None = None


def _publish_chunk(pages: Sequence[Page]) -> _Done:
    """Render and write a run of pages, skipping those whose inputs are as the last build found
    them and whose files are as it left them."""
    shared = _SHARED
    assert shared is not None  # noqa: S101 - set by build_site before any worker starts
    done = _Done()
    for page in pages:
        record = shared.known.get(page.id)
        if record is not None and _still(record, page, shared):
            done.records[page.id] = record
            if record.key is not None:
                done.unchanged += 1
                done.outputs[record.key] = shared.before[record.key]
            continue
        traced = TracedIndex(shared.index) if shared.kept else None
        output = render_page(page, _Bodies(traced or shared.index, shared.files), shared.settings)
        done.rendered += 1
        if traced is not None:
            written_to = output.key if output else None
            done.records[page.id] = PageRecord(tuple(traced.reads), traced.digest(), written_to)
        if output is None:
            continue
        if shared.writer.write(output) is Change.WRITTEN:
            done.written += 1
        else:
            done.unchanged += 1
        done.outputs[output.key] = build_cache.stamp(os.path.join(shared.root, output.key))
    return done


def _still(record: PageRecord, page: Page, shared: _Shared) -> bool:
    """Whether a page would render as the last build rendered it, into the file it left."""
    if build_cache.reads_clock(page) or build_cache.replay(record.reads, shared.index) != record.digest:
        return False
    if record.key is None:
        return True
    try:
        return shared.before.get(record.key) == build_cache.stamp(os.path.join(shared.root, record.key))
    except OSError:
        return False


# What an article indexed without its body holds in its place: a digest of the body, so that
# pages whose reads record it (the rebuild cache's digests) change when the body does.
_MARK = "\0body "


def _mark(body: str) -> str:
    return _MARK + hashlib.blake2b(body.encode("utf-8", "surrogatepass"), digest_size=20).hexdigest()


class ContentChanged(Exception):
    """An article file changed while the build was reading the content."""


class _Bodies:
    """The index as pages read it: each article with its body, read back from its file when a
    page asks for the article. A large build would otherwise hold every body for its whole run,
    in the builder and, counted again, in each worker forked from it."""

    def __init__(self, index: IndexReader, files: dict[str, Path]) -> None:
        self._index = index
        self._files = files

    def _whole(self, indexed: IndexedArticle) -> IndexedArticle:
        if not indexed.article.body.startswith(_MARK):
            return indexed
        return _whole(indexed, self._files[indexed.article.slug])

    def get_article(self, slug: str) -> IndexedArticle | None:
        """As the index's."""
        found = self._index.get_article(slug)
        return self._whole(found) if found is not None else None

    def get_articles(self, slugs: list[str]) -> dict[str, IndexedArticle]:
        """As the index's."""
        return {slug: self._whole(found) for slug, found in self._index.get_articles(slugs).items()}

    def get_profile(self, author_slug: str) -> AuthorProfile | None:
        """As the index's."""
        return self._index.get_profile(author_slug)

    def get_media(self, names: list[str]) -> dict[str, MediaItem]:
        """As the index's."""
        return self._index.get_media(names)

    def months(self) -> list[tuple[str, int]]:
        """As the index's."""
        return self._index.months()

    def count(self, listing: str) -> int:
        """As the index's."""
        return self._index.count(listing)

    def position(self, listing: str, sort_key: str) -> int:
        """As the index's."""
        return self._index.position(listing, sort_key)

    def newest(self, listing: str, limit: int) -> ListingSlice:
        """As the index's."""
        return self._index.newest(listing, limit)

    def span(self, listing: str, start: int, stop: int) -> ListingSlice:
        """As the index's."""
        return self._index.span(listing, start, stop)

    def neighbours(self, listing: str, sort_key: str, limit: int, *, older: bool) -> tuple[Entry, ...]:
        """As the index's."""
        return self._index.neighbours(listing, sort_key, limit, older=older)


def _whole(indexed: IndexedArticle, path: Path) -> IndexedArticle:
    """`indexed` with its article's body: the same object while it is kept, as a page and the
    three formats of each feed that show an article ask for it in turn."""
    kept = _WHOLE.pop(id(indexed), None)
    if kept is None or kept[0] is not indexed:
        article = indexed.article
        kept = (
            indexed,
            replace(indexed, article=article.model_copy(update={"body": _body(path, article.body)})),
        )
    _WHOLE[id(indexed)] = kept
    if len(_WHOLE) > _KEEP:
        del _WHOLE[next(iter(_WHOLE))]
    return kept[1]


_KEEP = 512
# The articles with bodies made last, least recent first, by the id of the indexed article.
_WHOLE: dict[int, tuple[IndexedArticle, IndexedArticle]] = {}


def _body(path: Path, mark: str) -> str:
    """The body of the article file at `path`, which must be the one `mark` was made from."""
    raw = path.read_bytes()
    body: object
    try:
        if path.suffix == MARKDOWN:
            body = read_markdown(raw.decode("utf-8-sig")).data["body"]
        else:
            body = json.loads(raw)["body"]
    except (ValueError, KeyError, TypeError, FrontMatterError):
        body = None
    if isinstance(body, str) and _mark(body) == mark:
        return body
    # What validation made of the file, should it differ from the file's own text.
    try:
        body = read_article(ARTICLES + path.name, raw).body
    except (ValidationFailed, SkippedKey):
        body = None
    if not isinstance(body, str) or _mark(body) != mark:
        raise ContentChanged(f"{path} changed during the build; build again")
    return body


def _chunks(items: Sequence[_T]) -> list[Sequence[_T]]:
    return [items[at : at + _CHUNK] for at in range(0, len(items), _CHUNK)]


def _map(work: Callable[[Sequence[_T]], _R], chunks: list[Sequence[_T]], workers: int) -> list[_R]:
    """`work` over `chunks` in order, in `workers` forked processes (or in this one)."""
    if workers <= 1 or len(chunks) <= 1:
        return [work(chunk) for chunk in chunks]
    # Objects made so far are inherited, not collected: the workers' collectors leave them
    # untouched, so their memory stays shared with this process.
    gc.freeze()
    try:
        # This process takes every `workers`-th chunk itself rather than wait: one process fewer
        # holding its own copy of what it touches. Interleaved, the shares hold alike pages.
        theirs = [at for at in range(len(chunks)) if at % workers]
        with multiprocessing.get_context("fork").Pool(workers - 1) as pool:
            pending = pool.map_async(work, [chunks[at] for at in theirs], chunksize=1)
            done = {at: work(chunks[at]) for at in range(0, len(chunks), workers)}
            done.update(zip(theirs, pending.get(), strict=True))
        return [done[at] for at in range(len(chunks))]
    finally:
        gc.unfreeze()
