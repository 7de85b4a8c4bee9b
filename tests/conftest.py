"""Fixtures shared by every tier."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from broadsheet.local.runtime import LocalStack
from tests.support import Editor, start_stack


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    """One local stack (moto server, template resources, pollers, edge) for the whole session."""
    running = start_stack()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def editor(stack: LocalStack) -> Editor:
    """An editor working against the session's stack."""
    return Editor(stack)
