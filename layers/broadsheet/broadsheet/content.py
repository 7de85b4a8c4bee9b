"""Reading uploaded files: a content-bucket key and its bytes become a model or a report."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from broadsheet.errors import FieldError, SkippedKey, ValidationFailed
from broadsheet.models import MAX_SLUG, SLUG_RE, Article, AuthorProfile

MAX_FILE_BYTES = 1024 * 1024
ARTICLES = "articles/"
AUTHORS = "authors/"
REPORTS = "reports/"
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
    if len(stem) > MAX_SLUG or not SLUG_RE.match(stem):
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
    """Where the error report for `key` is written."""
    return f"{REPORTS}{key}.errors.json"


def read_article(key: str, raw: bytes) -> Article:
    """Validate an article file; raise ValidationFailed listing every problem."""
    ident = parse_key(key)
    data = _load(key, raw)
    errors: list[FieldError] = []
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
    data = _load(key, raw)
    try:
        return AuthorProfile.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(key, _translate(exc)) from None


def report_body(error: ValidationFailed) -> bytes:
    """The JSON report written next to a rejected file."""
    doc = {
        "key": error.key,
        "valid": False,
        "errors": [{"field": e.field, "message": e.message} for e in error.errors],
    }
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _load(key: str, raw: bytes) -> dict[str, Any]:
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
    duplicates: list[str] = []
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates(duplicates))
    except json.JSONDecodeError as exc:
        raise fail(f"is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise fail("is nested too deeply to be an article") from None
    if duplicates:
        raise ValidationFailed(
            key, [FieldError(name, "appears more than once in the file") for name in duplicates]
        )
    if not isinstance(data, dict):
        raise fail("must be a JSON object ({ ... }) with the article's fields")
    return data


def _no_duplicates(found: list[str]) -> Any:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for name, value in pairs:
            if name in result and name not in found:
                found.append(name)
            result[name] = value
        return result

    return hook


def _translate(exc: ValidationError) -> list[FieldError]:
    """Pydantic's errors, as field paths and messages an editor understands."""
    out: list[FieldError] = []
    for err in exc.errors(include_url=False):
        path = _path(err["loc"])
        kind = err["type"]
        if kind == "extra_forbidden":
            message = "is not a known field; check its spelling against the article format"
        elif kind == "missing":
            message = "is required but missing"
        elif kind == "value_error":
            message = str(err["msg"]).removeprefix("Value error, ")
        elif kind in {"url_parsing", "url_scheme"}:
            message = "must be a web address starting with https:// or http://"
        elif kind in {"list_type", "model_type", "model_attributes_type", "dict_type"}:
            expected = "a list [ ... ]" if kind == "list_type" else "an object { ... }"
            message = f"must be {expected}"
        elif kind == "literal_error":
            message = f"must be one of {err['ctx']['expected']}"
        else:
            message = str(err["msg"]).removeprefix("Value error, ")
        out.append(FieldError(path or FILE, message))
    return out


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
