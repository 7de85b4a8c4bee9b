"""The JSON Schemas shipped for editors' tools: generated from the models, and in step with them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from broadsheet.contract.files import read_article, read_author
from broadsheet.contract.models import article_json_schema, author_json_schema
from broadsheet.errors import ValidationFailed

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "write-schemas"
SCHEMA_DIR = ROOT / "layers" / "broadsheet" / "broadsheet" / "contract" / "schema"
CONTENT = ROOT / "events" / "content"
BAD = ROOT / "events" / "bad"
ARTICLE_FILES = sorted((CONTENT / "articles").glob("*.json"))
AUTHOR_FILES = sorted((CONTENT / "authors").glob("*.json"))
GENERATORS: dict[str, Callable[[], dict[str, Any]]] = {
    "article.schema.json": article_json_schema,
    "author.schema.json": author_json_schema,
}
STALE = (
    "{name} is out of date with broadsheet.contract.models: run scripts/write-schemas and commit the result"
)


def committed(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))
    return data


def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(committed(name), format_checker=Draft202012Validator.FORMAT_CHECKER)


def problems(name: str, instance: Any) -> list[str]:
    """Every schema violation of `instance`, as 'path: message' lines."""
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}"
        for error in validator(name).iter_errors(instance)
    ]


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_committed_schema_equals_a_freshly_generated_one(name: str) -> None:
    fresh = json.dumps(GENERATORS[name](), indent=2, sort_keys=True) + "\n"
    text = (SCHEMA_DIR / name).read_text(encoding="utf-8")

    assert text == fresh, STALE.format(name=name)


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_committed_schema_is_a_valid_draft_2020_12_schema(name: str) -> None:
    Draft202012Validator.check_schema(committed(name))


def test_write_schemas_check_passes_on_the_committed_tree() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr + result.stdout


def test_write_schemas_detects_and_repairs_a_stale_schema(tmp_path: Path) -> None:
    script = tmp_path / "scripts" / "write-schemas"
    script.parent.mkdir()
    shutil.copy(SCRIPT, script)
    schema_dir = tmp_path / "layers" / "broadsheet" / "broadsheet" / "contract" / "schema"
    schema_dir.mkdir(parents=True)
    (schema_dir / "article.schema.json").write_text('{"stale": true}\n', encoding="utf-8")

    check = subprocess.run(
        [sys.executable, str(script), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    write = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=False)
    again = subprocess.run(
        [sys.executable, str(script), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert check.returncode == 1
    assert "article.schema.json" in check.stderr and "scripts/write-schemas" in check.stderr
    assert write.returncode == 0, write.stderr
    assert again.returncode == 0, again.stderr
    for name in GENERATORS:
        assert (schema_dir / name).read_text(encoding="utf-8") == (SCHEMA_DIR / name).read_text(
            encoding="utf-8"
        )


def test_write_schemas_is_an_executable_python_script() -> None:
    assert SCRIPT.stat().st_mode & 0o111
    assert SCRIPT.read_text(encoding="utf-8").startswith("#!/usr/bin/env python3\n")


@pytest.mark.parametrize("path", ARTICLE_FILES, ids=lambda p: p.stem)
def test_every_sample_article_satisfies_the_article_schema(path: Path) -> None:
    assert problems("article.schema.json", load(path)) == []


@pytest.mark.parametrize("path", AUTHOR_FILES, ids=lambda p: p.stem)
def test_every_sample_profile_satisfies_the_author_schema(path: Path) -> None:
    assert problems("author.schema.json", load(path)) == []


def sample() -> dict[str, Any]:
    data: dict[str, Any] = load(CONTENT / "articles" / "review-of-the-week-kerry-putin.json")
    return data


def test_the_schema_rejects_an_unknown_field() -> None:
    doc = sample()
    doc["titel"] = doc.pop("title")

    found = problems("article.schema.json", doc)

    assert any("'titel'" in p and "not allowed" in p for p in found), found
    assert any("'title' is a required property" in p for p in found), found


def test_the_schema_rejects_a_missing_title() -> None:
    doc = sample()
    del doc["title"]

    assert problems("article.schema.json", doc) == ["(root): 'title' is a required property"]


def test_the_schema_rejects_a_timestamp_without_offset() -> None:
    doc = sample()
    doc["published_at"] = "2015-12-21T22:00:00"

    assert [p for p in problems("article.schema.json", doc) if p.startswith("published_at")]


@pytest.mark.parametrize(
    ("stem", "path"),
    [
        ("unknown-field", "(root)"),
        ("type-error", "title"),
        ("type-error", "authors"),
        ("bad-date", "published_at"),
        ("too-many-authors", "authors"),
    ],
)
def test_bad_files_a_schema_can_judge_fail_it_at_the_same_field(stem: str, path: str) -> None:
    found = problems("article.schema.json", load(BAD / f"{stem}.json"))

    assert any(p.startswith(f"{path}:") for p in found), found


def test_the_author_schema_rejects_an_unknown_field() -> None:
    found = problems("author.schema.json", {"name": "Anna Lebedeva", "photo": "a.jpg"})

    assert any("'photo'" in p for p in found), found


@pytest.mark.parametrize(
    ("name", "id"), [("article.schema.json", "article"), ("author.schema.json", "author")]
)
def test_each_schema_names_its_dialect_and_its_address(name: str, id: str) -> None:
    schema = committed(name)

    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"https://broadsheet.dev/schema/{id}.json"


# Values on both sides of every rule the schema can express. The ingest function and the schema
# must agree on each: a file an editor's tool passes must not be rejected on upload, and the
# other way round. Rules the schema cannot express are left out: two authors or tags with the
# same page, an alias equal to the file's own slug, expires_at not after published_at, the slug
# field equal to the file name, the body's size in bytes, a name without letters or digits, and
# calendar dates such as 30 February (left to the date-time format, which not every tool asserts).
AGREEMENT: list[tuple[str, Any]] = [
    ("published_at", "2015-12-21T22:00:00+03:00"),
    ("published_at", "2015-12-21t22:00:00z"),
    ("published_at", "2015-12-21T22:00:00.250Z"),
    ("published_at", "2015-12-21T22:00:00-00:00"),
    ("published_at", "2015-12-21T22:00:00+23:59"),
    ("published_at", "2015-12-21T22:00+03:00"),
    ("published_at", "2015-12-21 22:00:00+03:00"),
    ("published_at", "2015-12-21T22:00:00"),
    ("published_at", "2015-12-21"),
    ("published_at", "2015-13-21T22:00:00Z"),
    ("published_at", "2015-12-32T22:00:00Z"),
    ("published_at", "2015-12-21T24:00:00Z"),
    ("published_at", "2015-12-21T22:60:00Z"),
    ("published_at", "2015-12-21T22:00:60Z"),
    ("published_at", "2015-12-21T22:00:00+24:00"),
    ("published_at", "2015-12-21T22:00:00.Z"),
    ("published_at", "٢٠١٥-12-21T22:00:00Z"),
    ("published_at", 1450724400),
    ("section", "foreign-policy"),
    ("section", "a" * 120),
    ("section", "a" * 121),
    ("section", "Foreign-Policy"),
    ("section", "foreign--policy"),
    ("section", "-policy"),
    ("section", "foreign_policy"),
    ("slug", "review-of-the-week-kerry-putin"),
    ("slug", "Review-Of-The-Week"),
    ("aliases", ["old-slug", "2015-review"]),
    ("aliases", ["old slug"]),
    ("aliases", ["old-slug-"]),
    ("language", "en"),
    ("language", "en-GB"),
    ("language", "sr-Latn-RS"),
    ("language", "zh-yue-HK"),
    ("language", "es-419"),
    ("language", "de-CH-1996"),
    ("language", "en-US-x-newsroom"),
    ("language", "english"),
    ("language", "en_GB"),
    ("language", "en-"),
    ("language", "e"),
    ("language", "en-GB-" + "x" * 30),
    ("source", {"name": "Russia Direct", "url": "https://www.russia-direct.org/"}),
    ("source", {"name": "Russia Direct", "url": "http://www.russia-direct.org/"}),
    ("source", {"name": "Russia Direct", "url": "HTTPS://www.russia-direct.org/"}),
    ("source", {"name": "Russia Direct", "url": "javascript:alert(1)"}),
    ("source", {"name": "Russia Direct", "url": "ftp://example.org/a"}),
    ("source", {"name": "Russia Direct", "url": "//example.org/a"}),
    ("source", {"name": "Russia Direct", "url": " https://example.org/"}),
    ("source", {"name": "x" * 200, "url": "https://a.org/"}),
    ("source", {"name": "x" * 201, "url": "https://a.org/"}),
    ("source", {"name": " ", "url": "https://a.org/"}),
    ("title", "x" * 300),
    ("title", "x" * 301),
    ("title", ""),
    ("title", " \t "),
    ("title", "Review\nof the week"),
    ("title", "Review\u2028of the week"),
    ("title", "Review\tof the week"),
    ("teaser", "x" * 600),
    ("teaser", "x" * 601),
    ("authors", ["x" * 100]),
    ("authors", ["x" * 101]),
    ("authors", []),
    ("authors", [f"Author {n}" for n in range(11)]),
    ("tags", ["x" * 60]),
    ("tags", ["x" * 61]),
    ("tags", [f"Tag {n}" for n in range(21)]),
    ("body", "x" * (200 * 1024)),
    ("body", "x" * (200 * 1024 + 1)),
    ("body", " \n "),
    ("status", "draft"),
    ("status", "Draft"),
]


def accepted_by_the_model(doc: dict[str, Any]) -> bool:
    try:
        read_article("articles/review-of-the-week-kerry-putin.json", json.dumps(doc).encode("utf-8"))
    except ValidationFailed:
        return False
    return True


@pytest.mark.parametrize(("field", "value"), AGREEMENT, ids=[f"{f}={v!r:.40}" for f, v in AGREEMENT])
def test_the_article_schema_and_the_ingest_function_agree(field: str, value: Any) -> None:
    doc = sample()
    doc[field] = value

    found = problems("article.schema.json", doc)

    assert accepted_by_the_model(doc) == (not found), found or "the schema accepts what ingest rejects"


@pytest.mark.parametrize(
    ("url", "valid"),
    [("https://anna.example/", True), ("javascript:alert(1)", False), ("mailto:anna@example.org", False)],
)
def test_the_author_schema_and_the_ingest_function_agree_on_urls(url: str, valid: bool) -> None:
    doc = {"name": "Anna Lebedeva", "bio": "A bio.", "url": url}
    try:
        read_author("authors/anna-lebedeva.json", json.dumps(doc).encode("utf-8"))
    except ValidationFailed:
        accepted = False
    else:
        accepted = True

    assert accepted is valid
    assert (problems("author.schema.json", doc) == []) is valid
