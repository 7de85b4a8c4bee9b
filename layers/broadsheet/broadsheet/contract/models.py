"""The article contract: what editors upload, as strict pydantic models.

Each rule sits next to its field and checks a value with a message an editor understands. Where
JSON Schema can express the rule, the same annotation states it in the schema that editors' tools
check files against before upload, so that the schema and the ingest function agree.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from itertools import pairwise
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationInfo,
    field_validator,
    model_validator,
)

from broadsheet.contract.fields import (
    CONTENT_PATTERN,
    MAX_BODY_BYTES,
    Alias,
    Body,
    Flag,
    Language,
    Line,
    MaxChars,
    MediaSrc,
    Name,
    Paragraphs,
    Slug,
    Stated,
    TagName,
    Text,
    Timestamp,
    WebAddress,
    _alt_text,
    _renderable,
    shown,
    slugify,
)
from broadsheet.contract.media import MEDIA

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
MAX_CORRECTIONS = 20
MAX_CORRECTION_CHARS = 1000
MAX_UPDATES = 500
MAX_UPDATE_CHARS = 5000
# What an editor may pin an article as on the fronts (the home page and its section's page).
Featured = Literal["lead", "top"]


class Strict(BaseModel):
    """Base of every contract model: unknown fields rejected, values immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


class Source(Strict):
    """Where a syndicated article was first published."""

    name: Annotated[Line, MaxChars(200)]
    url: WebAddress


class Picture(Strict):
    """An image from the media folder with its text alternative, caption and credit."""

    src: MediaSrc
    alt: Annotated[
        Text,
        AfterValidator(_alt_text),
        MaxChars(300),
        Field(description='What the image shows, for readers who cannot see it; needed unless "decorative".'),
    ] = ""
    caption: Annotated[Paragraphs, MaxChars(600)] | None = None
    credit: Annotated[Line, MaxChars(200)] | None = None
    decorative: Annotated[
        StrictBool, Field(description="True for an image that adds nothing a reader needs: no alt text.")
    ] = False

    @model_validator(mode="after")
    def _alt_unless_decorative(self) -> Picture:
        if self.decorative and self.alt.strip():
            raise ValueError('is "decorative", so it has no alt text: remove "alt" or "decorative"')
        if not self.decorative and not self.alt.strip():
            raise ValueError(
                'needs "alt": a short description of what the image shows, for readers who cannot '
                'see it (or "decorative": true if it adds nothing they need)'
            )
        return self

    @property
    def name(self) -> str:
        """The media name this picture refers to (`src` without `media/`)."""
        return self.src[len(MEDIA) :]


class Correction(Strict):
    """A dated correction notice: plain text, one paragraph, shown at the end of the article."""

    at: Timestamp
    text: Annotated[Line, MaxChars(MAX_CORRECTION_CHARS)]


class LiveUpdate(Strict):
    """One update of live coverage: when, what (CommonMark), and by whom if not the byline."""

    at: Timestamp
    text: Annotated[
        Paragraphs,
        MaxChars(MAX_UPDATE_CHARS),
        AfterValidator(_renderable),
        Stated(pattern=CONTENT_PATTERN, description="CommonMark, like the body."),
    ]
    authors: Annotated[list[Name], Field(max_length=10)] = []


class ArticleFile(Strict):
    """One article as an editor writes it in `articles/<slug>.json`."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="Broadsheet article",
        json_schema_extra={"$schema": SCHEMA_DIALECT, "$id": "https://broadsheet.dev/schema/article.json"},
    )

    slug: Slug | None = Field(default=None, description="Must equal the file name's stem if given.")
    title: Annotated[Line, MaxChars(300)]
    teaser: Annotated[Paragraphs, MaxChars(600)] = ""
    authors: Annotated[
        list[Name], Field(min_length=1, max_length=10, description="No two names with the same page.")
    ]
    published_at: Timestamp
    updated_at: Timestamp | None = None
    expires_at: Annotated[Timestamp | None, Field(description="Must be later than published_at.")] = None
    section: Slug | None = None
    tags: Annotated[list[TagName], Field(max_length=20, description="No two tags with the same page.")] = []
    body: Body
    source: Source | None = None
    status: Literal["published", "draft"] = "published"
    aliases: Annotated[list[Alias], Field(max_length=20)] = []
    language: Language | None = None
    image: Annotated[Picture | None, Field(description="The lead image, shown on listings too.")] = None
    corrections: Annotated[
        list[Correction],
        Field(max_length=MAX_CORRECTIONS, description="Each dated no earlier than published_at."),
    ] = []
    live: Annotated[Flag, Field(description="Coverage is ongoing: pages and listings say Live.")] = False
    updates: Annotated[
        list[LiveUpdate],
        Field(
            max_length=MAX_UPDATES,
            description="Oldest first; append new ones. With the body, at most 200 KB of text.",
        ),
    ] = []

    featured: Annotated[
        Featured | None,
        Field(
            description=(
                'Pin the article to the top of the home page and its section\'s page: "lead" (the '
                'main story) or "top" (among the top stories), until pinned_until if given.'
            )
        ),
    ] = None
    pinned_until: Annotated[
        Timestamp | None,
        Field(description="When the pin lifts by itself; needs featured, later than published_at."),
    ] = None

    @field_validator("body")
    @classmethod
    def _body_size(cls, value: str, info: ValidationInfo) -> str:
        size = len(value.encode("utf-8"))
        if size > MAX_BODY_BYTES:
            raise ValueError(
                f"is {size:,} bytes, over the limit of {MAX_BODY_BYTES:,} bytes ({MAX_BODY_BYTES // 1024} KB)"
            )
        if not value.strip():
            raise ValueError("must not be empty")
        # A body that would stall rendering is refused where a file is read (ingest, validate, the
        # offline build). An article read back from the index as JSON passed this at ingest; checking
        # it again would cost every render, and would need the Markdown parser in the newsletter's
        # functions, which read articles but do not carry it: hence the import here.
        if info.mode == "python":
            from broadsheet.render.shape import body_problem  # noqa: PLC0415

            problem = body_problem(value)
            if problem is not None:
                # A Markdown file's body starts below its front matter: name the file's line.
                start = info.context.get("body_line", 1) if isinstance(info.context, dict) else 1
                raise ValueError(str(replace(problem, line=problem.line + start - 1)))
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

    @field_validator("aliases")
    @classmethod
    def _distinct_aliases(cls, value: list[str]) -> list[str]:
        if len(set(value)) < len(value):
            twice = next(alias for alias in value if value.count(alias) > 1)
            raise ValueError(
                f"{shown(twice, 100)} is listed twice (once normalised, two aliases are one address)"
            )
        return value

    @field_validator("expires_at")
    @classmethod
    def _expires_after_publication(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        published = info.data.get("published_at")
        if value is not None and published is not None and value <= published:
            raise ValueError(
                f"must be later than published_at ({published.isoformat()}): "
                "an article cannot be taken down before it is published"
            )
        return value

    @field_validator("pinned_until")
    @classmethod
    def _pinned_with_featured(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        if value is None:
            return value
        # A featured that failed its own check is missing from `info.data`: reported already.
        if "featured" in info.data and info.data["featured"] is None:
            raise ValueError(
                'needs "featured" ("lead" or "top"): it says when a pin lifts, and nothing is pinned'
            )
        published = info.data.get("published_at")
        if published is not None and value <= published:
            raise ValueError(
                f"must be later than published_at ({published.isoformat()}): the pin would lift "
                "before the article is published"
            )
        return value

    @field_validator("corrections")
    @classmethod
    def _corrections_after_publication(
        cls, value: list[Correction], info: ValidationInfo
    ) -> list[Correction]:
        _after_publication([c.at for c in value], info, "correction")
        return value

    @field_validator("updates")
    @classmethod
    def _updates_in_order(cls, value: list[LiveUpdate], info: ValidationInfo) -> list[LiveUpdate]:
        _after_publication([u.at for u in value], info, "update")
        for number, (earlier, later) in enumerate(pairwise(value), start=2):
            if later.at < earlier.at:
                raise ValueError(
                    f"update {number} ({later.at.isoformat()}) is dated before update {number - 1} "
                    f"({earlier.at.isoformat()}): list updates oldest first and add new ones at the end, "
                    "so that each keeps its link (#update-<number>)"
                )
        body = info.data.get("body")
        if body is not None:
            size = len(body.encode("utf-8")) + sum(len(u.text.encode("utf-8")) for u in value)
            if size > MAX_BODY_BYTES:
                raise ValueError(
                    f"the body and the updates together are {size:,} bytes, over the limit of "
                    f"{MAX_BODY_BYTES:,} bytes ({MAX_BODY_BYTES // 1024} KB) that one article page "
                    "carries; end this coverage and continue it in a new article"
                )
        return value


def _after_publication(times: list[datetime], info: ValidationInfo, what: str) -> None:
    published = info.data.get("published_at")
    for number, at in enumerate(times, start=1):
        if published is not None and at < published:
            raise ValueError(
                f"{what} {number} is dated {at.isoformat()}, before the article was published "
                f"({published.isoformat()})"
            )


def _reject_repeats(values: list[str], what: str) -> None:
    seen: dict[str, str] = {}
    for value in values:
        key = slugify(value)
        if key in seen:
            first = shown(seen[key], 100)
            raise ValueError(f"{what} {shown(value, 100)} is listed twice (same page as {first})")
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

    def same_as(self, other: Article | None) -> bool:
        """Whether `other` says exactly what this article says. Stricter than `==`, which takes two
        times at the same instant in different offsets for equal: a page shows the offset."""
        return other is not None and self.model_dump(mode="json") == other.model_dump(mode="json")

    @property
    def media_names(self) -> tuple[str, ...]:
        """Every media file the article shows: its lead image, then its body's, each once."""
        # The body's are found in its rendered HTML, so that they are exactly the ones pages show.
        from broadsheet.render.body import body_media  # noqa: PLC0415 - see _body_size

        lead = (self.image.name,) if self.image else ()
        return tuple(dict.fromkeys(lead + body_media(self.body)))

    @property
    def modified_at(self) -> datetime | None:
        """When the article last changed for readers: the latest of updated_at, its corrections
        and its live updates (None if none of them is given)."""
        times = [c.at for c in self.corrections] + [u.at for u in self.updates]
        if self.updated_at is not None:
            times.append(self.updated_at)
        return max(times) if times else None

    @property
    def is_live_blog(self) -> bool:
        """Whether the article is live coverage (ongoing, or ended with its updates kept)."""
        return self.live or bool(self.updates)

    def pinned(self, now: datetime) -> Featured | None:
        """How the article is pinned to the fronts at `now` ("lead", "top"), or None: pinned only
        while readers may see it and until `pinned_until`."""
        if self.featured is None or not self.is_live(now):
            return None
        if self.pinned_until is not None and self.pinned_until <= now:
            return None
        return self.featured

    def is_live(self, now: datetime) -> bool:
        """Whether readers may see the article at `now`."""
        if self.status != "published" or self.published_at > now:
            return False
        return self.expires_at is None or self.expires_at > now


class AuthorProfile(Strict):
    """An author's profile, `authors/<author-slug>.json`."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="Broadsheet author profile",
        json_schema_extra={"$schema": SCHEMA_DIALECT, "$id": "https://broadsheet.dev/schema/author.json"},
    )

    name: Name
    bio: Annotated[Paragraphs, MaxChars(2000)] = ""
    url: WebAddress | None = None
    portrait: Annotated[Picture | None, Field(description="The author's photograph, on their page.")] = None


def article_json_schema() -> dict[str, Any]:
    """The JSON Schema editors' tools use to check an article file before upload."""
    return ArticleFile.model_json_schema()


def author_json_schema() -> dict[str, Any]:
    """The JSON Schema of an author profile file."""
    return AuthorProfile.model_json_schema()
