"""Markdown articles and old site paths, through the pipeline on the moto server and the local
edge: a `.md` upload is published, a broken one reported with its line, an article in both
formats is the JSON file's, and old paths (with an identity query) answer with a 301 — and the
site and the edge's store stay equal to the offline build of the content bucket."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path
from typing import cast

import pytest

from broadsheet.build import load_content
from broadsheet.runtime.render import services
from broadsheet.settings import Settings
from broadsheet_dev.local.runtime import LocalStack
from tests.support import Editor, assert_site_matches_offline_build

pytestmark = [pytest.mark.integration]

MARKDOWN = """\
---
title: Filed in Markdown
authors: [Format Desk]
published_at: 2026-11-03T09:00:00Z
tags: [no, yes]
aliases:
  - /2015/12/21/filed-in-markdown/
  - /?p=123
  - /category/news/old-name
  - old-markdown-slug
---

The body, written *after* the front matter.
"""


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def answer(url: str) -> tuple[int, str | None]:
    try:
        with urllib.request.build_opener(NoRedirect).open(url, timeout=10) as response:
            return response.status, response.headers.get("Location")
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Location")


def errors(editor: Editor, key: str) -> list[dict[str, str]]:
    report = editor.report(key)
    assert report is not None, key
    return cast(list[dict[str, str]], report["errors"])


def test_a_markdown_upload_is_published_and_its_old_paths_redirect(
    stack: LocalStack, editor: Editor, tmp_path: Path
) -> None:
    editor.put("articles/filed-in-markdown.md", MARKDOWN.encode())
    stack.wait_drained()
    page = editor.site_files()["articles/filed-in-markdown/index.html"].decode()
    assert "Filed in Markdown" in page and "<em>after</em>" in page
    assert editor.report("articles/filed-in-markdown.md") is None

    assert stack.edge is not None
    base, new = stack.edge.url, "/articles/filed-in-markdown/"
    for old in (
        "/2015/12/21/filed-in-markdown/",
        "/2015/12/21/filed-in-markdown",
        "//2015/12/21/filed-in-markdown/",
        "/?p=123",
        "/?utm_source=feed&p=123",
        "/category/news/old-name/",
        "/articles/old-markdown-slug",
    ):
        assert answer(base + old) == (301, new), old
    # Other queries are a visit's, not a page's: the home page answers them.
    assert answer(base + "/?utm_source=feed")[0] == 200
    assert answer(base + "/?p=124")[0] == 200
    # The date path ends in the article's slug: its folder's entry sends any page of the folder
    # to the article of the same name (one entry for a whole day of an archive).
    assert services().aliases.mapping()["/2015/12/21/*"] == "*"
    assert answer(base + "/2015/12/21/another-story/") == (301, "/articles/another-story/")
    assert answer(base + "/2015/12/22/another-story/")[0] == 404

    assert_site_matches_offline_build(editor, tmp_path)
    oracle, _ = load_content(tmp_path / "content", Settings())
    assert services().aliases.mapping() == oracle.redirects()


def test_a_broken_front_matter_is_reported_with_its_line_and_changes_nothing(
    stack: LocalStack, editor: Editor
) -> None:
    key = "articles/broken-markdown.md"
    editor.put(key, MARKDOWN.replace("title: Filed in Markdown", "title: Filed: in Markdown").encode())
    stack.wait_drained()
    found = errors(editor, key)
    assert [e["field"] for e in found] == ["(file)"]
    assert found[0]["message"].startswith("line 2: the front matter is not valid YAML")
    assert "articles/broken-markdown/index.html" not in editor.site_files()


def test_an_article_in_both_formats_is_the_json_files(stack: LocalStack, editor: Editor) -> None:
    doc: dict[str, object] = {
        "title": "Filed twice, JSON",
        "authors": ["Format Desk"],
        "published_at": "2026-11-04T09:00:00Z",
        "body": "From the JSON file.",
    }
    plain = MARKDOWN.split("aliases:", maxsplit=1)[0] + "---\n\nFrom the Markdown file.\n"
    editor.put("articles/filed-twice.md", plain.encode())
    editor.put_json("articles/filed-twice.json", doc)
    stack.wait_drained()
    page = editor.site_files()["articles/filed-twice/index.html"].decode()
    assert "Filed twice, JSON" in page
    found = errors(editor, "articles/filed-twice.md")
    assert "articles/filed-twice.json holds the same article" in found[0]["message"]
    # The JSON file gone, the Markdown file is the article.
    editor.delete("articles/filed-twice.json")
    stack.wait_drained()
    assert editor.report("articles/filed-twice.md") is None
    assert "From the Markdown file." in editor.site_files()["articles/filed-twice/index.html"].decode()
