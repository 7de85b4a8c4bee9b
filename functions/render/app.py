"""Render function: one page per FIFO message group; write changed pages, delete gone ones."""

from typing import Any

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from broadsheet.observability import logger, metrics, tracer
from broadsheet.runtime.render import render_batch, render_request, services

processor = SqsFifoPartialProcessor(skip_group_on_error=True)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Render a batch (each distinct page once, side by side), then answer its records in order:
    a record whose page failed is reported for retry, with the rest of its message group."""
    outcome = render_batch([render_request(record) for record in event["Records"]], services())
    return process_partial_response(
        event=event, record_handler=outcome.answer, processor=processor, context=context
    )
