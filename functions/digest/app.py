"""Digest function: on a schedule, mail each confirmed subscriber the articles new to them."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from broadsheet.clock import now
from broadsheet.newsletter.digest import run_digest
from broadsheet.newsletter.services import newsletter
from broadsheet.observability import logger, metrics, tracer

# Stop this long before the timeout: the unfinished run raises, Lambda retries it, it resumes.
MARGIN_MS = 20_000


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    """Run the digest; return how many mails and articles went out."""
    svc = newsletter()
    report = run_digest(
        svc.settings, svc.index, svc.store, svc.keys, svc.mailer, now(svc.settings),
        out_of_time=lambda: context.get_remaining_time_in_millis() < MARGIN_MS,
    )  # fmt: skip
    return {"subscribers": report.subscribers, "mailed": report.mailed, "articles": report.articles}
