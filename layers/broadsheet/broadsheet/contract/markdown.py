"""Reading a Markdown article: YAML front matter between `---` lines, then the body.

The front matter holds the same fields as the JSON format and goes through the same model. YAML
is read so that nothing changes meaning behind the editor's back:

- a plain value is text, as the contract's fields are: `title: no` is the title "no" (YAML 1.1
  would read false), and `published_at: 2015-12-21` is the text "2015-12-21", which the contract
  then refuses for its missing time and offset, as it would in JSON; only an empty value, `~` and
  `null` mean "no value", and a field with no value is left out;
- explicit tags (`!!int`, `!!binary`, `!python/...`), anchors and aliases (`&a`, `*a`, the
  "billion laughs") are refused, as are nesting past a few levels and a repeated field;
- `body:` is refused: the body is the text after the front matter.

Every problem names its line in the file, so an editor can go straight to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from broadsheet.errors import FieldError

# A front matter holds a few dozen short fields; no article needs more.
MAX_FRONT_MATTER_BYTES = 64 * 1024
# The deepest the format nests is a list of names or the source object: two levels.
MAX_DEPTH = 4
DELIMITER = "---"
_STR = "tag:yaml.org,2002:str"
_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_LINE_BREAKS = re.compile(r"\r\n?")


class FrontMatterError(Exception):
    """The file cannot be read as front matter and a body; `line` counts from 1 in the file."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


@dataclass(frozen=True)
class MarkdownArticle:
    """A Markdown file read into the fields the model checks, and where each came from."""

    data: dict[str, Any]
    # Field path ("title", "authors[1]", "source.url") to the line it is written on.
    lines: dict[str, int]
    # The file's line the body starts on (the body's own line 1).
    body_line: int
    # Problems reading found that the model cannot see: a repeated field, a `body:` field.
    errors: list[FieldError] = field(default_factory=list)


class _Loader(yaml.CSafeLoader):
    """libyaml's safe reader, with YAML 1.2's core schema for no value and truth values, and text
    for everything else (YAML 1.1's `no`, `on`, dates and numbers stay what they look like)."""

    # Plain values stay text; only "", "~" and "null" resolve to no value, and only "true" and
    # "false" (any case YAML 1.2 allows) to a flag (`live`, `decorative`).
    yaml_implicit_resolvers: dict[Any, Any] = {}  # noqa: RUF012 - PyYAML's class-level table


_Loader.add_implicit_resolver(_NULL, re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""])
_Loader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def read_markdown(text: str) -> MarkdownArticle:
    """Split a Markdown article into its fields and body; raise FrontMatterError if it cannot be."""
    lines = _LINE_BREAKS.sub("\n", text).split("\n")
    first = lines[0].rstrip()
    if first != DELIMITER:
        raise FrontMatterError(1, _opening_advice(first))
    close = next((n for n in range(1, len(lines)) if lines[n].rstrip() == DELIMITER), None)
    if close is None:
        raise FrontMatterError(
            1, "opens the front matter with --- but no later --- line closes it before the body"
        )
    front = "\n".join(lines[1:close])
    if len(front.encode("utf-8", "surrogatepass")) > MAX_FRONT_MATTER_BYTES:
        raise FrontMatterError(
            2, f"the front matter is over {MAX_FRONT_MATTER_BYTES // 1024} KB; fields are short"
        )
    node = _compose(front)
    if node is None:
        raise FrontMatterError(
            2, "the front matter is empty; write the article's fields there (title, authors…)"
        )
    if not isinstance(node, MappingNode):
        raise FrontMatterError(
            _line(node), "the front matter must be fields written as `name: value`, one a line"
        )
    reading = _Reading()
    # A field written with no value (`section:`) is left out, as editors' tools mean it.
    data = {name: value for name, value in reading.mapping(node, "").items() if value is not None}
    # The body: the rest of the file, from its first line that is not blank.
    body_lines = lines[close + 1 :]
    start = next((n for n, line in enumerate(body_lines) if line.strip()), len(body_lines))
    body_line = close + 2 + start
    if "body" in data:
        reading.errors.append(
            FieldError(
                "body",
                f"line {reading.lines['body']}: the body is the text after the front matter's closing "
                "--- line, not a field; move it there",
            )
        )
    data["body"] = "\n".join(body_lines[start:])
    reading.lines["body"] = body_line
    return MarkdownArticle(data=data, lines=reading.lines, body_line=body_line, errors=reading.errors)


def _opening_advice(first: str) -> str:
    if first == "+++":
        return "opens TOML front matter (+++); write the fields as YAML between --- lines"
    if first.startswith("{"):
        return "looks like JSON; name the file .json, or write YAML front matter between --- lines"
    return "must start with a --- line, then the fields (title: …), another --- line, and the body"


def _compose(front: str) -> Node | None:
    """The front matter's node tree, after a first pass over its events has refused anchors,
    aliases and deep nesting, so that composing never expands a "billion laughs"."""
    loader = _Loader(front)
    try:
        _check_events(loader)
        loader.dispose()
        loader = _Loader(front)
        return loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = (mark.line + 2, mark.column + 1) if mark else (2, 1)
        problem = exc.problem or exc.context or "unreadable"
        hint = (
            "; a value holding a colon and a space must be in quotes"
            if problem.startswith("mapping values are not allowed")
            else ""
        )
        raise FrontMatterError(
            where[0], f"the front matter is not valid YAML: {problem} (column {where[1]}){hint}"
        ) from None
    except yaml.YAMLError as exc:
        raise FrontMatterError(2, f"the front matter is not valid YAML: {exc}") from None
    finally:
        loader.dispose()


def _check_events(loader: _Loader) -> None:
    depth = 0
    while loader.check_event():
        event = loader.get_event()
        mark = getattr(event, "start_mark", None)
        line = int(mark.line) + 2 if mark is not None else 2
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise FrontMatterError(line, "uses a YAML anchor or alias (& or *); write each value out in full")
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise FrontMatterError(line, "is nested too deeply for an article's fields")
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1


def _line(node: Node) -> int:
    # Marks count from 0 within the front matter, which starts on the file's line 2.
    return int(node.start_mark.line) + 2


@dataclass
class _Reading:
    """Turns the composed nodes into values, noting each field's line and what is wrong."""

    lines: dict[str, int] = field(default_factory=dict)
    errors: list[FieldError] = field(default_factory=list)

    def value(self, node: Node, path: str) -> Any:
        if isinstance(node, ScalarNode):
            if node.tag == _NULL:
                return None
            if node.tag == _BOOL:  # only a plain `true` or `false`: a quoted one stays text
                return node.value.lower() == "true"
            if node.tag != _STR:
                tag = node.tag.replace("tag:yaml.org,2002:", "!!")
                raise FrontMatterError(_line(node), f"{tag} is a YAML tag; write the value without it")
            return node.value
        if isinstance(node, SequenceNode):
            if node.tag != _SEQ:
                raise FrontMatterError(_line(node), f"{node.tag} is a YAML tag; write the list without it")
            items = []
            for at, item in enumerate(node.value):
                self.lines[f"{path}[{at}]"] = _line(item)
                items.append(self.value(item, f"{path}[{at}]"))
            return items
        if isinstance(node, MappingNode):
            return self.mapping(node, path)
        raise FrontMatterError(_line(node), "holds something YAML allows but no field can")

    def mapping(self, node: MappingNode, path: str) -> dict[str, Any]:
        if node.tag != _MAP:
            raise FrontMatterError(_line(node), f"{node.tag} is a YAML tag; write the fields without it")
        found: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag != _STR:
                raise FrontMatterError(_line(key_node), "a field name must be a plain word like `title`")
            name = str(key_node.value)
            where = f"{path}.{name}" if path else name
            if name in found:
                self.errors.append(
                    FieldError(
                        where,
                        f"line {_line(key_node)}: appears more than once in the front matter "
                        f"(first on line {self.lines[where]})",
                    )
                )
            else:
                self.lines[where] = _line(key_node)
            found[name] = self.value(value_node, where)
        return found
