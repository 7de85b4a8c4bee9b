"""Reconcile function: on a schedule, find drift between content, index and site and repair it."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from broadsheet.observability import logger, metrics, tracer
from broadsheet.runtime.reconcile import run_reconcile, services


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    """Compare and repair; return how much drift was found."""
    report = run_reconcile(services())
    return {
        "hinted": len(report.hinted),
        "recounted": len(report.recounted),
        "rendered": len(report.rendered),
        "deleted": len(report.deleted),
    }
