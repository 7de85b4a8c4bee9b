"""The viewer-request logic: the Python mirror and the real CloudFront function agree on every case."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from broadsheet.preview import sign
from broadsheet_dev.edge import NO_PREVIEW, EdgeDecision, query_values, viewer_request
from broadsheet_dev.local.template import load_template, viewer_request_code

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
ALIASES = {"/articles/old-slug/": "/articles/new-slug/", "/articles/same/": "/articles/same/"}
# Preview tokens signed to expire long after and long before any run of these tests.
LIVE_TOKEN = sign(b"secret", "draft", datetime(2100, 1, 1, tzinfo=UTC))
EXPIRED_TOKEN = sign(b"secret", "draft", datetime(2001, 1, 1, tzinfo=UTC))
# As the render stage writes them: old page paths (with an identity query) to the target's slug.
PATHS = {
    "/2015/12/21/old-slug/": "new-slug",
    "/?p=123": "new-slug",
    "/?page_id=7": "about-us",
    "/archives/123/": "new-slug",
    "/category/news/caf%C3%A9/": "cafe",
    "/articles/older-slug/": "new-slug",
    "/articles/self/": "self",
    "/2016/01/02/*": "*",
    "/category/news/*": "*",
    "/2016/01/02/renamed/": "the-new-name",
}


@dataclass(frozen=True)
class Case:
    id: str
    uri: str
    expected: EdgeDecision
    aliases: dict[str, str] = field(default_factory=dict)
    querystring: dict[str, dict[str, str]] = field(default_factory=dict)


def page(uri: str) -> EdgeDecision:
    return EdgeDecision(redirect=None, uri=uri)


def moved(location: str, uri: str) -> EdgeDecision:
    return EdgeDecision(redirect=location, uri=uri)


CASES = [
    Case("root", "/", page("/index.html")),
    Case("article", "/articles/foo/", page("/articles/foo/index.html")),
    Case("article without slash", "/articles/foo", moved("/articles/foo/", "/articles/foo")),
    Case("hashed asset", "/assets/site.abc123.css", page("/assets/site.abc123.css")),
    Case("feed", "/feed.xml", page("/feed.xml")),
    Case("monthly sitemap", "/sitemaps/2015-12.xml", page("/sitemaps/2015-12.xml")),
    Case("not found page", "/404.html", page("/404.html")),
    Case("author page 2", "/authors/a/page/2/", page("/authors/a/page/2/index.html")),
    Case("home page 2 without slash", "/page/2", moved("/page/2/", "/page/2")),
    Case("dot in a directory", "/articles/v1.2/", page("/articles/v1.2/index.html")),
    Case(
        "alias",
        "/articles/old-slug/",
        moved("/articles/new-slug/", "/articles/old-slug/"),
        aliases=ALIASES,
    ),
    Case(
        "alias requested without slash goes straight to the target",
        "/articles/old-slug",
        moved("/articles/new-slug/", "/articles/old-slug"),
        aliases=ALIASES,
    ),
    Case("alias to itself does not loop", "/articles/same/", page("/articles/same/index.html"), ALIASES),
    Case("other pages ignore the aliases", "/articles/foo/", page("/articles/foo/index.html"), ALIASES),
    Case(
        "query string stays out of the uri",
        "/articles/foo/",
        page("/articles/foo/index.html"),
        querystring={"utm_source": {"value": "newsletter"}},
    ),
    Case(
        "query string stays out of the location",
        "/articles/foo",
        moved("/articles/foo/", "/articles/foo"),
        querystring={"utm_source": {"value": "newsletter"}},
    ),
    Case("double slash is the home page", "//", page("/index.html")),
    Case("slash runs collapse", "/articles//foo/", page("/articles/foo/index.html")),
    Case("never a protocol-relative location", "//evil", moved("/evil/", "//evil")),
    Case("never a backslash location", "/\\evil", moved("/%5Cevil/", "/\\evil")),
    Case("dotted host-like path is a file", "//evil.example", page("/evil.example")),
    Case("dot segment", "/..", page("/..")),
    Case("percent-encoded page", "/articles/caf%C3%A9", moved("/articles/caf%C3%A9/", "/articles/caf%C3%A9")),
    Case(
        "preview before its expiry",
        f"/preview/{LIVE_TOKEN}/articles/draft/",
        page(f"/preview/{LIVE_TOKEN}/articles/draft/index.html"),
    ),
    Case("expired preview is not found", f"/preview/{EXPIRED_TOKEN}/articles/draft/", page(NO_PREVIEW)),
    Case("malformed preview token is not found", "/preview/abc/articles/draft/", page(NO_PREVIEW)),
    Case("preview folder is not found", "/preview/", page(NO_PREVIEW)),
    Case("percent-encoded page with slash", "/articles/caf%C3%A9/", page("/articles/caf%C3%A9/index.html")),
    Case(
        "old site path", "/2015/12/21/old-slug/", moved("/articles/new-slug/", "/2015/12/21/old-slug/"), PATHS
    ),
    Case(
        "old site path without slash",
        "/2015/12/21/old-slug",
        moved("/articles/new-slug/", "/2015/12/21/old-slug"),
        PATHS,
    ),
    Case("old numbered path", "/archives/123", moved("/articles/new-slug/", "/archives/123"), PATHS),
    Case(
        "old slug with a slug value",
        "/articles/older-slug/",
        moved("/articles/new-slug/", "/articles/older-slug/"),
        PATHS,
    ),
    Case(
        "a slug value naming the page itself does not loop",
        "/articles/self/",
        page("/articles/self/index.html"),
        PATHS,
    ),
    Case(
        "percent-encoded old path",
        "/category/news/caf%C3%A9/",
        moved("/articles/cafe/", "/category/news/caf%C3%A9/"),
        PATHS,
    ),
    Case("identity query", "/", moved("/articles/new-slug/", "/"), PATHS, {"p": {"value": "123"}}),
    Case("page_id query", "/", moved("/articles/about-us/", "/"), PATHS, {"page_id": {"value": "7"}}),
    Case(
        "identity query among tracking ones still redirects",
        "/",
        moved("/articles/new-slug/", "/"),
        PATHS,
        {"utm_source": {"value": "x"}, "p": {"value": "123"}, "utm_medium": {"value": "mail"}},
    ),
    Case(
        "an unknown id is the home page, its query passed on",
        "/",
        page("/index.html"),
        PATHS,
        {"p": {"value": "999"}, "utm_source": {"value": "x"}},
    ),
    Case(
        "a tracking query alone is passed on", "/", page("/index.html"), PATHS, {"utm_source": {"value": "x"}}
    ),
    Case(
        "an identity query on an old path that has none",
        "/2015/12/21/old-slug/",
        moved("/articles/new-slug/", "/2015/12/21/old-slug/"),
        PATHS,
        {"p": {"value": "5"}},
    ),
    Case("an empty id is ignored", "/", page("/index.html"), PATHS, {"p": {"value": ""}}),
    Case(
        "other queries on a normal page pass",
        "/tags/syria/",
        page("/tags/syria/index.html"),
        PATHS,
        {"p": {"value": "123"}},
    ),
    Case(
        "a file never looks up aliases", "/2015/12/21/old-slug.html", page("/2015/12/21/old-slug.html"), PATHS
    ),
    Case(
        "folder entry",
        "/2016/01/02/kept-slug/",
        moved("/articles/kept-slug/", "/2016/01/02/kept-slug/"),
        PATHS,
    ),
    Case(
        "folder entry without slash",
        "/2016/01/02/kept-slug",
        moved("/articles/kept-slug/", "/2016/01/02/kept-slug"),
        PATHS,
    ),
    Case(
        "folder entry, another folder",
        "/category/news/x-1/",
        moved("/articles/x-1/", "/category/news/x-1/"),
        PATHS,
    ),
    Case(
        "an exact entry wins over its folder",
        "/2016/01/02/renamed/",
        moved("/articles/the-new-name/", "/2016/01/02/renamed/"),
        PATHS,
    ),
    Case(
        "a folder entry covers its own pages only",
        "/2016/01/02/a/b/",
        page("/2016/01/02/a/b/index.html"),
        PATHS,
    ),
    Case(
        "a folder entry needs a slug-like name",
        "/2016/01/02/Not%20Slug/",
        page("/2016/01/02/Not%20Slug/index.html"),
        PATHS,
    ),
    Case("a folder sign is no target", "/2016/01/02/*", moved("/2016/01/02/*/", "/2016/01/02/*"), PATHS),
    Case("no folder entry at the root", "/kept-slug/", page("/kept-slug/index.html"), PATHS | {"/*": "*"}),
]

# A stand-in for CloudFront's `cloudfront` module: a key value store whose get() throws on a
# missing key, as the real one does.
CLOUDFRONT_STUB = """
let store = {};
export function setStore(next) { store = next; }
export default {
  kvs() {
    return {
      async get(key) {
        if (Object.prototype.hasOwnProperty.call(store, key)) return store[key];
        throw new Error(`key not found: ${key}`);
      },
    };
  },
};
"""

DRIVER = """
import { readFileSync } from 'node:fs';
import { setStore } from 'cloudfront';
import { handler } from './viewer-request.mjs';

const results = [];
for (const c of JSON.parse(readFileSync(0, 'utf8'))) {
  setStore(c.aliases);
  const event = {
    version: '1.0',
    context: {
      distributionDomainName: 'd111111abcdef8.cloudfront.net',
      distributionId: 'EDFDVBD6EXAMPLE',
      eventType: 'viewer-request',
      requestId: 'test',
    },
    viewer: { ip: '198.51.100.11' },
    request: {
      method: 'GET',
      uri: c.uri,
      querystring: c.querystring,
      headers: { host: { value: 'd111111abcdef8.cloudfront.net' } },
      cookies: {},
    },
  };
  const out = await handler(event);
  if (out.statusCode !== undefined) {
    results.push({ status: out.statusCode, redirect: out.headers.location.value, uri: event.request.uri });
  } else {
    results.push({ status: null, redirect: null, uri: out.uri, querystring: out.querystring });
  }
}
process.stdout.write(JSON.stringify(results));
"""


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_python_mirror_decides_each_case(case: Case) -> None:
    assert viewer_request(case.uri, case.aliases, values(case)) == case.expected


def values(case: Case) -> dict[str, str]:
    """The query as the local edge hands it to the mirror: each key's (first) value."""
    return {name: item["value"] for name, item in case.querystring.items()}


def test_the_local_edge_reads_a_raw_query_as_cloudfront_passes_it() -> None:
    assert query_values("utm_source=x&p=123&p=456&flag&q=a%20b") == {
        "utm_source": "x",
        "p": "123",
        "flag": "",
        "q": "a%20b",
    }


@pytest.fixture(scope="module")
def cloudfront_results(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """Every case run through the function code in template.yaml, under node."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed; the CloudFront function cannot be run")
    workdir = tmp_path_factory.mktemp("cloudfront")
    module = workdir / "node_modules" / "cloudfront"
    module.mkdir(parents=True)
    (module / "package.json").write_text(
        json.dumps({"name": "cloudfront", "type": "module", "main": "index.js"})
    )
    (module / "index.js").write_text(CLOUDFRONT_STUB)
    code = viewer_request_code(load_template(TEMPLATE))
    (workdir / "viewer-request.mjs").write_text(code + "\nexport { handler };\n")
    (workdir / "driver.mjs").write_text(DRIVER)
    cases = [{"uri": c.uri, "aliases": c.aliases, "querystring": c.querystring} for c in CASES]
    completed = subprocess.run(
        [node, "driver.mjs"],
        cwd=workdir,
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    results: list[dict[str, Any]] = json.loads(completed.stdout)
    return results


@pytest.mark.parametrize("index", range(len(CASES)), ids=[case.id for case in CASES])
def test_cloudfront_function_agrees_with_python(index: int, cloudfront_results: list[dict[str, Any]]) -> None:
    case, result = CASES[index], cloudfront_results[index]
    decision = viewer_request(case.uri, case.aliases, values(case))
    assert EdgeDecision(redirect=result["redirect"], uri=result["uri"]) == decision == case.expected
    if decision.redirect is not None:
        assert result["status"] == 301
        assert "?" not in decision.redirect
    else:
        assert result["querystring"] == case.querystring


def test_function_code_fits_cloudfront_size_limit() -> None:
    assert len(viewer_request_code(load_template(TEMPLATE)).encode()) <= 10 * 1024
