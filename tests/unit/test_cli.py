"""The `broadsheet` command's offline parts: validate and build."""

from __future__ import annotations

from pathlib import Path

import pytest

from broadsheet_dev.cli import main
from tests.support import BAD, SAMPLES


def test_validate_accepts_good_files_and_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted(SAMPLES.glob("*/*.json"))
    assert main(["validate", *map(str, files)]) == 0
    out = capsys.readouterr().out
    assert out.count(": ok") == len(files)


def test_validate_prints_every_error_with_its_field_and_exits_non_zero(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert (
        main(["validate", str(BAD / "type-error.json"), str(SAMPLES / "articles" / "un-at-seventy.json")])
        == 1
    )
    out = capsys.readouterr().out
    assert "type-error.json: 2 error(s)" in out
    assert "  title: " in out
    assert "  authors: " in out
    assert "un-at-seventy.json: ok" in out


def test_validate_reports_an_unreadable_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["validate", str(tmp_path / "missing.json")]) == 1
    assert "cannot read" in capsys.readouterr().out


def test_build_renders_the_samples_and_refuses_a_foreign_folder(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "site"
    assert main(["build", str(SAMPLES), str(out)]) == 0
    assert (out / "index.html").is_file()
    assert "0 file(s) rejected" in capsys.readouterr().out
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine")
    assert main(["build", str(SAMPLES), str(foreign)]) == 2
    assert (foreign / "keep.txt").is_file()


MARKDOWN_ARTICLE = """\
---
title: Written in Markdown
authors: [Gevorg Mirzayan]
published_at: 2015-12-21T22:00:00+03:00
---

A paragraph.
"""


def test_validate_checks_markdown_and_names_the_line_of_each_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    good = tmp_path / "articles" / "in-markdown.md"
    good.parent.mkdir()
    good.write_text(MARKDOWN_ARTICLE)
    bad = tmp_path / "articles" / "broken.md"
    bad.write_text(MARKDOWN_ARTICLE.replace("title: Written in Markdown", "title: Markdown: a guide"))
    assert main(["validate", str(good), str(bad)]) == 1
    out = capsys.readouterr().out
    assert "in-markdown.md: ok" in out
    assert "broken.md: 1 error(s)" in out
    assert "  (file): line 2: the front matter is not valid YAML" in out


def test_validate_and_build_refuse_a_markdown_file_that_a_json_file_shadows(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    content = tmp_path / "content"
    (content / "articles").mkdir(parents=True)
    (content / "articles" / "un-at-seventy.md").write_text(MARKDOWN_ARTICLE)
    (content / "articles" / "un-at-seventy.json").write_bytes(
        (SAMPLES / "articles" / "un-at-seventy.json").read_bytes()
    )
    assert main(["validate", str(content / "articles" / "un-at-seventy.md")]) == 1
    assert "articles/un-at-seventy.json holds the same article" in capsys.readouterr().out
    assert main(["build", str(content), str(tmp_path / "site")]) == 1
    out = capsys.readouterr().out
    assert "rejected articles/un-at-seventy.md:" in out
    assert "1 file(s) rejected" in out
    assert "Written in Markdown" not in (tmp_path / "site" / "index.html").read_text()


def test_build_publishes_markdown_articles(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    content = tmp_path / "content"
    (content / "articles").mkdir(parents=True)
    (content / "articles" / "in-markdown.md").write_text(MARKDOWN_ARTICLE)
    assert main(["build", str(content), str(tmp_path / "site")]) == 0
    page = (tmp_path / "site" / "articles" / "in-markdown" / "index.html").read_text()
    assert "Written in Markdown" in page
