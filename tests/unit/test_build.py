"""The offline build: the whole site from a folder, rebuilt incrementally with bounded work."""

from __future__ import annotations

import json
import math
import re
import shutil
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from broadsheet.adapters.folder import DirSiteStore
from broadsheet.build import (
    BuildReport,
    ContentChanged,
    NotABuildFolder,
    _body,
    _mark,
    build_site,
    load_content,
)
from broadsheet.clock import now as clock_now
from broadsheet.contract.fields import slugify
from broadsheet.contract.files import read_article
from broadsheet.pages import ArticlePage
from broadsheet.render.html import render_page
from broadsheet.settings import Settings
from tests.unit.fakes import article_doc

ROOT = Path(__file__).resolve().parents[2]
BAD = ROOT / "events" / "bad"
START = datetime(2015, 12, 1, tzinfo=UTC)
# The conftest `settings`, for module-scoped fixtures.
SETTINGS = Settings(site_url="http://example.test", page_size=3, now="2026-01-01T00:00:00Z")
# Besides its listings' pages, a new article changes the feeds of the home page, its authors and
# its section, its month's sitemap shard and the archive index's count: a fixed number of files.
SITE_WIDE = {
    f"{base}{name}"
    for base in ("", "authors/anna-writer/", "sections/world/")
    for name in ("feed.xml", "rss.xml", "feed.json")
} | {"sitemaps/2015-12.xml", "archive/index.html"}
# The listings the newest generated article joins; each holds every generated article.
JOINED = {
    "": "home",
    "authors/anna-writer/": "author",
    "sections/world/": "section",
    "tags/diplomacy/": "tag",
    "archive/2015/12/": "month",
}


def snapshot(site: Path) -> dict[str, bytes]:
    return {key: (site / key).read_bytes() for key in DirSiteStore(site).list_keys()}


def listing_keys(base: str, count: int, size: int) -> set[str]:
    """The keys of every page of a listing: its first page and numbered pages from the oldest end."""
    pages = math.ceil(count / size)
    return {f"{base}index.html"} | {f"{base}page/{n}/index.html" for n in range(1, pages + 1)}


def sample_listings(content: Path, now: datetime) -> Counter[str]:
    """How many live articles each listing of the sample content holds, read straight from the files."""
    counts: Counter[str] = Counter()
    for path in sorted((content / "articles").glob("*.json")):
        doc = json.loads(path.read_text())
        published = datetime.fromisoformat(doc["published_at"])
        if doc.get("status", "published") != "published" or published > now:
            continue
        bases = [""] + [f"authors/{slugify(name)}/" for name in doc["authors"]]
        bases += [f"tags/{slugify(tag)}/" for tag in doc.get("tags", [])]
        bases += [f"sections/{doc['section']}/"] if doc.get("section") else []
        bases.append(f"archive/{published.year:04d}/{published.month:02d}/")
        counts.update(bases)
    return counts


def build(content: Path, site: Path, settings: Settings) -> BuildReport:
    return build_site(content, site, settings)


# -- the sample content ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_site(sample_content: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BuildReport]:
    """The sample content built once for the tests that only read the result (or rebuild it unchanged)."""
    site = tmp_path_factory.mktemp("sample-site")
    return site, build(sample_content, site, SETTINGS)


def test_build_of_the_samples_produces_every_page_of_the_site(
    sample_content: Path, sample_site: tuple[Path, BuildReport]
) -> None:
    site, report = sample_site
    assert report.rejected == []
    keys = set(snapshot(site))
    slugs = {p.stem for p in (sample_content / "articles").glob("*.json")}
    assert {f"articles/{slug}/index.html" for slug in slugs} <= keys
    assert {"index.html", "404.html"} <= keys
    for name in ("gevorg-mirzayan", "zoe-marchetti", "dmitriy-ofitserov-belskiy", "irina-voronova"):
        assert f"authors/{name}/index.html" in keys
    stylesheets = [key for key in keys if key.startswith("assets/")]
    assert len(stylesheets) == 1 and re.fullmatch(r"assets/site\.[0-9a-f]{12}\.css", stylesheets[0])
    # Exactly these files and no others: every page of every listing, the feeds of the home page,
    # authors and sections, a sitemap shard per month, the articles and the site-wide files.
    expected = {f"articles/{slug}/index.html" for slug in slugs} | {stylesheets[0]}
    expected |= {"404.html", "robots.txt", "sitemap.xml", "archive/index.html"}
    for base, count in sample_listings(sample_content, clock_now(SETTINGS)).items():
        expected |= listing_keys(base, count, SETTINGS.page_size)
        if base == "" or base.startswith(("authors/", "sections/")):
            expected |= {f"{base}feed.xml", f"{base}rss.xml", f"{base}feed.json"}
        if base.startswith("archive/"):
            year, month = base.split("/")[1:3]
            expected.add(f"sitemaps/{year}-{month}.xml")
    # And the renditions of the sample photographs (events/content/media): widths in three formats,
    # and three centre crops each.
    widths = {key for key in keys if re.fullmatch(r"media/[0-9a-f]{20}/[0-9]+\.(avif|webp|jpg)", key)}
    crops = {key for key in keys if re.fullmatch(r"media/[0-9a-f]{20}/[0-9]+x[0-9]+\.jpg", key)}
    expected |= widths | crops
    assert len(expected - keys) == 0 and (len(widths), len(crops)) == (3 * (2 + 2 + 4), 3 * 3)
    assert keys == expected
    assert report.written == len(keys) and report.removed == 0


def test_every_page_is_utf8_html_and_links_the_built_stylesheet(
    sample_site: tuple[Path, BuildReport],
) -> None:
    files = snapshot(sample_site[0])
    css = next(key for key in files if key.startswith("assets/"))
    for key, body in files.items():
        if key.endswith(".html"):
            text = body.decode("utf-8")
            assert text.startswith("<!doctype html>"), key
            assert f'href="/{css}"' in text, key


def test_a_rebuild_of_unchanged_content_writes_nothing(
    sample_content: Path, sample_site: tuple[Path, BuildReport]
) -> None:
    site, first = sample_site
    pages = [site / key for key in DirSiteStore(site).list_keys()]
    before = {p: p.stat().st_mtime_ns for p in pages}
    again = build(sample_content, site, SETTINGS)
    assert (again.written, again.removed) == (0, 0)
    assert again.unchanged == first.written
    assert {p: p.stat().st_mtime_ns for p in pages} == before


def test_a_build_refuses_a_folder_it_did_not_build(sample_content: Path, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("an editor's own file")
    with pytest.raises(NotABuildFolder):
        build(sample_content, tmp_path, SETTINGS)
    assert (tmp_path / "notes.txt").read_text() == "an editor's own file"


def test_rejected_files_are_reported_and_do_not_stop_the_build(
    sample_content: Path, tmp_path: Path, settings: Settings
) -> None:
    content = tmp_path / "content"
    shutil.copytree(sample_content, content)
    bad_names = sorted(p.name for p in BAD.glob("*.json"))
    for path in BAD.glob("*.json"):
        shutil.copy(path, content / "articles" / path.name)
    (content / "articles" / "Bad Name.json").write_text(json.dumps(article_doc("x")))
    (content / "articles" / "trailing\n.json").write_text(json.dumps(article_doc("x")))
    (content / "authors" / "misspelt.json").write_text(json.dumps({"nmae": "Anna Writer"}))
    with_bad = build(content, tmp_path / "site", settings)
    clean = build(sample_content, tmp_path / "clean", settings)
    rejected = sorted(failure.key for failure in with_bad.rejected)
    assert rejected == sorted(
        [f"articles/{name}" for name in bad_names]
        + ["articles/Bad Name.json", "articles/trailing\n.json", "authors/misspelt.json"]
    )
    assert all(failure.errors for failure in with_bad.rejected)
    assert snapshot(tmp_path / "site") == snapshot(tmp_path / "clean")
    assert clean.rejected == []


def test_a_removed_article_is_removed_from_the_site_on_rebuild(
    sample_content: Path, tmp_path: Path, settings: Settings
) -> None:
    content = tmp_path / "content"
    shutil.copytree(sample_content, content)
    site = tmp_path / "site"
    build(content, site, settings)
    assert (site / "articles/us-election-what-moscow-expects/index.html").is_file()
    # The article's only author and its month have no other article: their pages go too.
    (content / "articles" / "us-election-what-moscow-expects.json").unlink()
    report = build(content, site, settings)
    keys = set(snapshot(site))
    assert "articles/us-election-what-moscow-expects/index.html" not in keys
    assert "authors/irina-voronova/index.html" not in keys
    assert "archive/2016/11/index.html" not in keys
    assert report.removed >= 1
    assert b"us-election-what-moscow-expects" not in (site / "index.html").read_bytes()


# -- bounded work ----------------------------------------------------------------------------


def generated(index: int, **changes: Any) -> dict[str, Any]:
    """One generated article; every other one also has a second author and tag the newest lacks."""
    doc = article_doc(
        f"g-{index:04d}",
        authors=["Anna Writer"] + (["Boris Other"] if index % 2 else []),
        section="world",
        tags=["Diplomacy"] + (["Noise"] if index % 2 else []),
        published_at=(START + timedelta(hours=index)).isoformat(),
        body="Short.",
    )
    doc.update(changes)
    return doc


def write_articles(content: Path, docs: dict[str, dict[str, Any]]) -> None:
    folder = content / "articles"
    folder.mkdir(parents=True, exist_ok=True)
    for slug, doc in docs.items():
        (folder / f"{slug}.json").write_text(json.dumps(doc))


@pytest.mark.parametrize("size", [10, 50, 200])
def test_publishing_the_newest_article_writes_the_same_few_files_at_any_site_size(
    tmp_path: Path, settings: Settings, size: int
) -> None:
    page_size = 5
    five = settings.model_copy(update={"page_size": page_size})
    content, site = tmp_path / "content", tmp_path / "site"
    write_articles(content, {f"g-{i:04d}": generated(i) for i in range(size)})
    first = build(content, site, five)
    assert first.rejected == [] and first.written > size
    before = snapshot(site)

    write_articles(content, {"newest": generated(size, authors=["Anna Writer"], tags=["Diplomacy"])})
    report = build(content, site, five)
    after = snapshot(site)
    changed = {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
    assert report.written == len(changed)

    # size is a multiple of the page size: the newest opens a new last page in each listing it
    # joins, so the first page, the new last page and the former last page (whose "newer" link
    # now leads to the new one) change there, and nothing else but the article itself.
    old_last = size // page_size
    expected = {"articles/newest/index.html"} | SITE_WIDE
    for base in JOINED:
        expected |= {
            f"{base}index.html",
            f"{base}page/{old_last}/index.html",
            f"{base}page/{old_last + 1}/index.html",
        }
    assert changed == expected
    assert report.written == 16 + len(SITE_WIDE)
    assert report.removed == 0
    for base in JOINED:
        for number in range(1, old_last):
            key = f"{base}page/{number}/index.html"
            assert after[key] == before[key], key


def test_publishing_the_newest_article_into_a_partly_filled_page_writes_two_pages_a_listing(
    tmp_path: Path, settings: Settings
) -> None:
    five = settings.model_copy(update={"page_size": 5})
    content, site = tmp_path / "content", tmp_path / "site"
    write_articles(content, {f"g-{i:04d}": generated(i) for i in range(22)})
    build(content, site, five)
    before = snapshot(site)
    write_articles(content, {"newest": generated(22, authors=["Anna Writer"], tags=["Diplomacy"])})
    report = build(content, site, five)
    after = snapshot(site)
    changed = {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
    # 22 entries fill pages 1-4 and two of page 5; the newest joins page 5.
    expected = {"articles/newest/index.html"} | SITE_WIDE
    for base in JOINED:
        expected |= {f"{base}index.html", f"{base}page/5/index.html"}
    assert changed == expected and report.written == 11 + len(SITE_WIDE)


# -- bodies read back from their files -------------------------------------------------------


def test_an_article_page_shows_the_body_validation_made_of_its_file(tmp_path: Path) -> None:
    """The build indexes a mark in place of each body and reads the body back from the file: a
    Markdown file with Windows line breaks renders as the whole validated article does."""
    content = tmp_path / "content"
    (content / "articles").mkdir(parents=True)
    doc = article_doc("kerry-putin", body="First paragraph.\n\nSecond *paragraph*.\n")
    body = doc.pop("body")
    text = f"---\n{yaml.safe_dump(doc, allow_unicode=True)}---\n\n{body}".replace("\n", "\r\n")
    (content / "articles" / "kerry-putin.md").write_bytes(text.encode())
    (content / "articles" / "other.json").write_text(
        json.dumps(article_doc("other", body="Another paragraph."))
    )
    build_site(content, tmp_path / "site", SETTINGS, workers=1)
    index, _ = load_content(content, SETTINGS)
    for slug in ("kerry-putin", "other"):
        output = render_page(ArticlePage(slug), index, SETTINGS)
        assert output is not None and b"paragraph" in output.body
        assert (tmp_path / "site" / output.key).read_bytes() == output.body


def test_an_article_file_changed_during_the_build_stops_it(tmp_path: Path) -> None:
    path = tmp_path / "kerry-putin.json"
    path.write_text(json.dumps(article_doc("kerry-putin", body="As indexed.")))
    mark = read_article("articles/kerry-putin.json", path.read_bytes()).body
    indexed = _mark(mark)
    assert _body(path, indexed) == "As indexed."
    path.write_text(json.dumps(article_doc("kerry-putin", body="Changed since.")))
    with pytest.raises(ContentChanged, match="changed during the build"):
        _body(path, indexed)
