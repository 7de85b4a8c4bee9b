"""template.yaml as CloudFormation receives it: the SAM transform, run offline, and what it refers to.

`sam deploy` uploads the code, points each CodeUri and ContentUri at the upload, and hands the
template to CloudFormation, whose AWS::Serverless-2016-10-31 transform is the `samtranslator`
package the SAM CLI runs for `sam validate`. Running the same package here shows the resources
CloudFormation will create, and so what it will refuse before it creates any of them.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import boto3
from samtranslator.model.exceptions import InvalidDocumentException  # type: ignore[import-untyped]
from samtranslator.parser.parser import Parser  # type: ignore[import-untyped]
from samtranslator.translator.translator import Translator  # type: ignore[import-untyped]

from broadsheet_dev.local.template import load_template

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template.yaml"
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
# The longest stack name the README allows (lowercase, as the content bucket's name needs).
LONGEST_STACK_NAME = "b" * 42
CERTIFICATE_ARN = "arn:aws:acm:us-east-1:123456789012:certificate/12345678-90ab-cdef-1234-567890abcdef"

# Every parameter a deployment may leave out, filled in (and the others set to something else).
EVERY_PARAMETER = {
    "SiteName": "The Daily Example",
    "SiteUrl": "https://www.news.example.com",
    "Language": "en-GB",
    "PageSize": "20",
    "InvalidationBudget": "5000",
    "AlarmEmail": "desk@news.example.com",
    "NewsletterFrom": "newsletter@news.example.com",
    "DigestSchedule": "cron(0 6 ? * MON-FRI *)",
    "TraceCalls": "true",
    "DomainName": "news.example.com",
    "CertificateArn": CERTIFICATE_ARN,
}
PARAMETER_SETS: dict[str, dict[str, str]] = {
    "defaults": {},
    "custom domain": {"DomainName": "news.example.com", "CertificateArn": CERTIFICATE_ARN},
    "every parameter": EVERY_PARAMETER,
}

_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


@cache
def _source() -> dict[str, Any]:
    return load_template(TEMPLATE)


def source_template() -> dict[str, Any]:
    """template.yaml as written, short-form tags in long form (a fresh copy)."""
    return copy.deepcopy(_source())


@cache
def _transformed(parameters: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    template = source_template()
    # What `sam deploy` does before CloudFormation sees the template: code goes to S3.
    for logical_id, resource in template["Resources"].items():
        properties = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str):
                properties[key] = f"s3://deployment-artefacts/{logical_id}.zip"
    values = {
        **dict(parameters),
        "AWS::Region": REGION,
        "AWS::AccountId": ACCOUNT_ID,
        "AWS::StackName": "broadsheet",
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
    }
    translator = Translator({}, Parser(), boto_session=boto3.session.Session(region_name=REGION))
    try:
        result: dict[str, Any] = translator.translate(
            template, parameter_values=values, get_managed_policy_map=dict
        )
    except InvalidDocumentException as error:
        causes = "; ".join(str(cause) for cause in error.causes)
        raise AssertionError(f"the SAM transform refuses template.yaml: {causes}") from error
    return result


def transformed(parameters: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The CloudFormation template the SAM transform makes of template.yaml (a fresh copy)."""
    return copy.deepcopy(_transformed(tuple(sorted((parameters or {}).items()))))


def references(value: Any) -> Iterator[str]:
    """Every logical id `value` names through Ref, Fn::GetAtt or Fn::Sub, both ways of each Fn::If.

    Parameters and pseudo parameters are named too; the caller keeps the resources.
    """
    if isinstance(value, list):
        for item in value:
            yield from references(item)
        return
    if not isinstance(value, dict):
        return
    for key, argument in value.items():
        if key == "Ref" and isinstance(argument, str):
            yield argument
        elif key == "Fn::GetAtt":
            if isinstance(argument, str):
                yield argument.split(".", 1)[0]
            elif isinstance(argument, list) and argument and isinstance(argument[0], str):
                yield argument[0]
                yield from references(argument[1:])
        elif key == "Fn::Sub":
            text, variables = (argument[0], argument[1]) if isinstance(argument, list) else (argument, {})
            for found in _SUB_VARIABLE.findall(text if isinstance(text, str) else ""):
                name = found.strip()
                if name not in variables:
                    yield name.split(".", 1)[0]
            yield from references(variables)
        elif key == "Fn::If" and isinstance(argument, list):
            # The condition's name is not a reference; both branches are.
            yield from references(argument[1:])
        else:
            yield from references(argument)


def depends_on(resource: Mapping[str, Any]) -> list[str]:
    """A resource's DependsOn, always as a list."""
    found = resource.get("DependsOn") or []
    return [found] if isinstance(found, str) else list(found)


def dependency_graph(template: Mapping[str, Any]) -> dict[str, set[str]]:
    """Each resource and the resources CloudFormation must create before it."""
    resources: Mapping[str, Any] = template["Resources"]
    graph: dict[str, set[str]] = {}
    for logical_id, resource in resources.items():
        named = set(references({k: v for k, v in resource.items() if k in ("Properties", "DependsOn")}))
        named |= set(depends_on(resource))
        graph[logical_id] = {name for name in named if name in resources}
    return graph


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The dependency cycles of `graph`, each as the path that closes it (empty when acyclic)."""
    done: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str, path: list[str], on_path: set[str]) -> None:
        for after in sorted(graph.get(node, ())):
            if after in on_path:
                found.append([*path[path.index(after) :], after])
            elif after not in done:
                visit(after, [*path, after], on_path | {after})
        done.add(node)

    for node in sorted(graph):
        if node not in done:
            visit(node, [node], {node})
    return found
