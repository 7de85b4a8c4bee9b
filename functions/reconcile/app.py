"""Reconcile function: on a schedule, find drift between content, index and site and repair it."""

from typing import Any

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
