"""Loading many built pages in one Chromium page: a loopback server for a built site folder, and a
harness page that loads the site's pages in batches of frames and audits each.

A frame costs Chromium far less than a top-level navigation, and the same init script (the probe),
request routing and dialog handling apply to frames. Everything else is as in `xss.Reader`: the
probe records calls to `alert`, `confirm`, `prompt`, `print` and the global flag; Chromium's
debugger reports each script a page compiles; a request to another origin is recorded and
refused.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, CDPSession, Dialog, Error, Request, Route

from broadsheet.pages import NOT_FOUND_KEY
from broadsheet_dev.edge import viewer_request
from tests.e2e.xss import AUDIT_OF, PROBE, PROBE_URL, dismissed, foreign

HARNESS = "/__harness/"
# Pages the harness serves itself: a page that does what a payload that got through would do.
FIXTURES_PREFIX = "/__control/"
# The harness's frames fit in the viewport: frames out of sight may not be rendered or animated.
HARNESS_PAGE = (
    b'<!doctype html><html lang="en"><head><title>harness</title>'
    b"<style>body{margin:0}iframe{width:120px;height:60px;border:0;margin:0}</style>"
    b"</head><body></body></html>"
)
FRAME_SECONDS = 30


def framed(headers: Mapping[str, str]) -> dict[str, str]:
    """The production headers as a frame of the harness gets them: only what forbids framing
    (X-Frame-Options, the CSP's frame-ancestors) is relaxed, to the page's own origin."""
    relaxed = {k: v for k, v in headers.items() if k.lower() != "x-frame-options"}
    for name, value in headers.items():
        if name.lower() == "content-security-policy":
            relaxed[name] = re.sub(r"frame-ancestors [^;]*", "frame-ancestors 'self'", value)
    return relaxed


class FolderServer:
    """A built site folder on a loopback port, answering as the edge does (the viewer-request
    decision, `/404.html` for what is missing): with the object's content type and cache lifetime
    and the given response headers policy's headers, or, given none, with the content type alone."""

    def __init__(
        self,
        root: Path,
        types: Mapping[str, tuple[str, str]],
        headers: Mapping[str, str] | None,
        fixtures: Mapping[str, bytes] | None = None,
    ) -> None:
        server = self
        self.root = root
        # Each file's content type and cache lifetime, as the site bucket keeps them.
        self.types = types
        self.headers = headers
        self.fixtures = dict(fixtures or {})

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                server.respond(self)

            def log_message(self, format: str, *args: Any) -> None:
                return

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                return  # Chromium drops keep-alive connections it no longer needs

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop serving."""
        self.httpd.shutdown()
        self.httpd.server_close()

    def respond(self, request: BaseHTTPRequestHandler) -> None:
        """Answer one GET."""
        path = urlsplit(request.path).path or "/"
        if path == HARNESS or path in self.fixtures:
            body = HARNESS_PAGE if path == HARNESS else self.fixtures[path]
            # The harness's own pages carry no policy: their script must run to be seen running.
            self._send(request, 200, body, {"Content-Type": "text/html; charset=utf-8"})
            return
        decision = viewer_request(path, {})
        if decision.redirect is not None:
            self._send(request, 301, b"", {"Location": decision.redirect, "Content-Type": "text/plain"})
            return
        key = decision.uri.lstrip("/")
        status = 200
        if key not in self.types:
            status, key = 404, NOT_FOUND_KEY
        content_type, cache_control = self.types[key]
        headers = {"Content-Type": content_type}
        if self.headers is not None:
            framing = request.headers.get("Sec-Fetch-Dest") == "iframe"
            headers |= {"Cache-Control": cache_control, **(framed(self.headers) if framing else self.headers)}
        self._send(request, status, (self.root / key).read_bytes(), headers)

    @staticmethod
    def _send(request: BaseHTTPRequestHandler, status: int, body: bytes, headers: Mapping[str, str]) -> None:
        # No Server or Date header: without the production headers a page gets its type alone.
        request.send_response_only(status)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            request.send_header(name, value)
        request.end_headers()
        request.wfile.write(body)


# Loads a batch of pages in frames without waiting for them: the harness keeps the promise, so
# that another harness page can load its own batch meanwhile.
START = """(paths) => {
  document.body.replaceChildren();
  window.__broadsheetBatch = Promise.all(paths.map((path) => new Promise((done) => {
    const frame = document.createElement("iframe");
    const timer = setTimeout(() => done(false), FRAME_MS);
    frame.onload = () => { clearTimeout(timer); done(true); };
    frame.src = path;
    document.body.appendChild(frame);
  })));
}""".replace("FRAME_MS", str(FRAME_SECONDS * 1000))
# Waits for the batch, lets animations and timers start, then audits every frame and reads what
# it shows: an HTML page's headings, names, teasers, tags and body text, a feed's entries as
# Chromium's XML and JSON parsers read them (Chromium shows an Atom or RSS feed as text, so the
# feed is parsed from that text).
FINISH = """async () => {
  const loaded = await window.__broadsheetBatch;
  await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
  await new Promise((done) => setTimeout(done, 30));
  const audit = AUDIT_OF;
  const texts = (root, selector) => [...root.querySelectorAll(selector)].map((e) => e.textContent);
  const XHTML = "http://www.w3.org/1999/xhtml";
  const feed = (win) => {
    const text = win.document.documentElement.textContent;
    if (win.location.pathname.endsWith(".json")) {
      try {
        const items = JSON.parse(text).items;
        return { entries: items.map((i) => ({
          title: i.title, authors: (i.authors || []).map((a) => a.name), tags: i.tags || [] })) };
      } catch (error) { return { error: String(error) }; }
    }
    const xml = new DOMParser().parseFromString(text, "application/xml");
    if (xml.getElementsByTagName("parsererror").length) return { error: "parsererror" };
    const found = [];
    for (const element of xml.getElementsByTagName("*")) {
      const name = element.localName;
      if (element.namespaceURI === XHTML || name === "script") found.push(name);
      for (const attribute of element.attributes) {
        if (attribute.name.toLowerCase().startsWith("on")) found.push(name + "[" + attribute.name + "]");
      }
    }
    const atom = xml.documentElement.localName === "feed";
    const entries = [...xml.getElementsByTagName(atom ? "entry" : "item")].map((entry) => ({
      title: [...entry.children].find((e) => e.localName === "title").textContent,
      authors: atom ? texts(entry, "author > name") : [...entry.children].filter(
        (e) => e.localName === "creator").map((e) => e.textContent),
      tags: [...entry.children].filter((e) => e.localName === "category").map(
        (e) => atom ? e.getAttribute("term") : e.textContent),
    }));
    return { entries, found };
  };
  const frames = [...document.querySelectorAll("iframe")];
  return frames.map((frame, n) => {
    // The page asked for; a frame that ended anywhere else (or at an error page) says so.
    const path = frame.getAttribute("src");
    try {
      const win = frame.contentWindow;
      const navigation = win.performance.getEntriesByType("navigation")[0];
      const result = {
        path, landed: win.location.pathname, loaded: loaded[n],
        status: navigation ? navigation.responseStatus : 0, audit: audit(win),
      };
      if (/\\.(xml|json)$/.test(path)) {
        result.feed = feed(win);
      } else {
        result.page = {
          h1: texts(win.document, "h1").join(" "),
          items: texts(win.document, ".item h2 a"),
          teasers: texts(win.document, ".item-teaser"),
          bylines: [...win.document.querySelectorAll(".item-byline")].map((p) => texts(p, "a")),
          standfirst: texts(win.document, ".standfirst").join(""),
          authors: texts(win.document, ".byline [itemprop=name]"),
          tags: texts(win.document, ".tags a"),
          body: texts(win.document, ".story-body").join(""),
          images: [...win.document.querySelectorAll(".story-body img[src]")].map((i) => i.src),
        };
      }
      return result;
    } catch (error) {
      return { path, landed: "", loaded: loaded[n], status: 0, audit: {}, error: String(error) };
    }
  });
}""".replace("AUDIT_OF", AUDIT_OF)


def _frame_path(request: Request) -> str:
    try:
        return urlsplit(request.frame.url).path
    except Error:  # a request of no frame (a worker's)
        return ""


def _describe(request: Request) -> str:
    return f"{request.resource_type} {request.url[:120]}"


@dataclass
class Load:
    """What loading one page in a frame did."""

    path: str
    headers: bool
    loaded: bool
    # Where the frame's document ended (its path), and why it could not be read, if it could not.
    landed: str
    error: str
    status: int
    content_type: str
    ran: list[str]
    flag: bool
    found: list[str]
    violations: list[str]
    ld: list[dict[str, Any]]
    page: dict[str, Any] | None
    feed: dict[str, Any] | None
    scripts: list[str]
    # Requests for other origins Chromium let through (the harness refused them). One the page's
    # CSP stopped never gets that far; the probe records the CSP's report instead.
    foreign: list[str]
    dialogs: list[str]

    @property
    def executed(self) -> list[str]:
        """Every sign that script from the page ran."""
        return self.ran + (["flag set"] if self.flag else []) + self.scripts + self.dialogs


class Harness:
    """A harness page in its own browser context at a server's origin, loading pages in frames."""

    def __init__(self, context: BrowserContext, origin: str, *, headers: bool) -> None:
        self.origin = origin
        self.headers = headers
        self.scripts: list[tuple[str, str]] = []
        self.sent: list[tuple[str, str]] = []
        self.dialogs: list[str] = []
        self.batch: list[str] = []
        context.add_init_script(PROBE)
        # Only requests leaving the origin are routed: the rest never pass through Python.
        context.route(re.compile("^(?!" + re.escape(origin) + "/)"), self._route)
        self.page = context.new_page()
        self.page.on("dialog", self._dialog)
        self.cdp: CDPSession = context.new_cdp_session(self.page)
        # The harness's own frame keeps its id when it navigates to the harness page.
        self.frame_id = str(self.cdp.send("Page.getFrameTree")["frameTree"]["frame"]["id"])
        self.cdp.on("Debugger.scriptParsed", self._script)
        self.cdp.send("Debugger.enable")
        self.page.goto(origin + HARNESS)

    def _route(self, route: Route) -> None:
        # Only a request Chromium itself let through gets here (the CSP stops one before).
        request = route.request
        if foreign(request.url, request.resource_type, self.origin):
            self.sent.append((_frame_path(request), _describe(request)))
            route.abort()  # never let it reach the network
        else:
            route.continue_()

    def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(dismissed(dialog))

    def _script(self, event: dict[str, Any]) -> None:
        # A page's scripts carry its frame's id; the harness's own evaluations carry the harness's.
        context = event.get("executionContextAuxData") or {}
        url = str(event.get("url", ""))
        if context.get("isDefault") and context.get("frameId") != self.frame_id and url != PROBE_URL:
            compiled = f"script compiled from {url[:100]} ({event.get('length')} chars)"
            self.scripts.append((urlsplit(url).path, compiled))

    def start(self, paths: list[str]) -> None:
        """Begin loading a batch of pages; `finish` waits for them."""
        self.batch = paths
        self.scripts, self.sent, self.dialogs = [], [], []
        self.page.evaluate(START, paths)

    def finish(self) -> list[Load]:
        """Wait for the batch, audit every frame, and say what each load did."""
        results: list[dict[str, Any]] = self.page.evaluate(FINISH)
        loads: list[Load] = []
        for path, result in zip(self.batch, results, strict=True):
            audit: dict[str, Any] = result["audit"]
            here = urlsplit(path).path
            loads.append(
                Load(
                    path=path, headers=self.headers, loaded=bool(result["loaded"]),
                    landed=str(result["landed"]), error=str(result.get("error", "")),
                    status=int(result["status"]), content_type=str(audit.get("contentType", "")),
                    ran=list(audit.get("ran", [])), flag=bool(audit.get("flag")),
                    found=list(audit.get("found", [])), violations=list(audit.get("violations", [])),
                    ld=list(audit.get("ld", [])), page=result.get("page"), feed=result.get("feed"),
                    scripts=[s for p, s in self.scripts if p == here],
                    foreign=[r for p, r in self.sent if p == here], dialogs=[],
                )
            )  # fmt: skip
        # What cannot be told apart by page (a dialog, a script with no address) goes to the batch's first.
        known = {urlsplit(p).path for p in self.batch}
        if loads:
            loads[0].scripts += [s for p, s in self.scripts if p not in known]
            loads[0].foreign += [r for p, r in self.sent if p not in known]
            loads[0].dialogs += self.dialogs
        return loads
