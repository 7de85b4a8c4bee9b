"""`broadsheet import wordpress`: a WordPress export becomes valid content, and nothing leaks."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from broadsheet.build import build_site
from broadsheet.contract.fields import MAX_SLUG, SLUG_RE
from broadsheet.contract.files import read_article, read_author
from broadsheet.render.body import render_body
from broadsheet.settings import Settings
from broadsheet_dev.cli import main
from broadsheet_dev.importers import fields, markup
from broadsheet_dev.importers.markup import BodyContext
from broadsheet_dev.importers.report import ImportReport
from broadsheet_dev.importers.wordpress import ImportOptions, _contract_takes_paths, import_wordpress
from broadsheet_dev.importers.wxr import Item, NotAnExport, read_export

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "wordpress"
NEWSROOM = FIXTURES / "newsroom.xml"
UPLOADS = FIXTURES / "uploads"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
SETTINGS = Settings(site_url="http://example.test", page_size=3, now="2026-01-01T00:00:00Z")


def run(export: Path, out: Path, **extra: Any) -> ImportReport:
    options = ImportOptions(export=export, content_dir=out, now=NOW, progress=False, **extra)
    return import_wordpress(options)


def article(out: Path, slug: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "articles" / f"{slug}.json").read_text("utf-8"))
    return data


def entry(report: ImportReport, post_id: int) -> Any:
    return next(a for a in report.articles if a.post_id == post_id)


def skipped(report: ImportReport) -> dict[int, str]:
    return {s.post_id: s.reason for s in report.skipped}


def digests(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "import-report.json"
    }


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ImportReport]:
    out = tmp_path_factory.mktemp("content")
    return out, run(NEWSROOM, out, media_dir=UPLOADS)


# A minimal export in the exporter's layout, for the cases one fixture file cannot hold.
HEAD = """<?xml version="1.0" encoding="UTF-8" ?>
<rss version="2.0" xmlns:excerpt="http://wordpress.org/export/1.2/excerpt/"
 xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:wfw="http://wellformedweb.org/CommentAPI/"
 xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:wp="http://wordpress.org/export/1.2/">
<channel><title>Small</title><link>https://small.example.org</link><wp:wxr_version>1.2</wp:wxr_version>
"""


def post_xml(post_id: int, name: str, body: str, title: str = "A title", status: str = "publish") -> str:
    return f"""<item><title><![CDATA[{title}]]></title><link>https://small.example.org/{name}/</link>
<dc:creator><![CDATA[writer]]></dc:creator><content:encoded><![CDATA[{body}]]></content:encoded>
<excerpt:encoded><![CDATA[]]></excerpt:encoded><wp:post_id>{post_id}</wp:post_id>
<wp:post_date><![CDATA[2020-01-0{post_id % 9 + 1} 10:00:00]]></wp:post_date>
<wp:post_date_gmt><![CDATA[2020-01-0{post_id % 9 + 1} 09:00:00]]></wp:post_date_gmt>
<wp:post_name><![CDATA[{name}]]></wp:post_name><wp:status><![CDATA[{status}]]></wp:status>
<wp:post_type><![CDATA[post]]></wp:post_type><wp:post_password><![CDATA[]]></wp:post_password>
<wp:is_sticky>0</wp:is_sticky></item>
"""


def small_export(tmp_path: Path, *items: str) -> Path:
    path = tmp_path / "small.xml"
    path.write_text(HEAD + "".join(items) + "</channel></rss>\n", "utf-8")
    return path


# --- every file valid, nothing unpublished made public ----------------------------------------


def test_every_written_file_passes_the_contract(imported: tuple[Path, ImportReport]) -> None:
    out, report = imported
    articles = sorted((out / "articles").glob("*.json"))
    authors = sorted((out / "authors").glob("*.json"))
    assert len(articles) == 14
    assert len(authors) == 5
    for path in articles:
        read_article(f"articles/{path.name}", path.read_bytes())
    for path in authors:
        read_author(f"authors/{path.name}", path.read_bytes())
    assert not report.failed()
    assert {a.outcome for a in report.articles} == {"written"}


def test_protected_private_and_trashed_posts_are_skipped_and_never_written(
    imported: tuple[Path, ImportReport],
) -> None:
    out, report = imported
    reasons = skipped(report)
    assert "password" in reasons[109]
    assert "private" in reasons[110]
    assert "trash" in reasons[116]
    text = "".join(p.read_text("utf-8") for p in (out / "articles").glob("*.json"))
    for secret in ("Secret text", "Private text", "Members only", "Private memo"):
        assert secret not in text


def test_drafts_pending_and_scheduled_posts_stay_unpublished(imported: tuple[Path, ImportReport]) -> None:
    out, report = imported
    assert article(out, "draft-in-progress")["status"] == "draft"
    assert article(out, "waiting-for-review")["status"] == "draft"
    scheduled = article(out, "embargoed-until-the-summit")
    assert "status" not in scheduled
    assert scheduled["published_at"] == "2099-01-01T09:00:00+03:00"
    assert any("embargoed until" in c for c in entry(report, 113).changes)
    missed = article(out, "missed-schedule")
    assert missed["status"] == "draft"
    assert any("missed schedule" in c for c in entry(report, 114).changes)


def test_pages_attachments_menus_and_other_post_types_are_skipped_with_reasons(
    imported: tuple[Path, ImportReport],
) -> None:
    _, report = imported
    reasons = skipped(report)
    for post_id, kind in {
        301: "page",
        302: "nav_menu_item",
        201: "attachment",
        401: "wp_block",
        501: "guest-author",
    }.items():
        assert f"post type '{kind}'" in reasons[post_id]


# --- fields --------------------------------------------------------------------------------------


def test_a_post_keeps_its_byline_section_tags_teaser_and_dates(imported: tuple[Path, ImportReport]) -> None:
    out, report = imported
    doc = article(out, "review-of-the-week-kerry-putin")
    assert doc["title"] == "Review of the week: Kerry’s Moscow visit"
    assert doc["teaser"] == "What the U.S. Secretary of State did in Moscow."
    assert doc["authors"] == ["Gevorg Mirzayan", "Olga Guestwriter"]
    assert doc["published_at"] == "2015-12-21T22:00:00+03:00"
    assert doc["updated_at"] == "2015-12-22T10:15:00+03:00"
    # The first category in the export's order is the section; the rest are named in the report.
    assert doc["section"] == "analysis"
    assert any("Foreign Policy" in c for c in entry(report, 101).changes)
    assert doc["tags"] == ["Syria", "United Nations", "AT&T"]
    assert "slug" not in doc


def test_co_authors_plus_guest_authors_get_a_profile_with_their_bio(
    imported: tuple[Path, ImportReport],
) -> None:
    out, _ = imported
    profile = json.loads((out / "authors" / "olga-guestwriter.json").read_text("utf-8"))
    assert profile == {
        "name": "Olga Guestwriter",
        "bio": "Olga writes about energy.",
        "url": "https://olga.example.net/",
    }
    assert json.loads((out / "authors" / "anna-ivanova.json").read_text("utf-8")) == {"name": "Анна Иванова"}


def test_an_author_without_a_display_name_is_bylined_by_login_and_reported(
    imported: tuple[Path, ImportReport],
) -> None:
    out, report = imported
    assert article(out, "104-2")["authors"] == ["editor"]
    assert any("no display name" in c for c in entry(report, 104).changes)


def test_sticky_posts_formats_and_featured_images_are_in_the_report(
    imported: tuple[Path, ImportReport],
) -> None:
    _, report = imported
    assert [a.post_id for a in report.articles if a.sticky] == [101]
    formats = {a.post_id: a.format for a in report.articles}
    assert {formats[i] for i in (102, 103, 104, 105, 106, 107, 108, 115, 117, 111)} == {
        "video", "gallery", "aside", "link", "status", "quote", "chat", "image", "audio", "standard",
    }  # fmt: skip
    assert entry(report, 101).featured_image == {
        "src": "media/2015-12-kremlin.png",
        "alt": "The Kremlin at dusk",
        "caption": "The Kremlin at dusk, December 2015",
        "credit": "",
    }
    assert any("featured image 999" in w for w in entry(report, 102).warnings)


def test_empty_titles_and_titles_with_markup_and_entities(imported: tuple[Path, ImportReport]) -> None:
    out, report = imported
    assert article(out, "104-2")["title"] == "(untitled)"
    assert any("(untitled)" in c for c in entry(report, 104).changes)
    assert article(out, "breaking-markets")["title"] == "Breaking: Markets & the “Fed” <3"
    assert any("markup removed" in c for c in entry(report, 105).changes)


def test_special_characters_and_long_words_read_back_as_written(imported: tuple[Path, ImportReport]) -> None:
    out, _ = imported
    html = str(render_body(article(out, "breaking-markets")["body"]))
    assert "5*3 percent; snake_case_names and 3 &lt; 5 &amp; 7 &gt; 2." in html
    assert "# not a heading, 1. not a list, [sic] stays." in html
    assert "<h1>" not in html
    assert "<h2>" not in html
    assert "Donaudampfschifffahrtsgesellschaftskapitänswitwe" * 6 in html
    assert "“curly quotes” — and emoji 📈" in html
    assert "alert" not in html


def test_non_latin_text_and_slugs(imported: tuple[Path, ImportReport]) -> None:
    out, report = imported
    # A post whose WordPress slug already is a contract slug keeps it; a transliterated one yields.
    assert article(out, "privet-mir")["title"] == "Privet mir in Latin letters"
    russian = article(out, "privet-mir-2")
    assert russian["title"] == "Привет, мир"
    assert russian["body"] == "Первый абзац по-русски.\n\nВторой абзац."
    assert russian["section"] == "politika"
    assert russian["tags"] == ["Выборы"]
    assert article(out, "mrhb-bl-lm")["body"] == "هذا نص عربي.\n\nفقرة ثانية."
    assert article(out, "ni-hao-shi-jie")["title"] == "你好世界"
    old = entry(report, 106)
    assert "/2016/03/01/%d0%bf%d1%80%d0%b8%d0%b2%d0%b5%d1%82-%d0%bc%d0%b8%d1%80/" in (
        old.aliases + old.aliases_held_back
    )
    assert any("slug changed" in c for c in old.changes)


def test_old_addresses_become_aliases_in_the_form_the_contract_takes(
    imported: tuple[Path, ImportReport],
) -> None:
    out, report = imported
    review = entry(report, 101)
    paths = ["/2015/12/21/review-of-the-week-kerry-putin/", "/?p=101"]
    if _contract_takes_paths():
        assert review.aliases == paths
        assert article(out, "review-of-the-week-kerry-putin")["aliases"] == paths
    else:
        assert review.aliases_held_back == paths
        assert "aliases" not in article(out, "review-of-the-week-kerry-putin")
        assert any("held back" in note for note in report.notes)


@pytest.mark.parametrize(
    ("fixture", "post_id", "expected"),
    [
        ("category-permalinks.xml", 12, ["/blog/politics/world/a-world-away/", "/blog/?p=12"]),
        ("archives-wxr-1.1.xml", 7, ["/archives/7", "/?p=7"]),
    ],
)
def test_custom_permalink_structures_give_site_paths(
    tmp_path: Path, fixture: str, post_id: int, expected: list[str]
) -> None:
    report = run(FIXTURES / fixture, tmp_path)
    found = entry(report, post_id)
    assert found.aliases + found.aliases_held_back == expected


def test_numbered_wordpress_slugs_stay_distinct(tmp_path: Path) -> None:
    report = run(FIXTURES / "category-permalinks.xml", tmp_path)
    assert sorted(a.slug for a in report.articles) == [
        "a-world-away",
        "elections-in-spring",
        "elections-in-spring-2",
    ]


def test_old_export_without_cdata_or_modified_dates(tmp_path: Path) -> None:
    report = run(FIXTURES / "archives-wxr-1.1.xml", tmp_path)
    doc = article(tmp_path, "tom-jerry-big-day")
    assert doc["title"] == "Tom & Jerry’s big day"
    assert doc["published_at"] == "2009-07-01T10:00:00+02:00"
    assert "updated_at" not in doc
    assert doc["body"].endswith("```\ncode  stays\n\n  indented\n```")
    assert "section" not in doc  # WordPress's "Uncategorized" names no section
    # The second post has no GMT date: its local date takes the offset the other post shows.
    assert article(tmp_path, "second-post")["published_at"] == "2009-07-02T10:00:00+02:00"
    assert "+02:00" in report.dates
    assert any("control character" in note for note in report.notes)


def test_a_given_utc_offset_overrides_the_inferred_one(tmp_path: Path) -> None:
    report = run(FIXTURES / "archives-wxr-1.1.xml", tmp_path, utc_offset=timedelta(hours=-5))
    assert article(tmp_path, "second-post")["published_at"] == "2009-07-02T10:00:00-05:00"
    # A post with both dates keeps its own offset.
    assert article(tmp_path, "tom-jerry-big-day")["published_at"] == "2009-07-01T10:00:00+02:00"
    assert "-05:00" in report.dates


# --- bodies --------------------------------------------------------------------------------------


def test_classic_bodies_get_wpautop_paragraphs_and_line_breaks() -> None:
    converted = markup.convert("One\ntwo\n\nThree <em>four</em>\n\n\n<h3>Five</h3>\nSix", 1, BodyContext())
    assert converted.markdown == "One\\\ntwo\n\nThree *four*\n\n### Five\n\nSix"


def test_caption_shortcode_becomes_an_image_and_its_caption(imported: tuple[Path, ImportReport]) -> None:
    out, _ = imported
    body = article(out, "review-of-the-week-kerry-putin")["body"]
    # The resized copy the post linked is replaced by the original it was made from.
    assert (
        "![The Kremlin at dusk](media/2015-12-kremlin.png)\n\nThe Kremlin, where the talks were held" in body
    )
    assert "[caption" not in body
    assert "> We agreed on more than we disagreed.\n>\n> Both sides said so." in body


def test_galleries_by_ids_and_by_attachment(imported: tuple[Path, ImportReport]) -> None:
    out, report = imported
    body = article(out, "pictures-from-the-square")["body"]
    by_ids = (
        "![Red square](media/2016-01-gallery-one.png)\n\n![A second picture](media/2016-01-gallery-two.gif)"
    )
    assert f"{by_ids}\n\nA second picture" in body
    # Without ids, the images attached to the post in their menu order.
    assert (
        "![Площадь](media/2016-01-foto-ploshchadi-5db4028a.png)\n\n"
        "![A second picture](media/2016-01-gallery-two.gif)" in body
    )
    assert sum("gallery of 2 image(s)" in c for c in entry(report, 103).changes) == 2


def test_embeds_videos_and_audio_become_links_and_unknown_shortcodes_are_reported(
    imported: tuple[Path, ImportReport],
) -> None:
    out, report = imported
    body = article(out, "breaking-markets")["body"]
    assert "<https://twitter.com/example/status/123>" in body
    assert "<https://www.example.org/wp-content/uploads/2016/01/clip.mp4>" in body
    assert "<https://www.youtube.com/embed/abc123>" in body
    assert "Markets never sleep." in body
    assert "contact-form-7" not in body
    changes = entry(report, 105).changes
    assert any("[contact-form-7]" in c and "dropped" in c for c in changes)
    assert any("<script> dropped" in c for c in changes)
    assert any("[sic] left as text" in w for w in entry(report, 105).warnings)
    assert "episode.mp3" in article(out, "listen-the-podcast")["body"]


def test_gutenberg_blocks_are_read_inlined_or_reported(imported: tuple[Path, ImportReport]) -> None:
    out, report = imported
    body = article(out, "the-ministers-week")["body"]
    assert "wp:" not in body
    assert body.startswith("Gutenberg stores paragraphs with their tags.\n\n## What the minister said\n\n")
    assert "![Red square](media/2016-01-gallery-one.png)\n\nThe square in *January*" in body
    assert "(https://www.youtube.com/watch?v=dQw4w9WgXcQ)" in body
    assert "Subscribe to our **weekly** newsletter." in body
    assert "\n\n\n" not in body
    found = entry(report, 102)
    assert any("reusable block 401" in c for c in found.changes)
    assert any("wp:latest-posts" in w for w in found.warnings)


# --- media ---------------------------------------------------------------------------------------


def test_images_are_copied_from_the_uploads_folder_and_missing_ones_reported(
    imported: tuple[Path, ImportReport],
) -> None:
    out, report = imported
    outcomes = {m.file: m.outcome for m in report.media}
    assert outcomes == {
        "media/2015-12-kremlin.png": "written",
        "media/2016-01-foto-ploshchadi-5db4028a.png": "written",
        "media/2016-01-gallery-one.png": "written",
        "media/2016-01-gallery-two.gif": "written",
        "media/2016-01-missing.png": "missing",
    }
    assert (out / "media/2015-12-kremlin.png").read_bytes() == (UPLOADS / "2015/12/kremlin.png").read_bytes()
    assert not (out / "media/2015-12-kremlin-300x200.png").exists()
    assert any("missing.png" in w for w in entry(report, 103).warnings)


def test_without_an_uploads_folder_images_are_listed_not_copied(tmp_path: Path) -> None:
    report = run(NEWSROOM, tmp_path)
    assert {m.outcome for m in report.media} == {"listed"}
    assert not (tmp_path / "media").exists()
    assert any("--media-dir" in note for note in report.notes)


# --- slugs, idempotence, refusal -----------------------------------------------------------------


def test_slugs_are_unique_valid_and_deterministic() -> None:
    def post(post_id: int, name: str, title: str = "") -> Item:
        return Item(post_id=post_id, post_type="post", status="publish", post_name=name, title=title)

    long_name = "word-" * 40
    posts = [post(5, "same"), post(3, "%d0%b0"), post(4, "a"), post(6, ""), post(7, "", "!!!"),
             post(8, long_name), post(9, long_name), post(10, "UPPER-Case")]  # fmt: skip
    slugs = fields.assign_slugs(posts)
    assert slugs == fields.assign_slugs(list(reversed(posts)))
    assert slugs[4] == "a"
    assert slugs[3] == "a-2"  # "а" (Cyrillic) transliterates to the slug a Latin post holds
    assert slugs[6] == "post-6"
    assert slugs[7] == "post-7"
    assert slugs[10] == "upper-case"
    assert len(set(slugs.values())) == len(posts)
    for slug in slugs.values():
        assert len(slug) <= MAX_SLUG
        assert SLUG_RE.fullmatch(slug)


def test_a_second_import_writes_the_same_bytes_and_reports_unchanged(tmp_path: Path) -> None:
    first = run(NEWSROOM, tmp_path, media_dir=UPLOADS)
    before = digests(tmp_path)
    second = run(NEWSROOM, tmp_path, media_dir=UPLOADS)
    assert digests(tmp_path) == before
    assert {a.outcome for a in first.articles} == {"written"}
    assert {a.outcome for a in second.articles} == {"unchanged"}
    assert {a.outcome for a in second.authors} == {"unchanged"}
    assert {m.outcome for m in second.media} == {"unchanged", "missing"}
    for path in (tmp_path / "articles").glob("*.json"):
        assert path.read_bytes().endswith(b"}\n")


def test_an_author_profile_an_editor_changed_is_kept(tmp_path: Path) -> None:
    run(NEWSROOM, tmp_path)
    edited = b'{"name": "Gevorg Mirzayan", "bio": "Written by the desk."}\n'
    (tmp_path / "authors" / "gevorg-mirzayan.json").write_bytes(edited)
    report = run(NEWSROOM, tmp_path)
    assert (tmp_path / "authors" / "gevorg-mirzayan.json").read_bytes() == edited
    assert {a.file: a.outcome for a in report.authors}["authors/gevorg-mirzayan.json"] == "kept"


def test_a_post_the_contract_refuses_is_reported_and_not_written(tmp_path: Path) -> None:
    export = small_export(
        tmp_path,
        post_xml(1, "too-long", "word " * 45_000),
        post_xml(2, "fine", "A body."),
        post_xml(3, "no-text", ""),
    )
    out = tmp_path / "content"
    report = run(export, out)
    assert report.failed()
    refused = entry(report, 1)
    assert refused.outcome == "failed"
    assert refused.errors[0]["field"] == "body"
    assert not (out / "articles" / "too-long.json").exists()
    assert entry(report, 3).outcome == "failed"
    assert (out / "articles" / "fine.json").is_file()


def test_a_file_that_is_not_an_export_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.xml"
    broken.write_text("<rss><channel><item>", "utf-8")
    with pytest.raises(NotAnExport, match="line"):
        read_export(broken)
    assert main(["import", "wordpress", str(broken), str(tmp_path / "out"), "--no-progress"]) == 2
    assert "cannot import" in capsys.readouterr().out


def test_the_command_prints_a_summary_and_writes_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "content"
    argv = ["import", "wordpress", str(NEWSROOM), str(out), "--media-dir", str(UPLOADS), "--no-progress"]
    assert main([*argv, "--utc-offset", "+03:00"]) == 0
    printed = capsys.readouterr().out
    assert "articles written" in printed
    assert "password-protected" in printed
    report = json.loads((out / "import-report.json").read_text("utf-8"))
    assert report["summary"]["articles written"] == 14
    with pytest.raises(SystemExit):
        main([*argv, "--utc-offset", "3 hours"])


def test_the_progress_bar_counts_posts(tmp_path: Path) -> None:
    stream = io.StringIO()
    console = Console(file=stream, force_terminal=True, width=120)
    options = ImportOptions(export=NEWSROOM, content_dir=tmp_path, now=NOW, console=console)
    import_wordpress(options)
    shown = stream.getvalue()
    assert "importing posts" in shown
    assert "14/14" in shown


# --- the imported folder builds ------------------------------------------------------------------


def test_imported_content_builds_offline_with_no_rejected_file(
    imported: tuple[Path, ImportReport], tmp_path: Path
) -> None:
    content, _ = imported
    report = build_site(content, tmp_path / "site", SETTINGS, workers=1)
    assert report.rejected == []
    site = tmp_path / "site"
    for slug in ("review-of-the-week-kerry-putin", "privet-mir-2", "ni-hao-shi-jie", "104-2"):
        assert (site / "articles" / slug / "index.html").is_file()
    # Drafts and the embargoed post are indexed, never rendered.
    for slug in ("draft-in-progress", "waiting-for-review", "missed-schedule", "embargoed-until-the-summit"):
        assert not (site / "articles" / slug).exists()
    page = (site / "articles" / "review-of-the-week-kerry-putin" / "index.html").read_text("utf-8")
    assert "Kerry in Moscow" in page
    assert (site / "authors" / "olga-guestwriter" / "index.html").is_file()
