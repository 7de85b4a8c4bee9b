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
