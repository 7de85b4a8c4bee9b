"""Helpers for the script-execution test: the XSS corpora, articles carrying their payloads,
and a Chromium page that records anything a payload could do.

A payload goes into one field of one article. A field the article format refuses it in (a
multi-line payload as a title, anything but a slug as a section) makes a file of its own, which
must be rejected with a report naming that field; the rest are packed about twenty to an
article and published.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, CDPSession, Dialog, Page, Request, Route

from broadsheet.contract.files import read_article
from broadsheet.errors import ValidationFailed

CORPUS = Path(__file__).resolve().parents[1] / "corpora" / "xss"
PUBLISHED_AT = "2026-11-02T09:00:00Z"
HAND_MADE = ("seclists/", "svg/", "owasp/")
# The fields a payload can be put in, with the name a report gives each.
FIELDS = {
    "title": "title",
    "teaser": "teaser",
    "body": "body",
    "author": "authors[0]",
    "tag": "tags[0]",
    "section": "section",
    "source name": "source.name",
    "source url": "source.url",
}
# One article's slots: twenty payloads, each field's share about what a page can hold of it.
SLOTS = (
    "title", "teaser", "source name", "source url", "author", "author", "tag", "tag", "tag", "section",
    *["body"] * 10,
)  # fmt: skip
WEB_ADDRESS = re.compile(r"https?://", re.IGNORECASE)
PROBE_URL = "broadsheet-xss-probe.js"
# Runs in every frame before any of the page's own scripts: anything a payload calls is recorded.
PROBE = f"""(() => {{
  const ran = [];
  const violations = [];
  Object.defineProperty(window, "__broadsheetRan", {{ value: ran }});
  Object.defineProperty(window, "__broadsheetViolations", {{ value: violations }});
  for (const name of ["alert", "confirm", "prompt", "print"]) {{
    const trap = function (...args) {{
      window.__broadsheetFlag = true;
      ran.push(name + "(" + args.map(String).join(", ").slice(0, 80) + ")");
    }};
    Object.defineProperty(window, name, {{ value: trap, writable: false, configurable: false }});
  }}
  // The global flag: set by every trap above, and by any payload that assigns window.xss.
  Object.defineProperty(window, "xss", {{
    set(value) {{ window.__broadsheetFlag = true; ran.push("xss = " + String(value).slice(0, 80)); }},
    get() {{ return undefined; }},
  }});
  document.addEventListener("securitypolicyviolation", (event) => {{
    violations.push(event.effectiveDirective + " " + String(event.blockedURI).slice(0, 80));
  }});
}})();
//# sourceURL={PROBE_URL}
"""
# What a page holds that could ever run: script elements other than JSON-LD, event handler
# attributes, frames and plugins, and links or sources with a scheme that can run script. A
# function of the page's window, so that a harness page can audit the pages in its frames.
AUDIT_OF = """(win) => {
  const document = win.document;
  const found = [];
  const ld = [];
  for (const script of document.querySelectorAll("script")) {
    if (script.type !== "application/ld+json") {
      found.push("script " + (script.type || "(no type)"));
      continue;
    }
    try {
      ld.push({ parsed: JSON.parse(script.textContent) });
    } catch (error) {
      ld.push({ error: String(error), text: script.textContent.slice(0, 200) });
    }
  }
  // A data: URL can hold a document or script, but not as an empty or raster-image resource.
  const runs = /^\\s*(javascript:|vbscript:|data:(?!,|image\\/(png|gif|jpeg|webp|avif)[;,]))/i;
  for (const element of document.querySelectorAll("*")) {
    for (const attribute of element.attributes) {
      const name = attribute.name.toLowerCase();
      if (name.startsWith("on")) found.push(element.localName + "[" + name + "]");
      if (["href", "src", "action", "formaction", "xlink:href", "data", "srcdoc"].includes(name)
          && runs.test(attribute.value.replace(/[\\t\\n\\r]/g, ""))) {
        found.push(element.localName + "[" + name + "=" + attribute.value.slice(0, 40) + "]");
      }
    }
    if (["iframe", "frame", "object", "embed", "applet", "base"].includes(element.localName)) {
      found.push(element.localName);
    }
  }
  return {
    found, ld, contentType: document.contentType,
    ran: win.__broadsheetRan || [], flag: win.__broadsheetFlag === true,
    violations: win.__broadsheetViolations || [],
  };
}"""
AUDIT = f"() => ({AUDIT_OF})(window)"


@dataclass(frozen=True)
class Payload:
    """One payload of the corpus and the file it came from."""

    source: str
    text: str


def _files(collection: str, pattern: str) -> list[Path]:
    """A collection's files; a missing or empty one is an error, never a smaller corpus."""
    paths = sorted((CORPUS / collection).glob(pattern))
    if not paths or any(path.stat().st_size == 0 for path in paths):
        raise FileNotFoundError(f"the XSS corpus {collection}/{pattern} is missing or empty under {CORPUS}")
    return paths


def _lines(path: Path) -> list[str]:
    text = path.read_bytes().decode("utf-8", errors="replace")
    return [line for line in text.splitlines() if line.strip()]


def corpus() -> list[Payload]:
    """Every payload of every XSS corpus, each once: the short hand-made collections (SecLists'
    polyglot, the SVG files, OWASP's cheat sheet) first, then the long generated lists."""
    found: list[Payload] = []
    for path in _files("seclists", "*.txt"):
        found += [Payload(f"seclists/{path.name}", line) for line in _lines(path)]
    for path in _files("svg", "*.svg"):
        found.append(Payload(f"svg/{path.name}", path.read_text(encoding="utf-8", errors="replace")))
    for path in _files("owasp", "*.json"):
        # The cheat sheet keeps Markdown's escaping of angle brackets: `\\<a …\\>`.
        for entry in json.loads(path.read_text(encoding="utf-8")):
            text = re.sub(r"\\([<>])", r"\1", str(entry["payload"]))
            found.append(Payload(f"owasp/{path.name}", text))
    for path in _files("payloadsallthethings", "*.txt"):
        found += [Payload(f"payloadsallthethings/{path.name}", line) for line in _lines(path)]
    for path in _files("payloadbox", "*.txt"):
        found += [Payload(f"payloadbox/{path.name}", line) for line in _lines(path)]
    unique: dict[str, Payload] = {}
    for payload in found:
        unique.setdefault(payload.text, payload)
    return list(unique.values())


def sample(payloads: list[Payload], count: int) -> list[Payload]:
    """Every payload of the hand-made collections, and the long lists' taken evenly up to `count`."""
    kept = [p for p in payloads if p.source.startswith(HAND_MADE)]
    rest = [p for p in payloads if not p.source.startswith(HAND_MADE)]
    room = max(0, count - len(kept))
    if room >= len(rest):
        return kept + rest
    return kept + [rest[i * len(rest) // room] for i in range(room)]


def base_article(title: str) -> dict[str, Any]:
    """A harmless article the payloads are put into."""
    return {
        "title": title,
        "teaser": "A harmless teaser.",
        "authors": ["Harmless Author"],
        "published_at": PUBLISHED_AT,
        "body": "A harmless body.\n",
        "source": {"name": "Harmless Source", "url": "https://example.org/story"},
    }


def source_address(text: str) -> str:
    """The source URL a payload becomes: itself if it is a web address, else the query of one."""
    return text if WEB_ADDRESS.match(text) else "https://example.org/?q=" + text


def put(doc: dict[str, Any], slot: str, text: str) -> None:
    """Add a payload to an article in one of the field slots."""
    if slot == "author":
        authors = [a for a in doc["authors"] if a != "Harmless Author"]
        doc["authors"] = [*authors, text]
    elif slot == "tag":
        doc["tags"] = [*doc.get("tags", []), text]
    elif slot == "body":
        doc["body"] = (doc["body"] + "\n\n" + text) if doc.get("bodies") else text
        doc["bodies"] = True
    elif slot == "source name":
        doc["source"] = {**doc["source"], "name": text}
    elif slot == "source url":
        doc["source"] = {**doc["source"], "url": source_address(text)}
    else:
        doc[slot] = text


def finished(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "bodies"}


def accepted(key: str, doc: dict[str, Any]) -> bool:
    """Whether the article format accepts a file (as `broadsheet validate` tells an editor)."""
    try:
        read_article(key, json.dumps(finished(doc)).encode("utf-8"))
    except ValidationFailed:
        return False
    return True


@dataclass
class Plan:
    """The files that carry the payloads: articles expected to publish, files expected to be
    rejected (each naming its one field), and where every payload went."""

    articles: dict[str, dict[str, Any]] = field(default_factory=dict)
    rejected: dict[str, tuple[str, Payload]] = field(default_factory=dict)
    placed: dict[str, list[Payload]] = field(default_factory=dict)

    def files(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every file to upload, key and document."""
        yield from self.articles.items()
        for key, (slot, payload) in self.rejected.items():
            doc = base_article(f"A file with a payload as its {slot}")
            put(doc, slot, payload.text)
            yield key, finished(doc)


def plan(payloads: list[Payload], prefix: str = "xss") -> Plan:
    """Put each payload into the slot its position gives it; refused ones make files of their own."""
    result = Plan()
    for start in range(0, len(payloads), len(SLOTS)):
        key = f"articles/{prefix}-{start // len(SLOTS)}.json"
        doc = base_article("A harmless title")
        for offset, payload in enumerate(payloads[start : start + len(SLOTS)]):
            slot = SLOTS[offset]
            alone = base_article("A harmless title")
            put(alone, slot, payload.text)
            trial = json.loads(json.dumps(doc))
            put(trial, slot, payload.text)
            if not accepted(key, alone):
                result.rejected[f"articles/{prefix}-refused-{start + offset}.json"] = (slot, payload)
            elif accepted(key, trial):
                doc = trial
                result.placed.setdefault(key, []).append(payload)
            else:
                # Fine alone, not next to the others (two names for one author page): its own article.
                own = f"articles/{prefix}-alone-{start + offset}.json"
                result.articles[own] = finished(alone)
                result.placed[own] = [payload]
        result.articles[key] = finished(doc)
    return result


# A page that does what a payload that got through would do: the probe must see all of it.
CONTROL_PAGE = (
    b'<!doctype html><html lang="en"><head><title>control</title></head><body>'
    b'<img src="/missing.png" onerror="alert(1)">'
    b"<script>window.xss = 1; print();</script>"
    b'<a href="javascript:alert(2)">link</a>'
    b'<img src="https://elsewhere.example/pixel.png" alt="">'
    b"</body></html>"
)


# Pages every site has once it has published anything, even after unpublishing it all again.
SITE_WIDE = re.compile(
    r"(?:feed\.xml|rss\.xml|feed\.json)|index\.html|archive/index\.html|sitemap\.xml|news-sitemap\.xml"
)


def etags(stamps: dict[str, str]) -> dict[str, str]:
    """Content hashes from `Editor.site_stamps()`: equal hashes, equal bytes."""
    return {key: stamp.split("@")[0] for key, stamp in stamps.items()}


def assert_restored(site: dict[str, str], original: dict[str, str]) -> None:
    """The site as it was, by content hash: the same bytes under every key, and no page added
    but site-wide ones (the session's site may not have had them yet)."""
    assert {k: site.get(k) for k in original} == original, "removing the payload files changed the site"
    added = [k for k in site if k not in original and not SITE_WIDE.fullmatch(k)]
    assert added == [], f"removing the payload files left pages behind: {added[:10]}"


# -- the browser -----------------------------------------------------------------------------


@dataclass
class Visit:
    """What loading one page did."""

    url: str
    headers: bool
    status: int
    content_type: str
    dialogs: list[str]
    ran: list[str]
    flag: bool
    scripts: list[str]
    foreign: list[str]
    found: list[str]
    violations: list[str]
    ld: list[dict[str, Any]]

    @property
    def executed(self) -> list[str]:
        """Every sign that script from the page ran."""
        return self.ran + (["flag set"] if self.flag else []) + self.scripts + self.dialogs


def foreign(url: str, resource_type: str, origin: str) -> bool:
    """Whether a request leaves the page's origin (a data: URL only if it is script)."""
    if url.startswith("data:"):
        return resource_type == "script"
    if url.startswith(("about:", "blob:" + origin)):
        return False
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" != origin


class Reader:
    """A Chromium page, served with the edge's headers or with every header stripped but the
    content type, that records dialogs, script and requests to other origins."""

    def __init__(self, context: BrowserContext, origin: str, *, headers: bool) -> None:
        self.origin = origin
        self.headers = headers
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.scripts: list[str] = []
        context.add_init_script(PROBE)
        context.route(lambda url: True, self._route)
        self.page: Page = context.new_page()
        self.page.on("request", self._request)
        self.page.on("dialog", self._dialog)
        self.cdp: CDPSession = context.new_cdp_session(self.page)
        self.cdp.on("Debugger.scriptParsed", self._script)
        self.cdp.send("Debugger.enable")

    def _route(self, route: Route) -> None:
        if foreign(route.request.url, route.request.resource_type, self.origin):
            route.abort()  # recorded by the request event; never let it reach the network
        elif self.headers:
            route.continue_()
        else:
            response = route.fetch()
            kept = {k: v for k, v in response.headers.items() if k.lower() == "content-type"}
            route.fulfill(status=response.status, headers=kept, body=response.body())

    def _request(self, request: Request) -> None:
        if foreign(request.url, request.resource_type, self.origin):
            self.requests.append(f"{request.resource_type} {request.url[:120]}")

    def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(dismissed(dialog))

    def _script(self, event: dict[str, Any]) -> None:
        # Page scripts carry the document's (or their file's) URL; Playwright's own have none.
        context = event.get("executionContextAuxData") or {}
        url = str(event.get("url", ""))
        if context.get("isDefault") and url and url != PROBE_URL:
            self.scripts.append(f"script compiled from {url[:100]} ({event.get('length')} chars)")

    def visit(self, path: str) -> Visit:
        """Load one page, let it settle, and say what happened."""
        self.requests, self.dialogs, self.scripts = [], [], []
        response = self.page.goto(self.origin + path, wait_until="load")
        self.page.wait_for_timeout(20)
        audit: dict[str, Any] = self.page.evaluate(AUDIT)
        return Visit(
            url=path, headers=self.headers, status=response.status if response else 0,
            content_type=str(audit["contentType"]), dialogs=self.dialogs, ran=list(audit["ran"]),
            flag=bool(audit["flag"]), scripts=self.scripts, foreign=self.requests,
            found=list(audit["found"]), violations=list(audit["violations"]), ld=list(audit["ld"]),
        )  # fmt: skip


def dismissed(dialog: Dialog) -> str:
    """Dismiss a dialog a page opened; what it was, for the figures."""
    seen = f"dialog {dialog.type}: {dialog.message[:80]}"
    dialog.dismiss()
    return seen


def assert_json_ld_is_the_article(ld: list[dict[str, Any]], doc: dict[str, Any], path: str) -> None:
    """An article page's JSON-LD blocks all parse, are its NewsArticle and BreadcrumbList, and
    carry the article file's authors, tags and title as data."""
    assert [b for b in ld if "error" in b] == [], (path, ld)
    data = {b["parsed"]["@type"]: b["parsed"] for b in ld}
    assert sorted(data) == ["BreadcrumbList", "NewsArticle"], (path, sorted(data))
    article = data["NewsArticle"]
    assert [a["name"] for a in article["author"]] == doc["authors"], path
    assert article.get("keywords", []) == doc.get("tags", []), path
    assert data["BreadcrumbList"]["itemListElement"][-1]["name"] == doc["title"], path
