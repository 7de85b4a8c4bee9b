"""The process's logger, tracer and metrics, created once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer

from broadsheet.settings import Settings


class Untraced:
    """The tracer when the X-Ray SDK is off: handlers run undecorated.

    Powertools' Tracer imports the X-Ray SDK (and patches botocore) even when it is disabled,
    about a quarter of a second of every cold start. Lambda's active tracing still records each
    invocation's segments without it; the SDK adds a subsegment per handler and AWS call."""

    def capture_lambda_handler(self, lambda_handler: Callable[..., Any]) -> Callable[..., Any]:
        """The handler itself."""
        return lambda_handler


logger = Logger(service="broadsheet")
# Read here, uncached: whether this process traces is decided once, at import, and must not
# pin the settings other code reads later.
tracer: Tracer | Untraced = Tracer(service="broadsheet") if Settings().tracing else Untraced()
metrics = Metrics(namespace="Broadsheet", service="broadsheet")
