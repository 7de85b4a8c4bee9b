"""Suppress function: SES bounce and complaint events arrive through SQS; stop mailing those subscribers."""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from broadsheet.clock import now
from broadsheet.newsletter.feedback import feedback_record
from broadsheet.newsletter.store import subscribers
from broadsheet.observability import logger, metrics, tracer
from broadsheet.settings import settings

processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord) -> None:
    """Apply one bounce or complaint."""
    feedback_record(record, subscribers(), now(settings()))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Process a batch, reporting the records that must be retried."""
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
