"""CloudFront invalidation on a budget.

New pages need no invalidation and listings go stale for seconds (short s-maxage), so only
pages that must change at once — a corrected or unpublished article — are invalidated. The
paths of one render batch are coalesced, turned into one wildcard above a threshold, and
counted against a monthly budget kept in the index table; over budget, nothing is sent and
the short edge lifetime takes over.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from broadsheet.errors import TransientError
from broadsheet.observability import logger
from broadsheet.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient
    from mypy_boto3_dynamodb import DynamoDBClient


class Invalidator(Protocol):
    """Tells the edge to forget cached copies of some paths."""

    def invalidate(self, paths: list[str], now: datetime) -> int:
        """Invalidate `paths` (coalesced); return how many paths were charged."""


def coalesce(paths: list[str], threshold: int) -> list[str]:
    """Unique paths in order, or a single site-wide wildcard when there are too many."""
    unique = sorted(set(paths))
    return ["/*"] if len(unique) > threshold else unique


class NoInvalidation:
    """For the local stack and the offline build: there is no edge cache to clear."""

    def invalidate(self, paths: list[str], now: datetime) -> int:
        """Do nothing."""
        return 0


class CloudFrontInvalidator:
    """Invalidates a distribution within a monthly path budget."""

    def __init__(
        self,
        cloudfront: CloudFrontClient,
        dynamodb: DynamoDBClient,
        *,
        distribution_id: str,
        table: str,
        budget: int,
        threshold: int,
    ) -> None:
        self._cf = cloudfront
        self._db = dynamodb
        self._distribution = distribution_id
        self._table = table
        self._budget = budget
        self._threshold = threshold

    def invalidate(self, paths: list[str], now: datetime) -> int:
        """Invalidate `paths` if the month's budget allows; return the paths charged."""
        if not paths:
            return 0
        batch = coalesce(paths, self._threshold)
        if not self._charge(len(batch), now):
            logger.warning("invalidation budget spent; relying on edge expiry", extra={"paths": batch})
            return 0
        try:
            self._cf.create_invalidation(
                DistributionId=self._distribution,
                InvalidationBatch={
                    "Paths": {"Quantity": len(batch), "Items": batch},
                    "CallerReference": f"broadsheet-{time.time_ns()}",
                },
            )
        except (ClientError, BotoCoreError) as exc:
            raise TransientError(f"invalidation failed: {exc}") from exc
        return len(batch)

    def _charge(self, count: int, now: datetime) -> bool:
        try:
            self._db.update_item(
                TableName=self._table,
                Key={"pk": {"S": f"budget#{now:%Y-%m}"}, "sk": {"S": "invalidations"}},
                UpdateExpression="ADD used :n",
                ConditionExpression="attribute_not_exists(used) OR used <= :room",
                ExpressionAttributeValues={
                    ":n": {"N": str(count)},
                    ":room": {"N": str(self._budget - count)},
                },
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise TransientError(f"budget update failed: {exc}") from exc
        return count <= self._budget


def invalidator_for(
    config: Settings, cloudfront: Callable[[], CloudFrontClient], dynamodb: Callable[[], DynamoDBClient]
) -> Invalidator:
    """The deployment's invalidator: its distribution's, on its budget; none without a distribution."""
    if not config.distribution_id:
        return NoInvalidation()
    return CloudFrontInvalidator(
        cloudfront(),
        dynamodb(),
        distribution_id=config.distribution_id,
        table=config.table_name,
        budget=config.invalidation_budget,
        threshold=config.invalidation_wildcard_threshold,
    )
