"""The `broadsheet` command: validate files, build offline, run and feed the local stack."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from broadsheet.build import NotABuildFolder, build_site
from broadsheet.contract.fields import visible
from broadsheet.contract.files import (
    AUTHORS,
    JSON,
    MARKDOWN,
    content_key,
    read_article,
    read_author,
    shadowed,
)
from broadsheet.errors import SkippedKey, ValidationFailed
from broadsheet.settings import Settings

STATE = Path(".local/stack.json")
REPORT = "import-report.json"


def validate(paths: list[Path]) -> int:
    """Check files against the contract; print every error; 1 if any file is bad."""
    bad = 0
    for file in paths:
        key = content_key(file)
        # A file name need not be UTF-8; the terminal gets it with such bytes escaped.
        path = visible(str(file))
        try:
            raw = file.read_bytes()
            if file.suffix == MARKDOWN and file.with_suffix(JSON).is_file():
                # As the pipeline and the build decide: the JSON file holds the article.
                raise shadowed(key, content_key(file.with_suffix(JSON)))
            if key.startswith(AUTHORS):
                read_author(key, raw)
            else:
                read_article(key, raw)
        except OSError as exc:
            bad += 1
            print(f"{path}: cannot read: {exc.strerror}")
        except ValidationFailed as failure:
            bad += 1
            print(f"{path}: {len(failure.errors)} error(s)")
            for error in failure.errors:
                print(f"  {error.field}: {error.message}")
        except SkippedKey as skip:
            bad += 1
            print(f"{path}: {skip}")
        else:
            print(f"{path}: ok")
    return 1 if bad else 0


def build(content_dir: Path, out_dir: Path, *, cache: bool = True) -> int:
    """Render the whole site from a folder; 1 if any file was rejected."""
    try:
        report = build_site(content_dir, out_dir, Settings(), cache=cache)
    except NotABuildFolder as refusal:
        print(f"refused: {refusal}")
        return 2
    for failure in report.rejected:
        print(f"rejected {failure.key}:")
        for error in failure.errors:
            print(f"  {error.field}: {error.message}")
    print(
        f"{report.pages} pages ({report.rendered} rendered): {report.written} written, "
        f"{report.unchanged} unchanged, {report.removed} removed, {len(report.rejected)} file(s) rejected"
    )
    return 1 if report.rejected else 0


def import_wordpress(args: argparse.Namespace) -> int:
    """Import a WordPress export into a content folder; 1 if any file was refused, 2 if unreadable."""
    from rich.console import Console

    from broadsheet_dev.importers.report import print_summary
    from broadsheet_dev.importers.wordpress import REPORT_NAME, ImportOptions, timed_import
    from broadsheet_dev.importers.wxr import NotAnExport

    options = ImportOptions(
        export=args.export,
        content_dir=args.content_dir,
        media_dir=args.media_dir,
        utc_offset=args.utc_offset,
        report_path=args.report,
        progress=not args.no_progress,
    )
    try:
        report, seconds = timed_import(options)
    except (NotAnExport, OSError) as refusal:
        print(f"cannot import {args.export}: {refusal}")
        return 2
    print_summary(report, seconds, args.report or args.content_dir / REPORT_NAME, Console())
    return 1 if report.failed() else 0


def _rebuild_parser(commands: Any) -> argparse.ArgumentParser:
    rebuild: argparse.ArgumentParser = commands.add_parser(
        "rebuild", help="re-render every page of the running local stack, or of a deployed one (--stack)"
    )
    rebuild.add_argument(
        "--stack", help="a deployed stack's name: its table and render queue are read from CloudFormation"
    )
    rebuild.add_argument("--region", help="the deployed stack's region (default: the AWS configuration's)")
    return rebuild


def rebuild_deployed(stack: str, region: str | None) -> int:
    """Re-render every page of a deployed stack, with the AWS configuration's credentials."""
    import boto3

    from broadsheet_dev.operations import rebuild, stack_target
    from broadsheet_dev.progress import counted

    session = boto3.Session(region_name=region)
    sqs = session.client("sqs")
    try:
        target = stack_target(session.client("cloudformation"), sqs, stack)
    except LookupError as exc:
        print(exc, file=sys.stderr)
        return 1
    with counted("listings read") as shown:
        asked = rebuild(
            session.client("dynamodb"), sqs, target, cause=f"rebuild-{time.time_ns()}", progress=shown
        )
    print(f"asked for {asked} pages of stack {stack} to be re-rendered")
    return 0


def _utc_offset(text: str) -> timedelta:
    """`+03:00`, `-05:30` or `Z` as an offset from UTC."""
    if text in {"Z", "z", "+00:00", "-00:00"}:
        return timedelta(0)
    sign, hours, _, minutes = text[:1], text[1:3], text[3:4], text[4:6]
    if (
        sign not in "+-"
        or not (hours + minutes).isdigit()
        or len(text) != 6
        or int(hours) > 23
        or int(minutes) > 59
    ):
        raise argparse.ArgumentTypeError(f"{text!r} is not an offset like +03:00 or -05:30")
    offset = timedelta(hours=int(hours), minutes=int(minutes))
    return -offset if sign == "-" else offset


def _history_parsers(commands: Any) -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    past = commands.add_parser("history", help="list an article's versions in the content bucket")
    past.add_argument("slug")
    restore = commands.add_parser("restore", help="publish an old version of an article again")
    restore.add_argument("slug")
    restore.add_argument("version", help="a version id from `broadsheet history SLUG`")
    return past, restore


def _add_build(commands: Any) -> None:
    offline = commands.add_parser("build", help="render the whole site from a folder, no AWS")
    offline.add_argument("content_dir", type=Path)
    offline.add_argument("out_dir", type=Path)
    offline.add_argument("--no-cache", action="store_true", help="render every page; keep no cache")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `broadsheet` command."""
    parser = argparse.ArgumentParser(prog="broadsheet", description="Serverless publishing for news sites.")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("validate", help="check article or author files; exit 1 on any error")
    check.add_argument("files", nargs="+", type=Path)
    _add_build(commands)
    importer = commands.add_parser("import", help="bring another system's export into a content folder")
    sources = importer.add_subparsers(dest="source", required=True)
    wordpress = sources.add_parser(
        "wordpress", help="a WordPress export (Tools → Export, WXR) into articles/, authors/ and media/"
    )
    wordpress.add_argument("export", type=Path, help="the WXR file WordPress wrote")
    wordpress.add_argument("content_dir", type=Path, help="the content folder to write into")
    wordpress.add_argument(
        "--media-dir", type=Path, help="the site's wp-content/uploads folder, to copy images"
    )
    wordpress.add_argument(
        "--utc-offset",
        type=_utc_offset,
        help="the site's offset for posts without a GMT date (default: inferred)",
    )
    wordpress.add_argument(
        "--report", type=Path, help=f"where the report goes (default CONTENT_DIR/{REPORT})"
    )
    wordpress.add_argument("--no-progress", action="store_true", help="no progress bar")
    local = commands.add_parser("local", help="run the whole pipeline locally on a moto server")
    local.add_argument("--port", type=int, default=3000, help="where the site is served (default 3000)")
    local.add_argument(
        "--aws-port", type=int, default=4566, help="where the moto server listens (default 4566)"
    )
    local.add_argument(
        "--content", type=Path, default=Path("events/content"), help="sample content to publish"
    )
    local.add_argument(
        "--watch", type=Path, default=Path("content"), help="folder an editor saves files into"
    )
    publish = commands.add_parser(
        "publish", help="upload files or folders to the running local stack's content bucket, with a summary"
    )
    publish.add_argument(
        "files", nargs="+", type=Path, help="article, author or image files, or folders of them"
    )
    unpublish = commands.add_parser("unpublish", help="delete articles from the running local stack")
    unpublish.add_argument("slugs", nargs="+")
    rebuild = _rebuild_parser(commands)
    status = commands.add_parser("status", help="queue depths, dead letters and the latest error reports")
    redrive = commands.add_parser("redrive", help="send dead-lettered messages back to their queues")
    reconcile = commands.add_parser("reconcile", help="find and repair drift between content, index and site")
    past, restore = _history_parsers(commands)
    mail = commands.add_parser("mail", help="show the newsletter mail the local stack has sent")
    mail.add_argument("--last", type=int, default=0, help="only the newest N mails (default: all)")
    digest = commands.add_parser("digest", help="run the newsletter digest now on the local stack")
    bounce = commands.add_parser("bounce", help="report the newest local mail to an address as bounced")
    bounce.add_argument("address")
    bounce.add_argument("--kind", choices=["permanent", "transient", "complaint"], default="permanent")
    for command in (
        local,
        publish,
        unpublish,
        rebuild,
        status,
        redrive,
        reconcile,
        past,
        restore,
        mail,
        digest,
        bounce,
    ):
        command.add_argument("--state", type=Path, default=STATE, help="where the running stack is described")
    args = parser.parse_args(argv)

    if args.command == "validate":
        return validate(args.files)
    if args.command == "build":
        return build(args.content_dir, args.out_dir, cache=not args.no_cache)
    if args.command == "import":
        return import_wordpress(args)
    if args.command == "rebuild" and args.stack:
        return rebuild_deployed(args.stack, args.region)
    # The local stack's tools need moto and watchdog, which the Lambda layer does not ship.
    from broadsheet_dev.local import commands as local_commands

    if args.command == "local":
        return local_commands.run(
            port=args.port, aws_port=args.aws_port, content=args.content, watch=args.watch, state=args.state
        )
    if args.command in ("mail", "digest", "bounce"):
        from broadsheet_dev.local import mail_commands

        if args.command == "mail":
            return mail_commands.mail(args.state, args.last)
        if args.command == "bounce":
            return mail_commands.bounce(args.state, args.address, args.kind)
        return mail_commands.digest(args.state)
    if args.command in ("publish", "unpublish", "history", "restore"):
        return local_commands.editor_command(args)
    chosen: dict[str, Callable[[Path], int]] = {
        "rebuild": local_commands.rebuild,
        "status": local_commands.status,
        "redrive": local_commands.redrive,
        "reconcile": local_commands.reconcile,
    }
    return chosen[args.command](args.state)


if __name__ == "__main__":
    sys.exit(main())
