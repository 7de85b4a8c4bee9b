"""`broadsheet local`, `publish`, `unpublish`, `rebuild`, `status`, `redrive`, `reconcile`,
`history` and `restore`: the local stack from a terminal."""

from __future__ import annotations

import argparse
import hashlib
import json
import mimetypes
import signal
import threading
import time
from pathlib import Path
from typing import Any, Protocol

import boto3
from rich.console import Console
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from broadsheet.adapters.dynamo import DynamoIndex
from broadsheet.adapters.sqs import s3_notification
from broadsheet.contract.files import (
    ARTICLE_SUFFIXES,
    ARTICLES,
    AUTHORS,
    MARKDOWN,
    content_key,
    read_article,
    read_author,
)
from broadsheet.contract.media import MEDIA, UPLOAD_FORMATS
from broadsheet.errors import SkippedKey, ValidationFailed
from broadsheet.preview import PREVIEW_PREFIX, parse_preview_key, token_expiry
from broadsheet.runtime.reconcile import ReconcileServices, build_services, run_reconcile
from broadsheet.settings import Settings
from broadsheet_dev import history
from broadsheet_dev.local.runtime import LocalStack, StackOptions
from broadsheet_dev.local.stack import CREDENTIALS, redrive_sources, use_endpoint
from broadsheet_dev.local.template import event_sources, load_template
from broadsheet_dev.operations import (
    DeadLetters,
    RebuildTarget,
    latest_reports,
    peek,
    queue_depths,
    redrive_stream_failures,
)
from broadsheet_dev.operations import rebuild as rebuild_pages
from broadsheet_dev.operations import redrive as redrive_messages
from broadsheet_dev.progress import PublishSummary, Rejection, counted, print_lines, progress_bar


class Editor:
    """Puts files into and takes them out of the content bucket, as an editor's tool would."""

    def __init__(self, bucket: str, ingest_queue_url: str, endpoint: str, media_queue_url: str = "") -> None:
        session = boto3.Session(
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=CREDENTIALS["AWS_REGION"],
        )
        self.session = session
        self.s3 = session.client("s3", endpoint_url=endpoint)
        self.sqs = session.client("sqs", endpoint_url=endpoint)
        self.bucket = bucket
        self.ingest_queue_url = ingest_queue_url
        self.media_queue_url = media_queue_url

    def publish(self, path: Path) -> str:
        """Upload one file; S3 notifies the ingest queue (the media queue for an image)."""
        key = editor_key(path)
        if key.startswith(MEDIA):
            kind = mimetypes.guess_type(path.name)[0]
        else:
            kind = "text/markdown; charset=utf-8" if path.suffix == MARKDOWN else "application/json"
        self.s3.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=path.read_bytes(),
            ContentType=kind or "application/octet-stream",
        )
        return key

    def holds(self, key: str, raw: bytes) -> bool:
        """Whether the bucket's current object at `key` has these bytes (a single-part upload's
        ETag is the MD5 of its bytes)."""
        try:
            etag = self.s3.head_object(Bucket=self.bucket, Key=key)["ETag"].strip('"')
        except self.s3.exceptions.ClientError:
            return False
        return etag == hashlib.md5(raw, usedforsecurity=False).hexdigest()

    def unpublish(self, key: str) -> None:
        """Delete one file. moto sends no event for a delete on a versioned bucket, so the
        local tool sends the hint S3 would have sent; on AWS the bucket does it."""
        self.s3.delete_object(Bucket=self.bucket, Key=key)
        body = s3_notification(self.bucket, key, "ObjectRemoved:Delete")
        queue = self.media_queue_url if key.startswith(MEDIA) else self.ingest_queue_url
        self.sqs.send_message(QueueUrl=queue, MessageBody=body)


def editor_key(path: Path) -> str:
    """The content-bucket key of a local file: an image in a `media` folder goes under media/."""
    if path.parent.name == "media":
        return MEDIA + path.name
    return content_key(path)


def is_upload(path: Path) -> bool:
    """Whether a local file is one an editor publishes: an article or profile, or an image."""
    if path.name.startswith("."):
        return False
    if path.parent.name == "media":
        return path.suffix.lower().lstrip(".") in UPLOAD_FORMATS
    return path.suffix in ARTICLE_SUFFIXES


def _editor_from_state(path: Path) -> Editor:
    if not path.is_file():
        raise SystemExit("no local stack is running here (start one with `make run`)")
    state = json.loads(path.read_text())
    return Editor(
        state["content_bucket"],
        state["ingest_queue_url"],
        state["endpoint"],
        state.get("media_queue_url", ""),
    )


class _Watcher(FileSystemEventHandler):
    def __init__(self, editor: Editor) -> None:
        self.editor = editor

    def _key(self, event: FileSystemEvent) -> tuple[Path, str] | None:
        path = Path(str(event.dest_path if event.event_type == "moved" else event.src_path))
        if event.is_directory or not is_upload(path):
            return None
        return path, editor_key(path)

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in {"created", "modified", "moved", "deleted", "closed"}:
            return
        found = self._key(event)
        if found is None:
            return
        path, key = found
        try:
            if event.event_type == "deleted":
                self.editor.unpublish(key)
                print(f"unpublished {key}")
            elif (path.is_file() and path.stat().st_size > 0) or event.event_type == "closed":
                self.editor.publish(path)
                print(f"published {key}")
        except Exception as exc:  # noqa: BLE001 - the watcher must keep running
            print(f"could not publish {path}: {exc}")


def run(
    *, port: int, aws_port: int, content: Path, watch: Path, state: Path, root: Path | None = None
) -> int:
    """Run the local stack in the foreground until Ctrl-C."""
    stack = LocalStack(StackOptions(root=(root or Path.cwd()), site_port=port, aws_port=aws_port)).start()
    stopped = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    observer: Any = Observer()
    try:
        stack.write_state(state)
        deployed = stack.stack
        editor = Editor(
            deployed.content_bucket,
            deployed.queue_url("IngestQueue"),
            deployed.endpoint,
            deployed.queue_url("MediaQueue"),
        )
        stack.render_static_pages()
        # Images first, so that the articles showing them are rendered with them the first time.
        found = [p for p in [*sorted(content.glob("*/*")), *sorted(watch.glob("**/*"))] if p.is_file()]
        images = [p for p in found if p.parent.name == "media" and is_upload(p)]
        files = images + [p for p in found if p.parent.name != "media" and p.suffix in ARTICLE_SUFFIXES]
        for path in files:
            editor.publish(path)
        watch.mkdir(parents=True, exist_ok=True)
        (watch / "articles").mkdir(exist_ok=True)
        (watch / "authors").mkdir(exist_ok=True)
        (watch / "media").mkdir(exist_ok=True)
        observer.schedule(_Watcher(editor), str(watch), recursive=True)
        observer.start()
        print(f"Broadsheet is publishing {len(files)} sample files…")
        stack.wait_drained(timeout=900)
        print(f"The site is at {stack.edge.url if stack.edge else ''}/")
        print(
            f"Save article files in {watch}/articles/ (authors in {watch}/authors/, images in "
            f"{watch}/media/) to publish them."
        )
        print(f"AWS APIs (moto) at {deployed.endpoint}: content bucket {deployed.content_bucket}")
        print("Press Ctrl-C to stop.")
        stopped.wait()
    finally:
        print("Stopping…")
        if observer.is_alive():
            observer.stop()
            observer.join(timeout=5)
        stack.stop()
        state.unlink(missing_ok=True)
    return 0


def publish(files: list[Path], state: Path, console: Console | None = None) -> int:
    """Upload files (a folder: every article, profile and image in it) to the running local
    stack, with a progress bar and a summary; a file the contract refuses is not uploaded and
    its errors are listed. 1 if any file was refused."""
    summary = publish_all(_editor_from_state(state), files, console or Console())
    return 1 if summary.failed() else 0


class Uploader(Protocol):
    """What publishing needs of the content bucket."""

    def holds(self, key: str, raw: bytes) -> bool: ...

    def publish(self, path: Path) -> str: ...


def publish_all(editor: Uploader, files: list[Path], console: Console) -> PublishSummary:
    """Publish files and folders with a progress bar; print and return the summary."""
    found = upload_candidates(files)
    summary = PublishSummary()
    with progress_bar(console) as bar:
        task = bar.add_task("publishing", total=len(found))
        for path in found:
            publish_one(editor, path, summary)
            bar.advance(task)
    print_lines(console, summary.lines())
    return summary


def upload_candidates(paths: list[Path]) -> list[Path]:
    """The files named, a folder standing for every file under it; images first, so that the
    articles showing them are rendered with them the first time."""
    found = [p for path in paths for p in (sorted(path.glob("**/*")) if path.is_dir() else [path])]
    files = [p for p in found if p.is_file()]
    return sorted(files, key=lambda p: p.parent.name != "media")


def publish_one(editor: Uploader, path: Path, summary: PublishSummary) -> None:
    """Upload one file unless it is not an upload, the contract refuses it, or the bucket holds
    the same bytes already; record which in `summary`."""
    if not is_upload(path):
        summary.skipped.append(str(path))
        return
    key = editor_key(path)
    raw = path.read_bytes()
    if not key.startswith(MEDIA):
        try:
            (read_author if key.startswith(AUTHORS) else read_article)(key, raw)
        except ValidationFailed as failure:
            summary.rejected.append(Rejection(str(path), [f"{e.field}: {e.message}" for e in failure.errors]))
            return
        except SkippedKey as skip:
            summary.rejected.append(Rejection(str(path), [str(skip)]))
            return
    if editor.holds(key, raw):
        summary.unchanged.append(key)
        return
    summary.published.append(editor.publish(path))


def unpublish(slugs: list[str], state: Path) -> int:
    """Delete articles from the running local stack."""
    editor = _editor_from_state(state)
    for slug in slugs:
        # Whichever format the article was written in.
        for suffix in ARTICLE_SUFFIXES:
            editor.unpublish(f"{ARTICLES}{slug}{suffix}")
            print(f"unpublished {ARTICLES}{slug}{suffix}")
    return 0


def rebuild(state: Path, console: Console | None = None) -> int:
    """Re-render every page of the running stack through the normal render queue."""
    editor = _editor_from_state(state)
    described = json.loads(state.read_text())
    dynamodb = editor.session.client("dynamodb", endpoint_url=described["endpoint"])
    target = RebuildTarget(described["table"], described["render_queue_url"], int(described["page_size"]))
    console = console or Console()
    with counted("listings read", console) as shown:
        asked = rebuild_pages(dynamodb, editor.sqs, target, cause=f"rebuild-{time.time_ns()}", progress=shown)
    print_lines(console, [f"asked for {asked} pages to be re-rendered"])
    return 0


def _local_services(state: Path) -> tuple[dict[str, Any], ReconcileServices]:
    """The running stack's description and services built for it, as its functions see them."""
    if not state.is_file():
        raise SystemExit("no local stack is running here (start one with `make run`)")
    described: dict[str, Any] = json.loads(state.read_text())
    use_endpoint(described["endpoint"])
    config = Settings(
        table_name=described["table"],
        content_bucket=described["content_bucket"],
        site_bucket=described["site_bucket"],
        render_queue_url=described["render_queue_url"],
        ingest_queue_url=described["ingest_queue_url"],
        media_queue_url=described.get("media_queue_url", ""),
        site_url=described["site"],
        page_size=int(described["page_size"]),
    )
    return described, build_services(config)


def dead_letter_queues(template: dict[str, Any]) -> list[DeadLetters]:
    """Every dead-letter queue the template declares: each queue's RedrivePolicy target and each
    stream event source's on-failure destination."""
    found = [DeadLetters(dlq, "queue", source) for dlq, source in redrive_sources(template).items()]
    found += [
        DeadLetters(source.on_failure, "stream", source.function)
        for source in event_sources(template)
        if source.on_failure
    ]
    return sorted(found, key=lambda d: d.queue)


def _dead_letters(root: Path) -> list[DeadLetters]:
    path = root / "template.yaml"
    if not path.is_file():
        raise SystemExit(f"no template.yaml in {root} (run this where `broadsheet local` runs)")
    return dead_letter_queues(load_template(path))


def status(state: Path, root: Path | None = None) -> int:
    """Print queue depths, every dead-letter queue's messages and the newest error reports of the
    running stack."""
    described, svc = _local_services(state)
    sqs, s3 = boto3.client("sqs"), boto3.client("s3")
    print("Queues (waiting / in flight / delayed):")
    for depth in queue_depths(sqs, described["queues"]):
        print(f"  {depth.name:<12} {depth.waiting:>5} {depth.in_flight:>5} {depth.delayed:>5}")
    for dead in _dead_letters(root or Path.cwd()):
        bodies = peek(sqs, described["queues"][dead.queue])
        if bodies:
            print(f"{dead.queue} holds {dead.kind} failures of {dead.source} (`broadsheet redrive`), e.g.:")
            for body in bodies[:3]:
                print(f"  {body[:200]}")
    _print_previews(s3, svc.settings.site_bucket, described["site"])
    reports = latest_reports(s3, svc.settings.content_bucket)
    print(f"Latest error reports ({len(reports)}):" if reports else "No error reports.")
    for report in reports:
        print(f"  {report.modified}  {report.key}")
        for error in report.errors[:5]:
            print(f"    {error.get('field')}: {error.get('message')}")
    return 0


def _print_previews(s3: Any, site_bucket: str, site_url: str) -> None:
    """Every draft preview the site holds: its address and when it expires."""
    keys = [
        o["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=site_bucket, Prefix=PREVIEW_PREFIX)
        for o in page.get("Contents", [])
    ]
    previews = [found for key in keys if (found := parse_preview_key(key)) is not None]
    print(f"Draft previews ({len(previews)}):" if previews else "No draft previews.")
    for token, slug in sorted(previews, key=lambda p: p[1]):
        expires = token_expiry(token)
        until = expires.isoformat() if expires else "?"
        print(f"  {slug}: {site_url.rstrip('/')}/preview/{token}/articles/{slug}/  (until {until})")


def redrive(state: Path, root: Path | None = None) -> int:
    """Empty every dead-letter queue: a queue's messages go back to it; a stream's failures are
    repaired by reconcile comparing every page (the records themselves may have expired)."""
    described, svc = _local_services(state)
    sqs = boto3.client("sqs")
    queues = described["queues"]
    for dead in _dead_letters(root or Path.cwd()):
        if dead.kind == "queue":
            moved = redrive_messages(sqs, queues[dead.queue], queues[dead.source])
            print(f"{dead.queue} → {dead.source}: {moved} message(s)")
        else:
            repaired = redrive_stream_failures(
                sqs, queues[dead.queue], lambda: run_reconcile(svc, every_page=True)
            )
            print(f"{dead.queue}: {repaired} {dead.source} failure(s) repaired by reconcile")
    return 0


def reconcile(state: Path) -> int:
    """Compare content, index and site of the running stack and repair drift."""
    _, svc = _local_services(state)
    report = run_reconcile(svc)
    drift = ", ".join(f"{kind.replace('_', ' ')} {count}" for kind, count in report.drift().items())
    print(f"drift: {drift}; {len(report.rendered)} page(s) sent to the render queue")
    return 0


def _article_key(editor: Editor, slug: str) -> str:
    """The content key of `slug`'s file: the JSON one, else the Markdown one if it has versions."""
    for suffix in (".json", ".md"):
        key = f"{ARTICLES}{slug}{suffix}"
        if history.versions(editor.s3, editor.bucket, key):
            return key
    raise SystemExit(f"the content bucket holds no version of {ARTICLES}{slug}.json or .md")


def show_history(slug: str, state: Path) -> int:
    """Print every version of an article, newest first, and what each changed."""
    editor = _editor_from_state(state)
    key = _article_key(editor, slug)
    described = json.loads(state.read_text())
    index = DynamoIndex(
        editor.session.client("dynamodb", endpoint_url=described["endpoint"]), described["table"]
    )
    found = history.attributed(history.versions(editor.s3, editor.bucket, key), index.uploads(slug))
    bodies = [
        None if v.deleted else history.read_version(editor.s3, editor.bucket, key, v.version_id)
        for v in found
    ]
    print(f"{key}: {len(found)} version(s), newest first")
    for at, version in enumerate(found):
        earlier = bodies[at + 1] if at + 1 < len(bodies) else None
        change = "deleted" if version.deleted else history.describe_change(earlier, bodies[at]).summary()
        if at + 1 == len(found) and not version.deleted:
            change = "first version"
        print(version.line(change))
    return 0


def restore(slug: str, version_id: str, state: Path) -> int:
    """Publish an old version of an article again: copy it over the current object."""
    editor = _editor_from_state(state)
    key = _article_key(editor, slug)
    new_version = history.restore(editor.s3, editor.bucket, key, version_id)
    # The copy is a new version: the bucket notifies ingest as for any upload (moto does too).
    print(f"restored {key} from version {version_id} as version {new_version}")
    return 0


def editor_command(args: argparse.Namespace) -> int:
    """`broadsheet publish`, `unpublish`, `history` or `restore`, from its parsed arguments."""
    if args.command == "publish":
        return publish(args.files, args.state)
    if args.command == "unpublish":
        return unpublish(args.slugs, args.state)
    if args.command == "history":
        return show_history(args.slug, args.state)
    return restore(args.slug, args.version, args.state)
