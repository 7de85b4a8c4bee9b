"""``template.yaml`` as data: the one list of resources, read by the local stack and the tests.

Nothing here talks to AWS. The template is parsed with CloudFormation's short-form tags turned into
their long form (``!Ref X`` becomes ``{"Ref": "X"}``), intrinsic functions are resolved against
values the caller supplies, and the few things the local stack wires itself (event sources, bucket
notifications, the edge function and its headers) are read out as plain values.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import yaml

FUNCTION_TYPE = "AWS::Serverless::Function"

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_DEFAULT_BATCH_SIZE = {"SQS": 10, "DynamoDB": 100}


class TemplateError(ValueError):
    """The template does not say what was asked, or says it in a way we cannot read."""


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


class _NoValue:
    """What ``Ref: AWS::NoValue`` resolves to: the property is left out."""


_NO_VALUE = _NoValue()


class _Resolver:
    def __init__(
        self,
        refs: Mapping[str, str],
        attrs: Mapping[tuple[str, str], str],
        condition: Callable[[str], bool],
    ) -> None:
        self.refs = refs
        self.attrs = attrs
        self.condition = condition

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [item for item in map(self.resolve, value) if item is not _NO_VALUE]
        if isinstance(value, dict):
            if len(value) == 1:
                ((key, argument),) = value.items()
                if key in ("Ref", "Condition") or key.startswith("Fn::"):
                    return self.intrinsic(key, argument)
            resolved = {key: self.resolve(item) for key, item in value.items()}
            return {key: item for key, item in resolved.items() if item is not _NO_VALUE}
        return value

    def intrinsic(self, name: str, argument: Any) -> Any:
        if name == "Ref":
            return self.ref(self.text(argument))
        if name == "Condition":
            return self.condition(self.text(argument))
        if name == "Fn::Sub":
            return self.sub(argument)
        if name == "Fn::Base64":
            return base64.b64encode(self.text(argument).encode()).decode()
        arguments = self.arguments(name, argument)
        if name == "Fn::If":
            condition, when_true, when_false = self.exactly(name, arguments, 3)
            return self.resolve(when_true if self.condition(self.text(condition)) else when_false)
        if name == "Fn::Not":
            (operand,) = self.exactly(name, arguments, 1)
            return not self.truth(operand)
        if name == "Fn::And":
            return all(self.truth(operand) for operand in arguments)
        if name == "Fn::Or":
            return any(self.truth(operand) for operand in arguments)
        values = [self.resolve(item) for item in arguments]
        if name == "Fn::GetAtt":
            resource, attribute = self.exactly(name, values, 2)
            return self.attr(self.text(resource), self.text(attribute))
        if name == "Fn::Equals":
            left, right = self.exactly(name, values, 2)
            return self.text(left) == self.text(right)
        if name == "Fn::Join":
            delimiter, items = self.exactly(name, values, 2)
            return self.text(delimiter).join(self.text(item) for item in self.sequence(name, items))
        if name == "Fn::Select":
            index, items = self.exactly(name, values, 2)
            return self.sequence(name, items)[int(self.text(index))]
        if name == "Fn::Split":
            delimiter, source = self.exactly(name, values, 2)
            return self.text(source).split(self.text(delimiter))
        raise TemplateError(f"{name} is not supported here")

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name not in self.refs:
            raise TemplateError(f"no value given for Ref {name}")
        return self.refs[name]

    def attr(self, resource: str, attribute: str) -> str:
        if (resource, attribute) not in self.attrs:
            raise TemplateError(f"no value given for GetAtt {resource}.{attribute}")
        return self.attrs[(resource, attribute)]

    def sub(self, argument: Any) -> str:
        text, variables = (
            self.exactly("Fn::Sub", argument, 2) if isinstance(argument, list) else (argument, {})
        )
        variables = self.resolve(variables)
        if not isinstance(variables, dict):
            raise TemplateError("Fn::Sub variables must be a mapping")

        def replace(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return self.text(variables[name])
            if name in self.refs or "." not in name:
                return self.text(self.ref(name))
            resource, _, attribute = name.partition(".")
            return self.attr(resource, attribute)

        return _SUB_VARIABLE.sub(replace, self.text(text))

    def truth(self, operand: Any) -> bool:
        value = self.resolve(operand)
        if not isinstance(value, bool):
            raise TemplateError(f"a condition evaluated to {value!r}, not true or false")
        return value

    @staticmethod
    def arguments(name: str, argument: Any) -> list[Any]:
        if not isinstance(argument, list):
            raise TemplateError(f"{name} takes a list, got {argument!r}")
        return argument

    @staticmethod
    def exactly(name: str, values: list[Any], count: int) -> list[Any]:
        if len(values) != count:
            raise TemplateError(f"{name} takes {count} arguments, got {len(values)}")
        return values

    @staticmethod
    def sequence(name: str, value: Any) -> list[Any]:
        if not isinstance(value, list):
            raise TemplateError(f"{name} needs a list, got {value!r}")
        return value

    @staticmethod
    def text(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str | int | float):
            return str(value)
        raise TemplateError(f"expected a string, got {value!r}")


def resolve(
    value: Any,
    refs: Mapping[str, str],
    attrs: Mapping[tuple[str, str], str],
    conditions: Mapping[str, bool] | None = None,
) -> Any:
    """Replace the intrinsic functions in ``value`` with values from ``refs``, ``attrs`` and ``conditions``.

    ``refs`` holds parameters, resources' Ref values and pseudo parameters (``AWS::StackName``…);
    ``attrs`` maps ``(logical id, attribute)`` to the value of ``Fn::GetAtt``.
    """
    given = conditions or {}

    def condition(name: str) -> bool:
        if name not in given:
            raise TemplateError(f"no value given for condition {name}")
        return given[name]

    result = _Resolver(refs, attrs, condition).resolve(value)
    return None if result is _NO_VALUE else result


def evaluate_conditions(
    template: Mapping[str, Any],
    refs: Mapping[str, str],
    attrs: Mapping[tuple[str, str], str] | None = None,
) -> dict[str, bool]:
    """Evaluate every entry of the template's ``Conditions`` with the given parameter values."""
    expressions: Mapping[str, Any] = template.get("Conditions") or {}
    known: dict[str, bool] = {}
    evaluating: set[str] = set()

    def condition(name: str) -> bool:
        if name in known:
            return known[name]
        if name not in expressions:
            raise TemplateError(f"the template has no condition {name}")
        if name in evaluating:
            raise TemplateError(f"condition {name} depends on itself")
        evaluating.add(name)
        value = resolver.resolve(expressions[name])
        if not isinstance(value, bool):
            raise TemplateError(f"condition {name} evaluated to {value!r}")
        known[name] = value
        return value

    resolver = _Resolver(refs, attrs or {}, condition)
    return {name: condition(name) for name in expressions}


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
        name: _Resolver.text(spec["Default"])
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
