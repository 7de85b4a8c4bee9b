"""``template.yaml`` as data: the one list of resources, read by the local stack and the tests.

Nothing here talks to AWS. The template is parsed with CloudFormation's short-form tags turned into
their long form (``!Ref X`` becomes ``{"Ref": "X"}``), intrinsic functions are resolved against
values the caller supplies, and the few things the local stack wires itself (event sources, bucket
notifications, the edge function and its headers) are read out as plain values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import yaml

from broadsheet_dev.local.errors import TemplateError
from broadsheet_dev.local.filters import Pattern, read_patterns
from broadsheet_dev.local.intrinsics import as_text

FUNCTION_TYPE = "AWS::Serverless::Function"

_DEFAULT_BATCH_SIZE = {"SQS": 10, "DynamoDB": 100}


@dataclass(frozen=True)
class EventSource:
    """One event source mapping of a function, as SAM creates it from the function's ``Events``."""

    function: str
    event: str
    type: Literal["SQS", "DynamoDB"]
    source: str
    code_uri: str
    handler: str
    timeout: int
    batch_size: int
    function_response_types: tuple[str, ...]
    environment: Mapping[str, Any]
    starting_position: str | None = None
    maximum_retry_attempts: int | None = None
    bisect_batch_on_function_error: bool = False
    on_failure: str | None = None
    # ``FilterCriteria``: only records matching one of these patterns reach the function.
    filters: tuple[Pattern, ...] = ()


@dataclass(frozen=True)
class BucketNotification:
    """One queue notification of a bucket: which event, under which key prefix, to which queue."""

    bucket: str
    event: str
    queue: str
    prefix: str = ""
    suffix: str = ""


class _TemplateLoader(yaml.SafeLoader):
    """A safe YAML loader that also reads CloudFormation's short-form intrinsic tags."""


def _construct_intrinsic(loader: yaml.SafeLoader, tag: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(cast(yaml.MappingNode, node), deep=True)
    if tag in ("Ref", "Condition"):
        return {tag: value}
    if tag == "GetAtt" and isinstance(value, str):
        resource, _, attribute = value.partition(".")
        value = [resource, attribute]
    return {f"Fn::{tag}": value}


_TemplateLoader.add_multi_constructor("!", _construct_intrinsic)


def load_template(path: Path) -> dict[str, Any]:
    """Parse a CloudFormation/SAM template, short-form tags included, into plain data."""
    with path.open(encoding="utf-8") as stream:
        template = yaml.load(stream, Loader=_TemplateLoader)  # noqa: S506 - a SafeLoader subclass: plain data only
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        raise TemplateError(f"{path} is not a CloudFormation template (no Resources)")
    return template


# ---------------------------------------------------------------- intrinsic functions


def pseudo_parameters(stack_name: str, region: str, account_id: str) -> dict[str, str]:
    """The pseudo parameters CloudFormation defines for a stack, for use as ``refs``."""
    partition = "aws-cn" if region.startswith("cn-") else "aws"
    return {
        "AWS::StackName": stack_name,
        "AWS::Region": region,
        "AWS::AccountId": account_id,
        "AWS::Partition": partition,
        "AWS::URLSuffix": "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com",
    }


def parameter_defaults(template: Mapping[str, Any]) -> dict[str, str]:
    """Each parameter's default value, as the string a ``Ref`` to it yields."""
    parameters: Mapping[str, Any] = template.get("Parameters") or {}
    return {
        name: as_text(spec["Default"])
        for name, spec in parameters.items()
        if isinstance(spec, dict) and "Default" in spec
    }


# ---------------------------------------------------------------- what the local stack wires itself


def viewer_request_code(template: Mapping[str, Any]) -> str:
    """The JavaScript source of the CloudFront viewer-request function."""
    properties = _properties(template, "ViewerRequestFunction", "AWS::CloudFront::Function")
    code = properties.get("FunctionCode")
    if not isinstance(code, str):
        raise TemplateError("ViewerRequestFunction has no inline FunctionCode")
    return code


def response_headers(template: Mapping[str, Any]) -> dict[str, str]:
    """The headers the distribution's response headers policy adds, name to value."""
    properties = _properties(template, "ResponseHeadersPolicy", "AWS::CloudFront::ResponseHeadersPolicy")
    config: Mapping[str, Any] = properties.get("ResponseHeadersPolicyConfig") or {}
    security: Mapping[str, Any] = config.get("SecurityHeadersConfig") or {}
    headers: dict[str, str] = {}

    if csp := security.get("ContentSecurityPolicy"):
        headers["Content-Security-Policy"] = str(csp["ContentSecurityPolicy"])
    if hsts := security.get("StrictTransportSecurity"):
        value = f"max-age={int(hsts['AccessControlMaxAgeSec'])}"
        if _flag(hsts.get("IncludeSubdomains")):
            value += "; includeSubDomains"
        if _flag(hsts.get("Preload")):
            value += "; preload"
        headers["Strict-Transport-Security"] = value
    if "ContentTypeOptions" in security:
        headers["X-Content-Type-Options"] = "nosniff"
    if frame := security.get("FrameOptions"):
        headers["X-Frame-Options"] = str(frame["FrameOption"])
    if referrer := security.get("ReferrerPolicy"):
        headers["Referrer-Policy"] = str(referrer["ReferrerPolicy"])
    if xss := security.get("XSSProtection"):
        value = "1" if _flag(xss.get("Protection")) else "0"
        if value == "1" and _flag(xss.get("ModeBlock")):
            value += "; mode=block"
        if value == "1" and xss.get("ReportUri"):
            value += f"; report={xss['ReportUri']}"
        headers["X-XSS-Protection"] = value
    for item in (config.get("CustomHeadersConfig") or {}).get("Items") or []:
        headers[str(item["Header"])] = str(item["Value"])
    return headers


def serverless_functions(template: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Each ``AWS::Serverless::Function``'s properties with the template's ``Globals`` applied.

    As SAM does it: mappings are merged, lists are concatenated (globals first), and the
    function's own scalars win.
    """
    defaults: Mapping[str, Any] = (template.get("Globals") or {}).get("Function") or {}
    return {
        logical_id: _merge_globals(defaults, resource.get("Properties") or {})
        for logical_id, resource in template["Resources"].items()
        if resource.get("Type") == FUNCTION_TYPE
    }


def event_sources(template: Mapping[str, Any]) -> list[EventSource]:
    """Every SQS and DynamoDB stream event of every function, in template order."""
    sources: list[EventSource] = []
    for function, properties in serverless_functions(template).items():
        for event, spec in (properties.get("Events") or {}).items():
            kind = spec.get("Type")
            if kind not in ("SQS", "DynamoDB"):
                continue
            event_properties: Mapping[str, Any] = spec.get("Properties") or {}
            source = event_properties.get("Queue" if kind == "SQS" else "Stream")
            on_failure = ((event_properties.get("DestinationConfig") or {}).get("OnFailure") or {}).get(
                "Destination"
            )
            retries = event_properties.get("MaximumRetryAttempts")
            filters = read_patterns(event_properties.get("FilterCriteria"), f"{function}.{event}")
            if filters and kind == "SQS":
                raise TemplateError(f"{function}.{event}: the local stack filters stream records only")
            sources.append(
                EventSource(
                    function=function,
                    event=event,
                    type=kind,
                    source=_logical_id(source, f"{function}.{event}"),
                    code_uri=str(properties.get("CodeUri", "")),
                    handler=str(properties.get("Handler", "")),
                    timeout=int(properties.get("Timeout", 3)),
                    batch_size=int(event_properties.get("BatchSize", _DEFAULT_BATCH_SIZE[kind])),
                    function_response_types=tuple(event_properties.get("FunctionResponseTypes") or ()),
                    environment=dict((properties.get("Environment") or {}).get("Variables") or {}),
                    starting_position=event_properties.get("StartingPosition"),
                    maximum_retry_attempts=None if retries is None else int(retries),
                    bisect_batch_on_function_error=_flag(event_properties.get("BisectBatchOnFunctionError")),
                    on_failure=None if on_failure is None else _logical_id(on_failure, f"{function}.{event}"),
                    filters=filters,
                )
            )
    return sources


def bucket_notifications(template: Mapping[str, Any]) -> list[BucketNotification]:
    """Every bucket's queue notifications (``NotificationConfiguration.QueueConfigurations``)."""
    notifications: list[BucketNotification] = []
    for bucket, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::S3::Bucket":
            continue
        configuration = (resource.get("Properties") or {}).get("NotificationConfiguration") or {}
        for queue_configuration in configuration.get("QueueConfigurations") or []:
            rules = ((queue_configuration.get("Filter") or {}).get("S3Key") or {}).get("Rules") or []
            filters = {str(rule["Name"]).lower(): str(rule["Value"]) for rule in rules}
            notifications.append(
                BucketNotification(
                    bucket=bucket,
                    event=str(queue_configuration["Event"]),
                    queue=_logical_id(queue_configuration["Queue"], f"{bucket} notification"),
                    prefix=filters.get("prefix", ""),
                    suffix=filters.get("suffix", ""),
                )
            )
    return notifications


def _properties(template: Mapping[str, Any], logical_id: str, resource_type: str) -> Mapping[str, Any]:
    resource = template["Resources"].get(logical_id)
    if not isinstance(resource, dict) or resource.get("Type") != resource_type:
        raise TemplateError(f"the template has no {resource_type} named {logical_id}")
    properties: Mapping[str, Any] = resource.get("Properties") or {}
    return properties


def _merge_globals(defaults: Any, own: Any) -> Any:
    if isinstance(defaults, dict) and isinstance(own, dict):
        merged = dict(defaults)
        for key, value in own.items():
            merged[key] = _merge_globals(defaults[key], value) if key in defaults else value
        return merged
    if isinstance(defaults, list) and isinstance(own, list):
        return [*defaults, *own]
    return own


def _logical_id(value: Any, where: str) -> str:
    """The resource a ``!GetAtt X.Arn`` or ``!Ref X`` points at."""
    if isinstance(value, dict):
        if isinstance(getattr_ := value.get("Fn::GetAtt"), list) and getattr_:
            return str(getattr_[0])
        if isinstance(ref := value.get("Ref"), str):
            return ref
    raise TemplateError(f"{where}: expected !GetAtt or !Ref to a resource, got {value!r}")


def _flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")
