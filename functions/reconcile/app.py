"""Reconcile function: on a schedule, find drift between content, index and site and repair it."""

from __future__ import annotations

from typing import Any

from broadsheet.handler import FirstCall, Handler


def build() -> Handler:
    """The handler, its stage and Powertools imported: at the first invocation, not at import."""
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from broadsheet.observability import logger, metrics, tracer
    from broadsheet.runtime.reconcile import run_reconcile, services

    @logger.inject_lambda_context
    @tracer.capture_lambda_handler
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
        """Compare and repair; return how much drift of each kind was found (all zero when clean)."""
        report = run_reconcile(services())
        return report.drift() | {"rendered": len(report.rendered)}

    return lambda_handler


lambda_handler = FirstCall(build)
