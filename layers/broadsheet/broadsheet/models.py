"""The article contract: what editors upload, as strict pydantic models."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    HttpUrl,
    StringConstraints,
    field_validator,
    model_validator,
)
from slugify import slugify as _slugify

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
SLUG_RE = re.compile(SLUG_PATTERN)
MAX_SLUG = 120
MAX_BODY_BYTES = 200 * 1024
LANGUAGE_RE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")
# Characters that have no place in a one-line field: controls other than tab, and
# the Unicode line and paragraph separators that break JSON-in-HTML contexts.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]")


def slugify(text: str) -> str:
    """The URL slug of a name: ASCII, lowercase, words joined by hyphens."""
    return str(_slugify(text, max_length=MAX_SLUG, word_boundary=True))


def _require_text(value: object) -> object:
    """Reject non-strings before pydantic can coerce them, with a plain message."""
    if not isinstance(value, str):
        raise ValueError(f"must be text in quotes, not {_json_type(value)}")
    return value


def _one_line(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    if _CONTROL_RE.search(value) or "\n" in value:
        raise ValueError("must be a single line without control characters")
    return value


def _require_timestamp(value: object) -> object:
    if not isinstance(value, str):
        raise ValueError(
            f"must be an RFC 3339 date-time in quotes like "
            f'"2015-12-21T22:00:00+03:00", not {_json_type(value)}'
        )
    if not re.match(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})$", value):
        raise ValueError(
            f'"{value[:60]}" is not an RFC 3339 date-time with a time zone offset, '
            'like "2015-12-21T22:00:00+03:00" or "2015-12-21T19:00:00Z"'
        )
    return value


def _is_slug(value: str) -> str:
    if len(value) > MAX_SLUG:
        raise ValueError(f"must be at most {MAX_SLUG} characters")
    if not SLUG_RE.match(value):
        raise ValueError(
            f'"{value[:60]}" is not a slug: use lowercase letters a-z, digits and '
            'single hyphens, like "foreign-policy"'
        )
    return value


def _has_slug(value: str) -> str:
    if not slugify(value):
        raise ValueError(f'"{value[:60]}" has no letters or digits to make a page address from')
    return value


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


Text = Annotated[str, BeforeValidator(_require_text)]
Line = Annotated[Text, AfterValidator(_one_line)]
Slug = Annotated[Text, AfterValidator(_is_slug)]
Name = Annotated[Line, StringConstraints(max_length=100), AfterValidator(_has_slug)]
TagName = Annotated[Line, StringConstraints(max_length=60), AfterValidator(_has_slug)]
Timestamp = Annotated[AwareDatetime, BeforeValidator(_require_timestamp)]


class Strict(BaseModel):
    """Base of every contract model: unknown fields rejected, values immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


class Source(Strict):
    """Where a syndicated article was first published."""

    name: Annotated[Line, StringConstraints(max_length=200)]
    url: Annotated[HttpUrl, BeforeValidator(_require_text)]


class ArticleFile(Strict):
    """One article as an editor writes it in `articles/<slug>.json`."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="Broadsheet article",
        json_schema_extra={"$id": "https://broadsheet.dev/schema/article.json"},
    )

    slug: Slug | None = Field(default=None, description="Must equal the file name's stem if given.")
    title: Annotated[Line, StringConstraints(min_length=1, max_length=300)]
    teaser: Annotated[Text, StringConstraints(max_length=600)] = ""
    authors: Annotated[list[Name], Field(min_length=1, max_length=10)]
    published_at: Timestamp
    updated_at: Timestamp | None = None
    expires_at: Timestamp | None = None
    section: Slug | None = None
    tags: Annotated[list[TagName], Field(max_length=20)] = []
    body: Text
    source: Source | None = None
    status: Literal["published", "draft"] = "published"
    aliases: Annotated[list[Slug], Field(max_length=20)] = []
    language: Annotated[Text, StringConstraints(max_length=35)] | None = None

    @field_validator("body")
    @classmethod
    def _body_size(cls, value: str) -> str:
        size = len(value.encode("utf-8"))
        if size > MAX_BODY_BYTES:
            raise ValueError(f"is {size // 1024} KB; the limit is {MAX_BODY_BYTES // 1024} KB")
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("language")
    @classmethod
    def _bcp47(cls, value: str | None) -> str | None:
        if value is not None and not LANGUAGE_RE.match(value):
            raise ValueError(f'"{value[:40]}" is not a BCP 47 language tag like "en" or "en-GB"')
        return value

    @field_validator("authors")
    @classmethod
    def _distinct_authors(cls, value: list[str]) -> list[str]:
        _reject_repeats(value, "author")
        return value

    @field_validator("tags")
    @classmethod
    def _distinct_tags(cls, value: list[str]) -> list[str]:
        _reject_repeats(value, "tag")
        return value

    @model_validator(mode="after")
    def _dates_in_order(self) -> ArticleFile:
        if self.expires_at is not None and self.expires_at <= self.published_at:
            raise ValueError("expires_at must be later than published_at")
        return self


def _reject_repeats(values: list[str], what: str) -> None:
    seen: dict[str, str] = {}
    for value in values:
        key = slugify(value)
        if key in seen:
            raise ValueError(f'{what} "{value}" is listed twice (same page as "{seen[key]}")')
        seen[key] = value


class Article(ArticleFile):
    """A validated article with its identity, the slug taken from its key."""

    slug: Slug

    @property
    def author_slugs(self) -> list[str]:
        """The page slug of each author, in byline order."""
        return [slugify(name) for name in self.authors]

    @property
    def tag_slugs(self) -> list[str]:
        """The page slug of each tag, in the order given."""
        return [slugify(tag) for tag in self.tags]

    def is_live(self, now: datetime) -> bool:
        """Whether readers may see the article at `now`."""
        if self.status != "published" or self.published_at > now:
            return False
        return self.expires_at is None or self.expires_at > now


class AuthorProfile(Strict):
    """An author's profile, `authors/<author-slug>.json`."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="Broadsheet author profile")

    name: Name
    bio: Annotated[Text, StringConstraints(max_length=2000)] = ""
    url: Annotated[HttpUrl, BeforeValidator(_require_text)] | None = None


def article_json_schema() -> dict[str, Any]:
    """The JSON Schema editors' tools use to check an article file before upload."""
    return ArticleFile.model_json_schema()


def author_json_schema() -> dict[str, Any]:
    """The JSON Schema of an author profile file."""
    return AuthorProfile.model_json_schema()
