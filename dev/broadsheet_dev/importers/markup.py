"""A WordPress post body (HTML, shortcodes, block comments) as a CommonMark body.

The stages, in WordPress's own order of meaning:

1. shortcodes become plain HTML (`shortcodes.py`; captions, galleries, embeds, media players);
2. the HTML is parsed (BeautifulSoup's `html.parser`, never patterns over HTML);
3. Gutenberg block comments (`<!-- wp:paragraph -->`) are read and removed: a reusable block
   (`wp:block {"ref":N}`) is replaced by its content; a block WordPress draws when the page is
   viewed (`<!-- wp:latest-posts /-->`) has nothing to carry over and is reported;
4. a body with no blocks gets `wpautop`'s paragraphs: WordPress stores classic posts without
   `<p>`, a blank line ends a paragraph and a single newline is a line break;
5. what a page cannot carry is replaced or removed and reported: scripts, forms, plugins'
   objects; an `<iframe>` or an oEmbed address becomes a link to what it showed;
6. images from the uploads folder point at `media/<file>` (the original size when known);
7. markdownify writes CommonMark (ATX headings, fenced code, pipe tables, every character that
   Markdown would read as syntax escaped).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from pathlib import PurePosixPath

from bs4 import BeautifulSoup, Comment, Tag
from bs4.element import NavigableString
from markdownify import MarkdownConverter

from broadsheet_dev.importers import media, shortcodes
from broadsheet_dev.importers.shortcodes import Found, Shortcode

# wpautop's block elements: a paragraph never wraps them.
BLOCKS = frozenset({
    "table", "thead", "tfoot", "caption", "col", "colgroup", "tbody", "tr", "td", "th", "div", "dl",
    "dd", "dt", "ul", "ol", "li", "pre", "form", "map", "area", "blockquote", "address", "math",
    "style", "script", "noscript", "p", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "fieldset",
    "legend", "section", "article", "aside", "hgroup", "header", "footer", "nav", "figure",
    "figcaption", "details", "menu", "summary", "iframe",
})  # fmt: skip
# wpautop also makes paragraphs inside these.
_PARAGRAPH_HOLDERS = frozenset({"blockquote", "div"})
_REMOVED = frozenset({"script", "style", "noscript", "object", "embed", "form", "input", "button",
                      "select", "textarea", "audio", "video", "source", "canvas", "svg"})  # fmt: skip
_NO_CONTENT_BLOCKS = frozenset({"more", "nextpage"})


@dataclass(frozen=True)
class Attachment:
    """An uploaded file the export describes: its address, uploads path, alt text and caption."""

    post_id: int
    parent: int
    menu_order: int
    url: str
    upload: str | None
    alt: str
    caption: str


@dataclass
class BodyContext:
    """What converting a body may look up: attachments, known uploads, reusable blocks."""

    attachments: dict[int, Attachment] = field(default_factory=dict)
    children: dict[int, list[Attachment]] = field(default_factory=dict)
    known_uploads: set[str] = field(default_factory=set)
    reusable: dict[int, str] = field(default_factory=dict)


@dataclass
class Converted:
    """A body in CommonMark, the images it uses, and what changed on the way."""

    markdown: str
    images: list[media.MediaFile] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class _Converter(MarkdownConverter):
    """markdownify's converter with the options this project's CommonMark renderer reads best."""

    def __init__(self) -> None:
        super().__init__(
            heading_style="ATX",
            bullets="-",
            code_language="",
            escape_misc=True,
            escape_asterisks=True,
            escape_underscores=True,
            strong_em_symbol="*",
            newline_style="BACKSLASH",
            table_infer_header=True,
        )

    def convert_figure(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        """A figure stands as a block of its own: images in a gallery never run together."""
        return f"\n\n{text.strip()}\n\n" if text.strip() else ""


def convert(html: str, post_id: int, context: BodyContext) -> Converted:
    """The CommonMark body of one post's HTML, with its images and a note of every change."""
    result = Converted(markdown="")
    has_blocks = "<!-- wp:" in html
    expanded, found = shortcodes.expand(html, _handlers(post_id, context, result))
    _note_shortcodes(found, result)
    soup = BeautifulSoup(expanded, "html.parser")
    _read_blocks(soup, context, result)
    # Removing comments leaves neighbouring strings apart; paragraphs are found across them.
    soup.smooth()
    if not has_blocks:
        _autop(soup, soup)
    _replace_unportable(soup, result)
    _link_embeds(soup, result)
    _rewrite_images(soup, context, result)
    markdown = _Converter().convert_soup(soup)
    result.markdown = _tidy(markdown)
    return result


def _tidy(markdown: str) -> str:
    """Trailing spaces removed and blank lines between blocks made one, fenced code untouched."""
    lines: list[str] = []
    fenced = False
    for line in markdown.strip().split("\n"):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if fenced:
            lines.append(line)
            continue
        kept = line.rstrip()
        if kept or (lines and lines[-1]):
            lines.append(kept)
    return "\n".join(lines)


def _handlers(post_id: int, context: BodyContext, result: Converted) -> dict[str, shortcodes.Handler]:
    def caption(code: Shortcode, _found: Found) -> str:
        inner = BeautifulSoup(code.content or "", "html.parser")
        picture = inner.find("img")
        if not isinstance(picture, Tag):
            return code.content or ""
        holder = picture.parent if isinstance(picture.parent, Tag) and picture.parent.name == "a" else picture
        holder.extract()
        text = code.attrs.get("caption") or inner.decode().strip()
        return f"\n\n<figure>{holder.decode()}<figcaption>{text}</figcaption></figure>\n\n"

    def gallery(code: Shortcode, _found: Found) -> str:
        ids = code.attrs.get("ids") or code.attrs.get("include") or ""
        if ids:
            wanted = [int(part) for part in ids.replace(" ", "").split(",") if part.isdigit()]
            chosen = [context.attachments[i] for i in wanted if i in context.attachments]
            lost = [i for i in wanted if i not in context.attachments]
            if lost:
                result.warnings.append(f"gallery: attachments {lost} are not in the export; left out")
        else:
            chosen = sorted(context.children.get(post_id, []), key=lambda a: (a.menu_order, a.post_id))
        chosen = [a for a in chosen if a.upload is not None and media.is_image(a.upload)]
        if not chosen:
            result.warnings.append("gallery: no images found for it; dropped")
            return ""
        result.changes.append(f"gallery of {len(chosen)} image(s) written as images in the body")
        figures = []
        for picture in chosen:
            caption_html = f"<figcaption>{escape(picture.caption)}</figcaption>" if picture.caption else ""
            figures.append(
                f'<figure><img src="{escape(picture.url)}" alt="{escape(picture.alt)}" '
                f'class="wp-image-{picture.post_id}">{caption_html}</figure>'
            )
        return "\n\n" + "\n".join(figures) + "\n\n"

    def linked(label: str) -> Callable[[Shortcode, Found], str]:
        def handler(code: Shortcode, _found: Found) -> str:
            url = code.attrs.get("src") or next(
                (
                    code.attrs[k]
                    for k in ("mp4", "m4v", "webm", "ogv", "mp3", "ogg", "wav")
                    if k in code.attrs
                ),
                (code.content or "").strip(),
            )
            if not url.startswith(("http://", "https://")):
                result.warnings.append(f"[{code.name}] without an address; dropped")
                return ""
            result.changes.append(f"[{code.name}] kept as a link to the {label} ({url})")
            return shortcodes.link_paragraph(url)

        return handler

    def playlist(code: Shortcode, _found: Found) -> str:
        result.warnings.append("[playlist] cannot be carried over (no player on the new site); dropped")
        return ""

    return {
        "caption": caption,
        "wp_caption": caption,
        "gallery": gallery,
        "embed": linked("embedded page"),
        "video": linked("video"),
        "audio": linked("audio"),
        "playlist": playlist,
    }


def _note_shortcodes(found: Found, result: Converted) -> None:
    for name in sorted(set(found.dropped)):
        result.changes.append(f"shortcode [{name}] is unknown here; dropped (any text it enclosed kept)")
    for name in sorted(set(found.left_as_text)):
        result.warnings.append(f"[{name}] left as text: it may be a shortcode of a plugin")


def _read_blocks(soup: BeautifulSoup, context: BodyContext, result: Converted) -> None:
    """Inline reusable blocks once, report blocks drawn at view time, remove every comment."""
    for comment in list(soup.find_all(string=lambda s: isinstance(s, Comment))):
        text = str(comment).strip()
        if not text.startswith("wp:"):
            if text.split(" ")[0] == "nextpage":
                result.changes.append("<!--nextpage--> pages joined into one body")
            comment.extract()
            continue
        head, _, rest = text[3:].partition(" ")
        name = head.rstrip("/")
        self_closing = text.endswith("/")
        if name in {"block", "core/block"} and self_closing:
            ref = _ref(rest.rstrip("/").strip())
            if ref is not None and ref in context.reusable:
                inner = BeautifulSoup(context.reusable[ref], "html.parser")
                for nested in inner.find_all(string=lambda s: isinstance(s, Comment)):
                    nested.extract()
                comment.replace_with(inner)
                result.changes.append(f"reusable block {ref} written into the body")
                continue
            result.warnings.append(f"reusable block {ref} is not in the export; dropped")
        elif self_closing and name not in _NO_CONTENT_BLOCKS:
            result.warnings.append(f"block wp:{name} is drawn by WordPress when the page is viewed; dropped")
        comment.extract()


def _ref(attributes: str) -> int | None:
    try:
        value = json.loads(attributes).get("ref") if attributes else None
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, int) else None


def _autop(container: Tag, soup: BeautifulSoup) -> None:
    """wpautop's paragraphs: runs of text and inline elements split at blank lines become `<p>`."""
    nodes = [child.extract() for child in list(container.contents)]
    run: list[Tag | NavigableString] = []

    def flush() -> None:
        if any(isinstance(node, Tag) or node.strip() for node in run):
            paragraph = soup.new_tag("p")
            for node in run:
                paragraph.append(node)
            _line_breaks(paragraph, soup)
            container.append(paragraph)
        run.clear()

    for node in nodes:
        if isinstance(node, Tag) and node.name in BLOCKS:
            flush()
            container.append(node)
            if node.name in _PARAGRAPH_HOLDERS:
                _autop(node, soup)
        elif isinstance(node, Tag):
            run.append(node)
        elif isinstance(node, NavigableString):
            for at, part in enumerate(_blank_line_split(str(node))):
                if at:
                    flush()
                if part:
                    run.append(NavigableString(part))
    flush()


def _blank_line_split(text: str) -> list[str]:
    """Text split where a line holds only whitespace: wpautop's paragraph boundaries."""
    parts: list[str] = []
    current: list[str] = []
    lines = text.split("\n")
    for at, line in enumerate(lines):
        if not line.strip() and 0 < at < len(lines) - 1:
            parts.append("\n".join(current))
            current = []
        else:
            current.append(line)
    parts.append("\n".join(current))
    return parts


def _line_breaks(paragraph: Tag, soup: BeautifulSoup) -> None:
    """A single newline inside a paragraph is a line break, as wpautop makes it."""
    children = list(paragraph.contents)
    for at, child in enumerate(children):
        if not isinstance(child, NavigableString):
            continue
        text = str(child)
        if at == 0:
            text = text.lstrip()
        if at == len(children) - 1:
            text = text.rstrip()
        previous = children[at - 1] if at else None
        if isinstance(previous, Tag) and previous.name == "br":
            text = text.lstrip("\n")
        following = children[at + 1] if at + 1 < len(children) else None
        if isinstance(following, Tag) and following.name == "br":
            text = text.rstrip("\n")
        lines = text.split("\n")
        pieces: list[Tag | NavigableString] = [NavigableString(lines[0])]
        for line in lines[1:]:
            pieces += [soup.new_tag("br"), NavigableString(line)]
        child.replace_with(*pieces)


def _replace_unportable(soup: BeautifulSoup, result: Converted) -> None:
    for frame in list(soup.find_all("iframe")):
        source = str(frame.get("src") or "").strip()
        if source.startswith("//"):
            source = "https:" + source
        if source.startswith(("http://", "https://")):
            link = soup.new_tag("a", href=source)
            link.string = source
            frame.replace_with(link)
            result.changes.append(f"<iframe> kept as a link to what it showed ({source})")
        else:
            frame.decompose()
            result.changes.append("<iframe> without an address; dropped")
    removed: dict[str, int] = {}
    for element in list(soup.find_all(_REMOVED)):
        if element.parent is None:
            continue
        removed[element.name] = removed.get(element.name, 0) + 1
        element.decompose()
    for name, count in sorted(removed.items()):
        result.changes.append(f"<{name}> dropped ({count}): a page cannot carry it")


def _link_embeds(soup: BeautifulSoup, result: Converted) -> None:
    """An address standing alone (WordPress's oEmbed) becomes a link to it."""
    for holder in list(soup.find_all(["p", "div"])):
        if holder.find(True) is not None:
            continue
        text = holder.get_text().strip()
        if text.startswith(("http://", "https://")) and " " not in text and "\n" not in text:
            link = soup.new_tag("a", href=text)
            link.string = text
            holder.clear()
            holder.append(link)
            result.changes.append(f"embed kept as a link ({text})")


def _rewrite_images(soup: BeautifulSoup, context: BodyContext, result: Converted) -> None:
    for picture in list(soup.find_all("img")):
        source = str(picture.get("src") or "").strip()
        attachment = _attachment_of(picture, context)
        alt = str(picture.get("alt") or "").strip() or (attachment.alt if attachment else "")
        upload = media.upload_path(source)
        if source.startswith("data:") or not source:
            picture.decompose()
            result.changes.append("an image held in the page itself (data: address) dropped")
            continue
        if upload is None:
            result.warnings.append(f"image outside the uploads folder kept at its address: {source}")
            _keep(picture, source, alt)
            continue
        if not media.is_image(upload):
            result.warnings.append(
                f"file of a type the pipeline does not publish kept at its address: {source}"
            )
            _keep(picture, source, alt)
            continue
        original = media.original_of(upload, context.known_uploads)
        found = media.MediaFile(upload=original, key=media.content_key(original))
        result.images.append(found)
        if not alt:
            # The contract wants every published image described; WordPress let it be left out.
            alt = _fallback_alt(picture, attachment, original)
            result.warnings.append(f"image without alt text described as {alt!r}: {found.key}")
        _keep(picture, found.key, alt)
        link = picture.parent
        if isinstance(link, Tag) and link.name == "a" and _points_at_image(str(link.get("href") or "")):
            link.unwrap()


def _fallback_alt(picture: Tag, attachment: Attachment | None, upload: str) -> str:
    """The best description there is of an image without alt text: its caption, its title, or
    its file name in words; an editor should write a real one (the report lists each)."""
    if attachment is not None and attachment.caption.strip():
        return " ".join(attachment.caption.split())
    title = str(picture.get("title") or "").strip()
    if title:
        return title
    stem = PurePosixPath(upload).stem
    words = " ".join(part for part in re.split(r"[-_.\s]+", stem) if part and not part.isdigit())
    return words.capitalize() if words else "Image"


def _attachment_of(picture: Tag, context: BodyContext) -> Attachment | None:
    classes = picture.get("class")
    names: list[str] = [str(c) for c in classes] if isinstance(classes, list) else str(classes or "").split()
    for name in names:
        if name.startswith("wp-image-") and name[9:].isdigit():
            return context.attachments.get(int(name[9:]))
    return None


def _keep(picture: Tag, source: str, alt: str) -> None:
    title = picture.get("title")
    picture.attrs = {"src": source, "alt": alt}
    if title:
        picture["title"] = str(title)


def _points_at_image(href: str) -> bool:
    upload = media.upload_path(href)
    return (
        (upload is not None and media.is_image(upload)) or "attachment_id=" in href or "/attachment/" in href
    )
