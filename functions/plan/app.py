"""Plan function: the index's stream in, render requests for the affected pages out."""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from broadsheet.observability import logger, metrics, tracer
from broadsheet.runtime.plan import plan_batch, plan_record, services

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Plan a batch of stream records; each affected page is enqueued once for the batch."""
    svc = services()
    with plan_batch(svc) as batch:

        def record_handler(record: DynamoDBRecord) -> None:
            plan_record(record, svc, batch)

        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
