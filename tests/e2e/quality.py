"""The checkers behind the quality tests, run as a developer would run them: axe-core inside a
Playwright page, Lighthouse and the Nu HTML Checker from their command lines (installed into
tools/ by scripts/ensure-quality-tools), XML Schema and JSON Schema validation for feeds and
sitemaps. Each returns plain data; `describe_*` turn findings into a readable failure message."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator, FormatChecker
from lxml import etree  # type: ignore[import-untyped]  # lxml ships no type information
from playwright.sync_api import Page

from tests.support import ROOT

TOOLS = ROOT / "tools" / "node_modules"
AXE = TOOLS / "axe-core" / "axe.min.js"
LIGHTHOUSE = TOOLS / "lighthouse" / "cli" / "index.js"
VNU = TOOLS / "vnu-jar" / "build" / "dist" / "vnu.jar"
SCHEMAS = Path(__file__).with_name("schemas")
CHROMIUM = "/usr/bin/chromium"
# Chromium on a machine whose network reaches only the loopback: no background fetches.
CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
)
LIGHTHOUSE_CATEGORIES = ("performance", "accessibility", "best-practices", "seo")


def missing_tools() -> list[str]:
    """The checkers that are not installed (scripts/ensure-quality-tools installs them)."""
    return [str(path.relative_to(ROOT)) for path in (AXE, LIGHTHOUSE, VNU) if not path.exists()]


@dataclass(frozen=True)
class PageType:
    """One kind of page the site publishes, and a sample URL path of it."""

    name: str
    path: str


PAGE_TYPES = (
    # The home page is curated: a lead story with its photograph and top stories above the river.
    PageType("home", "/"),
    PageType("article", "/articles/review-of-the-week-kerry-putin/"),
    PageType("live", "/articles/aleppo-evacuation-live/"),
    PageType("corrected", "/articles/year-end-foreign-policy-review/"),
    PageType("author", "/authors/gevorg-mirzayan/"),
    PageType("section", "/sections/foreign-policy/"),
    PageType("tag", "/tags/syria/"),
    PageType("month", "/archive/2015/12/"),
    PageType("archive", "/archive/"),
    PageType("404", "/404.html"),
)


# -- fetching ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Response:
    """What the edge answered: status, headers and body."""

    status: int
    headers: dict[str, str]
    body: bytes


def fetch(url: str) -> Response:
    """GET `url` without following redirects; an HTTP error is an answer, not an exception."""
    try:
        with urllib.request.urlopen(url, timeout=30) as reply:
            return Response(reply.status, {k.lower(): v for k, v in reply.headers.items()}, reply.read())
    except urllib.error.HTTPError as error:
        return Response(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read())


# -- axe-core --------------------------------------------------------------------------------


def run_axe(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations for the page loaded in `page` (every rule axe runs by default).

    The production CSP (`default-src 'none'`) forbids script elements, so axe is not added as
    a <script> tag: Playwright's `evaluate` sends the source through the DevTools protocol
    (Runtime.evaluate), which the page's CSP does not govern. The page itself stays under its
    real CSP, as readers get it (no `bypass_csp`)."""
    source = AXE.read_text(encoding="utf-8")
    results: dict[str, Any] = page.evaluate(source + "\n;axe.run(document, {resultTypes: ['violations']})")
    violations: list[dict[str, Any]] = results["violations"]
    return violations


def describe_axe(violations: list[dict[str, Any]]) -> str:
    """Every violation with its impact, rule, help link and each failing element's selector."""
    lines = []
    for violation in violations:
        lines.append(
            f"[{violation['impact']}] {violation['id']}: {violation['help']} ({violation['helpUrl']})"
        )
        for node in violation["nodes"]:
            target = " ".join(str(t) for t in node["target"])
            summary = " ".join(str(node.get("failureSummary", "")).split())
            lines.append(f"    {target}: {summary}")
    return "\n".join(lines)


# -- Lighthouse ------------------------------------------------------------------------------


def run_lighthouse(url: str, report: Path) -> dict[str, Any]:
    """Lighthouse's report (the default mobile profile) for `url`, run with Debian's Chromium."""
    flags = " ".join(("--headless=new", *CHROMIUM_FLAGS))
    command = [
        "node", str(LIGHTHOUSE), url,
        "--output=json", f"--output-path={report}", "--quiet",
        f"--only-categories={','.join(LIGHTHOUSE_CATEGORIES)}",
        # The page-sized screenshot only illustrates the HTML report; no audit scores it.
        "--disable-full-page-screenshot",
        f"--chrome-flags={flags}",
    ]  # fmt: skip
    env = os.environ | {"CHROME_PATH": CHROMIUM}
    subprocess.run(command, check=True, env=env, timeout=180, capture_output=True)
    loaded: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
    return loaded


def audit_with_lighthouse(url: str, folder: Path, name: str, performance_floor: float) -> dict[str, Any]:
    """Lighthouse's report for `url`; when performance falls short, the median of three runs.

    Performance is a measurement and varies with the machine's load (Lighthouse's variability
    guide: run several times, take the median); the other categories are checks of the page and
    come out the same every run, so a page that already falls short in one of them is not
    measured again. The reports are kept in `folder` for a closer look."""
    folder.mkdir(parents=True, exist_ok=True)
    first = run_lighthouse(url, folder / f"lighthouse-{name}.json")
    scores = lighthouse_scores(first)
    checks_pass = all(score >= performance_floor for key, score in scores.items() if key != "performance")
    if scores["performance"] >= performance_floor or not checks_pass:
        return first
    runs = [first, *(run_lighthouse(url, folder / f"lighthouse-{name}-{n}.json") for n in (2, 3))]
    runs.sort(key=lambda report: lighthouse_scores(report)["performance"])
    return runs[1]


def lighthouse_scores(report: dict[str, Any]) -> dict[str, float]:
    """Each category's score, 0 to 1 (0 when Lighthouse could not score it)."""
    return {key: float(report["categories"][key]["score"] or 0) for key in LIGHTHOUSE_CATEGORIES}


def describe_lighthouse(report: dict[str, Any]) -> str:
    """The scores, then every scored audit that did not pass, with the elements or URLs it names."""
    lines = [f"scores: {lighthouse_scores(report)}"]
    if report.get("runtimeError"):
        lines.append(f"runtime error: {report['runtimeError']}")
    for key in LIGHTHOUSE_CATEGORIES:
        for ref in report["categories"][key]["auditRefs"]:
            audit = report["audits"][ref["id"]]
            if ref["weight"] == 0 or audit["score"] is None or audit["score"] >= 1:
                continue
            shown = audit.get("displayValue") or audit.get("explanation") or ""
            lines.append(f"{key}: {audit['id']} (score {audit['score']}) {audit['title']} {shown}")
            lines.extend(f"    {item}" for item in _audit_items(audit))
    return "\n".join(lines)


def _audit_items(audit: dict[str, Any]) -> list[str]:
    details = audit.get("details") or {}
    found = []
    for item in details.get("items", [])[:10]:
        if not isinstance(item, dict):
            found.append(str(item))
            continue
        node: dict[str, Any] = item.get("node") or {}
        location: dict[str, Any] = item.get("sourceLocation") or {}
        where = node.get("selector") or item.get("url") or location.get("url") or ""
        what = node.get("explanation") or item.get("description") or node.get("snippet") or ""
        found.append(" ".join(f"{where} {what}".split()))
    return found


# -- the Nu HTML Checker ---------------------------------------------------------------------


def run_vnu(files: list[Path]) -> dict[str, list[dict[str, Any]]]:
    """The Nu HTML Checker's messages for each file (one Java start for all), by file name."""
    command = ["java", "-jar", str(VNU), "--format", "json", "--stdout", *map(str, files)]
    # The checker exits 1 when it reports an error; the messages say which.
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    messages: list[dict[str, Any]] = json.loads(done.stdout)["messages"]
    by_file: dict[str, list[dict[str, Any]]] = {path.name: [] for path in files}
    for message in messages:
        name = Path(urlsplit(message.get("url", "")).path).name
        by_file.setdefault(name, []).append(message)
    return by_file


def vnu_errors(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Errors, fatal errors and files the checker could not read (not warnings or info)."""
    return [m for m in messages if m["type"] != "info"]


def vnu_warnings(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Warnings: reported, allowed."""
    return [m for m in messages if m["type"] == "info" and m.get("subType") == "warning"]


def describe_vnu(messages: list[dict[str, Any]]) -> str:
    """One line per message: kind, line and column, text and the markup it points at."""
    return "\n".join(
        f"{m['type']}{'/' + m['subType'] if m.get('subType') else ''} "
        f"line {m.get('lastLine', '?')}:{m.get('firstColumn', '?')}: {m.get('message', '')}"
        f"  «{m.get('extract', '').strip()}»"
        for m in messages
    )


# -- XML Schema --------------------------------------------------------------------------------


@cache
def xml_schema(name: str) -> Any:
    """One of the shipped schemas (sitemap.xsd, siteindex.xsd, news-sitemap.xsd), compiled."""
    return etree.XMLSchema(etree.parse(str(SCHEMAS / name)))


def xsd_errors(document: bytes, schema_name: str) -> list[str]:
    """Every way `document` breaks the schema (or is not well-formed XML); empty when valid."""
    try:
        parsed = etree.fromstring(document, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as error:
        return [f"not well-formed: {error}"]
    schema = xml_schema(schema_name)
    if schema.validate(parsed):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


def xml_root(document: bytes) -> Any:
    """The parsed document's root element."""
    return etree.fromstring(document, parser=etree.XMLParser(resolve_entities=False, no_network=True))


# -- JSON Feed -----------------------------------------------------------------------------------


def _is_absolute_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme) and (bool(parts.netloc) or parts.scheme == "mailto")


def _is_rfc3339(value: object) -> bool:
    if not isinstance(value, str):
        return True
    # RFC 3339: a full date, "T", a time and an offset (Z or ±hh:mm).
    parsed = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    return len(value) >= 20 and value[10] in "Tt" and parsed.tzinfo is not None


def _formats() -> FormatChecker:
    # Explicit checks: jsonschema checks "uri" only when an optional package is installed.
    checker = FormatChecker(formats=())
    checker.checks("uri", raises=ValueError)(_is_absolute_uri)
    checker.checks("date-time", raises=ValueError)(_is_rfc3339)
    return checker


def json_feed_errors(document: bytes) -> list[str]:
    """Every way `document` breaks the JSON Feed 1.1 schema; empty when valid."""
    try:
        feed = json.loads(document)
    except ValueError as error:
        return [f"not JSON: {error}"]
    schema = json.loads((SCHEMAS / "jsonfeed-1.1.schema.json").read_text(encoding="utf-8"))
    validator = Draft202012Validator(schema, format_checker=_formats())
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(feed)'}: {e.message}"
        for e in sorted(validator.iter_errors(feed), key=lambda e: list(map(str, e.absolute_path)))
    ]
