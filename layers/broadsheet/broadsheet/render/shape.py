"""A body's shape: what would make it slow to render or unfit to publish (nesting too deep, too
many table cells, an image without its text), found where a file is read, with its line and
column, so that every body validation accepts renders in time linear in its size."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pyromark
from pyromark.event import Range

from broadsheet.contract.media import MEDIA, media_problem
from broadsheet.render.body import MARKDOWN_OPTIONS

# Limits. The sanitiser's HTML parser (html5ever, inside nh3) checks element scope by walking its
# stack of open elements, so its time grows with the nesting depth times the number of elements:
# 20,000 nested quotes took 13 s and 100,000 over a minute. Bounding the depth makes rendering
# linear. Real articles nest a handful of levels (a list in a quote, an embed's few tags).
MAX_NESTING = 64
# A table's short rows are padded with empty cells up to the header's column count, so a wide
# header over many one-character rows multiplies the body: 133 KB of such tables rendered as
# 92 MB of HTML in 6.5 s. A cell written out takes at least two characters (`|1|2|`), so real
# tables stay under one cell per two characters of the body; small bodies may hold a few thousand.
TABLE_CHARACTERS_PER_CELL = 2
MIN_TABLE_CELLS = 2_000


def max_table_cells(markdown: str) -> int:
    """How many table cells, padding included, a body of this length may hold."""
    return max(MIN_TABLE_CELLS, len(markdown) // TABLE_CHARACTERS_PER_CELL)


@dataclass(frozen=True)
class BodyProblem:
    """Why a body cannot be published, and where: line and column count from 1."""

    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.message}"


def body_problem(markdown: str) -> BodyProblem | None:
    """The first thing in a body that would make it slow to render, or an image without its text
    alternative or with an unusable file name, or None; linear in its size."""
    image = _image_problem(markdown) if "![" in markdown else None
    if image is not None:
        return _at(markdown, *image)
    found = _table_problem(markdown)
    if found is not None:
        return _at(markdown, *found)
    # Merged text makes the first pass cheap; only a refused body is read again for the place.
    merged = pyromark.events(markdown, options=MARKDOWN_OPTIONS)
    if _nesting_problem(((event, None) for event in merged), b"") is None:
        return None
    source = markdown.encode("utf-8")
    located = _nesting_problem(pyromark.events_with_range(markdown, options=MARKDOWN_OPTIONS), source)
    assert located is not None  # noqa: S101 - the same events, with their places
    where, message = located
    return _at(markdown, len(source[:where].decode("utf-8", errors="ignore")), message)


Span = Range | None


def _image_problem(markdown: str) -> tuple[int, str] | None:
    """Where (a character offset) a `media/` image lacks alt text or names an unusable file."""
    source = markdown.encode("utf-8")
    open_image: tuple[int, str] | None = None
    alt: list[str] = []
    depth = 0
    for typed, span in pyromark.events_with_range(markdown, options=MARKDOWN_OPTIONS):
        if type(typed) is not dict:
            continue
        event: dict[str, Any] = dict(typed)
        start = event.get("Start")
        if isinstance(start, dict) and "Image" in start:
            depth += 1
            if depth == 1:
                open_image, alt = (span["start"], str(start["Image"]["dest_url"])), []
        elif event.get("End") == "Image":
            depth -= 1
            if depth == 0 and open_image is not None:
                problem = _media_image_problem(open_image[1], "".join(alt))
                if problem is not None:
                    return len(source[: open_image[0]].decode("utf-8", errors="ignore")), problem
                open_image = None
        elif depth:
            alt += [str(event[kind]) for kind in ("Text", "Code") if isinstance(event.get(kind), str)]
    return None


def _media_image_problem(src: str, alt: str) -> str | None:
    if not src.startswith(MEDIA):
        return None
    problem = media_problem(src[len(MEDIA) :])
    if problem is not None:
        return f"the image {src[:120]}: {problem}"
    if not alt.strip():
        return (
            f"the image {src[:120]} needs alt text, a short description of what it shows for "
            f"readers who cannot see it: ![what it shows]({src[:120]})"
        )
    return None


def _nesting_problem(events: Iterable[tuple[Any, Span]], source: bytes) -> tuple[int, str] | None:
    """Where (a byte offset, when the events carry spans) the body's elements nest too deep."""
    nesting = _Nesting()
    block: list[str] = []
    block_start = 0
    for event, span in events:
        if type(event) is not dict:
            continue
        where, problem = span["start"] if span else 0, None
        if "Start" in event:
            if event["Start"] == "HtmlBlock":
                block_start = where
                continue
            problem = nesting.open_markdown()
        elif "End" in event:
            if event["End"] != "HtmlBlock":
                nesting.close_markdown()
                continue
            html = "".join(block)
            block.clear()
            found = nesting.raw_html(html)
            if found is not None:
                # Inside a quote or a list the block's lines lose their markers: name its start.
                exact = source.startswith(html.encode(), block_start)
                where = block_start + (len(html[: found[0]].encode()) if exact else 0)
                problem = found[1]
        elif "Html" in event:
            block.append(event["Html"])
        elif "InlineHtml" in event:
            found = nesting.raw_html(event["InlineHtml"])
            if found is not None:
                where, problem = where + len(event["InlineHtml"][: found[0]].encode()), found[1]
        if problem is not None:
            return where, problem
    return None


def _at(markdown: str, offset: int, message: str) -> BodyProblem:
    line = markdown.count("\n", 0, offset) + 1
    return BodyProblem(line, offset - (markdown.rfind("\n", 0, offset) + 1) + 1, message)


# A table's delimiter row (`|---|:--:|`), possibly inside quotes or indented in a list item.
# Possessive quantifiers: a line of spaces that is not a delimiter row fails at once, not after
# trying every way to share the spaces out (3.4 s for 20,000 of them).
_DELIMITER_ROW = re.compile(r"[ \t>]*+\|?+[ \t]*+:?+-++:?+[ \t]*+(?:\|[ \t]*+:?+-++:?+[ \t]*+)*+\|?+[ \t]*+")
_COLUMN = re.compile(r"-+")
_BLANK = re.compile(r"[ \t>]*")


def _table_problem(markdown: str) -> tuple[int, str] | None:
    """Where the body's tables pass the cell limit, counting a table's rows up to a blank line."""
    cells = offset = 0
    table_start, columns = -1, 0
    limit = max_table_cells(markdown)
    for line in markdown.split("\n"):
        if columns and _BLANK.fullmatch(line):
            columns = 0
        elif columns:
            cells += columns
        elif "|" in line and "-" in line and _DELIMITER_ROW.fullmatch(line):
            table_start, columns = offset, len(_COLUMN.findall(line))
            cells += 2 * columns
        if cells > limit:
            return table_start, (
                f"the tables up to here hold over {limit:,} cells, counting the empty cells that fill "
                "out rows shorter than their header: more than one for every two characters of the "
                f"body (or {MIN_TABLE_CELLS:,}); fill in the short rows or shorten the tables"
            )
        offset += len(line) + 1
    return None


# What the HTML parser makes of raw HTML, as far as nesting goes (the HTML standard, section 13.2).
_VOID = frozenset({
    "area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "img", "input",
    "keygen", "link", "meta", "param", "source", "track", "wbr",
})  # fmt: skip
# Elements whose content is text up to their own end tag.
_RAW_TEXT = frozenset({
    "script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes",
})  # fmt: skip
# Elements an ancestor's end tag closes along the way; any other element stops it.
_PHRASING = frozenset({
    "a", "abbr", "b", "bdi", "bdo", "big", "cite", "code", "data", "del", "dfn", "em", "font", "i",
    "ins", "kbd", "mark", "nobr", "q", "s", "samp", "small", "span", "strike", "strong", "sub",
    "sup", "time", "tt", "u", "var",
})  # fmt: skip
# Formatting elements: closed along the way by an ancestor's end, the parser reopens them in the
# next text, keeping at most three alike (same tag and attributes) waiting to be reopened.
_FORMATTING = frozenset({
    "a", "b", "big", "code", "em", "font", "i", "nobr", "s", "small", "strike", "strong", "tt",
    "u",
})  # fmt: skip
_ALIKE = 3
# A start tag of one of these closes an open paragraph (`<p>a<p>b` is two paragraphs).
_CLOSES_P = frozenset({
    "address", "article", "aside", "blockquote", "center", "details", "dialog", "dir", "div", "dl",
    "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
    "header", "hgroup", "hr", "main", "menu", "nav", "ol", "p", "pre", "section", "summary",
    "table", "ul",
})  # fmt: skip
# A start tag closes an open sibling of the same kind (`<li>a<li>b`).
_SIBLINGS = {"li": frozenset({"li"}), "dt": frozenset({"dt", "dd"}), "dd": frozenset({"dt", "dd"}),
             "option": frozenset({"option"}), "td": frozenset({"td", "th"}), "th": frozenset({"td", "th"}),
             "tr": frozenset({"tr", "td", "th"})}  # fmt: skip
_ITEMS = frozenset({"li", "dt", "dd"})
# What the parser's tokenizer reads at a `<`: a comment, a bogus comment (`<?…>`, `<!…>`,
# `</ …>`), a start or end tag with its attributes, or the start of one never finished.
_TOKEN = re.compile(
    r"""<!--(?:-?>|.*?--!?>)
      | (?P<unfinished_comment><!--)
      | <[!?][^>]*>
      | </(?![A-Za-z])[^>]*>
      | <(?P<end>/?)(?P<name>[A-Za-z][^\t\n\f\r />]*)
        (?:[\t\n\f\r /]+
          |[^\t\n\f\r />][^\t\n\f\r />=]*
           (?:[\t\n\f\r ]*=[\t\n\f\r ]*(?:"[^"]*"|'[^']*'|[^\t\n\f\r >]*))?
        )*+>
      | (?P<unfinished><[!?/A-Za-z])""",
    re.VERBOSE | re.DOTALL,
)
_UNFINISHED = "an HTML tag or comment is not finished: end the tag with `>`, the comment with `-->`"


class _Nesting:
    """The depth of the elements a body's HTML opens, counted never to fall short of the parser's.

    An element counts as closed only where the parser surely closes it; an inline element closed
    along the way by an ancestor's end stays counted, since the parser reopens it in later text.
    """

    def __init__(self) -> None:
        # (tag name, tag as written, -1) for raw HTML, ("", "", number) for a Markdown element.
        self.open: list[tuple[str, str, int]] = []
        self.markdown: list[int] = []
        # Formatting elements waiting to be reopened: tag name -> tag as written -> how many.
        self.lingering: dict[str, dict[str, int]] = {}
        self.depth = self.started = 0
        # The element whose content is text (the Markdown written inside it too) up to its end tag.
        self.text_of: str | None = None

    def open_markdown(self) -> str | None:
        """A Markdown element starts."""
        self.started += 1
        self.markdown.append(self.started)
        self.open.append(("", "", self.started))
        return self._grown()

    def close_markdown(self) -> None:
        """The innermost Markdown element ends, closing the raw inline elements left open in it."""
        number = self.markdown.pop()
        if self.text_of is not None:
            return  # the parser reads this end as text: whatever it would close stays open
        for at in range(len(self.open) - 1, -1, -1):
            tag, _, own = self.open[at]
            if own == number:
                self._close(at)
                return
            if tag not in _PHRASING:
                return

    def raw_html(self, html: str) -> tuple[int, str] | None:
        """Raw HTML written in the body, a whole HTML block or one inline tag: where it goes too deep."""
        at = self._text_until_end(html, 0)
        while (start := html.find("<", at)) >= 0:
            token = _TOKEN.match(html, start)
            if token is None:
                at = start + 1
                continue
            if token["unfinished"] or token["unfinished_comment"]:
                return start, _UNFINISHED
            at = token.end()
            if token["name"] is None:
                continue
            name = token["name"].lower()
            if token["end"]:
                self._end(name)
                continue
            message = self._start(name, token[0])
            if message is not None:
                return start, message
            if name in _RAW_TEXT:
                self.text_of = name
                at = self._text_until_end(html, at)
        return None

    def _text_until_end(self, html: str, at: int) -> int:
        """Past the text of an open <script>, <style>, <textarea>…: where its end tag starts."""
        if self.text_of is None:
            return at
        end = re.compile(rf"</{self.text_of}[\t\n\f\r />]", re.IGNORECASE).search(html, at)
        if end is None:
            return len(html)
        self.text_of = None
        return end.start()

    def _start(self, name: str, written: str) -> str | None:
        if name in _VOID:
            return None
        while (at := self._sibling(name)) is not None:
            closed = self.open[at][0]
            self._close(at)
            if not (name == "tr" and closed in ("td", "th")):
                break
        self.open.append((name, written, -1))
        return self._grown()

    def _sibling(self, name: str) -> int | None:
        """Where the open element that a `name` start tag closes is, if any (a paragraph, a sibling)."""
        closes = _SIBLINGS.get(name, frozenset()) | ({"p"} if name in _CLOSES_P else set())
        for at in range(len(self.open) - 1, -1, -1):
            tag, _, own = self.open[at]
            if own >= 0:
                return None
            if tag in closes:
                return at
            # A list item closes an open item through paragraphs and divisions, as the parser does.
            if tag not in _PHRASING and not (name in _ITEMS and tag in ("p", "div", "address")):
                return None
        return None

    def _end(self, name: str) -> None:
        for at in range(len(self.open) - 1, -1, -1):
            tag = self.open[at][0]
            if tag == name:
                self._close(at)
                return
            if tag not in _PHRASING:
                break
        waiting = self.lingering.get(name)
        if waiting:
            written = next(iter(waiting))
            waiting[written] -= 1
            if not waiting[written]:
                del waiting[written]
            self.depth -= 1

    def _close(self, at: int) -> None:
        """Close the element at `at` and those above it; formatting elements wait to be reopened."""
        for tag, written, _ in self.open[at + 1 :]:
            if tag in _FORMATTING:
                waiting = self.lingering.setdefault(tag, {})
                if waiting.get(written, 0) < _ALIKE:
                    waiting[written] = waiting.get(written, 0) + 1
                    continue
            self.depth -= 1
        self.depth -= 1
        del self.open[at:]

    def _grown(self) -> str | None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            return (
                f"quotes, lists, emphasis, links or HTML elements are nested more than {MAX_NESTING} deep "
                "here (a list level counts twice: the list and its item); no article needs that many"
            )
        return None
