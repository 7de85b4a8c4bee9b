"""Event filter patterns as the local stack applies them: Lambda's rules for objects, exact
strings and prefixes, and a refusal of any rule it cannot evaluate."""

from __future__ import annotations

import json

import pytest

from broadsheet_dev.local.errors import TemplateError
from broadsheet_dev.local.filters import matches, read_patterns


def criteria(*patterns: object) -> dict[str, object]:
    return {"Filters": [{"Pattern": json.dumps(p)} for p in patterns]}


RECORD = {"eventName": "MODIFY", "dynamodb": {"Keys": {"pk": {"S": "article#a"}, "sk": {"S": "article"}}}}


def test_a_record_passes_when_any_pattern_matches_every_field_it_names() -> None:
    by_prefix = read_patterns(criteria({"dynamodb": {"Keys": {"pk": {"S": [{"prefix": "article#"}]}}}}), "t")
    assert matches(RECORD, by_prefix)
    exact = read_patterns(criteria({"eventName": ["INSERT"]}, {"eventName": ["MODIFY", "REMOVE"]}), "t")
    assert matches(RECORD, exact)
    both = read_patterns(
        criteria({"eventName": ["MODIFY"], "dynamodb": {"Keys": {"pk": {"S": ["article#b"]}}}}), "t"
    )
    assert not matches(RECORD, both)


def test_a_field_the_record_lacks_or_holds_as_another_type_does_not_match() -> None:
    patterns = read_patterns(criteria({"dynamodb": {"NewImage": {"pk": {"S": [{"prefix": "a"}]}}}}), "t")
    assert not matches(RECORD, patterns)
    nested = read_patterns(criteria({"dynamodb": {"Keys": {"pk": {"S": {"deeper": ["x"]}}}}}), "t")
    assert not matches(RECORD, nested)


def test_no_filters_pass_everything() -> None:
    assert matches(RECORD, read_patterns(None, "t"))
    assert matches(RECORD, read_patterns({"Filters": []}, "t"))


@pytest.mark.parametrize(
    "pattern",
    [
        {"eventName": [{"anything-but": ["REMOVE"]}]},
        {"eventName": [{"prefix": "M", "suffix": "Y"}]},
        {"eventName": []},
        {"eventName": "MODIFY"},
        {},
    ],
)
def test_a_rule_the_local_stack_cannot_evaluate_is_refused(pattern: dict[str, object]) -> None:
    with pytest.raises(TemplateError):
        read_patterns(criteria(pattern), "Fn.Event")


def test_a_pattern_that_is_not_json_is_refused() -> None:
    with pytest.raises(TemplateError, match="not JSON"):
        read_patterns({"Filters": [{"Pattern": "{pk"}]}, "Fn.Event")
