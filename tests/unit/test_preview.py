"""Draft previews: signed, expiring addresses; private, unindexed pages; moved and removed with
the draft."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from broadsheet.adapters.folder import DirSiteStore
from broadsheet.build import build_site
from broadsheet.clock import now
from broadsheet.index.memory import MemoryIndex
from broadsheet.index.ports import SourceVersion
from broadsheet.pages import PreviewPage, StaticPage, all_pages, page_for_key, parse_page
from broadsheet.plan import ArticleState, plan_article
from broadsheet.preview import (
    PREVIEW_LIFETIME,
    TOKEN_LENGTH,
    parse_preview_key,
    preview_expiry,
    sign,
    token_expiry,
    verify,
)
from broadsheet.render.html import render_page
from broadsheet.settings import Settings
from broadsheet.site import Change, publish_page, stored_previews
from tests.unit.fakes import article_bytes, make_article, select

SECRET = b"a preview secret of at least a few bytes"
AT = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def config() -> Settings:
    return Settings(
        site_url="http://example.test",
        page_size=3,
        now="2026-01-01T00:00:00Z",
        preview_secret=SecretStr(SECRET.decode()),
    )


def _draft(slug: str = "draft-story", **changes: object) -> dict[str, object]:
    return {"status": "draft", "updated_at": "2025-12-30T09:00:00+00:00", **changes}


def _index(config: Settings, *articles: object) -> MemoryIndex:
    index = MemoryIndex(now(config))
    for article in articles:
        index.add_article(article)  # type: ignore[arg-type]
    return index


def test_token_is_fixed_length_url_safe_and_carries_its_expiry() -> None:
    expires = AT + timedelta(days=3)
    token = sign(SECRET, "a-slug", expires)
    assert len(token) == TOKEN_LENGTH
    assert token.replace("-", "").replace("_", "").isalnum()
    assert token_expiry(token) == expires
    assert sign(SECRET, "a-slug", expires) == token


def test_token_verifies_only_for_its_slug_secret_and_before_expiry() -> None:
    expires = AT + timedelta(days=3)
    token = sign(SECRET, "a-slug", expires)
    assert verify(SECRET, "a-slug", token, AT)
    assert not verify(SECRET, "another-slug", token, AT)
    assert not verify(b"another secret entirely, as long", "a-slug", token, AT)
    assert not verify(SECRET, "a-slug", token, expires)
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert not verify(SECRET, "a-slug", tampered, AT)
    later = sign(SECRET, "a-slug", expires + timedelta(days=1))
    # Moving the expiry forward without the secret breaks the signature.
    assert not verify(SECRET, "a-slug", later[:6] + token[6:], AT)
    assert token_expiry("short") is None


def test_expiry_follows_the_drafts_own_dates_not_the_wall_clock() -> None:
    draft = make_article("x", **_draft())
    assert preview_expiry(draft) == datetime(2025, 12, 30, 9, tzinfo=UTC) + PREVIEW_LIFETIME
    undated = make_article("x", status="draft")
    assert preview_expiry(undated) == undated.published_at + PREVIEW_LIFETIME


def test_preview_page_is_private_unindexed_and_has_no_canonical(config: Settings) -> None:
    index = _index(config, make_article("draft-story", **_draft()))
    output = render_page(PreviewPage("draft-story"), index, config)
    assert output is not None
    token, slug = parse_preview_key(output.key) or ("", "")
    assert slug == "draft-story"
    assert verify(SECRET, slug, token, AT)
    assert output.cache_control == "private, no-store"
    robots = [e for e in select(output.body, "meta") if e.attrs.get("name") == "robots"]
    assert [e.attrs["content"] for e in robots] == ["noindex, nofollow"]
    assert not [e for e in select(output.body, "link") if e.attrs.get("rel") == "canonical"]
    assert b"og:url" not in output.body
    assert b"application/ld+json" not in output.body
    assert b"Title of draft-story" in output.body


def test_no_preview_for_a_published_article_an_expired_draft_or_without_a_secret(config: Settings) -> None:
    index = _index(
        config,
        make_article("published"),
        make_article("old-draft", **_draft(updated_at="2025-12-01T00:00:00+00:00")),
        make_article("draft-story", **_draft()),
    )
    assert render_page(PreviewPage("published"), index, config) is None
    assert render_page(PreviewPage("old-draft"), index, config) is None
    assert render_page(PreviewPage("missing"), index, config) is None
    no_secret = config.model_copy(update={"preview_secret": SecretStr("")})
    assert render_page(PreviewPage("draft-story"), index, no_secret) is None


def test_preview_moves_with_a_new_draft_version_and_goes_when_published(
    config: Settings, tmp_path: Path
) -> None:
    index = _index(config, make_article("draft-story", **_draft()))
    store = DirSiteStore(tmp_path)
    page = PreviewPage("draft-story")
    first = publish_page(page, index, store, config)
    assert first.change is Change.WRITTEN
    assert publish_page(page, index, store, config).change is Change.UNCHANGED
    held = index.get_article("draft-story")
    assert held is not None
    moved = make_article("draft-story", **_draft(updated_at="2025-12-31T09:00:00+00:00"))
    assert index.put_article(moved, SourceVersion("v2", 2), now(config), held)
    second = publish_page(page, index, store, config)
    assert second.change is Change.WRITTEN and second.key != first.key
    assert stored_previews("draft-story", store) == [second.key]
    held = index.get_article("draft-story")
    assert held is not None
    published = make_article("draft-story", updated_at="2025-12-31T09:00:00+00:00")
    assert index.put_article(published, SourceVersion("v3", 3), now(config), held)
    gone = publish_page(page, index, store, config)
    assert gone.change is Change.DELETED
    assert stored_previews("draft-story", store) == []


def test_plan_renders_the_preview_when_either_side_is_a_draft(config: Settings) -> None:
    index = _index(config)
    draft = ArticleState("s", "k", frozenset(), draft=True)
    live = ArticleState("s", "k", frozenset(), draft=False)
    assert "preview:s" in plan_article(None, draft, index, 3)
    assert "preview:s" in plan_article(draft, live, index, 3)
    assert "preview:s" in plan_article(draft, None, index, 3)
    assert "preview:s" not in plan_article(live, live, index, 3)


def test_preview_ids_and_keys_parse_back_to_the_page() -> None:
    token = sign(SECRET, "a-slug", AT)
    assert parse_page("preview:a-slug") == PreviewPage("a-slug")
    assert page_for_key(f"preview/{token}/articles/a-slug/index.html") == PreviewPage("a-slug")
    assert page_for_key("preview/not-a-token/articles/a-slug/index.html") is None


def test_robots_txt_keeps_crawlers_out_of_previews(config: Settings) -> None:
    output = render_page(StaticPage("robots"), _index(config), config)
    assert output is not None
    assert b"Disallow: /preview/\n" in output.body


def test_offline_build_writes_the_preview_and_never_lists_the_draft(config: Settings, tmp_path: Path) -> None:
    content = tmp_path / "content" / "articles"
    content.mkdir(parents=True)
    (content / "draft-story.json").write_bytes(article_bytes("draft-story", **_draft()))
    (content / "live-story.json").write_bytes(article_bytes("live-story"))
    out = tmp_path / "site"
    build_site(tmp_path / "content", out, config, workers=1)
    index = _index(config, make_article("draft-story", **_draft()))
    expected = render_page(PreviewPage("draft-story"), index, config)
    assert expected is not None
    assert (out / expected.key).read_bytes() == expected.body
    files = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    elsewhere = [k for k, body in files.items() if b"draft-story" in body and not k.startswith("preview/")]
    assert elsewhere == []
    assert PreviewPage("draft-story") in all_pages(index, config.page_size)
