"""Subscribe function: the newsletter's HTTP API (signup form, confirmation and unsubscribe links)."""

from __future__ import annotations

from typing import Any

from broadsheet.handler import FirstCall, Handler


def build() -> Handler:
    """The handler, the API and Powertools imported: at the first invocation, not at import."""
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from broadsheet.newsletter.api import app
    from broadsheet.observability import logger, tracer

    @logger.inject_lambda_context
    @tracer.capture_lambda_handler
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        """Route one HTTP API request."""
        return app.resolve(event, context)

    return lambda_handler


lambda_handler = FirstCall(build)
