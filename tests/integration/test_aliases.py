"""Old addresses answer with a real 301, kept in the edge's alias store by the render stage.

An alias never takes another article's address (an upload that tries is refused; an article
published later at an alias wins its address back), and only a live article's aliases redirect.
The session's stack runs at a fixed clock (2026-11-30 12:00 UTC): an embargo is a later date,
an expiry an earlier one.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import cast

import pytest

from broadsheet.build import load_content
from broadsheet.runtime.render import services
from broadsheet.settings import Settings
from broadsheet_dev.local.runtime import LocalStack
from tests.support import SAMPLES, Editor, assert_site_matches_offline_build

pytestmark = [pytest.mark.integration]

KEY = "articles/russia-nato-agree-to-disagree.json"
OLD = "/articles/can-russia-and-nato-agree-to-disagree/"
NEW = "/articles/russia-nato-agree-to-disagree/"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def status_and_location(url: str) -> tuple[int, str | None]:
    try:
        with urllib.request.build_opener(NoRedirect).open(url, timeout=10) as response:
            return response.status, response.headers.get("Location")
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Location")


def test_an_alias_redirects_until_the_article_drops_it(stack: LocalStack, editor: Editor) -> None:
    doc = json.loads((SAMPLES / KEY).read_text())
    editor.put_json(KEY, doc)
    stack.wait_drained()
    # The store holds the target's slug; the edge answers with its path.
    assert services().aliases.mapping()[OLD] == NEW.strip("/").removeprefix("articles/")
    assert stack.edge is not None
    assert status_and_location(stack.edge.url + OLD) == (301, NEW)
    assert status_and_location(stack.edge.url + OLD.rstrip("/")) == (301, NEW)

    editor.put_json(KEY, doc | {"aliases": []})
    stack.wait_drained()
    assert OLD not in services().aliases.mapping()
    assert status_and_location(stack.edge.url + OLD)[0] == 404

    editor.put_json(KEY, doc)
    stack.wait_drained()
    assert status_and_location(stack.edge.url + OLD) == (301, NEW)


def test_deleting_the_article_removes_its_aliases(stack: LocalStack, editor: Editor) -> None:
    doc = json.loads((SAMPLES / KEY).read_text())
    editor.put_json(
        "articles/short-lived-alias.json", doc | {"aliases": ["an-old-address"], "title": "Short"}
    )
    stack.wait_drained()
    assert services().aliases.mapping()["/articles/an-old-address/"] == "short-lived-alias"
    editor.delete("articles/short-lived-alias.json")
    stack.wait_drained()
    assert "/articles/an-old-address/" not in services().aliases.mapping()


def article(title: str, **fields: object) -> dict[str, object]:
    return {
        "title": title,
        "authors": ["Alias Desk"],
        "published_at": "2026-11-02T09:00:00Z",
        "body": f"The body of {title}.",
    } | fields


def key_of(slug: str) -> str:
    return f"articles/{slug}.json"


def assert_site_and_store_match_the_offline_build(editor: Editor, folder: Path) -> None:
    """The site bucket is the offline build of the content, and the edge's store its redirects."""
    assert_site_matches_offline_build(editor, folder)
    oracle, _ = load_content(folder / "content", Settings())
    assert services().aliases.mapping() == oracle.redirects()


@pytest.mark.parametrize("status", ["published", "draft"])
def test_an_upload_claiming_another_articles_address_is_refused_and_changes_nothing(
    stack: LocalStack, editor: Editor, tmp_path: Path, status: str
) -> None:
    held, claimer = f"alias-held-{status}", f"alias-claimer-{status}"
    editor.put_json(key_of(held), article("Held", status=status))
    good = article("Claimer", aliases=[f"old-{claimer}"])
    editor.put_json(key_of(claimer), good)
    stack.wait_drained()
    site, store = editor.site_files(), services().aliases.mapping()
    indexed = services().index.get_article(claimer)

    editor.put_json(key_of(claimer), good | {"title": "Renamed", "aliases": [f"old-{claimer}", held]})
    editor.put_json(key_of("alias-newcomer"), article("Newcomer", aliases=[held]))
    stack.wait_drained()
    for key, at in ((key_of(claimer), "aliases[1]"), (key_of("alias-newcomer"), "aliases[0]")):
        report = editor.report(key)
        assert report is not None, key
        errors = cast(list[dict[str, str]], report["errors"])
        assert [(e["field"], f"/articles/{held}/" in e["message"]) for e in errors] == [(at, True)]
    assert (editor.site_files(), services().aliases.mapping()) == (site, store)
    assert services().index.get_article(claimer) == indexed
    assert services().index.get_article("alias-newcomer") is None
    assert stack.edge is not None
    assert status_and_location(stack.edge.url + f"/articles/{held}/")[0] == (
        200 if status == "published" else 404
    )

    # The editor puts the good version back and withdraws the newcomer: all is as the files say.
    editor.put_json(key_of(claimer), good)
    editor.delete(key_of("alias-newcomer"))
    stack.wait_drained()
    assert_site_and_store_match_the_offline_build(editor, tmp_path)
    for slug in (held, claimer):
        editor.delete(key_of(slug))
    stack.wait_drained()


def test_an_article_published_at_an_alias_wins_its_address_back(
    stack: LocalStack, editor: Editor, tmp_path: Path
) -> None:
    assert stack.edge is not None
    old = "/articles/alias-taken-later/"
    editor.put_json(key_of("alias-first-claimer"), article("First", aliases=["alias-taken-later"]))
    stack.wait_drained()
    assert status_and_location(stack.edge.url + old) == (301, "/articles/alias-first-claimer/")

    editor.put_json(key_of("alias-taken-later"), article("Taken later"))
    stack.wait_drained()
    assert old not in services().aliases.mapping()
    assert status_and_location(stack.edge.url + old) == (200, None)
    assert_site_and_store_match_the_offline_build(editor, tmp_path / "taken")

    editor.delete(key_of("alias-taken-later"))
    stack.wait_drained()
    assert status_and_location(stack.edge.url + old) == (301, "/articles/alias-first-claimer/")
    assert_site_and_store_match_the_offline_build(editor, tmp_path / "given-back")
    editor.delete(key_of("alias-first-claimer"))
    stack.wait_drained()


def test_aliases_redirect_only_while_their_article_is_live(
    stack: LocalStack, editor: Editor, tmp_path: Path
) -> None:
    assert stack.edge is not None
    key, old = key_of("alias-lifecycle"), "/articles/alias-lifecycle-old/"
    doc = article("Lifecycle", aliases=["alias-lifecycle-old"])
    steps = [
        ("draft", doc | {"status": "draft"}, False),
        ("published", doc, True),
        ("embargoed", doc | {"published_at": "2026-12-15T09:00:00Z"}, False),
        ("embargo lifted", doc, True),
        ("expired", doc | {"expires_at": "2026-11-20T00:00:00Z"}, False),
        ("republished", doc, True),
    ]
    for name, body, live in steps:
        editor.put_json(key, body)
        stack.wait_drained()
        assert (old in services().aliases.mapping()) is live, name
        wanted = (301, "/articles/alias-lifecycle/") if live else (404, None)
        assert status_and_location(stack.edge.url + old) == wanted, name
    editor.put_json(key, doc | {"status": "draft"})
    stack.wait_drained()
    assert_site_and_store_match_the_offline_build(editor, tmp_path)
    editor.delete(key)
    stack.wait_drained()
    assert old not in services().aliases.mapping()
