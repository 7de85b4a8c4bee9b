"""Reading uploaded files: a content-bucket key and its bytes become a model or a report."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from broadsheet.contract.models import MAX_SLUG, SLUG_RE, Article, AuthorProfile
from broadsheet.errors import FieldError, SkippedKey, ValidationFailed

MAX_FILE_BYTES = 1024 * 1024
ARTICLES = "articles/"
AUTHORS = "authors/"
REPORTS = "reports/"
REPORT_SUFFIX = ".errors.json"
# The longest key S3 stores, in UTF-8 bytes.
MAX_KEY_BYTES = 1024
FILE = "(file)"
KEY = "(file name)"

Kind = Literal["article", "author"]


@dataclass(frozen=True)
class ContentKey:
    """A key in the content bucket that Broadsheet publishes from."""

    kind: Kind
    slug: str

    @property
    def key(self) -> str:
        """The object key this identity lives at."""
        prefix = ARTICLES if self.kind == "article" else AUTHORS
        return f"{prefix}{self.slug}.json"


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
    if not name.endswith(".json"):
        raise ValidationFailed(key, [FieldError(KEY, "must end in .json")])
    stem = name[: -len(".json")]
    if len(stem) > MAX_SLUG or not SLUG_RE.fullmatch(stem):
        raise ValidationFailed(
            key,
            [
                FieldError(
                    KEY,
                    f'"{stem[:80]}" is not a valid slug: use lowercase letters a-z, digits '
                    f"and single hyphens, at most {MAX_SLUG} characters, like "
                    '"review-of-the-week"',
                )
            ],
        )
    return ContentKey(kind=kind, slug=stem)


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
    if len(plain.encode("utf-8")) <= MAX_KEY_BYTES:
        return plain
    digest = "~" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
    room = MAX_KEY_BYTES - len(REPORTS) - len(digest) - len(REPORT_SUFFIX)
    head = key.encode("utf-8")[:room].decode("utf-8", errors="ignore")
    return f"{REPORTS}{head}{digest}{REPORT_SUFFIX}"


def read_article(key: str, raw: bytes) -> Article:
    """Validate an article file; raise ValidationFailed listing every problem."""
    ident = parse_key(key)
    data, errors = _load(key, raw)
    given = data.get("slug")
    if given is not None and given != ident.slug:
        errors.append(FieldError("slug", f'"{str(given)[:80]}" does not match the file name "{ident.slug}"'))
    try:
        article = Article.model_validate({**data, "slug": ident.slug})
    except ValidationError as exc:
        raise ValidationFailed(key, [*errors, *_translate(exc)]) from None
    if errors:
        raise ValidationFailed(key, errors)
    return article


def read_author(key: str, raw: bytes) -> AuthorProfile:
    """Validate an author profile file; raise ValidationFailed listing every problem."""
    data, errors = _load(key, raw)
    try:
        profile = AuthorProfile.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(key, [*errors, *_translate(exc)]) from None
    if errors:
        raise ValidationFailed(key, errors)
    return profile


def report_body(error: ValidationFailed, source_version: str | None = None) -> bytes:
    """The JSON report written next to a rejected file; `source_version` names the version of the
    file it judged (reconcile leaves a file alone whose current version was already reported)."""
    doc: dict[str, Any] = {
        "key": error.key,
        "valid": False,
        "errors": [{"field": e.field, "message": e.message} for e in error.errors],
    }
    if source_version is not None:
        doc["source_version"] = source_version
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _load(key: str, raw: bytes) -> tuple[dict[str, Any], list[FieldError]]:
    """The file's JSON object, and an error for each name given twice in one of its objects.

    A repeated name keeps its last value, as JSON parsers do, so that the rest of the file is
    still checked and the editor learns of every problem at once.
    """

    def fail(message: str) -> ValidationFailed:
        return ValidationFailed(key, [FieldError(FILE, message)])

    if not raw:
        raise fail("the file is empty")
    if len(raw) > MAX_FILE_BYTES:
        raise fail(f"the file is larger than the {MAX_FILE_BYTES // 1024 // 1024} MB limit for one article")
    try:
        # A byte-order mark is harmless noise some editors add; accept it.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise fail(f"is not valid UTF-8 text (bad byte at position {exc.start}); save it as UTF-8") from None
    repeats: list[_Repeated] = []
    try:
        data = json.loads(text, object_pairs_hook=_object_hook(repeats))
    except json.JSONDecodeError as exc:
        raise fail(f"is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise fail("is nested too deeply to be an article") from None
    if not isinstance(data, dict):
        raise fail("must be a JSON object ({ ... }) with the article's fields")
    if not repeats:
        return data, []
    return data, [FieldError(path, "appears more than once in the file") for path in _repeated_paths(data)]


class _Repeated(dict[str, Any]):
    """A JSON object in which some names were given more than once; the last value is kept."""

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        super().__init__(pairs)
        counts = Counter(name for name, _ in pairs)
        self.names = [name for name in self if counts[name] > 1]


def _object_hook(repeats: list[_Repeated]) -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        if len({name for name, _ in pairs}) == len(pairs):
            return dict(pairs)
        found = _Repeated(pairs)
        repeats.append(found)
        return found

    return hook


def _repeated_paths(data: dict[str, Any]) -> list[str]:
    """The field path of every repeated name, in the order of the file."""
    paths: list[str] = []
    # A stack rather than recursion: the file may be nested as deeply as the parser allowed.
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        path, value = stack.pop()
        children: list[tuple[str, Any]] = []
        if isinstance(value, dict):
            if isinstance(value, _Repeated):
                paths.extend(_field(path, name) for name in value.names)
            children = [(_field(path, name), item) for name, item in value.items()]
        elif isinstance(value, list):
            children = [(f"{path}[{index}]", item) for index, item in enumerate(value)]
        stack.extend(reversed(children))
    return paths


def _field(parent: str, name: str) -> str:
    return f"{parent}.{name}" if parent else name


def _translate(exc: ValidationError) -> list[FieldError]:
    """Pydantic's errors, as field paths and messages an editor understands."""
    return [FieldError(_path(err["loc"]) or FILE, _message(err)) for err in exc.errors(include_url=False)]


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
        return f'"{str(err["input"])[:60]}" is not a real date and time: {problem}'
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


def _path(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif "[" in item:
            continue  # pydantic's names for validator wrappers, not fields
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)
