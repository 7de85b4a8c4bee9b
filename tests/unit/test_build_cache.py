"""The offline build's cache: a rebuild renders only pages whose inputs changed, and equals a build
from scratch."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from broadsheet import build_cache
from broadsheet.adapters.folder import DirSiteStore
from broadsheet.build import build_site
from broadsheet.settings import Settings

SETTINGS = Settings(site_url="http://example.test", page_size=3, now="2026-01-01T00:00:00Z")


def snapshot(site: Path) -> dict[str, bytes]:
    return {key: (site / key).read_bytes() for key in DirSiteStore(site).list_keys()}


def test_a_rebuild_with_nothing_changed_renders_and_writes_nothing(
    sample_content: Path, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    first = build_site(sample_content, site, SETTINGS)
    assert first.rendered == first.pages and build_cache.cache_path(site).is_file()
    before = {key: (site / key).stat().st_mtime_ns for key in DirSiteStore(site).list_keys()}
    again = build_site(sample_content, site, SETTINGS)
    assert (again.rendered, again.written, again.removed) == (0, 0, 0)
    assert (again.pages, again.unchanged, again.redirects) == (first.pages, first.written, first.redirects)
    assert {key: (site / key).stat().st_mtime_ns for key in DirSiteStore(site).list_keys()} == before


def test_a_changed_article_renders_only_its_pages_and_equals_a_fresh_build(
    sample_content: Path, tmp_path: Path
) -> None:
    content, site, fresh = tmp_path / "content", tmp_path / "site", tmp_path / "fresh"
    shutil.copytree(sample_content, content)
    first = build_site(content, site, SETTINGS)
    changed = sorted((content / "articles").glob("*.json"))[0]
    doc = json.loads(changed.read_text())
    changed.write_text(json.dumps(doc | {"title": "A title written again", "tags": ["a-new-tag"]}))
    again = build_site(content, site, SETTINGS)
    assert 0 < again.rendered < first.pages / 2
    build_site(content, fresh, SETTINGS, cache=False)
    assert not build_cache.cache_path(fresh).exists()
    assert snapshot(site) == snapshot(fresh)
    assert (
        again.written > 0
        and "A title written again" in (site / "articles").joinpath(changed.stem, "index.html").read_text()
    )


def test_a_settings_change_renders_every_page(sample_content: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    build_site(sample_content, site, SETTINGS)
    renamed = SETTINGS.model_copy(update={"site_name": "The Renamed Gazette"})
    again = build_site(sample_content, site, renamed)
    assert again.rendered == again.pages
    assert "The Renamed Gazette" in (site / "index.html").read_text()


def test_a_hand_edited_or_deleted_output_file_is_written_again(sample_content: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    build_site(sample_content, site, SETTINGS)
    built = snapshot(site)
    (site / "index.html").write_bytes(b"edited by hand")
    (site / "archive" / "index.html").unlink()
    again = build_site(sample_content, site, SETTINGS)
    assert again.written == 2
    assert snapshot(site) == built


def test_the_cache_key_covers_the_package_files_library_versions_and_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "broadsheet"
    shutil.copytree(build_cache.PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(build_cache, "PACKAGE", package)
    key = build_cache.build_key(SETTINGS)
    assert build_cache.build_key(SETTINGS) == key
    template = package / "render" / "templates" / "listing.html"
    template.write_text(template.read_text() + "\n")
    edited = build_cache.build_key(SETTINGS)
    assert edited != key
    secret = SETTINGS.model_copy(update={"preview_secret": "another secret"})
    assert (
        len(
            {
                edited,
                build_cache.build_key(secret),
                build_cache.build_key(SETTINGS.model_copy(update={"page_size": 4})),
            }
        )
        == 3
    )
    monkeypatch.setattr("importlib.metadata.version", lambda name: "99.0")
    assert build_cache.build_key(SETTINGS) != edited


def test_a_cache_made_under_another_key_is_ignored(sample_content: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    build_site(sample_content, site, SETTINGS)
    assert build_cache.load(build_cache.cache_path(site), "another key") is None
    build_cache.cache_path(site).write_bytes(b"not a cache")
    again = build_site(sample_content, site, SETTINGS)
    assert again.rendered == again.pages and again.written == 0
