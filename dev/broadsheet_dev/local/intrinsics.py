"""CloudFormation's intrinsic functions and conditions, resolved against values the caller gives.

Ref, Fn::GetAtt, Fn::Sub (with its variable map), Fn::If, Fn::Equals, Fn::Not, Fn::And, Fn::Or,
Fn::Join, Fn::Select, Fn::Split, Fn::Base64 and AWS::NoValue: what template.yaml uses. A value
the caller did not give is an error, never a guess.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from typing import Any

from broadsheet_dev.local.errors import TemplateError

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def as_text(value: Any) -> str:
    """A scalar as CloudFormation reads it where a string is expected."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise TemplateError(f"expected a string, got {value!r}")


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
        return as_text(value)


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
