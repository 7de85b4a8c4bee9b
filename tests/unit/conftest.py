"""Shared fixtures of the unit tier: settings at a fixed clock, fakes, sample content and corpora.

The unit tier is pure: every test runs with sockets disabled (pytest-socket), loopback included;
only Unix sockets stay open. A test that reaches for the network fails with `SocketBlockedError`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from pytest_socket import disable_socket

from broadsheet.clock import now as clock_now
from broadsheet.settings import Settings
from tests.unit.fakes import FakeContentStore, FakeIndex
from tests.unit.newsletter_support import Recorder, subscribers_table

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ROOT = Path(__file__).resolve().parents[2]
CORPORA = ROOT / "tests" / "corpora"
TRAVERSAL_SAMPLE = 400
PAYLOADBOX_SAMPLE = 400


def _lines(paths: list[Path]) -> list[str]:
    found: list[str] = []
    for path in paths:
        text = path.read_bytes().decode("utf-8", errors="replace")
        found += [line for line in text.splitlines() if line.strip()]
    return found


def _spread(lines: list[str], count: int) -> list[str]:
    """About `count` lines taken evenly from the whole list, so every file is represented."""
    return lines[:: max(1, len(lines) // count)]


def _corpus(pattern: str) -> list[Path]:
    """The corpus files matching `pattern`; a missing or empty one fails the run (see SOURCES.md)."""
    paths = sorted(CORPORA.glob(pattern))
    if not paths or any(path.stat().st_size == 0 for path in paths):
        pytest.fail(f"corpus {pattern} is missing or empty under {CORPORA}", pytrace=False)
    return paths


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """No test of this tier, nor any fixture it sets up, opens an internet socket, not even to
    127.0.0.1. pytest-socket's own teardown hook lifts the block after each test, so the other
    tiers sharing a worker keep their network."""
    disable_socket(allow_unix_socket=True)


@pytest.fixture(autouse=True)
def _no_stack_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A local stack an integration module started earlier on this worker leaves its resources'
    names, its endpoint and its secrets' addresses in the process's environment; a unit test sees
    none of it, as on a worker that ran no stack (the stack's own objects are cached already)."""
    for name in list(os.environ):
        if name.startswith(("BROADSHEET_", "AWS_ENDPOINT_URL")):
            monkeypatch.delenv(name)


@pytest.fixture
def settings() -> Settings:
    """Small pages and a fixed clock, so listings paginate early and output is reproducible."""
    return Settings(site_url="http://example.test", page_size=3, now="2026-01-01T00:00:00Z")


@pytest.fixture
def now(settings: Settings) -> datetime:
    """The clock the settings fix."""
    return clock_now(settings)


@pytest.fixture
def content() -> FakeContentStore:
    """An empty versioned content bucket."""
    return FakeContentStore()


@pytest.fixture
def index() -> FakeIndex:
    """An empty index with conditional writes."""
    return FakeIndex()


@pytest.fixture(scope="session")
def sample_content() -> Path:
    """The sample content folder (`articles/`, `authors/`) shipped in events/."""
    return ROOT / "events" / "content"


@pytest.fixture(scope="session")
def traversal_lines() -> list[str]:
    """A spread of path traversal payloads from every file, and all of the short directory list."""
    sample = _spread(_lines(_corpus("traversal/payloadsallthethings/*.txt")), TRAVERSAL_SAMPLE)
    return sorted(set(sample) | set(_lines(_corpus("traversal/payloadsallthethings/directory_*.txt"))))


@pytest.fixture(scope="session")
def xss_lines() -> list[str]:
    """Every XSS payload of PayloadsAllTheThings and a spread of payloadbox's list."""
    box = _spread(_lines(_corpus("xss/payloadbox/*.txt")), PAYLOADBOX_SAMPLE)
    return _lines(_corpus("xss/payloadsallthethings/*.txt")) + box


@pytest.fixture
def dynamodb() -> Iterator[DynamoDBClient]:
    """A subscribers table on moto's in-process DynamoDB, for the newsletter's tests."""
    with subscribers_table() as client:
        yield client


@pytest.fixture
def mailer() -> Recorder:
    """A mailer that records what it was asked to send."""
    return Recorder()
