"""Lambda event filtering (an event source's ``FilterCriteria``), as the local stack applies it.

An event source mapping with filters hands its function only the records that match at least
one filter pattern; the others are dropped, as if processed. The local pollers apply the same
patterns, so a record the template filters out on AWS never reaches the local handler either.

Only the rules the template uses are evaluated: nested objects, exact strings, and ``prefix``.
Any other rule is refused when the template is read, rather than matched wrongly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from broadsheet_dev.local.errors import TemplateError

Pattern = Mapping[str, Any]


def read_patterns(criteria: Mapping[str, Any] | None, where: str) -> tuple[Pattern, ...]:
    """The filter patterns of an event's ``FilterCriteria`` (each a JSON string), checked."""
    patterns: list[Pattern] = []
    for entry in (criteria or {}).get("Filters") or []:
        try:
            pattern = json.loads(str(entry["Pattern"]))
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise TemplateError(f"{where}: a filter pattern is not JSON: {exc}") from exc
        _check(pattern, where)
        patterns.append(pattern)
    return tuple(patterns)


def _check(pattern: Any, where: str) -> None:
    if not isinstance(pattern, dict) or not pattern:
        raise TemplateError(f"{where}: a filter pattern must be a non-empty object")
    for value in pattern.values():
        if isinstance(value, dict):
            _check(value, where)
        elif isinstance(value, list) and value:
            for rule in value:
                if not (isinstance(rule, str) or (isinstance(rule, dict) and set(rule) == {"prefix"})):
                    raise TemplateError(f"{where}: the local stack cannot evaluate the rule {rule!r}")
        else:
            raise TemplateError(f"{where}: a filter pattern's values are objects or non-empty lists")


def matches(record: Mapping[str, Any], patterns: Sequence[Pattern]) -> bool:
    """Whether a record passes the filters: no filters, or any one pattern matching it."""
    return not patterns or any(_matches(record, pattern) for pattern in patterns)


def _matches(value: Any, pattern: Pattern) -> bool:
    if not isinstance(value, Mapping):
        return False
    for field, wanted in pattern.items():
        if field not in value:
            return False
        if isinstance(wanted, Mapping):
            if not _matches(value[field], wanted):
                return False
        elif not any(_rule(value[field], rule) for rule in wanted):
            return False
    return True


def _rule(value: Any, rule: str | Mapping[str, str]) -> bool:
    if not isinstance(value, str):
        return False
    if isinstance(rule, str):
        return value == rule
    return value.startswith(rule["prefix"])
