"""The process's logger, tracer and metrics, created once."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger(service="broadsheet")
tracer = Tracer(service="broadsheet")
metrics = Metrics(namespace="Broadsheet", service="broadsheet")
