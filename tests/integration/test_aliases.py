"""Old addresses answer with a real 301, kept in the edge's alias store by the render stage."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from broadsheet.runtime.render import services
from broadsheet_dev.local.runtime import LocalStack
from tests.support import SAMPLES, Editor

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
    assert services().aliases.mapping()[OLD] == NEW
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
    assert services().aliases.mapping()["/articles/an-old-address/"] == "/articles/short-lived-alias/"
    editor.delete("articles/short-lived-alias.json")
    stack.wait_drained()
    assert "/articles/an-old-address/" not in services().aliases.mapping()
