"""Reading uploaded files: a content-bucket key and its bytes become a model or a report."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from broadsheet.contract.fields import MAX_SLUG, SLUG_RE, SURROGATE_RE, shown, visible
from broadsheet.contract.models import Article, AuthorProfile
from broadsheet.errors import FieldError, SkippedKey, ValidationFailed

if TYPE_CHECKING:
    from broadsheet.contract.markdown import MarkdownArticle

MAX_FILE_BYTES = 1024 * 1024
ARTICLES = "articles/"
AUTHORS = "authors/"
REPORTS = "reports/"
REPORT_SUFFIX = ".errors.json"
JSON = ".json"
MARKDOWN = ".md"
# An article may be written in either format; an author profile is JSON.
ARTICLE_SUFFIXES = (JSON, MARKDOWN)
# The longest key S3 stores, in UTF-8 bytes.
MAX_KEY_BYTES = 1024
FILE = "(file)"
KEY = "(file name)"
# No field holds a number, so a long one is a mistake; past Python's own limit (4,300 digits) it
# could not even be read, and a long one is slow to.
MAX_NUMBER_CHARS = 100

Kind = Literal["article", "author"]


@dataclass(frozen=True)
class ContentKey:
    """A key in the content bucket that Broadsheet publishes from."""

    kind: Kind
    slug: str
    suffix: str = JSON

    @property
    def key(self) -> str:
        """The object key this identity lives at."""
        prefix = ARTICLES if self.kind == "article" else AUTHORS
        return f"{prefix}{self.slug}{self.suffix}"

    def sources(self) -> list[ContentKey]:
        """Every key that may hold this identity, the one that wins first: an article written
        both as JSON and as Markdown is the JSON file's, whichever came first."""
        if self.kind != "article":
            return [self]
        return [ContentKey(self.kind, self.slug, suffix) for suffix in ARTICLE_SUFFIXES]


def parse_key(key: str) -> ContentKey:
    """Classify a content-bucket key; raise SkippedKey for keys outside the contract."""
    kinds: dict[str, Kind] = {ARTICLES: "article", AUTHORS: "author"}
    prefix = next((p for p in kinds if key.startswith(p)), None)
    if prefix is None:
        raise SkippedKey(f"{key!r} is outside articles/ and authors/")
    kind = kinds[prefix]
    name = key[len(prefix) :]
    if not name or name.endswith("/"):
        raise SkippedKey(f"{key!r} is a folder marker")
    suffixes = ARTICLE_SUFFIXES if kind == "article" else (JSON,)
    suffix = next((s for s in suffixes if name.endswith(s)), None)
    if suffix is None:
        raise ValidationFailed(key, [FieldError(KEY, f"must end in {' or '.join(suffixes)}")])
    stem = name[: -len(suffix)]
    if len(stem) > MAX_SLUG or not SLUG_RE.fullmatch(stem):
        raise ValidationFailed(
            key,
            [
                FieldError(
                    KEY,
                    f"{shown(stem, 80)} is not a valid slug: use lowercase letters a-z, digits "
                    f"and single hyphens, at most {MAX_SLUG} characters, like "
                    '"review-of-the-week"',
                )
            ],
        )
    return ContentKey(kind=kind, slug=stem, suffix=suffix)


def shadowed(key: str, holder: str) -> ValidationFailed:
    """The report for an article file that another file of the same slug shadows: an article
    written both as JSON and as Markdown is the JSON file's, whichever was saved first."""
    return ValidationFailed(
        key,
        [
            FieldError(
                FILE,
                f"{holder} holds the same article, and an article written in both formats is the "
                ".json file's: this file is not published; delete one of the two",
            )
        ],
    )


def content_key(path: Path) -> str:
    """The content-bucket key a local file publishes to: `authors/` if it sits in an `authors` folder."""
    return (AUTHORS if path.parent.name == "authors" else ARTICLES) + path.name


def report_key(key: str) -> str:
    """Where the error report for `key` is written: `reports/<key>.errors.json`.

    S3 keys hold at most 1,024 bytes, and a file S3 accepted must still get a report S3 accepts.
    When the plain name would be too long, the key is cut at a character boundary and a digest of
    the whole key keeps the name unique; the report itself always carries the full key.
    """
    plain = f"{REPORTS}{key}{REPORT_SUFFIX}"
    if len(plain.encode("utf-8", "surrogatepass")) <= MAX_KEY_BYTES and not SURROGATE_RE.search(key):
        return plain
    digest = "~" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    room = MAX_KEY_BYTES - len(REPORTS) - len(digest) - len(REPORT_SUFFIX)
    head = key.encode("utf-8", "replace")[:room].decode("utf-8", errors="ignore")
    return f"{REPORTS}{head}{digest}{REPORT_SUFFIX}"


def read_article(key: str, raw: bytes) -> Article:
    """Validate an article file; raise ValidationFailed listing every problem."""
    ident = parse_key(key)
    markdown: MarkdownArticle | None = None
    if ident.suffix == MARKDOWN:
        markdown = _load_markdown(key, raw)
        data, found = markdown.data, _Findings(markdown.errors, frozenset())
    else:
        data, found = _load(key, raw)
    errors = list(found.errors)
    # The slug is the file name's; a `slug` field can only repeat it.
    given = data.get("slug")
    if isinstance(given, str) and given != ident.slug:
        errors.append(FieldError("slug", f'{shown(given, 80)} does not match the file name "{ident.slug}"'))
    elif given is not None and not isinstance(given, (str, _Unreadable)):
        errors.append(FieldError("slug", f'must be the file name in quotes, "{ident.slug}"'))
    # A Markdown body's problems are placed by their line in the file, not in the body.
    context = {"body_line": markdown.body_line} if markdown else None
    try:
        article = Article.model_validate({**data, "slug": ident.slug}, context=context)
    except ValidationError as exc:
        errors = [*errors, *_translate(exc, found.unreadable)]
    else:
        if not errors:
            return article
    raise _rejected(key, _placed(errors, markdown) if markdown else errors)


def read_author(key: str, raw: bytes) -> AuthorProfile:
    """Validate an author profile file; raise ValidationFailed listing every problem."""
    data, found = _load(key, raw)
    try:
        profile = AuthorProfile.model_validate(data)
    except ValidationError as exc:
        raise _rejected(key, [*found.errors, *_translate(exc, found.unreadable)]) from None
    if found.errors:
        raise _rejected(key, found.errors)
    return profile


def report_body(error: ValidationFailed, source_version: str | None = None, uploaded_by: str = "") -> bytes:
    """The JSON report written next to a rejected file; `source_version` names the version of the
    file it judged (reconcile leaves a file alone whose current version was already reported),
    `uploaded_by` who uploaded that version, when the notification said."""
    doc: dict[str, Any] = {
        "key": visible(error.key),
        "valid": False,
        "errors": [{"field": visible(e.field), "message": visible(e.message)} for e in error.errors],
    }
    if source_version is not None:
        doc["source_version"] = source_version
    if uploaded_by:
        doc["uploaded_by"] = visible(uploaded_by)
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _rejected(key: str, errors: list[FieldError]) -> ValidationFailed:
    # Field names come from the file: a report and a terminal get them with controls escaped.
    return ValidationFailed(key, [FieldError(visible(e.field), visible(e.message)) for e in errors])


@dataclass(frozen=True)
class _Unreadable:
    """A value Python's JSON reader takes but no field can hold, kept in place to be reported."""

    message: str


def _number(convert: Callable[[str], float]) -> Callable[[str], object]:
    def read(text: str) -> object:
        if len(text) > MAX_NUMBER_CHARS:
            return _Unreadable(
                f"is a number {len(text):,} characters long, too long to read; "
                "no field of the format holds a number"
            )
        return convert(text)

    return read


def _constant(name: str) -> _Unreadable:
    return _Unreadable(f"is {name}, which is not a number JSON allows; no field of the format holds a number")


@dataclass(frozen=True)
class _Findings:
    """What reading the JSON found before the model sees it: errors, and the fields they are on."""

    errors: list[FieldError]
    # Paths holding a value the model cannot be asked about; its own errors there are dropped.
    unreadable: frozenset[str]


def _fail(key: str, message: str) -> ValidationFailed:
    return ValidationFailed(key, [FieldError(FILE, message)])


def _decode(key: str, raw: bytes) -> str:
    """The file's text; refused when empty, too large, or not UTF-8."""

    def fail(message: str) -> ValidationFailed:
        return _fail(key, message)

    if not raw:
        raise fail("the file is empty")
    if len(raw) > MAX_FILE_BYTES:
        raise fail(f"the file is larger than the {MAX_FILE_BYTES // 1024 // 1024} MB limit for one article")
    try:
        # A byte-order mark is harmless noise some editors add; accept it.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise fail(f"is not valid UTF-8 text (bad byte at position {exc.start}); save it as UTF-8") from None
    if text.startswith("\ufeff"):
        raise fail("starts with more than one byte-order mark (an invisible U+FEFF); save it as UTF-8 again")
    return text


def _load_markdown(key: str, raw: bytes) -> MarkdownArticle:
    """The Markdown file's front matter and body (`broadsheet.contract.markdown`)."""
    # Imported here: the front-matter parser (and YAML) is for reading articles; the functions
    # that only name keys and write reports (media) never load it.
    from broadsheet.contract.markdown import FrontMatterError, read_markdown  # noqa: PLC0415

    try:
        return read_markdown(_decode(key, raw))
    except FrontMatterError as exc:
        raise _fail(key, str(exc)) from None


def _placed(errors: list[FieldError], markdown: MarkdownArticle) -> list[FieldError]:
    """Each error with the line its field is written on in the Markdown file, where it has one."""
    placed = []
    for error in errors:
        line = _line_of(error.field, markdown.lines)
        if line is None or error.message.startswith("line "):
            placed.append(error)
        elif error.message == "is required but missing":
            placed.append(FieldError(error.field, f"line {line}: has no value, but is required"))
        else:
            placed.append(FieldError(error.field, f"line {line}: {error.message}"))
    return placed


def _line_of(path: str, lines: dict[str, int]) -> int | None:
    """The line of a field, or of the nearest field around it (a list's, for a missing entry)."""
    while path:
        if path in lines:
            return lines[path]
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return None


def _load(key: str, raw: bytes) -> tuple[dict[str, Any], _Findings]:
    """The file's JSON object, and what is wrong with it beyond what the model checks.

    A repeated name keeps its last value, as JSON parsers do, so that the rest of the file is
    still checked and the editor learns of every problem at once; so do numbers too long to read
    and the NaN and Infinity that Python's reader, unlike JSON, accepts.
    """

    def fail(message: str) -> ValidationFailed:
        return _fail(key, message)

    text = _decode(key, raw)
    try:
        data = json.loads(
            text,
            object_pairs_hook=_object,
            parse_int=_number(int),
            parse_float=_number(float),
            parse_constant=_constant,
        )
    except json.JSONDecodeError as exc:
        raise fail(f"is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise fail("is nested too deeply to be an article") from None
    if not isinstance(data, dict):
        raise fail("must be a JSON object ({ ... }) with the article's fields")
    return data, _findings(data)


class _Flagged(dict[str, Any]):
    """A JSON object with names given more than once (the last value is kept) or unwritable ones."""

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        # A name holding an unpaired surrogate is stored escaped, so that the model and the
        # report can carry it; it is an error whatever it says.
        self.garbled = [visible(name) for name, _ in pairs if SURROGATE_RE.search(name)]
        pairs = [(visible(name), value) for name, value in pairs]
        super().__init__(pairs)
        counts = Counter(name for name, _ in pairs)
        self.repeated = [name for name in self if counts[name] > 1]


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    names = {name for name, _ in pairs}
    if len(names) == len(pairs) and not any(SURROGATE_RE.search(name) for name in names):
        return dict(pairs)
    return _Flagged(pairs)


def _findings(data: dict[str, Any]) -> _Findings:
    """Every repeated or unwritable name and unreadable value, in the order of the file."""
    errors: list[FieldError] = []
    unreadable: set[str] = set()
    # A stack rather than recursion: the file may be nested as deeply as the parser allowed.
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        path, value = stack.pop()
        children: list[tuple[str, Any]] = []
        if isinstance(value, dict):
            if isinstance(value, _Flagged):
                errors.extend(_name_errors(path, value))
            children = [(_field(path, name), item) for name, item in value.items()]
        elif isinstance(value, list):
            children = [(f"{path}[{index}]", item) for index, item in enumerate(value)]
        elif isinstance(value, _Unreadable):
            errors.append(FieldError(path, value.message))
            unreadable.add(path)
        stack.extend(reversed(children))
    return _Findings(errors, frozenset(unreadable))


def _name_errors(path: str, names: _Flagged) -> list[FieldError]:
    twice = "appears more than once in the file"
    repeated = [FieldError(_field(path, name), twice) for name in names.repeated]
    garbled = [
        FieldError(
            _field(path, name),
            "is a field name holding half of a character (an unpaired surrogate, shown as \\udxxx) "
            "that cannot be stored as text; retype the name",
        )
        for name in names.garbled
    ]
    return repeated + garbled


def _field(parent: str, name: str) -> str:
    return f"{parent}.{_name(name)}" if parent else _name(name)


def _name(name: str) -> str:
    """A field name as a path shows it: in quotes when it is blank or could be misread."""
    if not name or name != name.strip() or any(c in name for c in '.[]"'):
        return json.dumps(name, ensure_ascii=False)
    return name


def _translate(exc: ValidationError, unreadable: frozenset[str] = frozenset()) -> list[FieldError]:
    """Pydantic's errors, as field paths and messages an editor understands.

    An unreadable value already has its own error; what the model says of it is dropped, except
    that its field is unknown.
    """
    found = []
    for err in exc.errors(include_url=False):
        path = _path(err["loc"], name_last=err["type"] == "extra_forbidden") or FILE
        if err["type"] != "extra_forbidden" and _within(path, unreadable):
            continue
        found.append(FieldError(path, _message(err)))
    return found


def _within(path: str, paths: frozenset[str]) -> bool:
    return any(path == p or path.startswith((f"{p}.", f"{p}[")) for p in paths)


def _message(err: ErrorDetails) -> str:
    kind = err["type"]
    ctx: dict[str, Any] = err.get("ctx", {})
    if kind == "extra_forbidden":
        return "is not a known field; check its spelling against the article format"
    if kind == "missing":
        return "is required but missing"
    if kind == "value_error":
        return str(err["msg"]).removeprefix("Value error, ")
    if kind == "too_short":
        least = ctx["min_length"]
        return f"must have at least {least} {'entry' if least == 1 else 'entries'}"
    if kind == "too_long":
        return f"must have at most {ctx['max_length']} entries (this one has {ctx['actual_length']})"
    if kind in {"datetime_parsing", "datetime_from_date_parsing"}:
        problem = ctx.get("error", "not a calendar date")
        return f"{shown(str(err['input']))} is not a real date and time: {problem}"
    if kind == "url_scheme":
        return "must be a web address starting with https:// or http://"
    if kind == "url_parsing":
        return f'is not a complete web address like "https://www.example.org/" ({ctx.get("error", "")})'
    if kind == "url_too_long":
        return f"is longer than the {ctx['max_length']} characters a web address may have"
    if kind in {"list_type", "model_type", "model_attributes_type", "dict_type"}:
        return "must be a list [ ... ]" if kind == "list_type" else "must be an object { ... }"
    if kind == "literal_error":
        return f"must be one of {ctx['expected']}"
    return str(err["msg"]).removeprefix("Value error, ")


def _path(loc: tuple[int | str, ...], *, name_last: bool = False) -> str:
    parts: list[str] = []
    for position, item in enumerate(loc):
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif name_last and position == len(loc) - 1:
            parts.append(("." if parts else "") + _name(item))  # an unknown name, as written
        elif "[" in item:
            continue  # pydantic's names for validator wrappers, not fields
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)
