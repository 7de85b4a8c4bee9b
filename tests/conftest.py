"""Fixtures shared by every tier."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from broadsheet_dev.local.runtime import LocalStack
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


# Modules that take minutes go to the workers first (the Makefile turns off pytest-xdist's own
# reordering by test count, which would send the property module's two tests last), so that both
# workers finish at about the same time: each worker starts with one half of the property test,
# and takes the other slow modules as it finishes.
FIRST_MODULES = (
    "test_convergence_property.py",
    "test_no_script_runs.py",
    "test_contract.py",
    "test_hostile_input.py",
    "test_schedule_e2e.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Order the modules above first (a stable sort: each module's own order is kept)."""
    rank = {name: place for place, name in enumerate(FIRST_MODULES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))
