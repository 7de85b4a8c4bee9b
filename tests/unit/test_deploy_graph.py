"""After the SAM transform, CloudFormation can order every resource: no reference cycle, no dangling name.

CloudFormation refuses a template whose Ref / Fn::GetAtt / Fn::Sub / DependsOn graph has a cycle,
before it creates anything; cfn-lint lints the template as written, before the transform adds the
API, roles, permissions and event source mappings that can close one.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.deployed import (
    EVERY_PARAMETER,
    PARAMETER_SETS,
    cycles,
    dependency_graph,
    references,
    source_template,
    transformed,
)

PSEUDO_PARAMETERS = {
    "AWS::AccountId",
    "AWS::NoValue",
    "AWS::NotificationARNs",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
}


def test_every_optional_parameter_is_filled_in_one_of_the_sets() -> None:
    parameters = source_template()["Parameters"]
    assert set(EVERY_PARAMETER) == set(parameters)
    for name, value in EVERY_PARAMETER.items():
        assert value != str(parameters[name].get("Default")), name


@pytest.mark.parametrize("parameters", PARAMETER_SETS.values(), ids=PARAMETER_SETS.keys())
def test_the_transformed_template_has_no_dependency_cycle(parameters: dict[str, str]) -> None:
    found = cycles(dependency_graph(transformed(parameters)))
    assert found == [], "CloudFormation refuses the cycle(s): " + "; ".join(" -> ".join(c) for c in found)


@pytest.mark.parametrize("parameters", PARAMETER_SETS.values(), ids=PARAMETER_SETS.keys())
def test_every_name_a_resource_or_output_refers_to_exists(parameters: dict[str, str]) -> None:
    template = transformed(parameters)
    known = set(template["Resources"]) | set(template.get("Parameters") or {}) | PSEUDO_PARAMETERS
    for logical_id, resource in {**template["Resources"], **template.get("Outputs", {})}.items():
        unknown = set(references(resource)) - known
        assert not unknown, f"{logical_id} refers to {sorted(unknown)}"


def test_the_graph_finds_a_cycle_through_sub_getatt_and_depends_on() -> None:
    template: dict[str, Any] = {
        "Resources": {
            "A": {"Type": "T", "Properties": {"X": {"Fn::Sub": "https://${B.DomainName}/${!Literal}"}}},
            "B": {"Type": "T", "Properties": {"Y": {"Fn::If": ["On", "x", {"Fn::GetAtt": ["C", "Arn"]}]}}},
            "C": {"Type": "T", "DependsOn": "A"},
            "D": {"Type": "T", "Properties": {"Z": {"Fn::Sub": ["${V}", {"V": {"Ref": "A"}}]}}},
        }
    }
    graph = dependency_graph(template)
    assert graph == {"A": {"B"}, "B": {"C"}, "C": {"A"}, "D": {"A"}}
    assert cycles(graph) == [["A", "B", "C", "A"]]
    del template["Resources"]["C"]["DependsOn"]
    assert cycles(dependency_graph(template)) == []
