"""`broadsheet local` as a new user runs it: the command, the folder an editor saves into, the
site on loopback, a real Chromium reading it, and Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from playwright.sync_api import Browser

from tests.e2e.local_command import Running, local_command
from tests.support import SAMPLES
from tests.waiting import wait_for

# The 5-second publishing promise is measured alone (`-m browser`), not beside other tests' load.
pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with local_command(tmp_path_factory.mktemp("local")) as started:
        yield started


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def site_stamps(running: Running) -> dict[str, str]:
    s3 = boto3.client(
        "s3",
        endpoint_url=str(running.state["endpoint"]),
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    bucket = str(running.state["site_bucket"])
    return {
        o["Key"]: f"{o['ETag']}@{o['LastModified'].isoformat()}"
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for o in page.get("Contents", [])
    }


def test_the_sample_site_is_served_with_the_edge_headers(running: Running) -> None:
    status, headers, body = fetch(running.site + "/")
    assert status == 200
    assert b"Review of the week" in body
    assert headers["Content-Type"].startswith("text/html")
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert headers["Strict-Transport-Security"].startswith("max-age=")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert "s-maxage" in headers["Cache-Control"]


def test_the_edge_adds_the_slash_and_answers_missing_pages_with_the_404_page(running: Running) -> None:
    status, headers, _ = fetch(running.site + "/articles/review-of-the-week-kerry-putin")
    assert status == 301
    assert headers["Location"] == "/articles/review-of-the-week-kerry-putin/"
    status, headers, body = fetch(running.site + "/no/such/page/")
    assert status == 404
    assert b"<h1" in body
    assert "default-src 'none'" in headers["Content-Security-Policy"]


def test_a_reader_follows_an_author_link_from_the_home_page(running: Running, browser: Browser) -> None:
    page = browser.new_page()
    try:
        page.goto(running.site + "/")
        page.get_by_role("link", name="Gevorg Mirzayan").first.click()
        page.wait_for_url("**/authors/gevorg-mirzayan/")
        assert page.locator("h1").inner_text().strip() == "Gevorg Mirzayan"
        page.get_by_role("link", name="Review of the week", exact=False).first.click()
        page.wait_for_url("**/articles/review-of-the-week-kerry-putin/")
        assert page.get_by_text("Continue reading at Russia Direct").count() == 1
    finally:
        page.close()


def test_saving_a_file_publishes_it_within_five_seconds_touching_only_its_pages(running: Running) -> None:
    before = site_stamps(running)
    doc = json.loads((SAMPLES / "articles" / "un-at-seventy.json").read_text())
    doc |= {
        "title": "Saved from the editor's folder",
        "authors": ["Gevorg Mirzayan", "Anna Lebedeva"],
        "published_at": "2026-11-29T09:00:00+03:00",
        "section": "analysis",
        "tags": ["United Nations"],
    }
    started = time.monotonic()
    (running.watch / "articles" / "saved-from-the-folder.json").write_text(json.dumps(doc))

    def live() -> bool:
        pages = ["/", "/authors/gevorg-mirzayan/", "/authors/anna-lebedeva/"]
        return all(b"Saved from the editor" in fetch(running.site + p)[2] for p in pages)

    wait_for("the home and author pages", live, timeout=5.0 - (time.monotonic() - started))
    # Drain: the rest of the article's pages follow; then nothing it does not affect has changed.
    affected = (
        "articles/saved-from-the-folder/",
        "index.html",
        "page/",
        "authors/gevorg-mirzayan/",
        "authors/anna-lebedeva/",
        "sections/analysis/",
        "tags/united-nations/",
        "archive/2026/11/",
        # Site-wide files that list it: feeds, its month's sitemap shard, the sitemap and archive
        # indexes and the news sitemap.
        "feed.xml",
        "rss.xml",
        "feed.json",
        "sitemaps/2026-11.xml",
        "sitemap.xml",
        "news-sitemap.xml",
        "archive/index.html",
    )
    wait_for("the month archive", lambda: "archive/2026/11/index.html" in site_stamps(running))
    after = site_stamps(running)
    changed = sorted(k for k in after if before.get(k) != after[k])
    assert changed, "nothing was written"
    assert [k for k in changed if not k.startswith(affected)] == []


def test_broadsheet_publish_and_unpublish_reach_the_running_stack(running: Running, tmp_path: Path) -> None:
    doc = json.loads((SAMPLES / "articles" / "un-at-seventy.json").read_text())
    doc |= {"title": "Published from the command line", "published_at": "2026-11-29T11:00:00+03:00"}
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "from-the-command-line.json").write_text(json.dumps(doc))
    (folder / "no-title.json").write_text(json.dumps({k: v for k, v in doc.items() if k != "title"}))
    (folder / "notes.txt").write_text("not content")
    broadsheet = str(Path(sys.executable).with_name("broadsheet"))
    state = ["--state", str(running.state_file)]
    first = subprocess.run(
        [broadsheet, "publish", str(folder), *state], check=False, capture_output=True, text=True
    )
    # A folder: each file checked, the refused one named with its field, no bar in a pipe.
    assert first.returncode == 1
    assert "1 published, 0 unchanged, 1 rejected, 1 skipped" in first.stdout
    assert f"rejected {folder / 'no-title.json'}:\n  title: " in first.stdout
    again = subprocess.run(
        [broadsheet, "publish", str(folder), *state], check=False, capture_output=True, text=True
    )
    assert "0 published, 1 unchanged, 1 rejected, 1 skipped" in again.stdout
    wait_for("the home page", lambda: b"Published from the command line" in fetch(running.site + "/")[2])
    # A batch publishes its pages side by side: the article page may land just after the home page.
    wait_for("the article page", lambda: fetch(running.site + "/articles/from-the-command-line/")[0] == 200)

    subprocess.run(
        [broadsheet, "unpublish", "from-the-command-line", *state], check=True, capture_output=True
    )
    wait_for("the article to go", lambda: fetch(running.site + "/articles/from-the-command-line/")[0] == 404)


MARKDOWN = """\
---
title: Saved as Markdown
authors: [Gevorg Mirzayan]
published_at: 2026-11-29T10:00:00+03:00
aliases: [/2015/12/21/saved-as-markdown/, /?p=4242]
---

Written in an editor that saves *Markdown* with front matter.
"""


def test_saving_a_markdown_file_publishes_it_within_five_seconds(running: Running) -> None:
    (running.watch / "articles" / "saved-as-markdown.md").write_text(MARKDOWN)
    wait_for("the home page", lambda: b"Saved as Markdown" in fetch(running.site + "/")[2], timeout=5.0)
    status, _, body = fetch(running.site + "/articles/saved-as-markdown/")
    assert status == 200 and b"<em>Markdown</em>" in body
    wait_for("the old address to redirect", lambda: fetch(running.site + "/?p=4242&utm_source=x")[0] == 301)
    for old in ("/?p=4242&utm_source=x", "/2015/12/21/saved-as-markdown"):
        status, headers, _ = fetch(running.site + old)
        assert (status, headers["Location"]) == (301, "/articles/saved-as-markdown/")


def test_a_broken_front_matter_saved_in_the_folder_is_reported_with_its_line(running: Running) -> None:
    s3 = boto3.client(
        "s3",
        endpoint_url=str(running.state["endpoint"]),
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    broken = MARKDOWN.replace("title: Saved as Markdown", "title: Saved: as Markdown")
    (running.watch / "articles" / "broken-markdown.md").write_text(broken)
    key = "reports/articles/broken-markdown.md.errors.json"

    def written() -> dict[str, Any] | None:
        try:
            body = s3.get_object(Bucket=str(running.state["content_bucket"]), Key=key)["Body"].read()
        except s3.exceptions.NoSuchKey:
            return None
        loaded: dict[str, Any] = json.loads(body)
        return loaded

    report = wait_for("the report", written)
    assert report is not None
    assert report["errors"][0]["message"].startswith("line 2: the front matter is not valid YAML")
    assert fetch(running.site + "/articles/broken-markdown/")[0] == 404


def test_ctrl_c_stops_the_stack_cleanly(running: Running) -> None:
    running.process.send_signal(signal.SIGINT)
    assert running.process.wait(timeout=60) == 0
