"""Fixtures shared by every tier."""

from __future__ import annotations

import os
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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Order the modules above first (a stable sort: each module's own order is kept), and leave
    the tests of built artefacts to the run that has just built them (`scripts/sam-check --build`
    sets BROADSHEET_MEASURE_BUILD): elsewhere they are deselected, not skipped."""
    if os.environ.get("BROADSHEET_MEASURE_BUILD") != "1":
        built = [item for item in items if item.get_closest_marker("built")]
        if built:
            config.hook.pytest_deselected(items=built)
            items[:] = [item for item in items if not item.get_closest_marker("built")]
    rank = {name: place for place, name in enumerate(FIRST_MODULES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))
