"""The contract's field types: text, lines, slugs, times, addresses and media, each with the rule
it keeps and the message an editor reads when a value breaks it.

Where JSON Schema can express a rule, the same annotation states it in the schema editors' tools
check files against, so that the schema and the ingest function agree.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    HttpUrl,
    ValidationInfo,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema
from slugify import slugify as _slugify

from broadsheet.contract.addresses import MAX_ADDRESS_BYTES, address_key, in_folder
from broadsheet.contract.media import MEDIA, MEDIA_SRC_PATTERN, media_problem

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
SLUG_RE = re.compile(SLUG_PATTERN)
MAX_SLUG = 120
MAX_BODY_BYTES = 200 * 1024
# BCP 47 (RFC 5646) well-formedness: language and up to three extended subtags, script, region,
# variants, extensions, private use. Four- to eight-letter primary subtags are reserved and unused,
# and a word like "english" is the commonest mistake, so the primary subtag has two or three letters.
LANGUAGE_PATTERN = (
    r"^[A-Za-z]{2,3}(?:-[A-Za-z]{3}){0,3}"
    r"(?:-[A-Za-z]{4})?"
    r"(?:-(?:[A-Za-z]{2}|[0-9]{3}))?"
    r"(?:-(?:[A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*"
    r"(?:-[0-9A-WY-Za-wy-z](?:-[A-Za-z0-9]{2,8})+)*"
    r"(?:-[Xx](?:-[A-Za-z0-9]{1,8})+)?$"
)
LANGUAGE_RE = re.compile(LANGUAGE_PATTERN)
# RFC 3339 section 5.6: seconds required, "T" or "t" between date and time, "Z", "z" or a numeric
# offset. Leap seconds (:60) are left out: a Python datetime cannot hold one.
TIMESTAMP_PATTERN = (
    r"^[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    r"[Tt](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?"
    r"(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$"
)
TIMESTAMP_RE = re.compile(TIMESTAMP_PATTERN)
# An old slug, or an absolute path (checked and normalised in code: broadsheet.contract.addresses).
ALIAS_PATTERN = r"^(?:[a-z0-9]+(?:-[a-z0-9]+)*|/[^\s#\\]*)$"
WEB_ADDRESS_PATTERN = r"^[Hh][Tt][Tt][Pp][Ss]?://"
WEB_ADDRESS_RE = re.compile(WEB_ADDRESS_PATTERN)
# Characters that have no place in a one-line field: controls other than tab (newlines included),
# and the Unicode line and paragraph separators that break JSON-in-HTML contexts.
_CONTROL = r"\x00-\x08\x0a-\x1f\x7f\u2028\u2029"
_CONTROL_RE = re.compile(f"[{_CONTROL}]")
# Characters no page or feed can carry, even in text of several lines: XML 1.0 forbids them
# (a feed holding one no longer parses) and HTML treats them as errors, and an unpaired surrogate
# (JSON's "\ud800") is not a character at all: it cannot be written as UTF-8, so neither the index
# nor a page could store it. Tab, newline and carriage return are fine; so is every other
# character, however strange.
_NONCHARACTERS = r"\ud800-\udfff\ufffe\uffff"
_UNWRITABLE = r"\x00-\x08\x0b\x0c\x0e-\x1f" + _NONCHARACTERS
_UNWRITABLE_RE = re.compile(f"[{_UNWRITABLE}]")
SURROGATE_RE = re.compile(r"[\ud800-\udfff]")
_NOT_IN_LINE = _CONTROL + _NONCHARACTERS
LINE_PATTERN = rf"^[^{_NOT_IN_LINE}]*[^\s{_NOT_IN_LINE}][^{_NOT_IN_LINE}]*$"
PARAGRAPHS_PATTERN = rf"^[^{_UNWRITABLE}]*$"
# Paragraphs that are not blank: what a body must be.
CONTENT_PATTERN = rf"^[^{_UNWRITABLE}]*[^\s{_UNWRITABLE}][^{_UNWRITABLE}]*$"
# What a message may quote of an editor's value: anything but controls and unpaired surrogates,
# which are shown as escapes (a report is UTF-8 text, and a terminal must not obey a control).
_UNSHOWABLE_RE = re.compile(f"[{_NOT_IN_LINE}]")
EXAMPLE_TIME = '"2015-12-21T22:00:00+03:00"'
_LAST_SECOND = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
_SHAPES = (
    # Common near-misses, each with its own advice; checked in order, the first match explains.
    (
        r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?:[Zz]|[+-]\d{2}:\d{2})?",
        "has no seconds; write the time as hh:mm:ss",
    ),
    (r"\d{4}-\d{2}-\d{2} .*", 'separates the date and the time with a space; RFC 3339 needs a "T" there'),
    (
        r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?",
        "has no time zone offset; add one such as +03:00 or Z",
    ),
    (
        r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})",
        "has a month, day, hour, minute, second or offset out of range",
    ),
)


@lru_cache(maxsize=8192)
def slugify(text: str) -> str:
    """The URL slug of a name: ASCII, lowercase, words joined by hyphens."""
    return str(_slugify(text, max_length=MAX_SLUG, word_boundary=True))


@dataclass(frozen=True)
class Stated:
    """JSON Schema keywords for a rule a validator enforces in code, so the schema states it too."""

    pattern: str | None = None
    max_length: int | None = None
    description: str | None = None

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """The type's own schema with this rule's keywords added."""
        keywords = {"pattern": self.pattern, "maxLength": self.max_length, "description": self.description}
        return {**handler(schema), **{k: v for k, v in keywords.items() if v is not None}}


@dataclass(frozen=True)
class MaxChars:
    """A length limit on text, checked in characters with a plain message and stated as maxLength."""

    limit: int

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        """Check the limit after the type's own validation, so the value is known to be text."""
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """The type's own schema with maxLength."""
        return {**handler(schema), "maxLength": self.limit}

    def _check(self, value: str) -> str:
        if len(value) > self.limit:
            raise ValueError(f"must be at most {self.limit} characters (this one has {len(value)})")
        return value


def visible(text: str) -> str:
    """`text` with its controls and unpaired surrogates written as escapes (`\\u0000`)."""
    return _UNSHOWABLE_RE.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def shown(value: str, limit: int = 60) -> str:
    """`value` as a message quotes it: cut to `limit` characters, invisible ones as escapes."""
    return f'"{visible(value[:limit])}"'


def _require_text(value: object) -> object:
    """Reject non-strings before pydantic can coerce them, with a plain message."""
    if not isinstance(value, str):
        raise ValueError(f"must be text in quotes, not {_json_type(value)}")
    return value


def _writable(value: str) -> str:
    found = _UNWRITABLE_RE.search(value)
    if found and SURROGATE_RE.fullmatch(found.group()):
        raise ValueError(
            f"contains {visible(found.group())} at character {found.start() + 1}, half of a character "
            "(an unpaired surrogate) that cannot be stored as text; delete it or write the whole character"
        )
    if found:
        code = f"U+{ord(found.group()):04X}"
        raise ValueError(
            f"contains the invisible character {code} at character {found.start() + 1}, which pages "
            "and feeds cannot carry; delete it (it is often left over from copying and pasting)"
        )
    return value


def _one_line(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    if _CONTROL_RE.search(value):
        raise ValueError("must be a single line without control characters")
    return value


def _require_timestamp(value: object) -> object:
    if not isinstance(value, str):
        raise ValueError(
            f"must be an RFC 3339 date-time in quotes like {EXAMPLE_TIME}, not {_json_type(value)}"
        )
    if TIMESTAMP_RE.fullmatch(value):
        return value
    quoted = shown(value)
    for shape, advice in _SHAPES:
        if re.fullmatch(shape, value, re.ASCII):
            raise ValueError(f"{quoted} {advice}, like {EXAMPLE_TIME}")
    raise ValueError(
        f"{quoted} is not an RFC 3339 date-time with a time zone offset, "
        f'like {EXAMPLE_TIME} or "2015-12-21T19:00:00Z"'
    )


def _in_calendar(value: datetime) -> datetime:
    # Pages and the index order articles by the UTC instant, and a schedule names it rounded up
    # to the second; at the calendar's very ends an offset or the rounding carries it past year 1
    # or 9999, where no date exists.
    try:
        inside = value.astimezone(UTC) <= _LAST_SECOND
    except OverflowError:
        inside = False
    if not inside:
        raise ValueError(
            f"{value.isoformat()} falls outside the calendar once converted to UTC: it must be "
            "from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z"
        )
    return value


def _require_web_address(value: object) -> object:
    if not isinstance(value, str) or not WEB_ADDRESS_RE.match(value):
        raise ValueError("must be a web address starting with https:// or http://")
    return _writable(value)


def _is_media_src(value: str) -> str:
    if not value.startswith(MEDIA):
        raise ValueError(
            f'"{value[:80]}" must name a file uploaded to the media folder, like "media/kremlin.jpg"'
        )
    problem = media_problem(value[len(MEDIA) :])
    if problem is not None:
        raise ValueError(problem)
    return value


def _alt_text(value: str) -> str:
    if _CONTROL_RE.search(value):
        raise ValueError("must be a single line without control characters")
    return value


def _is_slug(value: str) -> str:
    if len(value) > MAX_SLUG:
        raise ValueError(f"must be at most {MAX_SLUG} characters (this one has {len(value)})")
    if not SLUG_RE.fullmatch(value):
        raise ValueError(
            f"{shown(value)} is not a slug: use lowercase letters a-z, digits and "
            'single hyphens, like "foreign-policy"'
        )
    return value


def _has_slug(value: str) -> str:
    if not slugify(value):
        raise ValueError(f"{shown(value)} has no letters or digits to make a page address from")
    return value


def _is_language(value: str) -> str:
    if not LANGUAGE_RE.fullmatch(value):
        raise ValueError(f'{shown(value, 40)} is not a BCP 47 language tag like "en" or "en-GB"')
    return value


def _is_alias(value: str) -> str:
    key = address_key(value)
    if key.startswith("/"):
        return key
    if len(key) <= MAX_SLUG and SLUG_RE.fullmatch(key):
        return key
    if value.startswith("/"):
        raise ValueError(f"{shown(value)} is under /articles/ but is no article's address")
    raise ValueError(
        f"{shown(value)} is not a slug (lowercase letters a-z, digits and single hyphens), nor an "
        "old path starting with /, like /2015/12/21/old-slug/"
    )


def _not_own_slug(value: str, info: ValidationInfo) -> str:
    slug = info.data.get("slug")
    if value == slug:
        raise ValueError("is this article's own slug; an alias must be an old address")
    # An old path ending in the article's own slug is its folder's entry (contract.addresses).
    return in_folder(value, slug) if isinstance(slug, str) else value


def _require_bool(value: object) -> object:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, without quotes, not {_json_type(value)}")
    return value


def _renderable(value: str, info: ValidationInfo) -> str:
    """Markdown that renders within bounded time; checked where a file is read (see `_body_size`)."""
    if not value.strip():
        raise ValueError("must not be empty")
    if info.mode == "python":
        from broadsheet.render.shape import body_problem  # noqa: PLC0415

        problem = body_problem(value)
        if problem is not None:
            raise ValueError(str(problem))
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
# Text of several lines (teasers, bios, bodies): anything a page and a feed can carry.
Paragraphs = Annotated[Text, AfterValidator(_writable), Stated(pattern=PARAGRAPHS_PATTERN)]
Line = Annotated[Text, AfterValidator(_one_line), AfterValidator(_writable), Stated(pattern=LINE_PATTERN)]
Slug = Annotated[Text, AfterValidator(_is_slug), Stated(pattern=SLUG_PATTERN, max_length=MAX_SLUG)]
Name = Annotated[Line, MaxChars(100), AfterValidator(_has_slug)]
TagName = Annotated[Line, MaxChars(60), AfterValidator(_has_slug)]
Alias = Annotated[
    Text,
    AfterValidator(_is_alias),
    AfterValidator(_not_own_slug),
    Stated(
        pattern=ALIAS_PATTERN,
        max_length=MAX_ADDRESS_BYTES,
        description="An old slug of this article, or a path it had on an older site "
        "(/2015/12/21/old-slug/, /?p=123); kept in a normal form.",
    ),
]
Language = Annotated[Text, MaxChars(35), AfterValidator(_is_language), Stated(pattern=LANGUAGE_PATTERN)]
Timestamp = Annotated[
    AwareDatetime,
    BeforeValidator(_require_timestamp),
    AfterValidator(_in_calendar),
    Stated(pattern=TIMESTAMP_PATTERN),
]
WebAddress = Annotated[HttpUrl, BeforeValidator(_require_web_address), Stated(pattern=WEB_ADDRESS_PATTERN)]
MediaSrc = Annotated[
    Text,
    AfterValidator(_is_media_src),
    Stated(pattern=MEDIA_SRC_PATTERN, description="A file in the content bucket's media/ folder."),
]
Body = Annotated[
    Paragraphs,
    Stated(
        pattern=CONTENT_PATTERN,
        max_length=MAX_BODY_BYTES,
        description=f"CommonMark, at most {MAX_BODY_BYTES:,} bytes in UTF-8.",
    ),
]
Flag = Annotated[bool, BeforeValidator(_require_bool)]
