"""Render function: one page per FIFO message group; write changed pages, delete gone ones."""

from typing import Any

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from broadsheet.observability import logger, metrics, tracer
from broadsheet.pipeline import render_batch, render_record, render_request
from broadsheet.services import services

processor = SqsFifoPartialProcessor(skip_group_on_error=True)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Render a batch; its distinct pages are published side by side, each once (or not at all
    when the stored page was rendered after the newest request for it was sent), then the records
    are answered in order, and the pages that must change at once invalidated."""
    svc = services()
    with render_batch(svc, [render_request(record) for record in event["Records"]]) as batch:

        def record_handler(record: SQSRecord) -> None:
            render_record(record, svc, batch)

        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
