"""Subscribe function: the newsletter's HTTP API (signup form, confirmation and unsubscribe links)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from broadsheet.newsletter.api import app
from broadsheet.observability import logger, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Route one HTTP API request."""
    return app.resolve(event, context)
