"""Draft previews and article history on the local stack: a draft gets a private preview and no
listing; publishing removes it; an old version restored is live again; the site stays equal to
the offline build throughout."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from broadsheet.preview import parse_preview_key
from broadsheet_dev import history
from broadsheet_dev.local.runtime import LocalStack
from tests.support import Editor, assert_site_matches_offline_build, indexed
from tests.waiting import wait_for

pytestmark = pytest.mark.integration

# Dated far ahead so the preview is unexpired both at the stack's fixed clock and at the edge,
# which checks the token's expiry against the wall clock.
DRAFT: dict[str, object] = {
    "title": "A draft under review",
    "teaser": "Not for readers yet.",
    "authors": ["Preview Desk"],
    "published_at": "2026-11-29T10:00:00Z",
    "updated_at": "2099-01-01T00:00:00Z",
    "section": "previews",
    "tags": ["Drafts"],
    "body": "Draft text.\n\n## Still changing\n\nMore.",
    "status": "draft",
}


# The principal the local stack's S3 names for requests signed with the tests' access key.
UPLOADER = "AWS:testing"


def previews(editor: Editor, slug: str) -> list[str]:
    return [
        key
        for key in editor.site_files()
        if (found := parse_preview_key(key)) is not None and found[1] == slug
    ]


def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_draft_gets_a_private_preview_that_publishing_removes(
    stack: LocalStack, editor: Editor, tmp_path: Path
) -> None:
    slug = "draft-under-review"
    # A live article beside it, so that the listings and feeds the offline build writes exist.
    companion: dict[str, object] = {k: v for k, v in DRAFT.items() if k not in {"status", "updated_at"}}
    editor.put_json("articles/preview-companion.json", companion | {"title": "Already live"})
    editor.put_json(f"articles/{slug}.json", DRAFT)
    stack.wait_drained()
    [key] = previews(editor, slug)
    head = editor.s3.head_object(Bucket=editor.site, Key=key)
    assert head["CacheControl"] == "private, no-store"
    files = editor.site_files()
    assert b'<meta name="robots" content="noindex, nofollow">' in files[key]
    assert b'rel="canonical"' not in files[key]
    leaks = [k for k, body in files.items() if slug.encode() in body and k != key]
    assert leaks == []
    assert b"Disallow: /preview/" in files["robots.txt"]
    assert_site_matches_offline_build(editor, tmp_path / "draft")

    assert stack.edge is not None
    status, headers, body = fetch(f"{stack.edge.url}/{key.removesuffix('index.html')}")
    assert status == 200 and b"A draft under review" in body
    assert headers.get("Cache-Control") == "private, no-store"
    token = key.split("/")[1]
    forged = token[:6] + ("A" if token[6] != "A" else "B") + token[7:]
    assert fetch(f"{stack.edge.url}/preview/{forged}/articles/{slug}/")[0] == 404

    published: dict[str, object] = {k: v for k, v in DRAFT.items() if k != "status"}
    editor.put_json(f"articles/{slug}.json", published)
    stack.wait_drained()
    assert previews(editor, slug) == []
    assert f"articles/{slug}/index.html" in editor.site_files()
    assert_site_matches_offline_build(editor, tmp_path / "published")
    editor.delete(f"articles/{slug}.json")
    editor.delete("articles/preview-companion.json")
    stack.wait_drained()


def test_restoring_an_old_version_makes_it_live_again(
    stack: LocalStack, editor: Editor, tmp_path: Path
) -> None:
    slug = "restored-story"
    key = f"articles/{slug}.json"
    first: dict[str, object] = {k: v for k, v in DRAFT.items() if k not in {"status", "updated_at"}}
    first["title"] = "The first telling"
    editor.put_json(key, first)
    stack.wait_drained()
    editor.put_json(key, first | {"title": "The second telling", "body": "Rewritten.\n"})
    stack.wait_drained()
    page = f"articles/{slug}/index.html"
    assert b"The second telling" in editor.site_files()[page]

    versions = history.versions(editor.s3, editor.content, key)
    assert [v.latest for v in versions] == [True, False]
    newest = history.read_version(editor.s3, editor.content, key, versions[0].version_id)
    oldest = history.read_version(editor.s3, editor.content, key, versions[1].version_id)
    assert json.loads(oldest)["title"] == "The first telling"
    change = history.describe_change(oldest, newest)
    assert change.fields == ("title",) and change.body_removed > 0

    history.restore(editor.s3, editor.content, key, versions[1].version_id)
    wait_for(
        "the restored version to be live",
        lambda: b"The first telling" in editor.s3.get_object(Bucket=editor.site, Key=page)["Body"].read(),
    )
    stack.wait_drained()
    assert len(history.versions(editor.s3, editor.content, key)) == 3
    # S3's notifications name who uploaded each version; the index keeps it for the history.
    uploaded = history.attributed(history.versions(editor.s3, editor.content, key), indexed().uploads(slug))
    assert [v.uploaded_by for v in uploaded] == [UPLOADER] * 3
    assert f"by {UPLOADER}" in uploaded[0].line("title changed")
    held = indexed().get_article(slug)
    assert held is not None and held.source.uploaded_by == UPLOADER
    assert held.source.version_id == uploaded[0].version_id
    assert_site_matches_offline_build(editor, tmp_path)
    editor.delete(key)
    stack.wait_drained()


def test_a_rejected_file_s_report_names_who_uploaded_it(stack: LocalStack, editor: Editor) -> None:
    key = "articles/uploaded-badly.json"
    editor.put_json(key, {"title": "No authors", "published_at": "2026-11-29T10:00:00Z", "body": "Text."})
    report = wait_for("the report", lambda: editor.report(key))
    version = history.versions(editor.s3, editor.content, key)[0].version_id
    assert report is not None and report["uploaded_by"] == UPLOADER and report["source_version"] == version
    editor.delete(key)
    stack.wait_drained()
